"""Child processes that never outlive the app."""

from __future__ import annotations

import ctypes
import ctypes.util
import multiprocessing
import os
import signal
import sys

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
