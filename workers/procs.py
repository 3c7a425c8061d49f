"""Child processes that never outlive the app."""

from __future__ import annotations

import ctypes
import ctypes.util
import multiprocessing
import os
import signal
import sys
import threading

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
    (see ``ProcessRun``).
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
