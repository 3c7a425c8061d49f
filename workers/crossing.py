"""Bytes across the process boundary, counted where they are pickled anyway.

A worker process gets each task as a pickle, and its events and its result
come back as pickles: the bytes that cross a pipe, and the price of
``multiprocessing`` beside a process's start-up. They are counted without
pickling anything twice:

- a task is pickled once, when the executor sends it to a worker: the
  :class:`Sealed` it is wrapped in pickles it (:func:`seal`) and counts the
  bytes in its ``__reduce__``; the executor's own pickle then only copies that
  ``bytes`` object (a memcpy, not a second walk over the task), and the worker
  gets the task back from it (:func:`unseal`). A task cancelled before it was
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
from typing import Any


def seal(obj: object) -> bytes:
    return pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)


def unseal(blob: bytes) -> Any:
    """What :func:`seal` made: bytes from this app or its own workers, never a stranger's."""
    return pickle.loads(blob)  # noqa: S301 - the app's own pickles, through its own pipes


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

    def __reduce__(self) -> tuple[Any, tuple[bytes]]:
        blob = seal(self.obj)
        self.tally.add(len(blob))
        return unseal, (blob,)
