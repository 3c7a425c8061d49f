"""Qt's own pool: QRunnables on a QThreadPool, reporting through a signals QObject.

A QRunnable has no signals: each block emits one of a QObject in the GUI thread.
Run:  python examples/qthread_pool_example.py [--quit-after SECONDS]
"""

import argparse
import random
import sys

from PySide6.QtCore import QObject, QRunnable, QThreadPool, QTimer, Signal, Slot
from PySide6.QtWidgets import QApplication, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

BLOCK_SIZE = 1 << 20  # bytes per block: ~0.1 s of pure Python each
BLOCKS = 100  # ~10 s of work on one core


def checksum_block(index: int) -> int:
    """Adler-32 of block ``index`` in pure Python: real CPU work, holding the GIL."""
    a, b = 1, 0
    for byte in random.Random(index).randbytes(BLOCK_SIZE):  # reproducible bytes
        a = (a + byte) % 65521
        b = (b + a) % 65521
    return (b << 16) | a


class Signals(QObject):  # lives in the GUI thread: emitted from pool threads, queued to it
    block_done = Signal(int, object)  # its run, its checksum (object: ints over 2**31 fit)


class Block(QRunnable):
    def __init__(self, run: int, index: int, signals: Signals) -> None:
        super().__init__()
        self.run_number, self.index, self.signals = run, index, signals

    def run(self) -> None:  # in a pool thread: no widget here
        self.signals.block_done.emit(self.run_number, checksum_block(self.index))


class Window(QWidget):
    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle("qthread-pool: QRunnables on a QThreadPool")
        self.start_button, self.cancel_button = QPushButton("Start"), QPushButton("Cancel")
        self.progress, self.status = QProgressBar(value=0), QLabel("Press Start.")
        layout = QVBoxLayout(self)
        for widget in (self.start_button, self.progress, self.cancel_button, self.status):
            layout.addWidget(widget)
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.signals = Signals()
        self.signals.block_done.connect(self.on_block_done)
        self.pool = QThreadPool()  # our own: waitForDone() then waits for our blocks only
        self.run_number, self.done, self.checksum = 0, 0, 0

    @Slot()
    def start(self) -> None:
        self.run_number, self.done, self.checksum = self.run_number + 1, 0, 0
        for index in range(BLOCKS):
            self.pool.start(Block(self.run_number, index, self.signals))
        self.start_button.setEnabled(False)
        self.status.setText("Working in Qt's thread pool: the window stays alive.")

    @Slot()
    def cancel(self) -> None:
        if self.start_button.isEnabled():  # no run going
            return
        self.pool.clear()  # the blocks not started yet; the running ones finish, unseen:
        self.run_number += 1  # their results belong to a run that is over
        self.start_button.setEnabled(True)
        self.status.setText(f"Cancelled at {self.progress.value()}%")

    @Slot(int, object)
    def on_block_done(self, run: int, checksum: int) -> None:
        if run == self.run_number:  # not a late block of a cancelled run
            self.checksum ^= checksum
            self.done += 1
            self.progress.setValue(100 * self.done // BLOCKS)
            if self.done == BLOCKS:
                self.start_button.setEnabled(True)
                self.status.setText(f"Done: checksum {self.checksum:08x}")

    def closeEvent(self, event) -> None:
        print(f"progress {self.progress.value()}%", flush=True)  # where the work got to
        self.pool.clear()
        self.pool.waitForDone()  # the running blocks only: each ~0.1 s
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
