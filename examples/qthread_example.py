"""A worker QObject moved to a QThread (moveToThread), reporting back by signals.

Its signals reach @Slot methods of objects in the GUI thread: Qt queues them, so
no widget is touched from the worker thread. Closing cancels, then quit() + wait().
Run:  python examples/qthread_example.py [--quit-after SECONDS]
"""

import argparse
import random
import sys
import threading

from PySide6.QtCore import QObject, QThread, QTimer, Signal, Slot
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


class Worker(QObject):  # lives in the worker thread: no parent (it could not move), no widgets
    progress = Signal(int)  # percent done
    finished = Signal(str)  # how it ended

    def __init__(self) -> None:
        super().__init__()
        self.cancel = threading.Event()  # set from the GUI thread, checked between blocks

    @Slot()
    def work(self) -> None:
        checksum = 0
        for index in range(BLOCKS):
            if self.cancel.is_set():
                self.finished.emit(f"Cancelled at {100 * index // BLOCKS}%")
                return
            checksum ^= checksum_block(index)
            self.progress.emit(100 * (index + 1) // BLOCKS)
        self.finished.emit(f"Done: checksum {checksum:08x}")


class Window(QWidget):
    work_requested = Signal()  # connected to Worker.work: queued, so it runs in the worker thread

    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle("qthread: a worker moved to a QThread")
        self.start_button, self.cancel_button = QPushButton("Start"), QPushButton("Cancel")
        self.progress, self.status = QProgressBar(value=0), QLabel("Press Start.")
        layout = QVBoxLayout(self)
        for widget in (self.start_button, self.progress, self.cancel_button, self.status):
            layout.addWidget(widget)
        self.worker_thread = QThread()  # an attribute, not a local: it must outlive its work
        self.worker = Worker()
        self.worker.moveToThread(self.worker_thread)
        self.work_requested.connect(self.worker.work)  # never call worker.work() directly
        self.worker.progress.connect(self.progress.setValue)
        self.worker.finished.connect(self.on_finished)
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.worker.cancel.set)
        self.worker_thread.start()

    @Slot()
    def start(self) -> None:
        self.worker.cancel.clear()
        self.start_button.setEnabled(False)
        self.status.setText("Working in a QThread: the window stays alive.")
        self.work_requested.emit()

    @Slot(str)
    def on_finished(self, message: str) -> None:
        self.start_button.setEnabled(True)
        self.status.setText(message)

    def closeEvent(self, event) -> None:
        print(f"progress {self.progress.value()}%", flush=True)  # where the work got to
        self.worker.cancel.set()  # work() returns after its current block,
        self.worker_thread.quit()  # then the thread's event loop ends,
        self.worker_thread.wait()  # and we wait for it: no "QThread: Destroyed while thread is still running"
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
