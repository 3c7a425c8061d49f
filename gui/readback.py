"""What the window says about a job, before and after it runs.

:func:`preview` tells what the selected job will do, with no number;
:func:`readback` and :func:`compare_summary` read a finished run back to the
learner. All are plain functions of records: every claim they make is
conditioned on what the record measured (``tests/test_readback.py`` checks
each sentence against its record, for every workload and back end).
"""

from __future__ import annotations

import dataclasses
import os

from gui import elsewhere, hazards, pitfalls, stagestext
from gui.lessons import DEFAULT_SWITCH_MS
from workers.names import HAZARDS, ON_GUI_THREAD, PYTHON_BACKENDS
from workers.pythons import Interpreter
from workers.record import RunRecord
from workers.stats import FROZEN_MS

#: Lag p99 at most this, and no freeze: the window "kept up" (over 50 ms, input
#: feels delayed: a "long task").
SMOOTH_MS = 50.0
#: A throughput ratio of at least this reads "faster"; under it, "no faster".
FASTER = 1.2

WHAT = {
    "cpu-python": "pure-Python work",
    "cpu-native": "C code that releases the GIL",
    "download": "downloads",
    "disk-write": "disk writes",
    "race": "deposits into one shared account",
    "deadlock": "transfers between locked accounts",
    "queue": "a producer/consumer queue",
    "pipeline": "a pipeline (download, pure-Python checksum, write)",
}


def _plural(n: int, word: str, many: str = "s") -> str:
    return f"{n} {word}{many * (n != 1)}"


def _who(backend: str, n: int) -> str:
    """Who does the work: "the GUI thread", "2 QThreads", "a pool of 4 threads"..."""
    return {
        "gui-thread": "the GUI thread",
        "qthread": _plural(n, "QThread"),
        "threading": _plural(n, "thread"),
        "thread-pool": f"a pool of {_plural(n, 'thread')}",
        "qthread-pool": f"a QThreadPool of {_plural(n, 'thread')}",
        "multiprocessing": _plural(n, "process", "es"),
        "asyncio": f"{_plural(n, 'coroutine')} on the GUI thread",
        "gui-thread-process-events": "the GUI thread with processEvents() between chunks",
        "qthread-signal-per-item": f"{_plural(n, 'QThread')} sending a signal per item",
        "hybrid": f"{_plural(n, 'download thread')}, a process per core and a writer thread",
        "dask": _plural(n, "dask worker process", "es"),
    }.get(backend, _plural(n, "worker"))


def ms_text(value: float) -> str:
    return f"{value:,.1f} ms" if value < 10 else f"{value:,.0f} ms"


def seconds_text(seconds: float) -> str:
    """A freeze in seconds: ``0.14 s``, ``1.4 s`` (the band labels say it the same way)."""
    return f"{seconds:.2f} s" if seconds < 0.995 else f"{seconds:,.1f} s"


def freeze_text(total_s: float, longest_s: float) -> str:
    """Both numbers a freeze has, named: the total time frozen and the longest single freeze."""
    return f"frozen {seconds_text(total_s)} in total, longest freeze {seconds_text(longest_s)}"


def lag_text(r: RunRecord) -> str:
    """``UI lag p99 …``, and when the window froze, for how long in total and at most at once."""
    text = f"UI lag p99 {ms_text(r.lag_ms['p99'])}"
    if r.lag_ms["max"] > FROZEN_MS:
        frozen = r.lag_ms.get("frozen", r.lag_ms["max"])  # records from before "frozen" existed
        text += ", " + freeze_text(frozen / 1000, r.lag_ms["max"] / 1000)
    return text


def speed_text(r: RunRecord) -> str:
    """``12.3 MB/s``, marked partial when not every task was done."""
    return f"{r.throughput:,.1f} {r.unit}" + (" (partial)" if r.partial else "")


