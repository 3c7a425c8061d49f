"""Every sentence the window says about a run, checked against the record it describes.

One real, measured run of each workload × back end pair (small jobs through the
window's own RunController), then edge cases built from those records with
``dataclasses.replace``: a freeze where there was none, a smooth run, a ratio
just under and over the "faster" line, cancelled and failed runs. Each
sentence is checked by :func:`violations`, a table of phrases that are
forbidden or required as a function of the record's numbers and the pair.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from gui.controller import RunController
from gui.costs import cells
from gui.readback import compare_summary, expect, preview, readback
from tests.helpers import other_python
from tests.test_costs import cost_violations
from workers import pythons
from workers.names import (
    ALL_BACKENDS,
    HAZARDS,
    ON_GUI_THREAD,
    PYTHON_BACKENDS,
    WORKLOADS,
    backends_for,
)
from workers.record import RunRecord
from workers.spec import parse_spec

#: Small jobs, ~0.1-0.5 s each on one core: the whole walk takes ~15-25 s.
JOBS: dict[str, dict[str, object]] = {
    "download": {"tasks": 2, "size": "2MB", "latency_ms": 20, "rate_mbps": 0},
    "disk-write": {"tasks": 2, "size": "16MB"},
    "cpu-python": {"tasks": 2, "size": "1MB"},
    "cpu-native": {"tasks": 2, "size": "100MB"},
    "queue": {"items": 60, "size": "16KB", "depth": 4},
    "pipeline": {"tasks": 2, "size": "512KB", "latency_ms": 20, "rate_mbps": 0},
}
THREADS = {"qthread", "threading", "thread-pool", "qthread-pool", "qthread-signal-per-item"}
PROCESS_EVENTS, PER_ITEM = "gui-thread-process-events", "qthread-signal-per-item"
#: Where a pipeline's stages run apart: its threads download and write, its processes checksum.
APART = {"hybrid"}
PROCESSES = {"multiprocessing", "dask"}  # each worker a process with its own GIL
AWAITS = ("download", "race")  # their coroutines await: they do not hold the loop
SMOOTH_MS, FROZEN_MS, FASTER = 50.0, 100.0, 1.2  # the lines the rules draw, restated here


@dataclass
class Facts:
    """What the record measured, and what the sentence may therefore say."""

    r: RunRecord
    base: RunRecord | None  # the run the sentence compares with, if it names one
    ratio: float | None  # to base, as shown (one decimal)

    @property
    def p99(self) -> float:
        return self.r.lag_ms["p99"]

    @property
    def worst(self) -> float:
        return self.r.lag_ms["max"]

    @property
    def froze(self) -> bool:
        return self.worst > FROZEN_MS

    @property
    def kept_up(self) -> bool:
        return self.p99 <= SMOOTH_MS and not self.froze

    @property
    def done(self) -> bool:
        return self.r.outcome == "done"


def _is(workload: str | None = None, backends: set[str] | None = None) -> Callable[[Facts], bool]:
    return lambda f: (
        (workload is None or f.r.workload == workload)
        and (backends is None or f.r.backend in backends)
    )


def elsewhere(f: Facts) -> bool:
    """The threads ran in another interpreter's process (``--python``)."""
    return bool(f.r.python_path)


