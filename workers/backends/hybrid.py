"""``hybrid``: each stage of an item on the workers that suit it, bounded queues between.

The pattern, as the Pipeline lesson tells it::

    download threads ─> fetched (≤ BOUND) ─> checksum processes ─> checked (≤ BOUND) ─> writer thread

- A download waits on its socket: N threads (the Workers field), which let go
  of the GIL while they wait.
- The pure-Python checksum holds a GIL for as long as it runs: a pool of
  processes (spawn, one per core), each with a GIL of its own, so neither the
  GUI thread nor the download threads wait for it.
- A write waits on the disk: one thread, writing each item atomically as
  ``disk-write`` does.

Each queue holds at most :data:`BOUND` items. A stage that finds the next
one's queue full waits there (backpressure): no stage outruns the next, and
the bytes in memory stay bounded (N downloads, 2 × BOUND queued, the writer's
one), however many items the job has. Every wait is cut in slices of
``POLL_S`` with the cancel token checked between them.

The stages call the pipeline workload's own functions (``fetch``,
``checksum``, ``store``): the work is the one each single back end does in
one task. Each stage posts a "stage" event when it ends, on its worker's
behalf (the checksum's timing is measured in its process and comes back
with its result), so the timeline shows one bar per stage per item, on the
lane of the worker that ran it, overlapping.

The processes are the process back end's (``workers.procs``): started, fed
and shut from one low-priority launcher thread that outlives them (their
``PR_SET_PDEATHSIG`` is tied to it), each reporting its own pid, killed if
they ignore a cancel for ``CANCEL_GRACE_S``.
"""

from __future__ import annotations

import multiprocessing.queues
import os
import queue
import threading
import time
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from typing import Any, cast

from workers import crossing, procs
from workers.backends import processes
from workers.backends.base import Run
from workers.core import (
    Cancelled,
    Event,
    Reporter,
    Task,
    TaskError,
    checkpoint,
    describe,
    make_event,
    where,
)
from workers.cputime import voluntary_switches
from workers.shared import POLL_S
from workers.workloads import pipeline

#: Items each queue holds. Two more than the checksum processes of a 2-core machine:
#: each process has its next item waiting, and a download finishing while the checksums
#: are all busy still finds room.
BOUND = 4
CANCEL_GRACE_S = processes.CANCEL_GRACE_S


@dataclass(frozen=True, slots=True)
class Checked:
    """What the checksum stage measured in its worker process."""

    value: int
    began: float
    ended: float
    cpu_s: float
    switches: int | None
    worker: tuple[str, int, int]  # thread or process name, pid, native thread id


@dataclass(slots=True)
class Item:
    """One item between two stages: its task, its bytes, what its stages measured so far."""

    task: Task
    data: bytes
    busy: dict[str, float]
    cpu_s: float
    checked: Future[bytes] | None = None  # a sealed Checked


def _switches_since(start: int | None) -> int | None:
    now = voluntary_switches()
    return None if start is None or now is None else now - start


def up() -> int:
    """A worker's first call: it starts the worker (and imports what checksums need)."""
    return os.getpid()


def check_in_worker(data: bytes) -> bytes:
    """Runs in a worker process: the checksum stage of one item, timed there. Its result
    is sealed (pickled) here, so that the app counts the bytes it receives."""
    t0, cpu0, sw0 = time.perf_counter(), time.thread_time(), voluntary_switches()
    value = pipeline.checksum(lambda n: None, processes.worker_cancel(), data)
    cpu = time.thread_time() - cpu0
    checked = Checked(value, t0, time.perf_counter(), cpu, _switches_since(sw0), where())
    return crossing.seal(checked)