# -- before a run: what to expect -------------------------------------------------
def expect(workload: str, backend: str, workers: int, cores: int | None = None) -> str:
    """What ``workload`` on ``backend`` will show, before it runs: the mechanism
    and what to watch for, never a number (those are measured, after the run)."""
    cores = cores or os.cpu_count() or 1
    n = workers
    if backend == "gui-thread":
        return (
            "While a task runs, the event loop cannot: expect the window to freeze for as "
            "long as each task takes — try typing in the box meanwhile."
        )
    if backend == "gui-thread-process-events":
        return pitfalls.EXPECT_PROCESS_EVENTS
    if backend == "qthread-signal-per-item":
        return f"{expect(workload, 'qthread', n, cores)} {pitfalls.EXPECT_SIGNAL_PER_ITEM}"
    if workload in HAZARDS:
        return hazards.expect(workload, backend)
    if workload == "queue":
        return hazards.expect_queue(backend, n)
    if workload == "pipeline":
        return stagestext.expect(backend)
    if backend == "asyncio":
        if workload.startswith("cpu"):
            return (
                "A coroutine that computes never reaches an await: expect each task to hold "
                "the loop, and freeze the window, until it ends. asyncio is for waiting, "
                "not computing."
            )
        if workload == "disk-write":
            return (
                "Files have no async API: the loop waits out each chunk written, and the "
                "coroutines take turns only between chunks — expect the window to stutter, "
                "the more the slower the disk."
            )
        return (
            "While one coroutine waits for its socket, the loop runs the others and the "
            "window: expect downloads to overlap with no thread at all. Receiving and "
            "checking the bytes happens on the GUI thread too."
        )
    if backend == "dask":
        then = (
            f"up to {_plural(min(n, cores), 'core')} working at once while the GUI thread "
            "is left alone"
            if workload.startswith("cpu")
            else "the work running outside the GUI thread"
        )
        return (
            "Each dask worker is a process with its own interpreter and GIL: expect a "
            "start-up pause while the cluster starts (a scheduler, then the worker "
            f"processes), then {then}; every task and event goes through the scheduler."
        )
    if backend == "multiprocessing":
        if workload.startswith("cpu"):
            return (
                "Each process has its own interpreter and GIL: expect a start-up pause "
                f"(spawn) before the first task, then up to {_plural(min(n, cores), 'core')} "
                "working at once while the GUI thread is left alone."
            )
        return (
            "Waiting needs no interpreter of its own: expect a start-up pause (spawn) that "
            "threads do not pay, then the work running outside the GUI thread."
        )
    if workload == "cpu-python":
        if n == 1:
            return (
                "Pure-Python code holds the GIL, and the GUI thread must wait its turn for "
                "it: expect the window to stutter."
            )
        return (
            "The GIL lets one thread run Python at a time, the GUI thread included: expect "
            "no speed-up over one thread, and the window to stutter while it waits its turn."
        )
    if workload == "cpu-native":
        cores_text = "a core" if n == 1 else f"up to {_plural(min(n, cores), 'core')}"
        return (
            f"hashlib lets go of the GIL while it hashes: expect {cores_text} busy hashing "
            "and the window to stay responsive, if other programs leave the cores free."
        )
    if workload == "download":
        return (
            "A thread waiting for the network releases the GIL: expect up to "
            f"{_plural(n, 'download')} at once and a responsive window."
        )
    return (
        "A thread blocked in a write releases the GIL: expect a responsive window while "
        "the disk sets the pace."
    )


def preview(
    workload: str,
    backend: str,
    workers: int,
    state: str = "idle",
    python: Interpreter | None = None,
) -> str:
    """The banner before a run: the selected job and what to expect of it.

    ``state``: "idle" (Start runs it), "queued" (a run is going: Queue adds it)
    or "running" (it runs now); ``python``: another interpreter its threads run in.
    """
    n = 1 if backend in ON_GUI_THREAD else workers
    job = f"{WHAT.get(workload, workload)} on {_who(backend, n)}"
    if python is not None and backend in PYTHON_BACKENDS:
        job += f" in {python.name} (another process)"
        lead = {"running": "Running", "queued": "Queue runs"}.get(state, "Start runs")
        tail = "" if state == "running" else " The measured numbers appear here after the run."
        after = " after the current run" if state == "queued" else ""
        return f"{lead} {job}{after}. {elsewhere.expect(workload, n, python, expect)}{tail}"
    if backend == "gui-thread":
        job += " itself"
    if backend in ON_GUI_THREAD:
        job += ", one task at a time"
    lead = {
        "running": f"Running {job}.",
        "queued": f"Queue runs {job} after the current run.",
    }.get(state, f"Start runs {job}.")
    tail = "" if state == "running" else " The measured numbers appear here after the run."
    return f"{lead} {expect(workload, backend, n)}{tail}"