#: (what, pattern, may appear only if, must appear if). A phrase that appears when
#: its first condition is false is a false claim; one missing when its second is
#: true leaves out what the record measured.
RULES: list[tuple[str, str, Callable[[Facts], bool], Callable[[Facts], bool]]] = [
    # the window: what the lag says it did
    ("says it kept up", r"kept up|in time|smooth|responsive|stay(?:s|ed) free",
     lambda f: f.kept_up, lambda f: f.done and f.kept_up),
    ("says it froze", r"\bfr[oe]z", lambda f: f.froze, lambda f: f.froze),
    ("says it lagged", r"\blagged\b", lambda f: f.p99 > SMOOTH_MS and not f.froze,
     lambda f: f.done and f.p99 > SMOOTH_MS and not f.froze),
    # speed: words that need the ratio
    ("says faster", r"(?<!no )\bfaster\b", lambda f: f.ratio is not None and f.ratio >= FASTER,
     lambda f: False),
    ("says no faster", r"\bno faster\b", lambda f: f.ratio is not None and f.ratio < FASTER,
     lambda f: False),
    ("claims parallel work", r"at once|several cores|in parallel",
     lambda f: f.ratio is not None and f.ratio >= FASTER and f.base.backend == "gui-thread"
     and f.r.workers > 1,
     lambda f: False),
    ("quotes a ratio", r"× the throughput", lambda f: f.done, lambda f: False),
    # how the run ended
    ("marks partial", r"\(partial\)", lambda f: not f.done, lambda f: not f.done),
    ("says cancelled", r"\bcancelled\b", lambda f: f.r.outcome == "cancelled",
     lambda f: f.r.outcome == "cancelled"),
    ("says failed", r"\bfailed\b", lambda f: f.r.outcome == "failed",
     lambda f: f.r.outcome == "failed"),
    # the mechanism: only the pair's own
    ("talks of sockets or the network", r"socket|network",
     lambda f: f.r.workload in ("download", "pipeline"), lambda f: False),
    ("talks of writes", r"\bwrit", lambda f: f.r.workload in ("disk-write", "race", "pipeline"),
     lambda f: False),
    ("talks of hashing", r"hash", _is("cpu-native"), lambda f: False),
    ("talks of pure Python", r"pure-Python", lambda f: f.r.workload in ("cpu-python", "pipeline"),
     lambda f: f.r.workload in ("cpu-python", "pipeline")),
    ("talks of queues", r"\bqueue\b", _is("queue"), _is("queue")),
    ("talks of the GIL", r"\bGIL\b",
     lambda f: f.r.backend in THREADS | APART | PROCESSES
     or f.r.workload == "cpu-native",
     lambda f: f.done and (f.r.backend in THREADS | APART
                           or (f.r.backend in PROCESSES and f.r.workload[:3] == "cpu"))),
    ("talks of coroutines", r"coroutine", _is(backends={"asyncio"}), _is(backends={"asyncio"})),
    ("talks of processes", r"process(?!Events)",
     lambda f: f.r.backend in PROCESSES | APART or elsewhere(f),
     lambda f: f.r.backend in PROCESSES | APART or elsewhere(f)),
    ("talks of dask's cluster", r"cluster|dask", _is(backends={"dask"}), lambda f: False),
    ("talks of worker threads", r"\bthreads\b|QThread|\d thread\b", _is(backends=THREADS | APART),
     _is(backends=THREADS | APART)),
    ("talks of start-up", r"start-up", _is(backends=PROCESSES),
     lambda f: f.done and f.r.backend in PROCESSES),
    ("talks of the event loop being blocked", r"cannot run|never awaits|waits out",
     lambda f: f.r.backend == "gui-thread"
     or (f.r.backend == "asyncio" and f.r.workload not in AWAITS),
     lambda f: f.done and (f.r.backend == "gui-thread"
                           or (f.r.backend == "asyncio" and f.r.workload not in AWAITS))),
    ("talks of the switch interval", r"switch interval",
     lambda f: f.r.switch_interval_ms != 5.0 and f.r.backend in THREADS, lambda f: False),
    # the pitfalls: each its own mechanism, and what its back end measured
    ("talks of processEvents", r"processEvents", _is(backends={PROCESS_EVENTS}),
     _is(backends={PROCESS_EVENTS})),
    ("talks of re-entrancy", r"Re-entrancy", _is(backends={PROCESS_EVENTS}),
     _is(backends={PROCESS_EVENTS})),
    ("talks of signals", r"\bsignals?\b", _is(backends={"qthread", PER_ITEM}),
     _is(backends={"qthread", PER_ITEM})),
]  # fmt: skip


def job(r: RunRecord) -> tuple[object, ...]:
    """What makes two runs the same job: a queue's tasks follow from its workers, so
    there its items and depth count instead; a hazard's guard is part of its job."""
    if r.workload == "queue":
        return (r.workload, r.items, r.depth, r.size)
    return (r.workload, r.tasks, r.size, r.guard)


def peak_and_depth_violations(text: str, r: RunRecord) -> list[str]:
    """The server's peak and the queue's depth and blocked time, quoted as measured."""
    out = []
    m = re.search(r"Server peak: (\d+) connections?(?: \(limit (\d+)\))?", text)
    if (m is not None) != (r.server_peak_connections is not None):
        out.append(f"server peak {r.server_peak_connections} said or not: {m}")
    elif m and (int(m[1]), int(m[2] or 0)) != (r.server_peak_connections, r.limit):
        out.append(f"server peak {m[1]} (limit {m[2]}) is not {r.server_peak_connections}")
    m = re.search(r"Queue depth peaked at (\d+) of (\d+)", text)
    told = r.workload == "queue" and r.outcome == "done" and r.max_depth is not None
    if (m is not None) != told:
        out.append(f"queue depth said: {m is not None}, measured: {told}")
    elif m and (int(m[1]), int(m[2])) != (r.max_depth, r.depth):
        out.append(f"queue depth {m[1]} of {m[2]} is not {r.max_depth} of {r.depth}")
    m = re.search(r"producers blocked ([\d.]+) s", text)
    if m and not _close(_number(m[1]), r.producer_blocked_s or 0.0, m[1]):
        out.append(f"blocked {m[1]} s is not {r.producer_blocked_s}")
    if told and (m is None) != (r.tasks == 1):
        out.append("blocked time missing, or told of a task that cannot block")
    if re.search(r"none blocked", text) and r.tasks != 1:
        out.append("says none blocked with producers and consumers apart")
    return out


def _number(text: str) -> float:
    return float(text.replace(",", ""))


def _close(quoted: float, value: float, decimals_of: str) -> bool:
    """``quoted`` is ``value`` rounded to the decimals it was printed with."""
    decimals = len(decimals_of.partition(".")[2])
    return abs(quoted - value) <= 0.5 * 10**-decimals + 1e-9


