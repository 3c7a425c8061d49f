"""asyncio on Qt's own event loop (qasync): a coroutine that awaits, so the window lives.

The coroutine runs on the GUI thread, so it may set widgets directly. A coroutine
that computes never awaits and would freeze the window: each CPU block is handed
to a thread with asyncio.to_thread, and awaited. Cancel is task.cancel().
Run:  python examples/asyncio_example.py [--quit-after SECONDS]   (needs: pip install qasync)
"""

import argparse
import asyncio
import random
import sys

import qasync
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


class Window(QWidget):
    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle("asyncio: a coroutine on Qt's loop")
        self.start_button, self.cancel_button = QPushButton("Start"), QPushButton("Cancel")
        self.progress, self.status = QProgressBar(value=0), QLabel("Press Start.")
        layout = QVBoxLayout(self)
        for widget in (self.start_button, self.progress, self.cancel_button, self.status):
            layout.addWidget(widget)
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.task: asyncio.Task | None = None  # keep a reference: the loop holds tasks weakly
        self.closed = asyncio.Event()

    @Slot()
    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self.work())

    @Slot()
    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()  # raises CancelledError at the coroutine's current await

    async def work(self) -> None:
        self.start_button.setEnabled(False)
        self.status.setText("Working: each block awaited from a thread.")
        checksum = 0
        try:
            for index in range(BLOCKS):
                checksum ^= await asyncio.to_thread(checksum_block, index)
                self.progress.setValue(100 * (index + 1) // BLOCKS)
            self.status.setText(f"Done: checksum {checksum:08x}")
        except asyncio.CancelledError:
            self.status.setText(f"Cancelled at {self.progress.value()}%")
            raise  # a cancelled task must end cancelled
        finally:
            self.start_button.setEnabled(True)

    def closeEvent(self, event) -> None:
        print(f"progress {self.progress.value()}%", flush=True)  # where the work got to
        self.cancel()
        self.closed.set()  # main() returns; qasync.run then waits for the cancelled task
        super().closeEvent(event)


async def main(quit_after: float | None) -> None:
    window = Window()
    window.show()
    if quit_after is not None:  # headless runs: start the work, close after that long
        window.start()
        QTimer.singleShot(int(quit_after * 1000), window.close)
    await window.closed.wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quit-after", type=float, metavar="SECONDS", help="start, then quit")
    args = parser.parse_args()
    app = QApplication(sys.argv)
    app.setQuitOnLastWindowClosed(False)  # the loop ends when main() returns
    qasync.run(main(args.quit_after))
