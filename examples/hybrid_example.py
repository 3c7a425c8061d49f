"""A pipeline: a thread saves each block (I/O, GIL let go), a spawn ProcessPoolExecutor
checksums it (pure Python, a GIL per process). At most 4 blocks wait between the two, then
the thread waits (backpressure). Close: a stop flag, then shutdown(cancel_futures=True).
Run:  python examples/hybrid_example.py [--quit-after SECONDS]"""

import argparse
import multiprocessing
import random
import sys
import tempfile
import threading
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

from PySide6.QtCore import QTimer, Signal, Slot
from PySide6.QtWidgets import QApplication, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

BLOCKS = 100  # of 1 MiB, ~0.1 s of pure Python each: ~10 s of work on one core


def checksum_file(path: str) -> int:  # Adler-32 in pure Python, in a process with its own GIL
    a, b = 1, 0
    for byte in Path(path).read_bytes():
        a = (a + byte) % 65521
        b = (b + a) % 65521
    return (b << 16) | a


class Window(QWidget):
    block_done = Signal(object)  # a finished Future, emitted from the pool's thread

    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle("hybrid: a thread for I/O, processes for Python")
        self.start_button, self.cancel_button = QPushButton("Start"), QPushButton("Cancel")
        self.progress, self.status = QProgressBar(maximum=BLOCKS, value=0), QLabel("Press Start.")
        layout = QVBoxLayout(self)
        for widget in (self.start_button, self.progress, self.cancel_button, self.status):
            layout.addWidget(widget)
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.block_done.connect(self.on_block_done)
        spawn = multiprocessing.get_context("spawn")  # never fork: it would copy Qt's threads
        self.pool = ProcessPoolExecutor(mp_context=spawn)  # a process per core
        self.folder = tempfile.TemporaryDirectory()
        self.saver, self.stop = ThreadPoolExecutor(1), threading.Event()  # I/O: one thread

    def save_blocks(self, stop: threading.Event, room: threading.Semaphore) -> None:
        for index in range(BLOCKS):
            while not (stop.is_set() or room.acquire(timeout=0.1)):
                pass  # 4 blocks wait for the pool: wait too (backpressure)
            if stop.is_set():
                return
            path = Path(self.folder.name, f"block-{index}")  # saved here: only paths cross
            path.write_bytes(random.Random(index).randbytes(1 << 20))
            self.pool.submit(checksum_file, str(path)).add_done_callback(self.block_done.emit)

    @Slot()
    def start(self) -> None:
        self.stop, self.room = threading.Event(), threading.Semaphore(4)
        self.checksum = 0
        self.saver.submit(self.save_blocks, self.stop, self.room)
        self.start_button.setEnabled(False)

    @Slot()
    def cancel(self) -> None:
        self.stop.set()  # the thread stops at its next look; blocks in the pool finish
        self.start_button.setEnabled(True)
        self.status.setText(f"Cancelled at {self.progress.value()}%")

    @Slot(object)
    def on_block_done(self, future: Future) -> None:
        if self.stop.is_set() or future.cancelled():  # cancelled, or of an older run
            return
        self.room.release()  # one more block may be saved
        self.checksum ^= future.result()  # done, so this does not wait
        self.progress.setValue(self.progress.value() + 1)  # blocks done (of BLOCKS = 100: %)
        if self.progress.value() == BLOCKS:
            self.start_button.setEnabled(True)
            self.status.setText(f"Done: checksum {self.checksum:08x}")

    def closeEvent(self, event) -> None:
        print(f"progress {self.progress.value()}%", flush=True)  # where the work got to
        self.stop.set()  # the saving thread looks at it at least every 0.1 s
        self.saver.shutdown(wait=True)
        self.pool.shutdown(wait=True, cancel_futures=True)  # queued dropped, running finish
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
