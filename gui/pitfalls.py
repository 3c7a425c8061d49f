"""What the window says about the two pitfalls (``workers.names.PITFALLS``).

:data:`EXPECT_PROCESS_EVENTS` and :data:`EXPECT_SIGNAL_PER_ITEM` are the banner
before a run; :func:`measured_text` the part of the read-back sentence
(:func:`gui.readback.readback`) that only their back ends measure. Each
number in it is the record's (``tests/test_readback.py`` checks them).
"""

from __future__ import annotations

from workers.record import RunRecord

EXPECT_PROCESS_EVENTS = (
    "Between chunks the task calls processEvents(): expect the window to keep moving, "
    "but every timer, click and close handled then runs inside the task's own call "
    "stack — press Start or Cancel during the run, and read what ran nested after it."
)
EXPECT_SIGNAL_PER_ITEM = (
    "Here each progress call is a signal of its own, one per item, that the GUI thread "
    "must deliver in turn."
)


def measured_text(r: RunRecord) -> str:
    """What a pitfall's back end measured, as a sentence: the events handled inside the
    tasks' own call stacks (processEvents), or the Qt signals the GUI thread delivered
    and how late the last one was applied; empty when the record has neither."""
    if r.reentered is not None:
        if not r.reentered:
            return " Re-entrancy: no event ran inside its tasks' own call stacks."
        kinds = ", ".join(f"{n:,} {kind}" for kind, n in r.reentered_by)
        return (
            f" Re-entrancy: {r.reentered:,} events ran inside its tasks' own call stacks "
            f"({kinds}), at most {r.reentry_depth} deep."
        )
    if r.signals is None:
        return ""
    each = (
        "one per progress call"
        if r.backend == "qthread-signal-per-item"
        else "progress at most 50 times a second per task"
    )
    text = f" Signals: {r.signals:,} delivered to the GUI thread ({each})"
    if r.last_progress_s is not None:
        text += f", the last applied {r.last_progress_s:.3f} s after the work ended"
    return text + "."
