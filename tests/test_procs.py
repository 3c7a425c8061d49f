"""The hardening behind the process back end, each piece with real processes.

Why a launcher thread outlives its workers, how a pool ends when a worker
ignores its cancel, and which pids may be killed.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

import psutil
import pytest

from workers import crossing, procs

SPAWN = procs.context()


def armed_then_asleep(app_pid: int, armed: Any) -> None:
    """A child that asks to die with the app, says so, then sleeps."""
    procs.die_with_parent(app_pid)
    armed.set()
    time.sleep(30)


def hellos(events: Any, count: int, timeout: float = 20.0) -> list[int]:
    """The pids of the first ``count`` workers to report on ``events``."""
    pids: list[int] = []
    deadline = time.monotonic() + timeout
    while len(pids) < count:
        item = crossing.unseal(events.get(timeout=max(0.0, deadline - time.monotonic())))
        if isinstance(item, procs.WorkerUp):
            pids.append(item.pid)
    return pids


@pytest.fixture
def thread_errors() -> Iterator[list[BaseException]]:
    """Exceptions that end any thread during the test (the pool's own, too)."""
    errors: list[BaseException] = []
    previous = threading.excepthook
    threading.excepthook = lambda args: errors.append(args.exc_value)  # type: ignore[assignment]
    try:
        yield errors
    finally:
        threading.excepthook = previous


def test_a_child_dies_when_the_thread_that_started_it_ends() -> None:
    """Why procs.Launcher outlives its workers: PR_SET_PDEATHSIG is per thread.

    The app is alive; only the thread that started the child ended. Fails if
    die_with_parent stops asking Linux for the signal.
    """
    armed = SPAWN.Event()
    started: list[Any] = []

    def launch() -> None:
        child = SPAWN.Process(target=armed_then_asleep, args=(os.getpid(), armed))
        child.start()
        started.append(child)
        assert armed.wait(20), "the child never armed PR_SET_PDEATHSIG"

    thread = threading.Thread(target=launch)
    thread.start()
    thread.join()
    (child,) = started
    try:
        child.join(5)
        assert child.exitcode == -signal.SIGKILL
    finally:
        child.kill()
        child.join()


def test_workers_live_while_their_launcher_waits_and_are_gone_once_it_ends() -> None:
    """Workers armed against their launcher thread finish their tasks; stop ends them all.

    Fails if the launcher thread ends after spawning (its workers are killed
    mid-task: the pool breaks) or if stop leaves a worker behind.
    """
    events = SPAWN.Queue()
    pools: list[ProcessPoolExecutor] = []
    futures = []

    def spawn() -> None:
        pool = ProcessPoolExecutor(
            2, mp_context=SPAWN, initializer=procs.harden_worker, initargs=(os.getpid(), events)
        )
        pools.append(pool)
        futures.extend(pool.submit(time.sleep, 0.5) for _ in range(2))
        hellos(events, 2)  # both armed PR_SET_PDEATHSIG against this thread

    launcher = procs.Launcher(spawn, lambda: procs.shut_down(pools[0]), name="test-launcher")
    launcher.start()
    assert launcher.launched.wait(30)
    workers = [p for p in multiprocessing.active_children() if p.name.startswith("SpawnProcess")]
    try:
        assert [f.result(timeout=10) for f in futures] == [None, None]  # not BrokenProcessPool
        assert all(p.is_alive() for p in workers)
    finally:
        launcher.stop()
        assert launcher.join(10)
    assert [p.exitcode for p in workers] == [0, 0]
    events.close()
    events.join_thread()


def test_a_stubborn_worker_killed_during_shut_down_ends_it_cleanly(thread_errors) -> None:
    """shut_down cancels the queued tasks and waits for the running one; a kill ends the wait.

    Queued tasks never run, the killed task's future says the pool broke, no
    thread of the pool dies of an exception (CPython gh-107219 on 3.11).
    """
    events = SPAWN.Queue()
    pool = ProcessPoolExecutor(
        1, mp_context=SPAWN, initializer=procs.harden_worker, initargs=(os.getpid(), events)
    )
    running = pool.submit(time.sleep, 30)
    queued = [pool.submit(time.sleep, 30) for _ in range(5)]
    pids = procs.WorkerPids()
    for pid in hellos(events, 1):
        pids.add(pid)
    assert len(pids.pids()) == 1
    stopper = threading.Thread(target=procs.shut_down, args=(pool,))
    stopper.start()
    stopper.join(0.5)
    assert stopper.is_alive()  # it waits for the running task
    killed_at = time.perf_counter()
    pids.kill()
    stopper.join(10)
    assert not stopper.is_alive()
    print(f"shut_down returned {time.perf_counter() - killed_at:.3f} s after the kill")
    with pytest.raises(BrokenProcessPool):
        running.result(timeout=0)
    # One task waits in the pool's call queue, past cancelling; the others never start.
    assert sum(f.cancelled() for f in queued) >= len(queued) - 1
    assert thread_errors == []
    events.close()
    events.join_thread()


def test_worker_pids_keep_only_our_children_and_kill_them() -> None:
    """A pid that names no child of ours (here an orphaned grandchild) is never killed."""
    shell = subprocess.run(
        ["sh", "-c", "sleep 30 >/dev/null 2>&1 & echo $!"],
        capture_output=True, text=True, check=True, timeout=10,
    )  # fmt: skip
    stranger = psutil.Process(int(shell.stdout))
    child = SPAWN.Process(target=time.sleep, args=(30,))
    child.start()
    try:
        pids = procs.WorkerPids()
        pids.add(stranger.pid)
        pids.add(child.pid)
        assert pids.pids() == [child.pid]
        pids.kill()
        child.join(5)
        assert child.exitcode == -signal.SIGKILL
        assert stranger.is_running()
        pids.kill()  # gone and reaped: nothing to do, nothing raised
    finally:
        child.kill()
        child.join()
        stranger.kill()


def test_a_task_whose_worker_is_gone_gets_a_plain_verdict() -> None:
    died = procs.failure(3, BrokenProcessPool("terminated abruptly"), cancelled=False)
    assert (died.task, died.kind, died.detail) == (3, "failed", "worker process died")
    killed = procs.failure(3, BrokenProcessPool("terminated abruptly"), cancelled=True)
    assert killed.kind == "cancelled"
    other = procs.failure(3, ValueError("cannot pickle"), cancelled=False)
    assert other.detail == "ValueError: cannot pickle"