def numbers_violations(text: str, f: Facts) -> list[str]:
    """Every number the sentence quotes is the record's."""
    out = []
    r = f.r
    m = re.search(r"UI lag p99 ([\d,.]+) ms", text)
    if not m or not _close(_number(m[1]), r.lag_ms["p99"], m[1]):
        out.append(f"lag p99 not quoted as {r.lag_ms['p99']}")
    m = re.search(r"frozen ([\d,.]+) s in total, longest freeze ([\d,.]+) s", text)
    if f.froze:
        frozen = r.lag_ms.get("frozen", r.lag_ms["max"]) / 1000
        if not m or not _close(_number(m[1]), frozen, m[1]):
            out.append(f"total time frozen not quoted as {frozen} s")
        if not m or not _close(_number(m[2]), r.lag_ms["max"] / 1000, m[2]):
            out.append(f"longest freeze not quoted as {r.lag_ms['max'] / 1000} s")
    for m in re.finditer(r"([\d,.]+) MB/s", text):
        if not _close(_number(m[1]), r.throughput, m[1]):
            out.append(f"throughput {m[1]} is not {r.throughput}")
    m = re.search(r"([\d.]+)× the throughput of ", text)
    if m and f.base is not None:
        ratio = r.throughput / f.base.throughput
        if not _close(_number(m[1]), ratio, m[1]):
            out.append(f"ratio {m[1]} is not {ratio:.3f}")
    for m in re.finditer(r"([\d.]+) s of start-up|start-up took ([\d.]+) s", text):
        quoted = m[1] or m[2]
        if not _close(_number(quoted), r.startup_s, quoted):
            out.append(f"start-up {quoted} is not {r.startup_s}")
    m = re.search(r"([\d.]+) ms switch interval", text)
    if m and _number(m[1]) != r.switch_interval_ms:
        out.append(f"switch interval {m[1]} is not {r.switch_interval_ms}")
    m = re.search(r"(\d+) of (\d+) tasks done", text)
    if not f.done and (not m or (int(m[1]), int(m[2])) != (r.done, r.tasks)):
        out.append(f"not '{r.done} of {r.tasks} tasks done'")
    return out


def named_baseline(text: str, r: RunRecord, history: list[RunRecord]) -> RunRecord | None:
    """The run the sentence compares with, found from the words it uses: the last
    complete run of the same job (workload, tasks, size) on the back end it names."""
    m = re.search(r"× the throughput of (?:one \((gui-thread)\)|(\S+) \((\d+) workers\))", text)
    if not m:
        return None
    backend = m[1] or m[2]
    same = [
        b
        for b in history
        if job(b) == job(r)
        and b.outcome == "done"
        and b.backend == backend
        and (m[3] is None or b.workers == int(m[3]))
    ]
    assert same, f"the sentence compares with a run that is not in the history: {text}"
    return same[-1]


def violations(text: str, r: RunRecord, history: list[RunRecord]) -> list[str]:
    """What is false or missing in ``text``, the read-back of ``r`` after ``history``."""
    base = named_baseline(text, r, history)
    serial = [
        b for b in history if job(b) == job(r) and (b.backend, b.outcome) == ("gui-thread", "done")
    ]
    comparable = [
        b
        for b in history
        if job(b) == job(r)
        and b.outcome == "done"
        and (b.backend, b.workers) != (r.backend, r.workers)
    ]
    out = []
    if r.outcome == "done" and comparable and base is None:
        out.append("missing: the ratio to an earlier run of the same job")
    if r.outcome == "done" and r.backend != "gui-thread" and serial and base is not serial[-1]:
        out.append("compares with another run although a serial run of the same job exists")
    if base is not None and (base.backend, base.workers) == (r.backend, r.workers):
        out.append("compares a run with a run of the same back end and workers")
    # The ratio as shown, one decimal: the words must agree with the number beside them.
    shown = float(f"{r.throughput / base.throughput:.1f}") if base is not None else None
    facts = Facts(r, base, shown)
    # The baseline's name is a name, not a claim about this run's mechanism.
    claims = re.sub(
        r"(× the throughput of )(?:one \(gui-thread\)|\S+ \(\d+ workers\))", r"\1BASE", text
    )
    for what, pattern, allowed, required in RULES:
        found = re.search(pattern, claims, re.IGNORECASE) is not None
        if found and not allowed(facts):
            out.append(f"false: {what}")
        if required(facts) and not found:
            out.append(f"missing: {what}")
    return (
        out
        + numbers_violations(text, facts)
        + peak_and_depth_violations(text, r)
        + pitfall_violations(text, r)
    )


def pitfall_violations(text: str, r: RunRecord) -> list[str]:
    """The events handled inside the tasks, and the signals delivered, quoted as measured."""
    out = []
    m = re.search(r"Re-entrancy: ([\d,]+) events ran .*? \((.*)\), at most (\d+) deep", text)
    if m:
        said = [(kind, int(n.replace(",", ""))) for n, kind in
                (part.split(" ", 1) for part in m[2].split(", "))]  # fmt: skip
        if (_number(m[1]), said, int(m[3])) != (r.reentered, list(r.reentered_by), r.reentry_depth):
            out.append(f"re-entrancy {m.groups()} is not {r.reentered}, {r.reentered_by}")
    elif "Re-entrancy: no event" in text and r.reentered != 0:
        out.append(f"says no event ran nested, {r.reentered} did")
    m = re.search(r"Signals: ([\d,]+) delivered", text)
    if m and _number(m[1]) != r.signals:
        out.append(f"signals {m[1]} is not {r.signals}")
    m = re.search(r"the last applied ([\d.]+) s after", text)
    if (m is not None) != (r.signals is not None and r.last_progress_s is not None):
        out.append(f"last progress said: {m is not None}, measured: {r.last_progress_s}")
    elif m and not _close(_number(m[1]), r.last_progress_s or 0.0, m[1]):
        out.append(f"last progress {m[1]} s is not {r.last_progress_s}")
    return out


