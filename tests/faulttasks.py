"""Task functions that misbehave on purpose, importable by spawned worker processes.

Each follows the task contract of ``workers.core``: a module-level function of
``progress``, ``cancel`` and keyword parameters, returning an ``Outcome``.
"""

from __future__ import annotations

import hashlib
import os
import time

from workers.core import CancelToken, Outcome, Task, checkpoint


def steps(
    progress, cancel: CancelToken, *, count: int, step_s: float, die_at: int = -1, note: str = ""
) -> Outcome:
    """``count`` short steps, a cancel point before each.

    At step ``die_at`` the worker process dies with ``os._exit(3)``, as after a
    crash in C code, first writing the time of death to the file ``note``.
    """
    for i in range(count):
        checkpoint(cancel)
        if i == die_at:
            if note:
                with open(note, "w") as out:
                    out.write(repr(time.perf_counter()))
            os._exit(3)
        time.sleep(step_s)
        progress(i + 1)
    return Outcome(count, f"{count} steps")


def stubborn(progress, cancel: CancelToken, *, seconds: float) -> Outcome:
    """A pure-Python loop that never looks at the cancel token: only a kill stops it."""
    deadline = time.perf_counter() + seconds
    turns = 0
    while time.perf_counter() < deadline:
        turns += 1
        if turns % 100_000 == 0:
            progress(turns)
    return Outcome(turns, "ignored every cancel")


def blocked(progress, cancel: CancelToken, *, seconds: float) -> Outcome:
    """One call that cannot be cancelled (a stand-in for a slow DNS lookup or an
    fsync on a slow disk): the thread is stuck in it, whatever the cancel says."""
    time.sleep(seconds)
    return Outcome(1, "blocked")


def spin_forever(ready, background: bool = False) -> None:
    """A pure-Python loop with no end, for a busy process: say so through ``ready``, then spin.

    ``background``: run as SCHED_IDLE, so it takes only CPU time nobody else wants.
    """
    if background:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    ready.set()
    turns = 0
    while True:
        turns += 1


_BUFFER = bytes(4096)


def flood(progress, cancel: CancelToken, *, calls: int, seconds: float) -> Outcome:
    """Call ``progress`` ``calls`` times, evenly over ``seconds``, with a little real work.

    Batches of 50 calls (a sha256 of 4 KiB each, GIL released) then a sleep to
    the schedule: the point is the number of calls, not the CPU.
    """
    start = time.perf_counter()
    for i in range(1, calls + 1):
        hashlib.sha256(_BUFFER)
        progress(i)
        if i % 50 == 0:
            checkpoint(cancel)
            delay = start + seconds * i / calls - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
    return Outcome(calls, f"{calls} progress calls")


def tasks(fn, n: int, total: int, **kwargs: object) -> list[Task]:
    """``n`` tasks running ``fn(**kwargs)``, each ``total`` units long."""
    return [Task(i, fn, dict(kwargs), total) for i in range(n)]
