"""A ProcessPoolExecutor (spawn) runs the blocks: one interpreter, one GIL, per core.

Pure-Python work scales with the cores. The work function sits at module level:
each spawned worker imports this file (not as __main__) to find it, Qt included
(~0.2 s more per worker: in your app, keep the work in a module free of Qt).
Done-callbacks run in a pool thread: they only emit a signal to a @Slot of the
window. Close: shutdown(cancel_futures=True) ends every worker process.
Run:  python examples/multiprocessing_example.py [--quit-after SECONDS]
"""

import argparse
import multiprocessing
import os
import random
import sys
from concurrent.futures import Future, ProcessPoolExecutor

from PySide6.QtCore import QTimer, Signal, Slot
from PySide6.QtWidgets import QApplication, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

BLOCK_SIZE = 1 << 20  # bytes per block: ~0.1 s of pure Python each
BLOCKS = 100  # ~10 s of work on one core


def checksum_block(index: int) -> int:
    """Adler-32 of block ``index`` in pure Python: runs in a worker process, with its own GIL."""
    a, b = 1, 0
    for byte in random.Random(index).randbytes(BLOCK_SIZE):  # made here: only ints are pickled
        a = (a + byte) % 65521
        b = (b + a) % 65521
    return (b << 16) | a


class Window(QWidget):
    block_done = Signal(object)  # a finished Future, emitted from the pool's thread

    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle("multiprocessing: a process pool")
        self.start_button, self.cancel_button = QPushButton("Start"), QPushButton("Cancel")
        self.progress, self.status = QProgressBar(value=0), QLabel("Press Start.")
        layout = QVBoxLayout(self)
        for widget in (self.start_button, self.progress, self.cancel_button, self.status):
            layout.addWidget(widget)
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.block_done.connect(self.on_block_done)
        spawn = multiprocessing.get_context("spawn")  # never fork: it would copy Qt's threads
        self.pool = ProcessPoolExecutor(max_workers=os.cpu_count(), mp_context=spawn)
        self.futures: list[Future] = []
        self.done, self.checksum = 0, 0

    @Slot()
    def start(self) -> None:
        self.done, self.checksum = 0, 0
        self.futures = [self.pool.submit(checksum_block, index) for index in range(BLOCKS)]
        for future in self.futures:
            future.add_done_callback(self.block_done.emit)  # never future.result() here: it waits
        self.start_button.setEnabled(False)
        self.status.setText("Working in processes: the window stays alive.")

    @Slot()
    def cancel(self) -> None:
        if not self.futures:  # no run going
            return
        for future in self.futures:
            future.cancel()  # only blocks still queued: the running ones finish
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
        # Queued blocks are dropped; the running ones finish, then every worker exits.
        self.pool.shutdown(wait=True, cancel_futures=True)
        super().closeEvent(event)


if __name__ == "__main__":  # not run in the workers, which import this file too
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
