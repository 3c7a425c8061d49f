"""Child processes that never outlive the app, and never hold it up.

The hardening behind the process back end (``workers.backends.processes``),
kept apart so that its pattern reads like the lesson:

- :func:`harden_worker`: a worker dies with the app (even on SIGKILL), runs
  below the window's priority, leaves Ctrl+C to the app and says its pid.
- :class:`Launcher`: the thread that spawns workers, later shuts their pool,
  and ends only once they are gone (``PR_SET_PDEATHSIG`` is per thread).
- :class:`WorkerPids`: the pids workers said, to SIGKILL those that ignore a
  cancel, never a stranger that reused a pid.
- :func:`shut_down` and :func:`failure`: a pool's end and a task's verdict
  when its worker is gone.

Public APIs only: ``ProcessPoolExecutor`` has no public list of its
processes, so workers report their own pids through the run's event queue.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Executor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

from workers import crossing
from workers.core import Event, make_event

PR_SET_PDEATHSIG = 1


def context() -> multiprocessing.context.SpawnContext:
    """``spawn``, never ``fork``: Qt has threads by the time we start children."""
    return multiprocessing.get_context("spawn")


def die_with_parent(parent_pid: int | None = None) -> None:
    """Ask Linux to SIGKILL this process when its parent dies (even by SIGKILL).

    ``parent_pid`` is the app's pid (by default multiprocessing's parent).
    Elsewhere a no-op: the app still cancels and joins children on every
    normal exit.

    Linux sends the signal when the *thread* that started this process ends,
    not the whole parent: the thread that spawns workers must outlive them
    (see :class:`Launcher`).
    """
    if not sys.platform.startswith("linux"):
        return
    if parent_pid is None:
        parent = multiprocessing.parent_process()
        parent_pid = parent.pid if parent is not None else None
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    # The parent may have died before prctl: then we are already an orphan,
    # adopted by pid 1 or, in many containers, by a reaper with another pid.
    if parent_pid is not None and os.getppid() != parent_pid:
        os._exit(1)


#: Workers run below the GUI's priority: with every core busy, the window still
#: gets the CPU first (measured on 2 cores: lag p99 ~10 ms at equal priority).
WORKER_NICE = 5


def lower_priority(*, thread_only: bool = False) -> None:
    """Lower this process's (or on Linux only this thread's) priority to WORKER_NICE.

    On Linux a thread's nice value is its own and a child forked from it
    inherits it, so a launcher thread lowered this way starts children that
    never compete with the GUI, not even while importing.
    """
    if not hasattr(os, "getpriority"):
        return
    who = threading.get_native_id() if thread_only and sys.platform.startswith("linux") else 0
    if thread_only and who == 0:
        return
    try:
        current = os.getpriority(os.PRIO_PROCESS, who)
        if current < WORKER_NICE:
            os.setpriority(os.PRIO_PROCESS, who, WORKER_NICE)
    except OSError:
        pass  # not allowed: run at normal priority


# -- in each worker ---------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class WorkerUp:
    """A worker's first message on the run's event queue: its pid."""

    pid: int


def harden_worker(app_pid: int, events: Any) -> None:
    """Harden a fresh worker: die with the app, run below it, say our pid.

    ``events`` is the run's multiprocessing queue; the parent unseals the
    :class:`WorkerUp` it finds there (:mod:`workers.crossing`; see :class:`WorkerPids`).
    """
    die_with_parent(app_pid)
    lower_priority()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is the app's to handle
    events.put(crossing.seal(WorkerUp(os.getpid())))  # sealed, as every message on it


# -- in the app -------------------------------------------------------------------
class Launcher:
    """The thread that spawns a pool's workers, later shuts the pool, and outlives them.

    Linux sends ``PR_SET_PDEATHSIG`` when the *thread* that started a worker
    ends, not its process: were this thread to end while workers run, every
    worker that armed it would be killed (seen with 5 000 tasks, whose
    submission outlasts the workers' start-up).  So ``spawn`` runs here, then
    the thread waits for :meth:`stop` and runs ``shut_down``, which must
    return only once the workers are gone.

    Spawning blocks for tens of ms: on this thread it costs start-up time but
    never UI responsiveness.  The thread runs below the GUI's priority, and
    children inherit that from their first instruction (imports included).
    """

    def __init__(
        self, spawn: Callable[[], None], shut_down: Callable[[], None], name: str = "pool-launcher"
    ) -> None:
        self._spawn, self._shut_down = spawn, shut_down
        self.launched = threading.Event()  # spawn returned (or raised)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._main, name=name)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Shut the pool down now or, if still spawning, right after; returns at once."""
        self._stopping.set()

    def join(self, timeout: float | None = None) -> bool:
        """Wait (up to ``timeout`` s) for the workers to be gone; True if they are."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _main(self) -> None:
        lower_priority(thread_only=True)
        try:
            self._spawn()
        finally:
            self.launched.set()
        self._stopping.wait()
        self._shut_down()


def shut_down(pool: Executor) -> None:
    """Cancel the queued tasks, let the running ones end, join every worker.

    The executor cancels its queued futures itself (``cancel_futures=True``).
    Cancelling them one by one with ``future.cancel()`` instead would leave
    cancelled items in its books, and on Python 3.11 its manager thread
    crashes on them (InvalidStateError, CPython gh-107219, fixed in 3.12) once
    a stubborn worker is killed, leaving a thread behind.
    """
    pool.shutdown(wait=True, cancel_futures=True)


class WorkerPids:
    """The pids a pool's workers reported (:class:`WorkerUp`), to kill after a grace.

    Only a child of ours that has not exited is killed: until it is reaped,
    its pid cannot name another process, whereas a worker the pool already
    reaped may have left its pid to a stranger.
    """

    def __init__(self) -> None:
        self._pids: list[int] = []

    def add(self, pid: int) -> None:
        if running_child(pid):
            self._pids.append(pid)

    def pids(self) -> list[int]:
        return list(self._pids)

    def kill(self) -> None:
        """SIGKILL every worker still running: its pool breaks, its tasks end."""
        for pid in self._pids:
            if running_child(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)


def running_child(pid: int) -> bool:
    """True while ``pid`` is a child of ours that has not exited (nor been reaped)."""
    if not hasattr(os, "waitid"):  # Windows: no zombies to tell apart
        return True
    try:  # WNOWAIT: only look, leave the exit status to whoever joins the process
        return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None
    except ChildProcessError:  # not our child, or already reaped
        return False


def failure(index: int, exc: BaseException, *, cancelled: bool) -> Event:
    """The final event of task ``index`` whose future raised ``exc``.

    After a cancel it is "cancelled" (its worker was killed after the grace);
    a worker that died by itself breaks the pool, and every task it still had
    fails with "worker process died".
    """
    if cancelled:
        return make_event("cancelled", index)
    if isinstance(exc, BrokenProcessPool):
        return make_event("failed", index, detail="worker process died")
    return make_event("failed", index, detail=f"{type(exc).__name__}: {exc}")
