"""``queue``: producers and consumers with a bounded queue between them.

Producers cut items from the deterministic content and put them into the
run's bounded queue (a ``queue.Queue``, an ``asyncio.Queue`` or a
``multiprocessing.Queue``, whichever the back end shares: see
:mod:`workers.shared`). Consumers take them and checksum each in pure Python
(Adler-32, the ``cpu-python`` work), checked against zlib's. A consumer
needs ~2.5 ms for a 64 KB item, a producer a few µs: the queue fills, and
each producer then blocks in ``put`` until a consumer makes room. That wait
is backpressure: the fast side is held to the pace of the slow one, and the
memory in between stays bounded by the queue's size.

Producers measure it: the time they spent blocked (only waits on a full
queue; a put that found room costs no wait) and the queue's depth after each
of their puts. Those become the run's ``producer_blocked_s`` and
``max_depth``.

Every wait is cut in slices of ``POLL_S`` with the cancel token checked
between them, and a partner that stopped (a failed task) ends the others
after ``STALL_S`` with a message, never a hang.
"""

from __future__ import annotations

import asyncio
import time
import zlib
from collections import deque
from queue import Empty, Full  # what queue.Queue and multiprocessing.Queue raise
from typing import Any

from workers import content
from workers.core import CancelToken, Outcome, Progress, Task, TaskError, checkpoint
from workers.names import queue_roles
from workers.shared import POLL_S, Shared
from workers.spec import RunSpec
from workers.workloads.cpu import adler32_py

#: A put or a get that waits this long for one item means its partner stopped.
STALL_S = 10.0
SEED = content.seed_for("queue")


def item(seed: int, k: int, size: int) -> bytes:
    """Item ``k``: ``size`` bytes of the content (a copy: it leaves its producer)."""
    start = (k * size) % (content.BLOCK - size + 1)
    return content.block(seed)[start : start + size]


def check(seed: int, k: int, payload: bytes, size: int) -> int:
    """Adler-32 of ``payload`` in pure Python (the slow consumer's real work),
    verified against zlib's of what item ``k`` must hold."""
    got = adler32_py(payload)
    if len(payload) != size or got != zlib.adler32(item(seed, k, size)):
        raise TaskError(f"item {k} arrived damaged")
    return got


def _stalled(since: float, what: str) -> None:
    if time.perf_counter() - since > STALL_S:
        raise TaskError(f"{what} for {STALL_S:g} s: did a partner task stop?")


def _facts(max_depth: int, blocked_s: float) -> tuple[tuple[str, float], ...]:
    return (("max_depth", float(max_depth)), ("blocked_s", round(blocked_s, 6)))


def produce(
    progress: Progress,
    cancel: CancelToken,
    *,
    queue: Any,
    seed: int,
    first: int,
    step: int,
    items: int,
    size: int,
) -> Outcome:
    """Put items ``first, first + step, …`` below ``items``; block while the queue is full."""
    blocked, deepest, n = 0.0, 0, 0
    try:
        for k in range(first, items, step):
            checkpoint(cancel)
            piece = (k, item(seed, k, size))
            try:
                queue.put_nowait(piece)
            except Full:
                since = time.perf_counter()
                while True:  # blocked: backpressure
                    try:
                        queue.put(piece, timeout=POLL_S)
                        break
                    except Full:
                        checkpoint(cancel)
                        _stalled(since, "the queue stayed full")
                blocked += time.perf_counter() - since
            deepest = max(deepest, queue.qsize())
            n += 1
    except BaseException:
        # A multiprocessing queue sends from a thread of its own, and a process does
        # not exit until it has sent all: once the run stops, nobody will take them.
        forget = getattr(queue, "cancel_join_thread", None)
        if forget is not None:
            forget()
        raise
    return Outcome(0, f"{n} items put", _facts(deepest, blocked))


def consume(
    progress: Progress, cancel: CancelToken, *, queue: Any, seed: int, count: int, size: int
) -> Outcome:
    """Take ``count`` items and checksum each in pure Python."""
    done, combined = 0, 0
    for _ in range(count):
        since = time.perf_counter()
        while True:
            checkpoint(cancel)
            try:
                k, payload = queue.get(timeout=POLL_S)
                break
            except Empty:
                _stalled(since, "no item came")
        combined ^= check(seed, k, payload, size)
        done += len(payload)
        progress(done)
    return Outcome(done, f"{count} items, adler32-xor {combined:08x}")


