"""A dask.distributed LocalCluster runs the blocks: a worker process per core, one GIL each.

Started on a plain thread, results fetched on dask's callback thread: each signals the GUI.
Run:  python examples/dask_example.py [--quit-after SECONDS]"""

import argparse
import random
import sys
import threading

from PySide6.QtCore import QTimer, Signal, Slot
from PySide6.QtWidgets import QApplication, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

BLOCKS = 100  # of 1 MiB, ~0.1 s of pure Python each: ~10 s of work on one core


def checksum_block(index: int) -> int:  # pure-Python Adler-32, sent to workers by value
    a, b = 1, 0
    for byte in random.Random(index).randbytes(1 << 20):  # made here: only ints travel
        a = (a + byte) % 65521
        b = (b + a) % 65521
    return (b << 16) | a


class Window(QWidget):
    connected = Signal(bool)  # the cluster is up: emitted by the thread that started it
    block_done = Signal(str, object)  # a block's key and checksum, from dask's callback thread

    def __init__(self) -> None:
        super().__init__(windowTitle="dask: a LocalCluster", enabled=False)  # till it is up
        self.start_button, self.cancel_button = QPushButton("Start"), QPushButton("Cancel")
        self.progress, self.status = QProgressBar(value=0), QLabel("Start once the cluster is up.")
        layout = QVBoxLayout(self)
        for widget in (self.start_button, self.progress, self.cancel_button, self.status):
            layout.addWidget(widget)
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.connected.connect(self.setEnabled)
        self.block_done.connect(self.on_block_done)
        self.fetching, self.futures = threading.Lock(), {}  # the run's blocks left, by key
        self.starting = threading.Thread(target=self.start_cluster)
        self.starting.start()

    def start_cluster(self) -> None:  # on a plain thread: the window stays alive meanwhile
        from distributed import Client, LocalCluster  # ~0.4 s, 2 under load: here too

        self.client = Client(LocalCluster(threads_per_worker=1, silence_logs="CRITICAL"))
        self.connected.emit(True)

    @Slot()
    def start(self) -> None:
        if self.client.status == "running":  # not if closed while the cluster started
            futures = self.client.map(checksum_block, range(BLOCKS), pure=False)  # new keys
            self.checksum, self.futures = 0, {future.key: future for future in futures}
            for future in futures:
                future.add_done_callback(self.fetch)
            self.start_button.setEnabled(False)

    def fetch(self, future) -> None:  # on dask's callback thread, never the GUI's
        with self.fetching:  # result() is a round trip to the worker that holds it
            if future.status == "finished" and self.client.status == "running":
                self.block_done.emit(future.key, future.result())

    @Slot()
    def cancel(self) -> None:
        with self.fetching:  # a fetch under way ends first: its block is about to be dropped
            self.client.cancel(list(self.futures.values()))  # the running blocks finish
        self.futures = {}
        self.start_button.setEnabled(True)
        self.status.setText(f"Cancelled at {self.progress.value()}%")

    @Slot(str, object)
    def on_block_done(self, key: str, checksum: int) -> None:
        if self.futures.pop(key, None) is not None:  # None: a block of a cancelled run
            self.checksum ^= checksum
            self.progress.setValue(100 - 100 * len(self.futures) // BLOCKS)
            if not self.futures:
                self.start_button.setEnabled(True)
                self.status.setText(f"Done: checksum {self.checksum:08x}")

    def closeEvent(self, event) -> None:
        print(f"progress {self.progress.value()}%", flush=True)  # where the work got to
        self.starting.join()  # closed while the cluster starts: it is up, then closed
        with self.fetching:  # a fetch under way ends first; none begins after
            self.client.close()  # its futures go: the scheduler drops the queued blocks
        self.client.cluster.close()  # then each worker (silence_logs: dask would log the cut)
        super().closeEvent(event)


if __name__ == "__main__":  # not run in the workers, which import this file too
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quit-after", type=float, metavar="SECONDS", help="start, then quit")
    args = parser.parse_args()
    app = QApplication(sys.argv)
    window = Window()
    window.show()
    if args.quit_after is not None:  # headless runs: start once the cluster is up, then close
        window.connected.connect(window.start)
        QTimer.singleShot(int(args.quit_after * 1000), window.close)
    sys.exit(app.exec())
