"""What the window says about a pipeline (download, pure-Python checksum, write) off
the GUI thread, before and after it runs: where its checksum runs decides.

The GUI thread's case, the "kept up" and "froze" words and the numbers are
:mod:`gui.readback`'s, as for every job; ``tests/test_readback.py`` checks these
sentences with the rest.
"""

from __future__ import annotations

from gui.hazards import Blocked, Freed
from workers.record import RunRecord


def expect(backend: str) -> str:
    """What the pipeline will show off the GUI thread: where its checksum runs decides."""
    if backend == "hybrid":
        return (
            "Each stage runs where it fits: downloads on threads that let go of the GIL while "
            "they wait, the pure-Python checksum on processes with a GIL each, writes on a "
            "thread, and bounded queues between them hold the fast stages to the slow one's "
            "pace. Expect the stages to overlap, a pause (spawn) before the first checksum, "
            "and a responsive window."
        )
    if backend == "asyncio":
        return (
            "The coroutines await their sockets, but a checksum has nothing to await: expect "
            "each one to hold the loop and freeze the window until it ends."
        )
    if backend == "multiprocessing":
        return (
            "Each process downloads, checksums and writes its items in turn, with a GIL of "
            "its own: expect a start-up pause (spawn), then the work running outside the GUI "
            "thread."
        )
    if backend == "dask":
        return (
            "Each dask worker is a process that downloads, checksums and writes its items in "
            "turn, with a GIL of its own: expect a start-up pause while the cluster starts, "
            "then the work running outside the GUI thread; every task goes through the "
            "scheduler."
        )
    return (
        "Downloads and writes let go of the GIL while they wait, but the pure-Python "
        "checksum holds it: expect the checksums to take turns, and the window to stutter "
        "while it waits its turn."
    )


def why(r: RunRecord, freed: Freed, blocked: Blocked) -> str:
    """The mechanism of a pipeline run off the GUI thread, as ``readback._why`` tells the others."""
    if r.backend == "asyncio":
        return blocked("a coroutine never awaits while it checksums: it holds the loop", r)
    busy = "the GUI thread shares the cores with these processes and other programs"
    if r.backend == "hybrid":
        return freed(
            "each stage ran where it fits, the pure-Python checksum on processes with a GIL "
            "each, downloads and writes on threads, bounded queues between",
            r,
            f"the threads' Python code takes the GIL too; {busy}",
        )
    if r.backend in ("multiprocessing", "dask"):
        start = f"start-up took {r.startup_s:.2f} s"
        who = "dask worker process" if r.backend == "dask" else "process"
        gain = f"each {who} has its own GIL for its items, in turn; {start}"
        return freed(gain, r, busy)
    # On threads the checksums share the GIL with the GUI thread: its turns, as measured.
    return freed(
        "the downloads and writes let go of the GIL while they wait",
        r,
        "the pure-Python checksums hold the GIL, and the GUI thread waits its turn",
    )