# -- after a run: what happened, and why --------------------------------------------
def _baseline(record: RunRecord, history: list[RunRecord]) -> RunRecord | None:
    """The run to compare with: the last serial one (gui-thread) of the same job
    (workload, tasks, size per task), else the last other run of it; only complete
    runs count."""
    same = [r for r in history if same_job(r, record) and r.ok and r.throughput > 0]
    serial = [r for r in same if r.backend == "gui-thread"]
    if record.backend != "gui-thread" and serial:
        return serial[-1]
    others = [r for r in same if (r.backend, r.workers) != (record.backend, record.workers)]
    return others[-1] if others else None


def _froze(r: RunRecord) -> bool:
    return r.lag_ms["max"] > FROZEN_MS


def _kept_up(r: RunRecord) -> bool:
    return r.lag_ms["p99"] <= SMOOTH_MS and not _froze(r)


def _blocked(mechanism: str, r: RunRecord) -> str:
    """Work that blocks the GUI thread: what the window did, as measured."""
    if _froze(r):
        return f"{mechanism}, so the window froze"
    if not _kept_up(r):
        return f"{mechanism}, so the window lagged"
    return f"{mechanism}, but each block was short here: the window kept up"


def _freed(mechanism: str, r: RunRecord, otherwise: str) -> str:
    """Work that leaves the GUI thread free: what the window did, as measured, and,
    if it was late anyway, what else competes with it (``otherwise``)."""
    if _kept_up(r):
        return f"{mechanism}, and the window kept up"
    late = "froze at times" if _froze(r) else "lagged"
    return f"{mechanism}, yet the window {late} ({otherwise})"