async def aproduce(
    progress: Progress,
    cancel: CancelToken,
    *,
    queue: asyncio.Queue[tuple[int, bytes]],
    seed: int,
    first: int,
    step: int,
    items: int,
    size: int,
) -> Outcome:
    """The coroutine twin of :func:`produce`: ``await queue.put`` gives the loop away."""
    blocked, deepest, n = 0.0, 0, 0
    for k in range(first, items, step):
        checkpoint(cancel)
        piece = (k, item(seed, k, size))
        try:
            queue.put_nowait(piece)
        except asyncio.QueueFull:
            since = time.perf_counter()
            while True:
                try:
                    await asyncio.wait_for(queue.put(piece), POLL_S)
                    break
                except TimeoutError:
                    checkpoint(cancel)
                    _stalled(since, "the queue stayed full")
            blocked += time.perf_counter() - since
        deepest = max(deepest, queue.qsize())
        n += 1
    return Outcome(0, f"{n} items put", _facts(deepest, blocked))


async def aconsume(
    progress: Progress,
    cancel: CancelToken,
    *,
    queue: asyncio.Queue[tuple[int, bytes]],
    seed: int,
    count: int,
    size: int,
) -> Outcome:
    """The coroutine twin of :func:`consume`: it awaits items, but its checksum
    never awaits, so each one holds the loop (and the window) while it runs."""
    done, combined = 0, 0
    for _ in range(count):
        since = time.perf_counter()
        while True:
            checkpoint(cancel)
            try:
                k, payload = await asyncio.wait_for(queue.get(), POLL_S)
                break
            except TimeoutError:
                _stalled(since, "no item came")
        combined ^= check(seed, k, payload, size)
        done += len(payload)
        progress(done)
    return Outcome(done, f"{count} items, adler32-xor {combined:08x}")


def alternate(
    progress: Progress, cancel: CancelToken, *, depth: int, seed: int, items: int, size: int
) -> Outcome:
    """One worker for both roles (the GUI thread, or a job of 1 worker).

    A producer that blocked on a full queue would wait for a consumer that
    can never run: the same thread. So this one task produces until the
    queue is full, then consumes one item to make room, and drains it at the
    end. It never blocks; its blocked time is 0 by construction.
    """
    held: deque[tuple[int, bytes]] = deque()
    done, combined, deepest = 0, 0, 0

    def take_one() -> None:
        nonlocal done, combined
        k, payload = held.popleft()
        combined ^= check(seed, k, payload, size)
        done += len(payload)
        progress(done)

    for k in range(items):
        checkpoint(cancel)
        if len(held) == depth:
            take_one()
        held.append((k, item(seed, k, size)))
        deepest = max(deepest, len(held))
    while held:
        checkpoint(cancel)
        take_one()
    return Outcome(done, f"{items} items, adler32-xor {combined:08x}", _facts(deepest, 0.0))


def make_tasks(spec: RunSpec) -> list[Task]:
    """Half the workers produce (rounded up), half consume; one worker does both in turn.

    Producer ``p`` of ``P`` makes items ``p, p + P, …``; the consumers share
    the items out evenly, so every item put is taken exactly once. Producers
    report no units: the run's bytes are the ones consumers checksummed.
    """
    size, items = spec.size, spec.items
    roles = queue_roles(spec.backend, spec.workers)
    if roles == 1:
        alone = {"depth": spec.depth, "seed": SEED, "items": items, "size": size}
        return [Task(0, alternate, alone, items * size)]
    consumers = roles // 2
    producers = roles - consumers
    common: dict[str, Any] = {"queue": Shared("queue", "queue", spec.depth), "seed": SEED}
    tasks = [
        Task(p, produce, common | {"first": p, "step": producers, "items": items, "size": size},
             0, aproduce)
        for p in range(producers)
    ]  # fmt: skip
    for c in range(consumers):
        count = items // consumers + (c < items % consumers)
        kwargs = common | {"count": count, "size": size}
        tasks.append(Task(producers + c, consume, kwargs, count * size, aconsume))
    return tasks
