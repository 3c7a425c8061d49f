"""What the window says about the hazards lab: races, deadlock, a connection limit, a queue.

:func:`hazard_line` is the live line under the progress bar, read each frame
from the shared state itself (expected vs actual, or the wait-for graph);
:func:`expect` and :func:`expect_queue` the banner before a run;
:func:`result`, :func:`why` and :func:`peak_and_depth_text` the parts of the
read-back sentence (:func:`gui.readback.readback`) that only these runs
have. Like every read-back, each claim is conditioned on what the record
measured: "lost" only with a lost count above 0, "deadlock" only when one
was found, the server's peak only when it counted one
(``tests/test_readback.py`` checks them on every pair).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from workers.record import RunRecord

THREADS = frozenset({"qthread", "threading", "thread-pool", "qthread-pool"})

#: How a mechanism's sentence ends with what the window did (readback's _blocked, _freed).
Blocked = Callable[[str, RunRecord], str]
Freed = Callable[[str, RunRecord, str], str]


def expect(workload: str, backend: str) -> str:
    """What a hazards-lab job will show on ``backend`` (not the GUI thread), with no number."""
    if backend == "dask":
        return (
            "Not on dask: the shared account and locks would be a round trip to the scheduler "
            "at every step. Pick multiprocessing to see processes race or deadlock."
        )
    if workload == "race":
        if backend == "asyncio":
            return (
                "Each coroutine awaits between reading the balance and writing it back: expect "
                "lost deposits unless guarded by asyncio.Lock, and a responsive window."
            )
        if backend == "multiprocessing":
            return (
                "The balance is shared memory each process reads and writes from its own core: "
                "expect lost deposits unless guarded by a process-shared lock, after a start-up "
                "pause (spawn)."
            )
        return (
            "A thread switched out between reading the balance and writing it back overwrites "
            "the deposits made meanwhile: expect lost deposits unless guarded by a lock, which "
            "costs throughput."
        )
    if backend == "asyncio":
        return (
            "The transfers have no await: each coroutine holds the loop until its task ends, so "
            "none waits for another's lock. Expect no deadlock, and the window to freeze."
        )
    return (
        "Each worker takes its own account's lock, then the next one's: once all hold their "
        "first, each waits for the next for ever. Expect the app to find the cycle and end the "
        "run as a deadlock, unless the guard is ordered."
    )


def expect_queue(backend: str, n: int) -> str:
    """What a queue job will show, before it runs (the GUI thread's case is :func:`expect`'s)."""
    if n == 1:
        flow = (
            "One worker produces and consumes in turn (blocked on a full queue, it would wait "
            "for itself for ever), so nothing blocks"
        )
    else:
        flow = (
            "Producers fill the bounded queue faster than consumers can checksum, so they "
            "block until there is room"
        )
    if backend == "asyncio":
        return (
            f"{flow}; coroutines await the queue, but a checksum never awaits: expect the "
            "window to stutter while each item is checked on the GUI thread."
        )
    if backend == "multiprocessing":
        return (
            f"{flow}; the processes pay a start-up pause (spawn) and the queue pickles each "
            "item, but the GUI thread is left alone."
        )
    if backend == "dask":
        return (
            f"{flow}; the dask worker processes pay a start-up pause, and each item goes "
            "through the scheduler's queue, but the GUI thread is left alone."
        )
    return (
        f"{flow}; the consumers' Python code holds the GIL: expect the window to stutter "
        "while it waits its turn."
    )


def hazard_line(workload: str, hazard: Mapping[str, Any]) -> str:
    """``expected 812,000 · actual 604,311 · lost 207,689``, or who holds and waits for what."""
    if not hazard:
        return ""
    if workload == "race":
        return (
            f"expected {hazard['expected']:,} · actual {hazard['actual']:,} · "
            f"lost {hazard['lost']:,}"
        )
    if hazard.get("deadlock"):
        return f"deadlock: {hazard['deadlock']}"
    return f"wait-for graph: {hazard['graph']}"


def result(r: RunRecord) -> str:
    """The race's count, from the record (deadlock runs that completed have none)."""
    if r.workload != "race" or r.lost is None or r.expected is None:
        return "no deadlock"
    if r.lost > 0:
        return f"lost {r.lost:,} of {r.expected:,} deposits (the balance ended at {r.actual:,})"
    return f"no deposit lost ({r.actual:,} of {r.expected:,})"


def deadlock_text(r: RunRecord) -> str:
    """A run that ended as ``deadlock``: the ring of waits (its first link quoted: the
    whole cycle is under the progress bar and in the log), how soon it was found, the fix."""
    links = r.deadlock.split("; ")
    who = "processes" if r.backend == "multiprocessing" else "threads"
    found = f"found {r.detect_s:.2f} s after the last one began to wait" if r.detect_s else "found"
    return (
        f"deadlock with {r.done} of {r.tasks} tasks done: a ring of {len(links)} {who}, each "
        f"holding one lock and waiting for the next one's ({links[0]}, …), {found}; every "
        "worker gave up. Take the locks in one order (guard ordered)"
    )


