"""A ThreadPoolExecutor runs the blocks; each future's callback signals the GUI thread.

A future's done-callback runs in a pool thread, so it only emits a signal; the
window's @Slot receives it in the GUI thread (Qt queues it). Cancel and close call
shutdown(cancel_futures=True): queued blocks never start, running ones finish.
Run:  python examples/thread_pool_example.py [--quit-after SECONDS]
"""

import argparse
import random
import sys
from concurrent.futures import Future, ThreadPoolExecutor

from PySide6.QtCore import QTimer, Signal, Slot
from PySide6.QtWidgets import QApplication, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

BLOCK_SIZE = 1 << 20  # bytes per block: ~0.1 s of pure Python each
BLOCKS = 100  # ~10 s of work on one core
WORKERS = 2  # pure Python holds the GIL: 2 threads are no faster than 1 (try hashlib: they are)


def checksum_block(index: int) -> int:
    """Adler-32 of block ``index`` in pure Python: real CPU work, holding the GIL."""
    a, b = 1, 0
    for byte in random.Random(index).randbytes(BLOCK_SIZE):  # reproducible bytes
        a = (a + byte) % 65521
        b = (b + a) % 65521
    return (b << 16) | a


class Window(QWidget):
    block_done = Signal(object)  # a finished Future, emitted from a pool thread

    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle("thread-pool: futures and a signal")
        self.start_button, self.cancel_button = QPushButton("Start"), QPushButton("Cancel")
        self.progress, self.status = QProgressBar(value=0), QLabel("Press Start.")
        layout = QVBoxLayout(self)
        for widget in (self.start_button, self.progress, self.cancel_button, self.status):
            layout.addWidget(widget)
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.block_done.connect(self.on_block_done)
        self.pool = ThreadPoolExecutor(max_workers=WORKERS)
        self.futures: list[Future] = []
        self.done, self.checksum = 0, 0

    @Slot()
    def start(self) -> None:
        self.done, self.checksum = 0, 0
        self.futures = [self.pool.submit(checksum_block, index) for index in range(BLOCKS)]
        for future in self.futures:
            future.add_done_callback(self.block_done.emit)  # never future.result() here: it waits
        self.start_button.setEnabled(False)
        self.status.setText("Working in a thread pool: the window stays alive.")

    @Slot()
    def cancel(self) -> None:
        if not self.futures:  # no run going
            return
        for future in self.futures:
            future.cancel()  # only blocks still queued: the running ones finish, unseen
        self.futures = []
        self.start_button.setEnabled(True)
        self.status.setText(f"Cancelled at {self.progress.value()}%")

    @Slot(object)
    def on_block_done(self, future: Future) -> None:
        if future.cancelled() or future not in self.futures:  # cancelled, or of an older run
            return
        self.checksum ^= future.result()  # done, so this does not wait
        self.done += 1
        self.progress.setValue(100 * self.done // BLOCKS)
        if self.done == BLOCKS:
            self.futures = []
            self.start_button.setEnabled(True)
            self.status.setText(f"Done: checksum {self.checksum:08x}")

    def closeEvent(self, event) -> None:
        print(f"progress {self.progress.value()}%", flush=True)  # where the work got to
        self.pool.shutdown(wait=True, cancel_futures=True)  # waits for the running blocks only
        super().closeEvent(event)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quit-after", type=float, metavar="SECONDS", help="start, then quit")
    args = parser.parse_args()
    app = QApplication(sys.argv)
    window = Window()
    window.show()
    if args.quit_after is not None:  # headless runs: start the work, close after that long
        window.start()
        QTimer.singleShot(int(args.quit_after * 1000), window.close)
    sys.exit(app.exec())
