"""The lessons panel's texts, and the sentence that reads a run back to the learner."""

from __future__ import annotations

from pathlib import Path

from workers.record import RunRecord

LESSONS = Path(__file__).resolve().parent.parent / "assets" / "lessons"

WHY = {
    ("cpu-python", "qthread"): "the GIL lets one thread run Python at a time",
    ("cpu-python", "threading"): "the GIL lets one thread run Python at a time",
    ("cpu-python", "thread-pool"): "the GIL lets one thread run Python at a time",
    (
        "cpu-python",
        "multiprocessing",
    ): "each process has its own GIL, so the cores work in parallel",
    ("cpu-native", "qthread"): "hashlib releases the GIL, so threads run on all cores",
    ("cpu-native", "threading"): "hashlib releases the GIL, so threads run on all cores",
    ("cpu-native", "thread-pool"): "hashlib releases the GIL, so threads run on all cores",
    ("cpu-native", "multiprocessing"): "processes scale too, after paying their start-up",
}


def lesson_markdown() -> str:
    """All lesson files, in name order, as one Markdown document."""
    parts = [p.read_text(encoding="utf-8") for p in sorted(LESSONS.glob("*.md"))]
    return "\n\n".join(parts) or "(lessons not found)"


def readback(record: RunRecord, history: list[RunRecord]) -> str:
    """One sentence that reads the measured result back, compared with a serial run."""
    who = {
        "gui-thread": "The GUI thread",
        "asyncio": f"{record.workers} coroutines on the GUI thread",
        "multiprocessing": f"{record.workers} processes",
        "qthread": f"{record.workers} QThreads",
    }.get(record.backend, f"{record.workers} threads")
    what = {
        "cpu-python": "pure-Python work",
        "cpu-native": "C code that releases the GIL",
        "download": "downloads",
        "disk-write": "disk writes",
    }[record.workload]
    p99 = record.lag_ms["p99"]
    base = next(
        (
            r
            for r in reversed(history)
            if r.workload == record.workload and r.backend == "gui-thread" and r.ok
        ),
        None,
    )
    speed = f"{record.throughput:,.1f} MB/s"
    if base is not None and record.backend != "gui-thread" and base.throughput > 0:
        speed = f"{record.throughput / base.throughput:.1f}× the throughput of the GUI thread alone"
    if record.backend == "gui-thread" or (
        record.backend == "asyncio" and record.workload.startswith("cpu")
    ):
        why = "the event loop could not run while the work did, so the window froze"
    elif record.workload in ("download", "disk-write"):
        why = "waiting for I/O releases the GIL, so the GUI thread stays free"
        if record.backend == "asyncio":
            why = (
                "while one coroutine waits for its socket, the loop runs the others and the window"
            )
    else:
        why = WHY.get((record.workload, record.backend), "")
    if not record.ok:
        why = f"{record.failed} failed, {record.cancelled} cancelled"
    sentence = f"{who} on {what}: {speed}, UI lag p99 {p99:,.0f} ms"
    return f"{sentence} — {why}." if why else f"{sentence}."
