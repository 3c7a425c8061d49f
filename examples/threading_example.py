"""A threading.Thread does the work; the GUI thread drains its progress on a QTimer.

The worker never touches a widget: it appends plain values to a deque (append and
popleft are thread-safe); a 60 Hz timer on the GUI thread takes all that arrived and
shows the latest, once per frame. Closing cancels, then joins the thread.
Run:  python examples/threading_example.py [--quit-after SECONDS]
"""

import argparse
import random
import sys
import threading
from collections import deque

from PySide6.QtCore import QTimer, Slot
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


def work(inbox: deque, cancel: threading.Event) -> None:
    """Runs in the worker thread: reports percents, then how it ended, through ``inbox``."""
    checksum = 0
    for index in range(BLOCKS):
        if cancel.is_set():
            inbox.append(f"Cancelled at {100 * index // BLOCKS}%")
            return
        checksum ^= checksum_block(index)
        inbox.append(100 * (index + 1) // BLOCKS)
    inbox.append(f"Done: checksum {checksum:08x}")


class Window(QWidget):
    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle("threading: a Thread and a drained queue")
        self.start_button, self.cancel_button = QPushButton("Start"), QPushButton("Cancel")
        self.progress, self.status = QProgressBar(value=0), QLabel("Press Start.")
        layout = QVBoxLayout(self)
        for widget in (self.start_button, self.progress, self.cancel_button, self.status):
            layout.addWidget(widget)
        self.inbox: deque = deque()  # worker thread -> GUI thread
        self.cancel_requested = threading.Event()  # GUI thread -> worker thread
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel_requested.set)
        self.worker: threading.Thread | None = None
        self.drain_timer = QTimer(self, interval=16)  # ~60 Hz: one update per frame
        self.drain_timer.timeout.connect(self.drain)

    @Slot()
    def start(self) -> None:
        self.cancel_requested.clear()
        self.worker = threading.Thread(target=work, args=(self.inbox, self.cancel_requested))
        self.worker.start()
        self.drain_timer.start()
        self.start_button.setEnabled(False)
        self.status.setText("Working in a thread: the window stays alive.")

    @Slot()
    def drain(self) -> None:
        while self.inbox:  # all that arrived since the last frame
            item = self.inbox.popleft()
            if isinstance(item, int):
                self.progress.setValue(item)
            else:  # the last item: how the work ended
                self.status.setText(item)
                self.start_button.setEnabled(True)
                self.drain_timer.stop()

    def closeEvent(self, event) -> None:
        print(f"progress {self.progress.value()}%", flush=True)  # where the work got to
        self.cancel_requested.set()  # the worker stops after its current block
        if self.worker is not None:
            self.worker.join()
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
