"""Checksumming bytes: the same work done in pure Python and in C.

``cpu-python`` computes Adler-32 in a Python loop, holding the GIL the whole
time; ``cpu-native`` hashes with ``hashlib.sha256``, which releases the GIL
for buffers over 2 KiB.  Both checksum blocks of the deterministic content
and compare each block's checksum with the one computed once by C code, so
every result is verified.

Each task checksums an input buffer given to it (``data``, see
:mod:`workers.inputs`): pickled with the task or placed in shared memory, the
bytes and therefore the result are the same; the checks are computed from the
content itself, never from the buffer, so a buffer that arrived wrong fails.
"""

from __future__ import annotations

import hashlib
import zlib
from functools import lru_cache

from workers import content
from workers.core import CancelToken, Outcome, Progress, Task, TaskError, TaskFn, checkpoint
from workers.inputs import Carried, Input, Placed, input_length
from workers.spec import RunSpec

Data = Input | Carried | Placed

PY_CHUNK = 64 << 10  # ~3 ms of pure Python here: fine-grained progress and cancel
NATIVE_CHUNK = 1 << 20  # ~0.6 ms of sha256 here


def adler32_py(data: bytes | memoryview) -> int:
    """Adler-32 the slow, honest way: one Python bytecode loop per byte."""
    a, b = 1, 0
    for start in range(0, len(data), 5552):  # zlib's NMAX: no overflow of 32 bits before modulo
        for byte in data[start : start + 5552]:
            a += byte
            b += a
        a %= 65521
        b %= 65521
    return (b << 16) | a


@lru_cache(maxsize=64)
def _adler_reference(seed: int, start: int, n: int) -> int:
    return zlib.adler32(content.block(seed)[start : start + n])


@lru_cache(maxsize=64)
def _sha_reference(seed: int, start: int, n: int) -> bytes:
    return hashlib.sha256(content.block(seed)[start : start + n]).digest()


def cpu_python(
    progress: Progress, cancel: CancelToken, *, size: int, seed: int, data: Data
) -> Outcome:
    """Adler-32 of ``size`` bytes of ``data`` in pure Python, verified chunk by chunk."""
    done = 0
    combined = 0
    for part in content.cycle(data.view(), size, PY_CHUNK):
        checkpoint(cancel)
        got = adler32_py(part)
        start = done % content.BLOCK
        if got != _adler_reference(seed, start, len(part)):
            raise TaskError(f"checksum mismatch at byte {done}")
        combined ^= got
        done += len(part)
        progress(done)
    return Outcome(done, f"adler32-xor {combined:08x}")


def cpu_native(
    progress: Progress, cancel: CancelToken, *, size: int, seed: int, data: Data
) -> Outcome:
    """SHA-256 of ``size`` bytes of ``data`` in C (GIL released), verified chunk by chunk."""
    done = 0
    combined = hashlib.sha256()
    for part in content.cycle(data.view(), size, NATIVE_CHUNK):
        checkpoint(cancel)
        got = hashlib.sha256(part).digest()
        start = done % content.BLOCK
        if got != _sha_reference(seed, start, len(part)):
            raise TaskError(f"checksum mismatch at byte {done}")
        combined.update(got)
        done += len(part)
        progress(done)
    return Outcome(done, f"sha256-chain {combined.hexdigest()[:16]}")


def make_tasks(fn: TaskFn, spec: RunSpec) -> list[Task]:
    """One task per ``spec.tasks``, each with its own content and its input to travel
    by ``spec.transfer``."""
    tasks = []
    for i in range(spec.tasks):
        seed = content.seed_for(f"cpu-{i}")
        data = Input(seed, input_length(spec.size), spec.transfer)
        tasks.append(Task(i, fn, {"size": spec.size, "seed": seed, "data": data}, spec.size))
    return tasks