def _why(r: RunRecord, base: RunRecord | None) -> str:
    """The mechanism behind ``r``'s numbers; each claim holds for what ``r`` measured.

    "Faster" needs a shown ratio to ``base`` of at least :data:`FASTER`; "several cores at
    once" also needs ``base`` to be serial (gui-thread: one core by construction) and
    more than one worker.
    """
    # The ratio as the sentence shows it (one decimal): "1.2×, yet no faster" would
    # contradict itself.
    speedup = float(f"{r.throughput / base.throughput:.1f}") if base is not None else None
    parallel = (
        speedup is not None and speedup >= FASTER and base.backend == "gui-thread" and r.workers > 1
    )
    cpu = r.workload.startswith("cpu")
    if r.backend == "gui-thread":
        return _blocked("the event loop cannot run while a task does", r)
    if r.backend == "gui-thread-process-events":
        return _freed(
            "the task calls processEvents() between its chunks, so the event loop runs inside it",
            r,
            "a chunk, or a wait, holds the loop until it ends",
        )
    if r.backend == "qthread-signal-per-item":  # the threads' mechanism; pitfall_text the rest
        return _why(dataclasses.replace(r, backend="qthread"), base)
    if r.workload == "queue":
        return _why_queue(r, speedup)
    if r.workload == "pipeline":
        return stagestext.why(r, _freed, _blocked)
    if r.backend == "asyncio":
        if cpu:
            return _blocked("a coroutine that computes never awaits: it holds the loop", r)
        if r.workload == "disk-write":
            return _blocked(
                "files have no async API: the loop waits out each chunk written, and the "
                "coroutines take turns only between chunks",
                r,
            )
        return _freed(
            "while one coroutine waits for its socket, the loop runs the others",
            r,
            "receiving and checking the bytes runs on the GUI thread too",
        )
    if r.backend in ("multiprocessing", "dask"):
        dask = r.backend == "dask"
        others = (
            "the scheduler, these processes and others"
            if dask
            else "these processes and other programs"
        )
        busy = f"the GUI thread shares the cores with {others}"
        what = "the cluster's start-up" if dask else "start-up"
        start = f"{what} took {r.startup_s:.2f} s"
        if not cpu:
            return _freed(f"waiting needs no process of its own, yet {start}", r, busy)
        gain = f"each {'dask worker ' if dask else ''}process has its own GIL"
        if parallel:
            gain += ", so the cores worked at once"
        elif speedup is not None and speedup < FASTER:
            gain += ", yet this run was no faster (were the cores busy?)"
        return _freed(f"{gain}; {start}", r, busy)
    # Threads in another interpreter (--python) share no GIL with the GUI thread.
    freed = _freed_elsewhere if r.python_path else _freed
    if r.python_path and r.workload == "cpu-python":
        slower = speedup is not None and r.workers > 1 and speedup < FASTER
        why = elsewhere.why("its threads run Python", r, slower=slower, parallel=parallel)
        return _freed_elsewhere(why, r, "")
    busy = "the threads' Python code between waits takes the GIL too, and other programs the cores"
    if r.workload == "download":
        return freed("a thread waiting for the network releases the GIL", r, busy)
    if r.workload == "disk-write":
        return freed("a thread blocked in a write releases the GIL", r, busy)
    if r.workload == "cpu-native":
        gain = "hashlib releases the GIL while it hashes"
        if parallel:
            gain += ", so the threads hashed on several cores at once"
        elif speedup is not None and speedup < FASTER and r.workers > 1:
            gain += ", yet this run was no faster (were other programs using the cores?)"
        busy = "Python code between the hashes takes the GIL, and other programs the cores"
        return freed(gain, r, busy)
    # cpu-python on threads: the GIL decides.
    if r.switch_interval_ms != DEFAULT_SWITCH_MS:
        gil = (
            f"the GIL lets one thread run at a time, and a {r.switch_interval_ms:g} ms switch "
            "interval decides how long the GUI thread waits its turn"
        )
    else:
        gil = "the GIL lets one thread run Python at a time, the GUI thread included"
    if speedup is not None and r.workers > 1 and speedup < FASTER:
        gil += f", so {_plural(r.workers, 'thread')} were no faster"
    if _kept_up(r):
        return f"{gil}; the GUI thread still got its turns in time"
    return f"{gil}; the window {'froze at times' if _froze(r) else 'lagged'} waiting its turn"


def _why_queue(r: RunRecord, speedup: float | None) -> str:
    """The mechanism of a queue run off the GUI thread, as :func:`_why` tells the others."""
    if r.backend == "asyncio":
        return _blocked(
            "a consumer coroutine never awaits while it checksums: it holds the loop", r
        )
    if r.backend in ("multiprocessing", "dask"):
        busy = "the GUI thread shares the cores with these processes and other programs"
        gain = f"each process has its own GIL; start-up took {r.startup_s:.2f} s"
        return _freed(gain, r, busy)
    if r.python_path:
        slower = speedup is not None and r.workers > 1 and speedup < FASTER
        why = elsewhere.why("the consumers checksum in Python", r, slower=slower, parallel=False)
        return _freed_elsewhere(why, r, "")
    gil = "the consumers checksum in Python and hold the GIL, the GUI thread waits its turn"
    if speedup is not None and r.workers > 1 and speedup < FASTER:
        gil += f", and {_plural(r.workers, 'thread')} were no faster"
    if _kept_up(r):
        return f"{gil}; it still got its turns in time"
    return f"{gil}; the window {'froze at times' if _froze(r) else 'lagged'}"


def _freed_elsewhere(mechanism: str, r: RunRecord, otherwise: str) -> str:
    """:func:`_freed` for threads in another interpreter's process (``--python``): they
    take no GIL from the GUI thread, only cores."""
    return _freed(mechanism, r, elsewhere.BUSY)


