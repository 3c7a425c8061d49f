"""A CPU task's input bytes, and the two ways they reach a worker process.

The CPU workloads checksum an input buffer given to them (``data`` in their
kwargs). Its bytes are the task's deterministic content (``workers.content``):
the first ``min(size, INPUT_MAX)`` bytes, which the task walks through again
and again until it has checksummed ``size`` bytes. The content repeats every
``content.BLOCK``, so the bytes checksummed, the chunks and the result are the
same whatever the buffer's length (a multiple of the block, or the whole job).

How the buffer travels is the ``transfer`` of the job:

- ``pickle`` (:class:`Input`): in this process (threads, coroutines) nothing is
  copied, the task reads the content's block where it is; sent to a worker
  process, the input is pickled with its task, all its bytes (:class:`Carried`
  on the other side). What every argument of a ``ProcessPoolExecutor`` task
  costs: the bytes cross a pipe, once per task.
- ``shared-memory`` (:class:`Placement`): the run writes every task's input once
  into one ``multiprocessing.shared_memory.SharedMemory`` segment, and each task
  carries only its segment's name, offset and length (:class:`Placed`); a worker
  attaches to the segment by name, once, and reads the bytes where they are.
  The segment is unlinked when the run closes (done, cancelled, or the window
  closing); were the app killed, multiprocessing's resource tracker unlinks it.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import secrets
from dataclasses import dataclass, replace
from multiprocessing import shared_memory
from typing import Any, SupportsIndex, cast

from workers import content
from workers.core import Task

#: The most input bytes a task carries: larger jobs walk through these again (16 MiB:
#: a default cpu-python task's whole 16 MB; a cpu-native task's 1.5 GB could not cross).
INPUT_MAX = 16 * content.BLOCK
#: Segments are named so: ``ls /dev/shm/unfreeze-*`` shows any left behind.
SEGMENT_PREFIX = "unfreeze-"


def input_length(size: int) -> int:
    """How many bytes the input of a task of ``size`` bytes holds."""
    return min(size, INPUT_MAX)


def fill(target: memoryview, seed: int) -> None:
    """Write ``len(target)`` bytes of ``seed``'s content into ``target``, a block at a time."""
    block = content.block(seed) if len(target) >= content.BLOCK else content.head(seed, len(target))
    for offset in range(0, len(target), content.BLOCK):
        n = min(content.BLOCK, len(target) - offset)
        target[offset : offset + n] = block[:n]


@dataclass(frozen=True, slots=True)
class Carried:
    """An input that came with its task: its bytes were pickled with it."""

    data: bytes

    def view(self) -> memoryview:
        return memoryview(self.data)


@dataclass(frozen=True, slots=True)
class Input:
    """The input of a task: ``length`` bytes of ``seed``'s content, to travel by ``transfer``."""

    seed: int
    length: int
    transfer: str = "pickle"

    def view(self) -> memoryview:
        """In this process: the content's block itself (it repeats every block), no copy."""
        if self.length >= content.BLOCK:
            return memoryview(content.block(self.seed))
        return memoryview(content.head(self.seed, self.length))

    def materialize(self) -> bytes:
        """All its bytes, in one buffer: what crosses when it is pickled."""
        if self.length < content.BLOCK:
            return content.head(self.seed, self.length)
        full, rest = divmod(self.length, content.BLOCK)
        block = content.block(self.seed)
        return block * full + block[:rest]

    def __reduce_ex__(self, protocol: SupportsIndex) -> tuple[type[Carried], tuple[Any]]:
        """Pickled (sent to a worker process): all its bytes go with it, as an
        out-of-band buffer where the pickle allows (protocol 5: no copy into it)."""
        data = self.materialize()
        return Carried, (pickle.PickleBuffer(data) if int(protocol) >= 5 else data,)


@dataclass(frozen=True, slots=True)
class Recipe:
    """An input made where it is used, from its seed (the content is deterministic):
    what a task carries to a worker the app does not feed by pipe, a dask cluster's,
    whose scheduler would otherwise ship every task's bytes inside the task graph."""

    seed: int
    length: int

    def view(self) -> memoryview:
        return Input(self.seed, self.length).view()


def as_recipes(tasks: list[Task]) -> list[Task]:
    """``tasks`` with each input a :class:`Recipe`: a few bytes each, wherever they go."""
    return [
        replace(
            task,
            kwargs={
                k: Recipe(v.seed, v.length) if isinstance(v, Input) else v
                for k, v in task.kwargs.items()
            },
        )
        for task in tasks
    ]


def _buffer(memory: shared_memory.SharedMemory) -> memoryview:
    return cast(memoryview, memory.buf)  # None only once closed


_attached: dict[str, shared_memory.SharedMemory] = {}  # in a worker: segments by name


@dataclass(frozen=True, slots=True)
class Placed:
    """An input in the run's shared memory: what a task carries instead of the bytes."""

    segment: str
    offset: int
    length: int

    def view(self) -> memoryview:
        """The bytes where they are; the first task of a worker attaches to the segment."""
        memory = _attached.get(self.segment)
        if memory is None:
            memory = _attached[self.segment] = shared_memory.SharedMemory(self.segment)
        return _buffer(memory)[self.offset : self.offset + self.length]


class Placement:
    """The shared-memory inputs of a run's tasks, written once into one segment.

    Made on the thread that starts the workers (filling ~128 MB takes tens of ms:
    start-up time, never the GUI thread's); :meth:`release` unlinks the segment.
    """

    def __init__(self, tasks: list[Task]) -> None:
        wanted = [
            (task.index, key, value)
            for task in tasks
            for key, value in task.kwargs.items()
            if isinstance(value, Input) and value.transfer == "shared-memory"
        ]
        self.nbytes = sum(value.length for _, _, value in wanted)
        self.memory: shared_memory.SharedMemory | None = None
        self.tasks = tasks
        if not wanted:
            return
        name = f"{SEGMENT_PREFIX}{os.getpid()}-{secrets.token_hex(4)}"
        self.memory = shared_memory.SharedMemory(name, create=True, size=max(1, self.nbytes))
        refs: dict[tuple[int, str], Placed] = {}
        offset = 0
        for index, key, value in wanted:
            with _buffer(self.memory)[offset : offset + value.length] as target:
                fill(target, value.seed)
            refs[index, key] = Placed(self.memory.name, offset, value.length)
            offset += value.length
        self.tasks = [
            replace(t, kwargs={k: refs.get((t.index, k), v) for k, v in t.kwargs.items()})
            for t in tasks
        ]

    def release(self) -> None:
        """Unmap and unlink the segment (once; workers that still map it keep their view)."""
        memory, self.memory = self.memory, None
        if memory is None:
            return
        memory.close()
        with contextlib.suppress(FileNotFoundError):
            memory.unlink()
