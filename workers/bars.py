"""The timeline's raw material: bars (a task, or a stage of one, on its worker's lane)
and the spans a record keeps of them (``tasks`` in the JSON)."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np

from workers.core import Event


@dataclass(slots=True)
class Bars:
    """What the timeline draws: one bar each, on its worker's lane, from its start to its
    end. A run's bars are its tasks, or, where the back end runs a task's stages on workers
    of their own (:data:`workers.names.STAGES_APART`), each task's stages."""

    task: list[int]  # the task each bar is of
    stage: list[str]  # the stage it is ("": the whole task)
    lanes: list[str]
    statuses: list[str]
    began: np.ndarray  # perf_counter times; NaN: not yet
    ended: np.ndarray
    cpu_s: np.ndarray
    switches: np.ndarray  # NaN: not measured

    @classmethod
    def empty(cls, tasks: int, stages: tuple[str, ...]) -> Bars:
        n = tasks * len(stages)
        return cls(
            [i for i in range(tasks) for _ in stages],
            list(stages) * tasks,
            [""] * n,
            ["queued"] * n,
            *(np.full(n, np.nan) for _ in range(4)),
        )

    def label(self, i: int) -> str:
        return f"task {self.task[i]}" + (f" · {self.stage[i]}" if self.stage[i] else "")


def lane_of(event: Event) -> str:
    """The worker a task ran on, as the timeline names its lane: the thread's name
    ("Worker-1_0", "ThreadPoolExecutor-0_1", "QThread-3", "MainThread"), the
    coroutine's ("MainThread:coroutine-0"), a worker process's pid ("pid 4242"), or a
    thread of a helper process ("pid 4242 Worker-1_0")."""
    if event.pid and event.pid != os.getpid():
        # A process's main thread (a pool worker's) is the process; another thread of
        # another process (a helper's, ``--python``) is that thread, in that process.
        return f"pid {event.pid}" if event.tid == event.pid else f"pid {event.pid} {event.worker}"
    return event.worker


@dataclass(frozen=True, slots=True)
class TaskSpan:
    """One task on the timeline: who ran it, when (seconds since the run's start,
    the clock of the run's other times), the CPU seconds of its worker thread
    meanwhile and how often that thread gave up its CPU to wait (voluntary context
    switches; None: not measured, e.g. its worker process died, or a coroutine's)."""

    index: int
    worker: str
    start_s: float
    end_s: float
    cpu_s: float | None
    outcome: str  # done / failed / cancelled
    switches: int | None = None
    #: The stage of task ``index`` it is, where the back end ran stages apart; "": all of it.
    stage: str = ""

    @property
    def switch_rate(self) -> float | None:
        """Voluntary context switches per second: GIL hand-offs, for pure-Python threads."""
        wall = self.end_s - self.start_s
        return None if self.switches is None or wall <= 0 else self.switches / wall

    @property
    def share(self) -> float | None:
        """CPU seconds over wall seconds: ~1/N for N pure-Python threads, ~1 for a
        process on a core of its own, near 0 for a task that waits."""
        wall = self.end_s - self.start_s
        return None if self.cpu_s is None or wall <= 0 else self.cpu_s / wall


def spans(bars: Bars, t_start: float) -> tuple[TaskSpan, ...]:
    """The ``bars`` that started and ended, in index order (a task cancelled while
    queued never ran: it has no span), timed from ``t_start`` (perf_counter)."""
    out = []
    for i in np.flatnonzero(~np.isnan(bars.began) & ~np.isnan(bars.ended)).tolist():
        cpu, switches = float(bars.cpu_s[i]), float(bars.switches[i])
        out.append(
            TaskSpan(
                index=bars.task[i],
                worker=bars.lanes[i],
                start_s=round(float(bars.began[i]) - t_start, 6),
                end_s=round(float(bars.ended[i]) - t_start, 6),
                cpu_s=None if math.isnan(cpu) else round(cpu, 6),
                outcome=bars.statuses[i],
                switches=None if math.isnan(switches) else int(switches),
                stage=bars.stage[i],
            )
        )
    return tuple(out)
