"""``pipeline``: each item is downloaded, checksummed in pure Python, then written to disk.

Three stages of three kinds: the download waits on a socket, the checksum
holds the GIL (Adler-32 in a Python loop, the ``cpu-python`` work, each 64 KB
verified against zlib's; the download itself is checked against the
server's SHA-256), the write waits on the disk (an atomic file, as
``disk-write`` writes). On every single back end an item is one plain task,
:func:`pipeline`, doing the three in turn on one worker. The ``hybrid`` back
end calls the same three functions, :func:`fetch`, :func:`checksum` and
:func:`store`, each on the workers that suit it, with bounded queues in
between (``workers.backends.hybrid``).

Each item measures how long each stage kept its worker busy; the run's
record sums them (``stages``), so a run shows which stage bounds it.
"""

from __future__ import annotations

import time
import zlib
from typing import Any

from workers.core import CancelToken, Outcome, Progress, Task, TaskError, checkpoint
from workers.names import PIPELINE_STAGES
from workers.spec import RunSpec
from workers.workloads import download
from workers.workloads.cpu import PY_CHUNK, adler32_py
from workers.workloads.disk import CHUNK, AtomicFile

fetch = download.fetch  # the first stage: the body in memory, its length and SHA-256 checked


def checksum(progress: Progress, cancel: CancelToken, data: bytes) -> int:
    """Adler-32 of ``data`` in pure Python, 64 KB at a time, each piece verified
    against zlib's (C); the pieces' checksums XORed, as ``cpu-python`` does."""
    view = memoryview(data)
    combined = 0
    for start in range(0, len(view), PY_CHUNK):
        checkpoint(cancel)
        part = view[start : start + PY_CHUNK]
        got = adler32_py(part)
        if got != zlib.adler32(part):
            raise TaskError(f"checksum mismatch at byte {start}")
        combined ^= got
        progress(start + len(part))
    return combined


def store(
    progress: Progress,
    cancel: CancelToken,
    data: bytes,
    *,
    folder: str,
    name: str,
    fsync: bool = False,
) -> int:
    """Write ``data`` to ``folder/name`` atomically, 1 MiB at a time; the bytes on disk."""
    view = memoryview(data)
    with AtomicFile(folder, name, fsync=fsync) as out:
        for start in range(0, len(view), CHUNK):
            checkpoint(cancel)
            out.write(view[start : start + CHUNK])
            progress(out.size)
    if out.size != len(data):
        raise TaskError(f"{name}: {out.size:,} bytes written, expected {len(data):,}")
    return out.size


def outcome(size: int, value: int, busy: dict[str, float]) -> Outcome:
    """An item's result: its bytes, its checksum, and each stage's busy seconds."""
    facts = tuple((f"stage:{stage}", round(busy.get(stage, 0.0), 6)) for stage in PIPELINE_STAGES)
    return Outcome(size, f"adler32-xor {value:08x}", facts)


def _quiet(n: int) -> None:
    """Progress of a stage the item's units do not count (they count bytes written)."""


def pipeline(
    progress: Progress,
    cancel: CancelToken,
    *,
    url: str,
    folder: str,
    name: str,
    fsync: bool = False,
    timeout: float = download.TIMEOUT_S,
) -> Outcome:
    """One item, its three stages in turn on this worker: download, checksum, write."""
    t0 = time.perf_counter()
    data = fetch(_quiet, cancel, url=url, timeout=timeout)
    t1 = time.perf_counter()
    value = checksum(_quiet, cancel, data)
    t2 = time.perf_counter()
    store(progress, cancel, data, folder=folder, name=name, fsync=fsync)
    t3 = time.perf_counter()
    return outcome(len(data), value, {"download": t1 - t0, "checksum": t2 - t1, "write": t3 - t2})


async def apipeline(
    progress: Progress,
    cancel: CancelToken,
    *,
    url: str,
    folder: str,
    name: str,
    fsync: bool = False,
    timeout: float = download.TIMEOUT_S,
) -> Outcome:
    """The coroutine twin: the download awaits its socket; the checksum and the write
    have nothing to await, so each holds the loop (and the window) until it ends."""
    t0 = time.perf_counter()
    data = await download.afetch(_quiet, cancel, url=url, timeout=timeout)
    t1 = time.perf_counter()
    value = checksum(_quiet, cancel, data)
    t2 = time.perf_counter()
    store(progress, cancel, data, folder=folder, name=name, fsync=fsync)
    t3 = time.perf_counter()
    return outcome(len(data), value, {"download": t1 - t0, "checksum": t2 - t1, "write": t3 - t2})


def make_tasks(spec: RunSpec, base_url: str | None, folder: str | None) -> list[Task]:
    """Item i: the local server's ``file-i.bin`` (its latency and rate cap), kept as
    ``pipeline-i.bin`` in ``folder``."""
    if base_url is None or folder is None:
        raise ValueError("the pipeline needs the local server's address and a folder")
    tasks = []
    for i in range(spec.tasks):
        kwargs: dict[str, Any] = {
            "url": download.served(base_url, spec, i),
            "folder": folder,
            "name": f"pipeline-{i:04d}.bin",
            "fsync": spec.fsync,
        }
        tasks.append(Task(i, pipeline, kwargs, spec.size, apipeline))
    return tasks


__all__ = ["checksum", "fetch", "make_tasks", "outcome", "pipeline", "store"]
