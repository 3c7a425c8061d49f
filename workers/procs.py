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


def die_with_parent() -> None:
    """Ask Linux to SIGKILL this process when its parent dies (even by SIGKILL).

    Elsewhere a no-op: the app still cancels and joins children on every
    normal exit.
    """
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    # The parent may have died before prctl: then we are already orphaned.
    if os.getppid() == 1:
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