class HybridRun(Run):
    backend = "hybrid"

    def _start(self) -> None:
        for task in self.tasks:  # parse_spec refuses other workloads by name, before this
            if task.fn is not pipeline.pipeline:
                raise ValueError(f"hybrid runs pipeline tasks only, not {task.fn.__name__}")
        self.processes = max(1, min(os.cpu_count() or 1, len(self.tasks)))
        self.fetched: queue.Queue[Item | None] = queue.Queue(BOUND)  # None: no more items
        self.checked: queue.Queue[Item | None] = queue.Queue(BOUND)
        #: The deepest each queue was after a put: never more than BOUND.
        self.max_depth = {"fetched": 0, "checked": 0}
        self.todo = deque(self.tasks)
        self.downloading = self.workers  # download threads still at work
        self.lock = threading.Lock()
        self.events: multiprocessing.queues.Queue[Any] = processes.SPAWN.Queue()  # pids
        self.mp_cancel = processes.SPAWN.Event()
        self.pool: ProcessPoolExecutor | None = None
        self.no_pool = ""  # why the pool could not start
        self.worker_pids = procs.WorkerPids()
        self.sent, self.got = crossing.Tally(), crossing.Tally()  # bytes across, each way
        self.cancelled_at: float | None = None
        self.launcher = procs.Launcher(self._checksum_stage, self._shut_down, "hybrid-launcher")
        self.threads = [
            threading.Thread(target=self._download_stage, name=f"hybrid-download-{i}", daemon=True)
            for i in range(self.workers)
        ]
        self.threads.append(
            threading.Thread(target=self._write_stage, name="hybrid-write", daemon=True)
        )
        self.launcher.start()
        for thread in self.threads:
            thread.start()

    # -- the queues: bounded, every wait cancellable ------------------------------
    def _put(self, into: queue.Queue[Item | None], name: str, item: Item | None) -> None:
        while True:
            checkpoint(self.cancel_token)
            try:
                into.put(item, timeout=POLL_S)  # full: wait for the next stage (backpressure)
                break
            except queue.Full:
                continue
        with self.lock:
            self.max_depth[name] = max(self.max_depth[name], into.qsize())

    def _get(self, out_of: queue.Queue[Item | None]) -> Item | None:
        while True:
            checkpoint(self.cancel_token)
            try:
                return out_of.get(timeout=POLL_S)
            except queue.Empty:
                continue

    def _stage(self, stage: str, index: int, began: float, cpu_s: float, sw: int | None) -> None:
        """Stage ``stage`` of item ``index`` ended here (this thread ran it)."""
        event = make_event("stage", index, detail=stage, cpu_s=cpu_s, switches=sw)
        self.post(replace(event, began=began))

    def _end(self, index: int, exc: BaseException) -> None:
        """Item ``index`` stopped at ``exc``: its one final event."""
        if isinstance(exc, Cancelled) or self.cancel_token.is_set():
            self.post(make_event("cancelled", index))
        elif isinstance(exc, BrokenProcessPool):
            self.post(procs.failure(index, exc, cancelled=False))
        else:
            self.post(make_event("failed", index, detail=describe(exc)))

    # -- stage 1: download threads --------------------------------------------------
    def _download_stage(self) -> None:
        try:
            while True:
                try:
                    task = self.todo.popleft()
                except IndexError:
                    break
                self._download(task)
            with self.lock:
                self.downloading -= 1
                last = self.downloading == 0
            if last:
                self._put(self.fetched, "fetched", None)  # the checksum stage may end
        except Cancelled:
            return

    def _download(self, task: Task) -> None:
        checkpoint(self.cancel_token)  # queued items never start
        self.post(make_event("started", task.index))
        t0, cpu0, sw0 = time.perf_counter(), time.thread_time(), voluntary_switches()
        try:
            data = pipeline.fetch(lambda n: None, self.cancel_token, url=task.kwargs["url"])
        except Exception as exc:
            self._end(task.index, exc)
            return
        cpu = time.thread_time() - cpu0
        self._stage("download", task.index, t0, cpu, _switches_since(sw0))
        busy = {"download": time.perf_counter() - t0}
        self._put(self.fetched, "fetched", Item(task, data, busy, cpu))

    # -- stage 2: the pool of processes, fed from the launcher thread -------------
    def _checksum_stage(self) -> None:
        """Start the pool, then hand each fetched item to it, in order. Runs on the
        launcher thread: a submission may spawn a worker, which must be its child."""
        try:
            self.pool = processes.start_pool(self.processes, self.events, self.mp_cancel)
            # A pool spawns a worker per submission while none is idle: spawn them all
            # now, while the first downloads run, not once the first item has arrived.
            for _ in range(self.processes):
                self.pool.submit(up)
        except Exception as exc:  # e.g. too many open files: every item fails, no hang
            self.no_pool = f"could not start worker processes: {describe(exc)}"
        try:
            while True:
                item = self._get(self.fetched)
                if item is not None:
                    item.checked = self._submit(item.data)
                self._put(self.checked, "checked", item)
                if item is None:
                    return
        except Cancelled:
            return

    def _submit(self, data: bytes) -> Future[bytes]:
        try:
            if self.pool is None:
                raise TaskError(self.no_pool)
            # The item's bytes cross to the worker: counted as they are pickled (sent).
            sealed = cast(bytes, crossing.Sealed(data, self.sent))
            return self.pool.submit(check_in_worker, sealed)
        except Exception as exc:  # a broken pool (a worker died), or none
            failed: Future[bytes] = Future()
            failed.set_exception(exc)
            return failed

    def _shut_down(self) -> None:
        if self.pool is not None:
            procs.shut_down(self.pool)

    # -- stage 3: the writer thread --------------------------------------------------
    def _write_stage(self) -> None:
        try:
            while (item := self._get(self.checked)) is not None:
                self._write(item)
        except Cancelled:
            return

    def _result(self, future: Future[bytes]) -> Checked:
        while True:
            checkpoint(self.cancel_token)
            try:
                blob = future.result(timeout=POLL_S)
            except TimeoutError:
                continue
            self.got.add(len(blob))
            checked: Checked = crossing.unseal(blob)
            return checked

    def _write(self, item: Item) -> None:
        index, kwargs = item.task.index, item.task.kwargs
        try:
            assert item.checked is not None  # noqa: S101 - set by the checksum stage
            checked = self._result(item.checked)
        except Cancelled:
            raise
        except Exception as exc:  # a mismatch, a cancel seen in the worker, a dead worker
            self._end(index, exc)
            return
        name, pid, tid = checked.worker
        self.post(
            Event("stage", index, checked.ended, 0, "checksum", name, pid, tid, (),
                  checked.cpu_s, checked.switches, checked.began)
        )  # fmt: skip
        t0, cpu0, sw0 = time.perf_counter(), time.thread_time(), voluntary_switches()
        try:
            pipeline.store(
                Reporter(index, self.post),
                self.cancel_token,
                item.data,
                folder=kwargs["folder"],
                name=kwargs["name"],
                fsync=kwargs.get("fsync", False),
            )
        except Exception as exc:
            self._end(index, exc)
            return
        cpu = time.thread_time() - cpu0
        self._stage("write", index, t0, cpu, _switches_since(sw0))
        busy = item.busy | {
            "checksum": checked.ended - checked.began,
            "write": time.perf_counter() - t0,
        }
        out = pipeline.outcome(len(item.data), checked.value, busy)
        total_cpu = item.cpu_s + checked.cpu_s + cpu
        self.post(make_event("done", index, out.units, out.check, out.facts, cpu_s=total_cpu))

    # -- the run -------------------------------------------------------------------
    def crossed(self) -> dict[str, int | None]:
        """The items' bytes sent to the checksum workers, and what came back."""
        return {"bytes_sent": self.sent.total, "bytes_received": self.got.total}

    def _collect(self) -> None:
        for blob in processes.received(self.events):
            self.got.add(len(blob))
            up = crossing.unseal(blob)
            if isinstance(up, procs.WorkerUp):
                self.worker_pids.add(up.pid)
        if self.cancelled_at is None or self.finished:
            return
        if time.perf_counter() > self.cancelled_at + CANCEL_GRACE_S:
            self.worker_pids.kill()  # they ignored the cancel: the pool breaks, items end

    def cancel(self) -> None:
        if self.cancelled_at is not None:
            return
        super().cancel()
        self.mp_cancel.set()  # a checksum running in a worker stops at its next 64 KB
        self.cancelled_at = time.perf_counter()
        self.launcher.stop()  # the pool shuts once the checksum stage has seen the cancel

    def worker_processes(self) -> list[int]:
        return self.worker_pids.pids()

    def _close(self, deadline: float) -> None:
        def left(until: float) -> float:
            return max(0.0, until - time.perf_counter())

        self.launcher.stop()
        grace = deadline
        if self.cancelled_at is not None:
            grace = min(deadline, self.cancelled_at + CANCEL_GRACE_S)
        if not self.launcher.join(left(grace)):  # a worker still runs a checksum
            self._collect()
            self.worker_pids.kill()
            self.launcher.join(left(deadline))
        for thread in self.threads:
            thread.join(left(deadline))
        self._collect()
        self.events.close()
        self.events.join_thread()
