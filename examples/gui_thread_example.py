"""The frozen way, on purpose: the work runs on the GUI thread itself.

Press Start, then try to move the window or press Cancel: nothing answers while a
turn of work runs. The other examples here move the same work off the GUI thread.
Run:  python examples/gui_thread_example.py [--quit-after SECONDS]
"""

import argparse
import random
import sys

from PySide6.QtCore import QTimer, Slot
from PySide6.QtWidgets import QApplication, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

BLOCK_SIZE = 1 << 20  # bytes per block: ~0.1 s of pure Python each
BLOCKS = 100  # ~10 s of work on one core
BLOCKS_PER_TURN = 5  # ~0.5 s of work per turn of the event loop: the window freezes that long


def checksum_block(index: int) -> int:
    """Adler-32 of block ``index`` in pure Python: real CPU work, holding the GIL."""
    a, b = 1, 0
    for byte in random.Random(index).randbytes(BLOCK_SIZE):  # reproducible bytes
        a = (a + byte) % 65521
        b = (b + a) % 65521
    return (b << 16) | a


class Window(QWidget):
    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle("gui-thread: the frozen way")
        self.start_button, self.cancel_button = QPushButton("Start"), QPushButton("Cancel")
        self.progress, self.status = QProgressBar(value=0), QLabel("Press Start.")
        layout = QVBoxLayout(self)
        for widget in (self.start_button, self.progress, self.cancel_button, self.status):
            layout.addWidget(widget)
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.running, self.next_block, self.checksum = False, 0, 0

    @Slot()
    def start(self) -> None:
        self.running, self.next_block, self.checksum = True, 0, 0
        self.start_button.setEnabled(False)
        self.status.setText("Working on the GUI thread: the window is frozen.")
        QTimer.singleShot(0, self.work_a_turn)

    @Slot()
    def work_a_turn(self) -> None:
        if not self.running:  # cancelled since the last turn
            return
        # THE MISTAKE, made on purpose: this loop runs on the GUI thread, so for
        # ~0.5 s nothing repaints and no click is handled.
        end = min(self.next_block + BLOCKS_PER_TURN, BLOCKS)
        for index in range(self.next_block, end):
            self.checksum ^= checksum_block(index)
        self.next_block = end
        self.progress.setValue(100 * end // BLOCKS)
        if end < BLOCKS:
            QTimer.singleShot(0, self.work_a_turn)  # a moment for the event loop, then go on
        else:
            self.finish(f"Done: checksum {self.checksum:08x}")

    @Slot()
    def cancel(self) -> None:
        if self.running:  # a click is only seen between turns: late
            self.finish(f"Cancelled at {self.progress.value()}%")

    def finish(self, message: str) -> None:
        self.running = False
        self.start_button.setEnabled(True)
        self.status.setText(message)

    def closeEvent(self, event) -> None:
        print(f"progress {self.progress.value()}%", flush=True)  # where the work got to
        self.running = False  # no turn of work after the window closed
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
