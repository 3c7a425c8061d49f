"""``dask``: tasks on a dask.distributed cluster, on this machine or another.

The pattern, as the dask lesson tells it: start a cluster (by default a
``LocalCluster`` of worker processes, one thread each, made by the app), connect a
``Client``, hand it the tasks (``client.map``), take each result from its future
(a done-callback, never ``future.result()`` on the GUI thread), and
``client.cancel`` what has not started. Like ``multiprocessing``, each worker
is a process with its own GIL; unlike it, the workers may be anywhere a
scheduler can reach (``--scheduler tcp://host:8786``), and every task, result
and message goes through that scheduler.

What crosses to a worker with a task (its cancel token, its semaphore or queue,
its events) is in :mod:`workers.daskkit`. Starting the cluster (or reaching the
scheduler) and, at the end, closing it run on a launcher thread below the GUI's
priority (:class:`workers.procs.Launcher`), so their cost is the run's start-up
time, never the window's; the worker processes inherit that priority. A close
that lands while the workers still boot kills them instead of waiting for them
(:mod:`workers.daskboot`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import time
import uuid
from functools import partial
from importlib.util import find_spec
from typing import Any
from urllib.parse import urlsplit

from workers import daskboot, daskkit, inputs, procs
from workers.backends.base import Run
from workers.core import (
    Cancelled,
    CancelToken,
    Event,
    Task,
    TaskError,
    describe,
    make_event,
    run_task,
)

#: How long a client waits for a scheduler before the run fails, saying so.
CONNECT_TIMEOUT_S = 3.0
#: How long a run waits for the scheduler to have a worker before it fails, saying so.
WORKER_TIMEOUT_S = 10.0
#: How long cancelled tasks get to stop at a chunk before the cluster is closed under them.
CANCEL_GRACE_S = 1.5
#: How often the app asks the scheduler how deep the queue workload's queue is.
DEPTH_EVERY_S = 0.03
#: How long the client may take to fetch a finished task's events from its worker.
RESULT_TIMEOUT_S = 10.0
#: How long closing the client, then the cluster, may take (then its workers are killed).
#: On the launcher thread: a close waits for it only until its own deadline.
CLOSE_TIMEOUT_S = 2.0


# -- the pattern ------------------------------------------------------------------
def quiet_logs() -> None:
    """distributed logs to the app's stderr (INFO and up by default): a worker that
    joins or leaves, a client that closes, and at ERROR with a traceback each
    ``distributed.Queue`` get or put that times out (a consumer polling, a producer
    blocked: the queue workload's normal course), from the scheduler, which runs in
    the app's process. The app reports every task's outcome itself."""
    logging.getLogger("distributed").setLevel(logging.CRITICAL)


def reach(address: str) -> None:
    """Raise ``OSError`` (refused, no route, timed out) unless something listens at
    ``address``: a plain connect says why at once, where a dask ``Client`` retries for
    its whole timeout, then fails with a message of its own."""
    parts = urlsplit(address)
    with socket.create_connection((parts.hostname or "", parts.port or 0), CONNECT_TIMEOUT_S):
        pass


def connect(scheduler: str, workers: int, boot: daskboot.Boot) -> tuple[Any, Any]:
    """A ``Client`` on the scheduler at ``scheduler``, or (empty) on a new ``LocalCluster``
    of ``workers`` processes with one thread each, whose start ``boot`` may cut short;
    returns (client, cluster or None).

    A worker that dies fails its task at once (``allowed_failures=0``), as on
    ``multiprocessing``: dask's default runs it again on another worker up to 3
    times. ``silence_logs``: the workers' logs too (see :func:`quiet_logs`).
    """
    from distributed import Client, LocalCluster

    quiet_logs()
    if scheduler:
        reach(scheduler)
        client = Client(scheduler, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
        try:  # tasks sent to a scheduler with no worker would wait for ever
            client.wait_for_workers(1, timeout=WORKER_TIMEOUT_S)
        except BaseException:
            client.close()
            raise TaskError(f"no worker joined it within {WORKER_TIMEOUT_S:g} s") from None
        return client, None
    cluster = LocalCluster(
        n_workers=0,  # then scale(): the workers start while the tasks are sent
        threads_per_worker=1,
        processes=True,
        # On loopback only, like the local server, and on free ports: never a fixed 8786
        # or 8787 another program (or another cluster) may hold. The dashboard's page
        # needs bokeh, which unfreeze does not install.
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
        silence_logs=logging.CRITICAL,
        scheduler_kwargs={"allowed_failures": 0},
        worker_class=daskboot.BootingNanny,
        boot=boot,
    )
    try:
        cluster.scale(workers)
        # By address: a Client(cluster) waits here for the workers to be up.
        return Client(cluster.scheduler_address, set_as_default=False), cluster
    except BaseException:
        cluster.close()
        raise


def work(task: Task, topic: str, cancel: CancelToken) -> list[Event]:
    """Runs one task in a dask worker; "started" and progress go to the scheduler's
    log under ``topic`` as they happen (never waiting), and "started" and the final
    event are returned as the future's result too: the log may deliver later."""
    from distributed import get_worker

    worker = get_worker()
    kept: list[Event] = []

    def post(event: Event) -> None:
        if event.kind != "progress":
            kept.append(event)
        if not event.final:
            worker.log_event(topic, daskkit.encode(event))

    run_task(task, post, cancel)
    return kept


def outcome(index: int, future: Any, cancelled: bool) -> list[Event]:
    """The events a finished dask future stands for; ``cancelled``: the run was."""
    from distributed import KilledWorker

    if future.cancelled():  # known here: no round trip (1 000 cancelled futures: ~1 s)
        return [make_event("cancelled", index)]
    try:
        events: list[Event] = future.result(timeout=RESULT_TIMEOUT_S)
    except Exception as exc:  # it raised, its worker died, or it was cancelled
        if cancelled or future.cancelled():
            return [make_event("cancelled", index)]
        if isinstance(exc, KilledWorker):
            return [make_event("failed", index, detail="worker process died")]
        return [make_event("failed", index, detail=describe(exc))]
    return events


# -- the back end -----------------------------------------------------------------
#: The scheduler's states of a task not yet given to a worker.
HELD_BACK = frozenset({"released", "waiting", "queued", "no-worker"})


def _states(keys: list[str], dask_scheduler: Any = None) -> dict[str, str]:
    """On the scheduler: the state of each of ``keys`` it knows."""
    tasks = dask_scheduler.tasks
    return {key: tasks[key].state for key in keys if key in tasks}


class DaskRun(Run):
    backend = "dask"

    def __init__(self, tasks: list[Task], workers: int, scheduler: str = "") -> None:
        super().__init__(tasks, workers)
        self.scheduler = scheduler
        self.name = f"unfreeze-{uuid.uuid4().hex[:12]}"  # its topic, cancel event, objects
        self.kit = daskkit.kit(self.name)
        self.client: Any = None
        self.cluster: Any = None
        self.boot = daskboot.Boot()  # the LocalCluster's workers, booting or up
        self.dashboard = ""  # the cluster's dashboard, where it has one (bokeh installed)
        self.futures: list[Any] = []
        self.cancelled_at: float | None = None
        self.shut_down_error = ""  # why stopping the tasks failed, if it did
        self.close_by = float("inf")  # close()'s deadline, once it is called

    def _start(self) -> None:
        queue = self.shared.get("queue")
        if isinstance(queue, daskkit.ClusterQueue):
            # The tasks have the queue (bound at start); the app reads its depth from here.
            self.shared["queue"] = daskkit.QueueDepth(queue.name)
        self.launcher = procs.Launcher(self._connect, self._shut_down, name="dask-launcher")
        self.launcher.start()

    def _connect(self) -> None:
        try:
            self.client, self.cluster = connect(self.scheduler, self.workers, self.boot)
            if self.cluster is None:  # the scheduler's workers are what they are
                self.workers = max(1, sum(self.client.nthreads().values()))
            if find_spec("bokeh"):
                self.dashboard = str(self.client.dashboard_link)
            self.client.subscribe_topic(self.name, self._on_log)
            self._submit()
            depth = self.shared.get("queue")
            if isinstance(depth, daskkit.QueueDepth):
                self._watch_depth(depth)
        except Exception as exc:
            self._give_up(exc)

    def _watch_depth(self, depth: daskkit.QueueDepth) -> None:
        """Ask the scheduler for the queue's depth every frame or so, here: the window
        reads it each frame (``qsize``), and a round trip on the GUI thread is lag."""
        from distributed import Queue

        queue = Queue(depth.name, client=self.client)
        while not self.cancel_token.is_set() and not all(f.done() for f in self.futures):
            depth.depth = int(queue.qsize())
            time.sleep(DEPTH_EVERY_S)

    def _submit(self) -> None:
        if self.cancel_token.is_set():
            raise Cancelled
        keys = [f"{self.name}-task-{task.index}" for task in self.tasks]
        futures = self.client.map(
            work,
            inputs.as_recipes(self.tasks),
            key=keys,
            topic=self.name,
            cancel=daskkit.ClusterCancel(self.name),
        )
        self.futures = futures
        for task, future in zip(self.tasks, futures, strict=True):
            future.add_done_callback(partial(self._settle, task.index))

    def _on_log(self, entry: tuple[float, list[Any]]) -> None:
        """A started or progress event, on the client's thread."""
        self.post(daskkit.decode(entry[1]))

    def _settle(self, index: int, future: Any) -> None:
        for event in outcome(index, future, self.cancel_token.is_set()):
            self.post(event)

    def _give_up(self, exc: Exception) -> None:
        """No cluster, or no scheduler: a verdict for every task, no hang."""
        if isinstance(exc, Cancelled):
            detail = ""
        elif self.scheduler:
            detail = f"could not reach the dask scheduler at {self.scheduler}: {describe(exc)}"
        else:
            detail = f"could not start a dask cluster: {describe(exc)}"
        for task in self.tasks:
            self.post(make_event("failed" if detail else "cancelled", task.index, detail=detail))

    def _stop_tasks(self) -> None:
        """Cancelled: queued tasks never start, running ones stop at their next chunk.

        The token first, then a wait of one look's age (a worker remembers its last
        look for CHECK_S): a task that starts after that sees the token and does
        nothing. Then only the tasks the scheduler still holds back are cancelled: one
        handed to a worker, or done there, may have run to its end, and its verdict is
        its own (a ``client.cancel`` would call a whole, written file "cancelled").
        """
        from distributed import Event as ClusterEvent

        ClusterEvent(self.name, client=self.client).set()
        time.sleep(daskkit.CHECK_S + 0.01)
        states = self.client.run_on_scheduler(_states, [f.key for f in self.futures])
        held = [f for f in self.futures if states.get(f.key) in HELD_BACK]
        self.client.cancel(held)
        left = [f for f in self.futures if f not in held]
        grace = (self.cancelled_at or time.perf_counter()) + CANCEL_GRACE_S
        # A close's deadline (it may come during the grace) leaves time to close.
        while any(not f.done() for f in left) and time.perf_counter() < min(
            grace, self.close_by - CLOSE_TIMEOUT_S
        ):
            time.sleep(0.01)  # then the cluster is closed under them

    def _shut_down(self) -> None:
        if self.client is None:
            return
        try:
            if self.cancelled_at is not None and self.futures and not self.finished:
                self._stop_tasks()
            self.client.unsubscribe_topic(self.name)
        except Exception as exc:  # a lost scheduler: nothing left to stop there
            self.shut_down_error = describe(exc)
        finally:
            self._close_cluster()

    def _close_cluster(self) -> None:
        """Close the client, then the LocalCluster; if that fails or overruns, its worker
        processes are killed: they never outlive the run. Workers still booting are
        killed first (:mod:`workers.daskboot`): dask's close would wait for them."""
        self.boot.cut_short(min(self.close_by, time.perf_counter() + CLOSE_TIMEOUT_S))
        pids = self.worker_processes()  # now: a nanny forgets its pid when it closes
        try:
            self.client.close(timeout=CLOSE_TIMEOUT_S)
        except Exception as exc:  # a lost scheduler, or a machine too busy to answer
            self.shut_down_error = self.shut_down_error or describe(exc)
        if self.cluster is None:
            return
        try:
            self.cluster.close(timeout=CLOSE_TIMEOUT_S)
        except Exception as exc:  # e.g. timed out: a worker still ran a task
            self.shut_down_error = self.shut_down_error or describe(exc)
            for pid in pids:
                if procs.running_child(pid):
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
            self.cluster.shutdown_on_close = False  # distributed would close it again at exit

    def crossed(self) -> dict[str, int | None]:
        """Not counted: dask serializes tasks, results and events in its own protocol,
        through the scheduler; None says so, where 0 would claim nothing crossed."""
        return {"bytes_sent": None, "bytes_received": None}

    def worker_processes(self) -> list[int]:
        """The pids of the LocalCluster's workers, booting or up (none of an outside
        cluster's are ours)."""
        return self.boot.pids()

    def cancel(self) -> None:
        if self.cancelled_at is not None:
            return
        super().cancel()
        self.cancelled_at = time.perf_counter()
        self.boot.stop()  # no worker starts for a cancelled run
        self.launcher.stop()

    def _close(self, deadline: float) -> None:
        self.close_by = deadline
        self.launcher.stop()
        self.launcher.join(max(0.0, deadline - time.perf_counter()))
