"""Bytes across the process boundary, counted where they are pickled anyway.

A worker process gets each task as a pickle, and its events and its result
come back as pickles: the bytes that cross a pipe, and the price of
``multiprocessing`` beside a process's start-up. They are counted without
pickling anything twice:

- a task is pickled once, when the executor sends it to a worker: the
  :class:`Sealed` it is wrapped in pickles it and counts the bytes in its
  ``__reduce__``; the executor's own pickle then only copies that small
  ``bytes`` object, and the worker gets the task back from it (:func:`unseal`).
  Big buffers (a CPU task's input, :mod:`workers.inputs`) go out of band
  (pickle protocol 5): they cross as they are, copied once by the executor's
  pickle as any argument is, never into the sealed bytes and out again
  (measured: two extra copies of a 16 MB input cost 3 ms, and 40 ms once
  glibc hands back and refaults the memory). A task cancelled before it was
  sent never crossed, and is not counted;
- a worker seals each event and its result before they go on their queue,
  and the app counts the bytes as it unseals them.

The few dozen bytes of the executor's own envelope around each call (its
work id, the function's name) are not counted, nor what a worker gets once
when it starts (the run's queue, cancel event and shared objects).
"""

from __future__ import annotations

import pickle
import threading
import time
import timeit
from collections.abc import Callable
from functools import partial
from multiprocessing.reduction import ForkingPickler
from typing import Any


def seal(obj: object) -> bytes:
    return pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)


def unseal(blob: bytes | memoryview, *buffers: bytes) -> Any:
    """What :func:`seal` (or :class:`Sealed`, with its out-of-band ``buffers``) made:
    bytes from this app or its own workers, never a stranger's."""
    return pickle.loads(blob, buffers=buffers)  # noqa: S301 - the app's own, its own pipes


def _raw(buffer: pickle.PickleBuffer) -> bytes:
    """The bytes object ``buffer`` shows, itself if it shows the whole of one (no copy)."""
    view = buffer.raw()
    return view.obj if isinstance(view.obj, bytes) and len(view.obj) == view.nbytes else bytes(view)


class Tally:
    """A byte count added to from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.total = 0

    def add(self, n: int) -> None:
        with self._lock:
            self.total += n


class Sealed:
    """``obj``, counting its pickle's bytes into ``tally`` as it is pickled (sent)."""

    __slots__ = ("obj", "tally")

    def __init__(self, obj: object, tally: Tally) -> None:
        self.obj, self.tally = obj, tally

    def __reduce__(self) -> tuple[Any, tuple[bytes, ...]]:
        buffers: list[pickle.PickleBuffer] = []
        blob = pickle.dumps(self.obj, protocol=5, buffer_callback=buffers.append)
        raws = tuple(_raw(b) for b in buffers)
        self.tally.add(len(blob) + sum(len(r) for r in raws))
        return unseal, (blob, *raws)


def _trip(obj: object) -> object:
    """There and back, as the executor and a multiprocessing queue carry ``obj``."""
    return unseal(ForkingPickler.dumps(obj))


def _sealed_trip(obj: object) -> object:
    """The same for what a worker seals first (an event), unsealed where it arrives."""
    return unseal(unseal(ForkingPickler.dumps(seal(obj))))


def counting_cost(sizes: tuple[str, ...] = ("16MB", "1MB", "64KB")) -> dict[str, float]:
    """What counting costs, in µs of CPU per round trip through the pickler the executor
    and the queues use (``ForkingPickler``), uncounted vs counted: a cpu-python task
    of each size (its input materialized, pickled and unpickled) and a progress event.
    The least CPU time of 7 repeats (``process_time``: other programs' load does not
    count). ``unfreeze bench --crossing`` prints it."""
    from workers.core import make_event
    from workers.spec import parse_spec
    from workers.workloads import make_tasks

    def per(fn: Callable[[], object], n: int) -> float:
        return min(timeit.repeat(fn, number=n, repeat=7, timer=time.process_time)) / n * 1e6

    tally, out = Tally(), {}
    for size in sizes:
        raw = {"workload": "cpu-python", "backend": "multiprocessing", "tasks": 1, "size": size}
        task = make_tasks(parse_spec(raw))[0]
        n = max(3, 100_000_000 // (task.total * 50 + 1_000_000))
        out[f"task_{size}_us"] = per(partial(_trip, task), n)
        out[f"task_{size}_counted_us"] = per(partial(_trip, Sealed(task, tally)), n)
    event = make_event("progress", 3, 123_456)
    out["event_us"] = per(partial(_trip, event), 20_000)
    out["event_counted_us"] = per(partial(_sealed_trip, event), 20_000)
    return {k: round(v, 2) for k, v in out.items()}
