"""What the window says of threads run in another interpreter (``--python``).

Their GIL, if they have one, is the helper process's, not the GUI thread's:
pure-Python work there cannot make the window wait its turn, only share the
cores. :mod:`gui.readback` uses these for such runs; every sentence is checked
against its record like the others (``tests/test_readback.py``).
"""

from __future__ import annotations

import os
from collections.abc import Callable

from workers.pythons import Interpreter
from workers.record import RunRecord

#: What a window can be late for when the work runs in another interpreter's process.
BUSY = "the GUI thread shares the cores with that process and other programs"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' * (n != 1)}"


def where(r: RunRecord) -> str:
    """`` in CPython 3.13.0t (another process, GIL off)`` for threads run in another
    interpreter; empty for the app's own."""
    if not r.python_path:
        return ""
    return f" in {r.python} (another process, GIL {'on' if r.gil_enabled else 'off'})"


def expect(
    workload: str, workers: int, python: Interpreter, on_threads: Callable[[str, str, int], str]
) -> str:
    """What the threads of ``python`` will show, before they run; ``on_threads``: what
    threads here would (``gui.readback.expect``), for work that waits or leaves the GIL."""
    if workload in ("cpu-python", "queue"):
        if python.gil_enabled:
            return (
                "Its threads take turns under that interpreter's GIL: expect no speed-up over "
                "one thread, and a responsive window, whose GUI thread keeps a GIL of its own."
            )
        cores = min(workers, os.cpu_count() or 1)
        return (
            f"With no GIL there, expect up to {_plural(cores, 'core')} running Python side by "
            "side, and a responsive window, whose GUI thread keeps a GIL of its own."
        )
    if workload == "pipeline":
        turns = (
            "take turns under that interpreter's GIL"
            if python.gil_enabled
            else ("run side by side, with no GIL there")
        )
        return (
            "Its threads' downloads and writes overlap, their pure-Python checksums "
            f"{turns}, and the window stays responsive: its GUI thread keeps a GIL of its own."
        )
    return "In another process they share only the cores with the window. " + on_threads(
        workload, "threading", workers
    )


def why(what: str, r: RunRecord, *, slower: bool, parallel: bool) -> str:
    """The mechanism of pure-Python work on threads of another interpreter: its GIL (or
    its absence) sets their pace; the window's GUI thread has a GIL of its own.
    ``slower``: several threads were measured no faster; ``parallel``: faster than serial."""
    if r.gil_enabled:
        gain = f"{what}, one thread at a time under that interpreter's GIL"
        if slower:
            gain += f", so {_plural(r.workers, 'thread')} were no faster"
    else:
        gain = f"{what} with no GIL to take turns for"
        if parallel:
            gain += ", so the threads worked on several cores at once"
        elif slower:
            gain += ", yet this run was no faster (were the cores busy?)"
    return f"{gain}; the window's GUI thread keeps a GIL of its own, in this process"