def why(r: RunRecord, freed: Freed, blocked: Blocked) -> str:
    """The mechanism behind a completed hazards-lab run; each claim holds for what it measured."""
    if r.workload == "race":
        return _race(r, freed, blocked)
    if r.backend == "gui-thread-process-events":
        return freed(
            "processEvents() lets the event loop run inside each task, yet one task runs at a "
            "time and never waits for a lock another holds, so no deadlock can form",
            r,
            "a stretch of transfers between two turns of the loop holds it",
        )
    if r.backend == "gui-thread":
        return blocked(
            "the event loop cannot run while a task does; one task at a time never waits for "
            "a lock another holds, so no deadlock can form",
            r,
        )
    if r.backend == "asyncio":
        return blocked(
            "the transfers have no await: a coroutine that never awaits holds the loop until "
            "its task ends, so none waits for another's lock",
            r,
        )
    if r.guard == "ordered":
        mechanism = (
            "every worker took the lower-numbered lock first, so no ring of waits could close"
        )
    else:
        mechanism = "no deadlock this time: the workers never all held their first lock together"
    return _with_workers(r, mechanism, freed)


def _with_workers(r: RunRecord, mechanism: str, freed: Freed) -> str:
    if r.backend == "multiprocessing":
        return freed(
            f"{mechanism}; start-up took {r.startup_s:.2f} s",
            r,
            "the GUI thread shares the cores with these processes and other programs",
        )
    scheduled = (
        "the GIL only decides when each thread is switched out"
        if r.gil_enabled
        else "with no GIL, threads also run side by side on other cores"
    )
    return freed(
        f"{mechanism} ({scheduled})",
        r,
        "the threads' Python code takes the GIL too, and other programs the cores",
    )


def _race(r: RunRecord, freed: Freed, blocked: Blocked) -> str:
    lost = (r.lost or 0) > 0
    if r.backend == "gui-thread-process-events":
        guarded = " (its lock is taken, never waited for)" if r.guard == "lock" else ""
        return freed(
            "processEvents() lets the event loop run inside each task, yet one thread makes one "
            f"deposit at a time, so nothing can race{guarded}",
            r,
            "a stretch of deposits between two turns of the loop holds it",
        )
    if r.backend == "gui-thread":
        return blocked(
            "the event loop cannot run while a task does; one thread makes one deposit at a "
            "time, so nothing can race",
            r,
        )
    if r.backend == "asyncio":
        window = "each coroutine awaits between reading the balance and writing it back"
        if r.guard == "lock":
            mechanism = f"{window}, and asyncio.Lock keeps the others out of that window"
        elif lost:
            mechanism = f"{window}, and the deposits others made meanwhile were overwritten"
        else:
            mechanism = f"{window}, but none deposited meanwhile here"
        return freed(mechanism, r, "each deposit is a turn of the loop on the GUI thread")
    if r.backend == "multiprocessing":
        if r.guard == "lock":
            mechanism = "a process-shared lock kept each read of the balance and its write together"
        elif lost:
            mechanism = (
                "each process has its own GIL and the balance is shared memory: deposits made "
                "between another's read and its write were overwritten"
            )
        else:
            mechanism = "no write fell between another process's read and its write in this run"
        return _with_workers(r, mechanism, freed)
    if r.guard == "lock":
        mechanism = "a threading.Lock kept each read of the balance and its write together"
    elif lost and not r.gil_enabled:
        mechanism = (
            "with no GIL, other threads wrote the balance between a thread's read and its "
            "write, and the deposits made meanwhile were overwritten"
        )
    elif lost:
        mechanism = (
            "threads were switched out between reading the balance and writing it back, and "
            "the deposits made meanwhile were overwritten"
        )
    elif r.gil_enabled:
        mechanism = "no thread was switched out between its read and its write in this run"
    else:
        mechanism = "no thread wrote the balance between another's read and its write in this run"
    return _with_workers(r, mechanism, freed)


def peak_and_depth_text(r: RunRecord) -> str:
    """What the local server counted (downloads) or the queue measured, as a sentence;
    empty when the record has no such numbers."""
    if r.server_peak_connections is not None:
        text = f" Server peak: {r.server_peak_connections} connection"
        text += "s" if r.server_peak_connections != 1 else ""
        if r.limit:
            text += f" (limit {r.limit})"
        return text + "."
    if r.workload != "queue" or r.outcome != "done" or r.max_depth is None:
        return ""
    text = f" Queue depth peaked at {r.max_depth} of {r.depth}"
    if r.tasks == 1:
        return text + "; one task produced and consumed in turn, so none blocked."
    return text + f"; producers blocked {r.producer_blocked_s or 0:.2f} s on a full queue, in all."


def compare_text(records: list[RunRecord]) -> str:
    """Compare all on a hazards-lab workload: what each back end showed."""
    first = records[0]
    head = f"Compare all on {first.workload}, guard {first.guard}: "
    if first.workload == "race":
        counted = [r for r in records if r.lost is not None and r.outcome == "done"]
        parts = [f"{r.backend} lost {r.lost:,} of {r.expected:,}" for r in counted]
    else:
        parts = [
            f"{r.backend} {'deadlocked' if r.outcome == 'deadlock' else r.outcome}" for r in records
        ]
    return head + ("; ".join(parts) or "no run completed") + "."