def same_job(a: RunRecord, b: RunRecord) -> bool:
    """Two runs of the same job: same workload, size, tasks and guard (a queue's tasks
    follow from its workers: there, the same items and queue depth)."""
    if a.workload == "queue":
        return (b.workload, b.items, b.depth, b.size) == ("queue", a.items, a.depth, a.size)
    return (a.workload, a.tasks, a.size, a.guard) == (b.workload, b.tasks, b.size, b.guard)


def readback(record: RunRecord, history: list[RunRecord]) -> str:
    """One sentence that reads the measured result back to the learner.

    Every claim in it is conditioned on what ``record`` measured: "kept up" only
    with a lag p99 of at most 50 ms and no freeze, "froze" only with a freeze,
    "faster" only with a throughput ratio that says so; a run that did not
    complete has its throughput marked partial and no ratio. For example: "4 threads
    on pure-Python work: 1.0× the throughput of one (gui-thread), UI lag p99 131 ms,
    frozen 0.42 s in total, longest freeze 0.16 s — the GIL lets one thread run
    Python at a time, …".
    """
    return _sentence(record, history) + pitfalls.measured_text(record)


def _sentence(r: RunRecord, history: list[RunRecord]) -> str:
    """:func:`readback` but for what a pitfall's back end measured."""
    head = f"{_who(r.backend, r.workers)}{elsewhere.where(r)} on {WHAT.get(r.workload, r.workload)}"
    head = head[0].upper() + head[1:]
    lag = lag_text(r)
    if r.outcome == "deadlock":
        return f"{head}: {hazards.deadlock_text(r)}; {speed_text(r)}, {lag}."
    if r.outcome != "done":
        done = f"{r.done} of {r.tasks} tasks done"
        if r.outcome == "failed":
            first = r.errors[0] if r.errors else "no reason given"
            return (
                f"{head}: failed with {done}, {r.failed} failed ({first}); {speed_text(r)}, "
                f"{lag}.{hazards.peak_and_depth_text(r)}"
            )
        said = hazards.peak_and_depth_text(r)
        return f"{head}: cancelled with {done}; {speed_text(r)}, {lag}.{said}"
    base = _baseline(r, history)
    if base is None:
        speed = speed_text(r)
    elif base.backend == "gui-thread":
        speed = f"{r.throughput / base.throughput:.1f}× the throughput of one (gui-thread)"
    else:
        speed = (
            f"{r.throughput / base.throughput:.1f}× the throughput of {base.backend} "
            f"({base.workers} workers)"
        )
    if r.workload in HAZARDS:
        why = hazards.why(r, _freed_elsewhere if r.python_path else _freed, _blocked)
        return f"{head}: {hazards.result(r)}; {speed}, {lag} — {why}."
    return f"{head}: {speed}, {lag} — {_why(r, base)}.{hazards.peak_and_depth_text(r)}"


def compare_summary(records: list[RunRecord]) -> str:
    """What a Compare all showed, in one sentence (complete runs only)."""
    if records and records[0].workload in HAZARDS:
        return hazards.compare_text(records)
    ok = [r for r in records if r.outcome == "done"]
    if not ok:
        return "Compare all: no run completed."
    fastest = max(ok, key=lambda r: r.throughput)
    calmest = min(ok, key=lambda r: r.lag_ms["p99"])
    worst = max(ok, key=lambda r: r.lag_ms["max"])
    text = (
        f"Compare all on {ok[0].workload}: highest throughput {fastest.backend} "
        f"({fastest.throughput:,.1f} MB/s), lowest UI lag p99 {calmest.backend} "
        f"({ms_text(calmest.lag_ms['p99'])})"
    )
    if worst.lag_ms["max"] > FROZEN_MS:
        frozen = worst.lag_ms.get("frozen", worst.lag_ms["max"])
        text += f"; {worst.backend} froze the window: " + freeze_text(
            frozen / 1000, worst.lag_ms["max"] / 1000
        )
    missing = len(records) - len(ok)
    return text + (f"; {missing} run(s) did not complete." if missing else ".")
