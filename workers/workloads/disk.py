"""Writing real files: chunked, optionally fsynced, atomic.

Each file is written to a hidden temp file in the target folder and renamed
over its final name only once complete, so a crash, a cancel or a full disk
never leaves a truncated file under the final name.
"""

from __future__ import annotations

import asyncio
import errno
import os
import tempfile
from pathlib import Path
from types import TracebackType

from workers import content
from workers.core import CancelToken, Outcome, Task, TaskError, checkpoint

CHUNK = 1 << 20
UNIT = "B"
TEMP_PREFIX = ".unfreeze-"
TEMP_SUFFIX = ".part"


class AtomicFile:
    """``with AtomicFile(folder, name) as f: f.write(...)`` — all or nothing.

    Leaving the block normally renames the temp file over ``folder/name``;
    leaving it by any exception (cancel included) deletes the temp file.
    """

    def __init__(self, folder: str, name: str, *, fsync: bool = False) -> None:
        self.folder, self.path, self.fsync = folder, os.path.join(folder, name), fsync
        self.size = 0

    def __enter__(self) -> AtomicFile:
        fd, self.temp = tempfile.mkstemp(dir=self.folder, prefix=TEMP_PREFIX, suffix=TEMP_SUFFIX)
        self.out = os.fdopen(fd, "wb", buffering=0)
        return self

    def write(self, part: bytes | memoryview) -> None:
        try:
            view = memoryview(part)
            while view:  # a raw write may be partial
                view = view[self.out.write(view) :]
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                raise TaskError(
                    f"no space left on the device after {self.size:,} bytes in {self.folder}"
                ) from None
            raise
        self.size += len(part)

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if kind is None:
                if self.fsync:
                    os.fsync(self.out.fileno())
                self.out.close()
                os.replace(self.temp, self.path)
                if self.fsync:  # make the rename itself durable
                    dir_fd = os.open(self.folder, os.O_RDONLY)
                    try:
                        os.fsync(dir_fd)
                    finally:
                        os.close(dir_fd)
                return
        except BaseException:
            self._discard()
            raise
        self._discard()

    def _discard(self) -> None:
        self.out.close()
        Path(self.temp).unlink(missing_ok=True)


def _verify(path: str, size: int) -> Outcome:
    on_disk = os.stat(path).st_size
    if on_disk != size:
        raise TaskError(f"{os.path.basename(path)}: {on_disk:,} bytes on disk, expected {size:,}")
    return Outcome(size, "size verified")


def disk_write(
    progress, cancel: CancelToken, *, folder: str, name: str, size: int, fsync: bool = False
) -> Outcome:
    """Write ``size`` bytes of deterministic content to ``folder/name``."""
    with AtomicFile(folder, name, fsync=fsync) as out:
        for part in content.chunks(content.seed_for(name), size, CHUNK):
            checkpoint(cancel)
            out.write(part)
            progress(out.size)
    return _verify(out.path, size)


async def adisk_write(
    progress, cancel: CancelToken, *, folder: str, name: str, size: int, fsync: bool = False
) -> Outcome:
    """The asyncio twin: files have no async API, so yield to the loop between chunks.

    A 1 MiB write into the page cache takes about a millisecond, so the loop
    stays responsive with no thread (an fsync at the end still blocks it).
    """
    with AtomicFile(folder, name, fsync=fsync) as out:
        for part in content.chunks(content.seed_for(name), size, CHUNK):
            checkpoint(cancel)
            out.write(part)
            progress(out.size)
            await asyncio.sleep(0)
    return _verify(out.path, size)


def make_tasks(spec, folder: str) -> list[Task]:
    return [
        Task(
            i,
            disk_write,
            {
                "folder": folder,
                "name": f"unfreeze-{i:04d}.bin",
                "size": spec.size,
                "fsync": spec.fsync,
            },
            spec.size,
            adisk_write,
        )
        for i in range(spec.tasks)
    ]