# -- edge records, built from real ones ------------------------------------------------
def _lag(
    r: RunRecord, p50: float, p99: float, worst: float, frozen: float = 0.0, freezes: int = 0
) -> RunRecord:
    """``r`` with other lag numbers (ms): ``frozen`` is the total of ``freezes`` freezes."""
    lag = r.lag_ms | {"p50": p50, "p95": (p50 + p99) / 2, "p99": p99, "max": worst}
    return dataclasses.replace(r, lag_ms=lag | {"frozen": frozen, "freezes": freezes})


def variants(
    r: RunRecord, history: list[RunRecord]
) -> list[tuple[str, RunRecord, list[RunRecord]]]:
    """The real record and edge cases of it, each with the history it is read against."""
    out = [
        ("measured", r, history),
        ("no earlier run", r, []),
        ("p99 300 ms, a 0.9 s freeze", _lag(r, 40.0, 300.0, 900.0, 2400.0, 4), history),
        ("p99 70 ms, no freeze", _lag(r, 20.0, 70.0, 95.0), history),
        ("smooth", _lag(r, 0.2, 3.0, 8.0), history),
        ("p99 20 ms, one 150 ms freeze", _lag(r, 1.0, 20.0, 150.0, 150.0, 1), history),
        ("frozen 9.8 s, 1.4 s at most", _lag(r, 900.0, 1390.0, 1400.0, 9800.0, 7), history),
        ("1 worker", dataclasses.replace(r, workers=1), history),
        ("switch interval 1 ms", dataclasses.replace(r, switch_interval_ms=1.0), history),
        (
            "cancelled",
            dataclasses.replace(r, ok=False, done=r.tasks // 2, cancelled=r.tasks - r.tasks // 2),
            history,
        ),
        (
            "cancelled before anything",
            dataclasses.replace(r, ok=False, done=0, cancelled=r.tasks, throughput=0.0, units=0),
            history,
        ),
        (
            "failed",
            dataclasses.replace(
                r, ok=False, done=r.tasks - 1, failed=1, errors=("task 3: checksum mismatch",)
            ),
            history,
        ),
    ]
    serial = [b for b in history if b.backend == "gui-thread" and b.workload == r.workload]
    if serial:
        base = serial[-1].throughput
        for ratio in (3.0, 1.21, 1.19, 1.14, 1.0, 0.5):
            tp = round(base * ratio, 3)
            out.append((f"{ratio}× serial", dataclasses.replace(r, throughput=tp), history))
    others = [b for b in history if b.workload == r.workload and b.backend != "gui-thread"]
    if others:  # no serial run: the last other run is the yardstick
        out.append(
            ("no serial run", dataclasses.replace(r, throughput=others[-1].throughput * 2), others)
        )
        smaller = dataclasses.replace(r, size=r.size // 2)  # another job: never compared
        out.append(("another size", smaller, history))
    if r.server_peak_connections is not None:
        out.append(("limit 2", dataclasses.replace(r, limit=2, server_peak_connections=2), history))
    if r.workload == "queue" and r.tasks > 1:
        out.append(("never blocked", dataclasses.replace(r, producer_blocked_s=0.0), history))
    return out


# -- the walk -------------------------------------------------------------------------
def measure_every_pair(qtbot, scheduler: str = "") -> list[RunRecord]:
    """One small real run per workload × back end, gui-thread first (the baseline);
    dask's on the cluster at ``scheduler`` (one for the walk: ~1 s a run saved)."""
    controller = RunController()
    records: list[RunRecord] = []
    try:
        qtbot.wait(100)  # the probe ticks
        for workload in WORKLOADS:
            for backend in backends_for(workload, ALL_BACKENDS):
                raw = {"workload": workload, "backend": backend, "workers": 2} | JOBS[workload]
                if backend == "dask" and scheduler:
                    raw["scheduler"] = scheduler
                spec = parse_spec(raw)
                with qtbot.waitSignal(controller.run_finished, timeout=60_000) as finished:
                    controller.submit(spec)
                records.append(finished.args[0])
    finally:
        controller.shutdown()
    return records


def test_every_readback_is_true_for_its_record_on_every_pair(qtbot, dask_cluster) -> None:
    records = measure_every_pair(qtbot, dask_cluster)
    pairs = {(r.workload, r.backend) for r in records}
    assert pairs == {(w, b) for w in WORKLOADS for b in backends_for(w, ALL_BACKENDS)}
    assert all(r.outcome == "done" and r.ok for r in records), [
        (r.workload, r.backend, r.errors) for r in records if not r.ok
    ]
    problems = []
    checked = 0
    for i, record in enumerate(records):
        for name, r, history in variants(record, records[:i]):
            text = readback(r, history)
            checked += 1
            problems += [
                f"{r.workload} on {r.backend} ({name}): {v}\n    {text}"
                for v in violations(text, r, history)
            ]
    assert checked >= 25 * 12
    assert not problems, "\n".join(problems)
    # The Costs tab's row of each run says what its record measured; only processes
    # send bytes across (every other back end's 0 is a count: nothing crossed).
    for r in records:
        problems += [f"{r.workload} on {r.backend}: {v}" for v in cost_violations(cells(r), r)]
        crossed = (r.bytes_sent, r.bytes_received)
        if r.backend in {"multiprocessing"} | APART:  # hybrid sends its items to checksum
            ok = all(n is not None and n > 0 for n in crossed)
        elif r.backend == "dask":  # its own protocol, through the scheduler: not counted
            ok = crossed == (None, None)
        else:
            ok = crossed == (0, 0)
        if not ok:
            problems.append(f"{r.workload} on {r.backend}: sent, received {crossed}")
    assert not problems, "\n".join(problems)
    # Compare all reads the runs of one workload back, the same way.
    for workload in WORKLOADS:
        runs = [r for r in records if r.workload == workload]
        for name, rs in (
            ("measured", runs),
            (
                "one cancelled",
                [*runs[:-1], dataclasses.replace(runs[-1], ok=False, done=1, cancelled=3)],
            ),
            ("one froze", [_lag(runs[0], 900.0, 1390.0, 1400.0, 9800.0, 7), *runs[1:]]),
            ("none froze", [_lag(r, 0.2, 3.0, 8.0) for r in runs]),
        ):
            problems += [f"{workload} ({name}): {v}" for v in summary_violations(rs)]
    assert not problems, "\n".join(problems)


#: Claims about the interpreter: (what, pattern, may appear only if, must appear if).
PYTHON_RULES: list[tuple[str, str, Callable[[RunRecord], bool], Callable[[RunRecord], bool]]] = [
    ("names the other interpreter and its GIL", r" in CPython [\d.]+t? \(another process, GIL o",
     lambda r: bool(r.python_path), lambda r: bool(r.python_path)),
    ("says its GIL is on", r"GIL on\)|under that interpreter's GIL|switched out",
     lambda r: r.gil_enabled, lambda r: bool(r.python_path) and r.gil_enabled),
    ("says it has no GIL", r"GIL off\)|no GIL",
     lambda r: not r.gil_enabled, lambda r: bool(r.python_path) and not r.gil_enabled),
    ("says the GUI thread shares the threads' GIL",
     r"GUI thread included|waits its turn|waiting its turn|takes the GIL too",
     lambda r: not r.python_path, lambda r: False),
    ("says the GUI thread has a GIL of its own", r"GIL of its own, in this process",
     lambda r: bool(r.python_path), lambda r: bool(r.python_path) and r.outcome == "done"
     and r.workload in ("cpu-python", "queue")),
]  # fmt: skip


def python_violations(text: str, r: RunRecord) -> list[str]:
    out = []
    for what, pattern, allowed, required in PYTHON_RULES:
        found = re.search(pattern, text) is not None
        if found and not allowed(r):
            out.append(f"false: {what}")
        if required(r) and not found:
            out.append(f"missing: {what}")
    return out


@pytest.mark.skipif(other_python() is None, reason="no other CPython 3.11+ here")
def test_every_readback_of_threads_in_another_python_is_true(qtbot) -> None:
    """Runs through ``--python`` (pure Python, downloads, the queue and a race on threading,
    pure Python on thread-pool too), after a serial baseline, read back with their GIL on as measured
    and off (a free-threaded build's), against the rules and the interpreter's own."""
    other = other_python()
    runs = [("cpu-python", "gui-thread", "")]  # the serial baseline, in this interpreter
    # Downloads stand for every workload that waits or releases the GIL (one code path).
    runs += [(w, "threading", other.path) for w in ("cpu-python", "download", "queue", "race")]
    runs += [("cpu-python", "thread-pool", other.path)]
    jobs = JOBS | {"cpu-python": {"tasks": 2, "size": "1MB"}, "race": {"size": "50k"}}
    controller = RunController()
    records: list[RunRecord] = []
    try:
        qtbot.wait(100)  # the probe ticks
        for workload, backend, python in runs:
            raw = {"workload": workload, "backend": backend, "workers": 2, "python": python}
            spec = parse_spec(raw | jobs[workload])
            with qtbot.waitSignal(controller.run_finished, timeout=60_000) as finished:
                controller.submit(spec)
            records.append(finished.args[0])
    finally:
        controller.shutdown()
    assert all(r.ok for r in records), [(r.workload, r.errors) for r in records if not r.ok]
    assert {r.python_version for r in records if r.python_path} == {other.version}
    problems, checked = [], 0
    for i, record in enumerate(records):
        gils = (True, False) if record.python_path else (record.gil_enabled,)
        for gil in gils:
            for name, r, history in variants(
                dataclasses.replace(record, gil_enabled=gil), records[:i]
            ):
                text = readback(r, history)
                checked += 1
                found = violations(text, r, history) + python_violations(text, r)
                if r.workload in HAZARDS:
                    facts = Facts(r, named_baseline(text, r, history), None)
                    found += hazard_violations(text, facts)
                problems += [f"{r.workload} on {r.backend}, GIL {gil} ({name}): {v}\n    {text}"
                             for v in found]  # fmt: skip
    assert checked >= 12 * 2 * len(runs) - 12
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("gil", [True, False])
def test_every_preview_of_threads_in_another_python_is_true(gil) -> None:
    """Before a --python run: the interpreter named, its GIL as it is, the window
    expected responsive (its GUI thread keeps its own GIL), no number but the selection's."""
    python = pythons.Interpreter("/x/python3.13t", "CPython", "3.13.0", gil, {})
    cores = os.cpu_count() or 1
    problems = []
    for workload in (*WORKLOADS, *HAZARDS):
        for backend in PYTHON_BACKENDS:
            text = preview(workload, backend, 2, "idle", python)
            where = f"{workload} on {backend}, GIL {gil}"
            if f" in {python.name} (another process)" not in text:
                problems.append(f"{where}: the interpreter is not named: {text}")
            if re.search(r"stutter|\bfr[oe]ez|GUI thread included|waits? its turn", text):
                problems.append(f"{where}: the window is said to wait for their GIL: {text}")
            if workload in ("cpu-python", "queue"):
                said = "under that interpreter's GIL" if gil else "With no GIL there"
                if said not in text or "responsive window" not in text:
                    problems.append(f"{where}: not {said!r} with a responsive window: {text}")
            if {int(x) for x in re.findall(r"\b\d+\b", text.replace(python.name, ""))} - {
                2,
                min(2, cores),
            }:
                problems.append(f"{where}: quotes a number: {text}")
    assert not problems, "\n".join(problems)


#: The hazards lab's own claims: (what, pattern, may appear only if, must appear if).
HAZARD_RULES: list[tuple[str, str, Callable[[Facts], bool], Callable[[Facts], bool]]] = [
    ("says deposits were lost", r"\blost [\d,]+ of", lambda f: (f.r.lost or 0) > 0,
     lambda f: f.done and (f.r.lost or 0) > 0),
    ("says overwritten", r"overwritten", lambda f: (f.r.lost or 0) > 0 and f.r.guard == "none",
     lambda f: False),
    ("says nothing was lost", r"no deposit lost", lambda f: f.r.lost == 0,
     lambda f: f.done and f.r.lost == 0),
    ("says deadlock", r"deadlock with", lambda f: f.r.outcome == "deadlock",
     lambda f: f.r.outcome == "deadlock"),
    ("says no deadlock", r"no deadlock", lambda f: f.r.workload == "deadlock" and f.done,
     lambda f: f.r.workload == "deadlock" and f.done),
    ("talks of a lock in a race", r"\block\b|Lock",
     lambda f: f.r.workload != "race" or f.r.guard == "lock",
     lambda f: f.done and f.r.workload == "race" and f.r.guard == "lock"
     and f.r.backend != "gui-thread"),
    ("says ordered", r"lower-numbered lock first", lambda f: f.r.guard == "ordered",
     lambda f: f.done and f.r.guard == "ordered" and f.r.backend in THREADS | {"multiprocessing"}),
]  # fmt: skip


def hazard_violations(text: str, f: Facts) -> list[str]:
    r, out = f.r, []
    for what, pattern, allowed, required in HAZARD_RULES:
        found = re.search(pattern, text) is not None
        if found and not allowed(f):
            out.append(f"false: {what}")
        if required(f) and not found:
            out.append(f"missing: {what}")
    m = re.search(r"lost ([\d,]+) of ([\d,]+) deposits \(the balance ended at ([\d,]+)\)", text)
    if m and tuple(int(x.replace(",", "")) for x in m.groups()) != (r.lost, r.expected, r.actual):
        out.append(f"not lost {r.lost} of {r.expected}, balance {r.actual}")
    m = re.search(r"no deposit lost \(([\d,]+) of ([\d,]+)\)", text)
    if m and tuple(int(x.replace(",", "")) for x in m.groups()) != (r.actual, r.expected):
        out.append(f"not {r.actual} of {r.expected}")
    m = re.search(r"found ([\d.]+) s after", text)
    if (
        r.outcome == "deadlock"
        and r.detect_s
        and (not m or not _close(float(m[1]), r.detect_s, m[1]))
    ):
        out.append(f"detection time not quoted as {r.detect_s}")
    m = re.search(r"([\d,.]+) k (?:deposits|rounds)/s", text)
    if not f.done or re.search(r"× the throughput", text) is None:
        if not m or not _close(_number(m[1]), r.throughput, m[1]):
            out.append(f"throughput not quoted as {r.throughput} {r.unit}")
    links = r.deadlock.split("; ")
    if r.outcome == "deadlock" and (f"a ring of {len(links)} " not in text or links[0] not in text):
        out.append("the cycle (its size, who holds what, who waits for what) is not quoted")
    return out


def test_every_hazard_readback_is_true_for_its_record(hazard_runs) -> None:
    """The hazards lab's pairs (tests/hazardruns.py: race on every back end, deadlock
    on every back end), each with its edge cases, against the same rules and its own."""
    records = list(hazard_runs.values())
    assert {(r.workload, r.backend) for r in records} == {
        (w, b) for w in HAZARDS for b in backends_for(w, ALL_BACKENDS)
    }
    problems, checked = [], 0
    for i, record in enumerate(records):
        for name, r, history in variants(record, records[:i]):
            text = readback(r, history)
            checked += 1
            facts = Facts(r, named_baseline(text, r, history), None)
            found = violations(text, r, history) + hazard_violations(text, facts)
            problems += [
                f"{r.workload}/{r.guard} on {r.backend} ({name}): {v}\n    {text}" for v in found
            ]
    assert checked >= len(records) * 12
    assert not problems, "\n".join(problems)
    for workload in HAZARDS:
        runs = [r for r in records if (r.workload, r.guard) == (workload, "none")]
        text = compare_summary(runs)
        for r in runs:
            said = (
                f"{r.backend} lost {r.lost:,} of {r.expected:,}"
                if workload == "race"
                else f"{r.backend} {'deadlocked' if r.outcome == 'deadlock' else r.outcome}"
            )
            assert said in text, text


def test_every_hazard_preview_is_true_for_its_pair() -> None:
    problems = []
    for workload in HAZARDS:
        for backend in backends_for(workload, ALL_BACKENDS):
            n = 1 if backend in ON_GUI_THREAD else 2
            text = preview(workload, backend, 2)
            where = f"{workload} on {backend}"
            if not re.search(WHO[backend].format(n=n), text):
                problems.append(f"{where}: does not name who works: {text}")
            if set(re.findall(r"\d+", text)) - {str(n)}:
                problems.append(f"{where}: quotes a number: {text}")
            body = expect(workload, backend, n)
            for what, pattern, when in (
                ("expects lost deposits", r"lost deposits",
                 workload == "race" and backend not in ON_GUI_THREAD),
                ("expects a deadlock", r"as a deadlock",
                 workload == "deadlock" and backend in THREADS | {"multiprocessing"}),
                ("expects a freeze", r"\bfr[oe]ez",
                 backend == "gui-thread" or (workload, backend) == ("deadlock", "asyncio")),
            ):  # fmt: skip
                if (re.search(pattern, body) is not None) != when:
                    problems.append(f"{where}: {what} should be {when}: {body}")
    assert not problems, "\n".join(problems)


def summary_violations(records: list[RunRecord]) -> list[str]:
    text = compare_summary(records)
    done = [r for r in records if r.outcome == "done"]
    out = []
    m = re.search(r"highest throughput (\S+) \(([\d,.]+) MB/s\)", text)
    top = max(r.throughput for r in done)
    if not m or not _close(_number(m[2]), top, m[2]):
        out.append(f"highest throughput is {top}: {text}")
    m = re.search(r"lowest UI lag p99 (\S+) \(([\d,.]+) ms\)", text)
    low = min(r.lag_ms["p99"] for r in done)
    if not m or not _close(_number(m[2]), low, m[2]):
        out.append(f"lowest lag p99 is {low}: {text}")
    worst = max(done, key=lambda r: r.lag_ms["max"])
    froze = worst.lag_ms["max"] > FROZEN_MS
    if froze != bool(re.search(rf"{worst.backend} froze the window: frozen", text)):
        out.append(f"froze={froze} for {worst.backend}: {text}")
    if re.search(r"smooth|fastest", text):
        out.append(f"a superlative no number backs: {text}")
    missing = len(records) - len(done)
    if missing and f"{missing} run(s) did not complete" not in text:
        out.append(f"{missing} incomplete runs not said: {text}")
    return out


# -- before a run ---------------------------------------------------------------------
#: Workloads whose Python code holds the GIL (a queue's consumers checksum in pure Python).
PY_WORK = {"cpu-python", "queue", "pipeline"}
#: asyncio jobs that hold the loop in short blocks: chunks written, items checksummed.
STUTTER_ON_THE_LOOP = {("asyncio", "disk-write"), ("asyncio", "queue")}
PREVIEW_RULES: list[tuple[str, str, Callable[[str, str], bool], Callable[[str, str], bool]]] = [
    ("expects a freeze", r"\bfr[oe]ez",
     lambda w, b: b == "gui-thread" or (b == "asyncio" and (w[:3] == "cpu" or w == "pipeline")),
     lambda w, b: b == "gui-thread" or (b == "asyncio" and (w[:3] == "cpu" or w == "pipeline"))),
    ("expects a responsive window", r"responsive|left alone|outside the GUI thread",
     lambda w, b: b in PROCESSES | APART or (b in THREADS and w not in PY_WORK),
     lambda w, b: b in PROCESSES | APART or (b in THREADS and w not in PY_WORK)),
    ("expects stutter", r"stutter",
     lambda w, b: (b in THREADS and w in PY_WORK) or (b, w) in STUTTER_ON_THE_LOOP,
     lambda w, b: (b in THREADS and w in PY_WORK) or (b, w) in STUTTER_ON_THE_LOOP),
    ("talks of sockets or the network", r"socket|network",
     lambda w, b: w in ("download", "pipeline"),
     lambda w, b: w == "download" and b in THREADS | {"asyncio"}),
    ("talks of hashing", r"hash", lambda w, b: w == "cpu-native",
     lambda w, b: w == "cpu-native" and b in THREADS),
    ("talks of the GIL", r"\bGIL\b",
     lambda w, b: b in THREADS | APART | PROCESSES or w == "cpu-native",
     lambda w, b: b in THREADS | APART or (b in PROCESSES and w.startswith("cpu"))),
    ("talks of coroutines", r"coroutine", lambda w, b: b == "asyncio",
     lambda w, b: b == "asyncio"),
    ("talks of processes or spawn", r"process(?!Events)|spawn",
     lambda w, b: b in PROCESSES | APART, lambda w, b: b in PROCESSES | APART),
    ("talks of the scheduler", r"scheduler", lambda w, b: b == "dask", lambda w, b: b == "dask"),
    ("quotes a measurement", r"\bms\b|MB/s|×|p99|lag\b", lambda w, b: False, lambda w, b: False),
]  # fmt: skip

WHO = {
    "gui-thread": r"the GUI thread itself",
    "qthread": r"{n} QThreads?",
    "threading": r"{n} threads?",
    "thread-pool": r"a pool of {n} threads?",
    "qthread-pool": r"a QThreadPool of {n} threads?",
    "multiprocessing": r"{n} process(?:es)?",
    "asyncio": r"{n} coroutines? on the GUI thread",
    PROCESS_EVENTS: r"the GUI thread with processEvents\(\) between chunks",
    PER_ITEM: r"{n} QThreads? sending a signal per item",
    "hybrid": r"{n} download threads?, a process per core and a writer thread",
    "dask": r"{n} dask worker process(?:es)?",
}


@pytest.mark.parametrize("workers", [1, 2, 8])
def test_every_preview_is_true_for_its_pair_and_quotes_no_measurement(workers) -> None:
    cores = os.cpu_count() or 1
    problems = []
    for workload in WORKLOADS:
        for backend in backends_for(workload, ALL_BACKENDS):
            n = 1 if backend in ON_GUI_THREAD else workers
            for state, lead in (
                ("idle", "Start runs"),
                ("queued", "Queue runs"),
                ("running", "Running"),
            ):
                text = preview(workload, backend, workers, state)
                where = f"{workload} on {backend} ×{workers} ({state})"
                if not text.startswith(lead):
                    problems.append(f"{where}: does not start with {lead!r}: {text}")
                if not re.search(WHO[backend].format(n=n), text):
                    problems.append(f"{where}: does not name who works: {text}")
                numbers = {int(x) for x in re.findall(r"\d+", text)}
                if not numbers <= {n, cores, min(n, cores)}:
                    problems.append(f"{where}: numbers {numbers} are not the selection's")
                body = expect(workload, backend, n)
                for what, pattern, allowed, required in PREVIEW_RULES:
                    found = re.search(pattern, body, re.IGNORECASE) is not None
                    if found and not allowed(workload, backend):
                        problems.append(f"{where}: false: {what}: {body}")
                    if required(workload, backend) and not found:
                        problems.append(f"{where}: missing: {what}: {body}")
    assert not problems, "\n".join(problems)


# -- the rules themselves can fail -------------------------------------------------------
def test_the_rules_catch_the_sentences_that_were_false() -> None:
    """The read-backs that were once shown, checked against records they misdescribed."""
    lag = {"p50": 45.0, "p95": 150.0, "p99": 200.0, "max": 232.0, "over_50": 0.4, "samples": 80}
    lag |= {"frozen": 1500.0, "freezes": 9}
    disk = RunRecord(
        "disk-write",
        "asyncio",
        8,
        16,
        1 << 28,
        True,
        16,
        0,
        0,
        3.0,
        0.0,
        3.0,
        1,
        900.0,
        "MB/s",
        lag,
    )
    old = (
        "8 coroutines on the GUI thread on disk writes: 900.0 MB/s, UI lag p99 200 ms — "
        "while one coroutine waits for its socket, the loop serves the others and the window."
    )
    found = violations(old, disk, [])
    assert "false: talks of sockets or the network" in found
    assert "missing: says it froze" in found
    assert violations(readback(disk, []), disk, []) == []
    threads = dataclasses.replace(disk, workload="download", backend="threading")
    old = (
        "8 threads on downloads: 900.0 MB/s, UI lag p99 200 ms — a thread waiting for I/O "
        "releases the GIL, so the GUI thread stays free."
    )
    assert "false: says it kept up" in violations(old, threads, [])
    cancelled = dataclasses.replace(threads, ok=False, done=10, cancelled=6)
    assert "missing: marks partial" in violations(
        "8 threads on downloads: cancelled with 10 of 16 tasks done, 900.0 MB/s, UI lag p99 "
        "200 ms, frozen 1.5 s in total, longest freeze 0.23 s.",
        cancelled,
        [],
    )
    assert violations(readback(cancelled, []), cancelled, []) == []
