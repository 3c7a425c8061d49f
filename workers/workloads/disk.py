"""Writing real files: chunked, optionally fsynced, atomic.

Each file is written to a hidden temp file in the target folder and renamed
over its final name only once complete, so a crash, a cancel or a full disk
never leaves a truncated file under the final name.

Only a writer killed outright (SIGKILL, power cut) leaves its temp file
behind.  Writers hold a lock on their temp file, which the kernel drops when
they die, so :func:`sweep_stale` can tell a dead writer's leftovers from a
live writer's file; the run controller sweeps before and after each run.
"""

from __future__ import annotations

import asyncio
import errno
import os
import tempfile
from pathlib import Path
from types import TracebackType

from workers import content
from workers.core import CancelToken, Outcome, Progress, Task, TaskError, checkpoint
from workers.spec import RunSpec

try:
    import fcntl
except ImportError:  # Windows: no flock, and open files cannot be deleted anyway
    fcntl = None  # type: ignore[assignment]

CHUNK = 1 << 20
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
        while True:
            fd, self.temp = tempfile.mkstemp(
                dir=self.folder, prefix=TEMP_PREFIX, suffix=TEMP_SUFFIX
            )
            if fcntl is None:
                break
            fcntl.flock(fd, fcntl.LOCK_EX)  # held until closed: "a live writer owns this"
            if os.fstat(fd).st_nlink:
                break
            os.close(fd)  # swept away before we held the lock: take another name
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
                os.replace(self.temp, self.path)  # still locked: a sweep never races the rename
                self.out.close()
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
        Path(self.temp).unlink(missing_ok=True)
        self.out.close()


def sweep_stale(folder: str) -> list[str]:
    """Delete the temp files of writers that died; returns their names.

    A live writer (a thread or a process, of this app or another) holds the
    lock of its temp file, so its file is left alone.
    """
    removed: list[str] = []
    if fcntl is None:
        return removed
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed  # no folder, no leftovers; starting the run will say why
    for entry in entries:
        if not (entry.name.startswith(TEMP_PREFIX) and entry.name.endswith(TEMP_SUFFIX)):
            continue
        try:
            fd = os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:
            continue  # gone already, or not a plain file
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            # Still the same file under that name (not renamed, then the name reused)?
            if os.stat(entry.path, follow_symlinks=False).st_ino == os.fstat(fd).st_ino:
                os.unlink(entry.path)
                removed.append(entry.name)
        except OSError:
            pass  # locked by a live writer (or it vanished meanwhile)
        finally:
            os.close(fd)
    return removed


def _verify(path: str, size: int) -> Outcome:
    on_disk = os.stat(path).st_size
    if on_disk != size:
        raise TaskError(f"{os.path.basename(path)}: {on_disk:,} bytes on disk, expected {size:,}")
    return Outcome(size, "size verified")


def disk_write(
    progress: Progress,
    cancel: CancelToken,
    *,
    folder: str,
    name: str,
    size: int,
    fsync: bool = False,
) -> Outcome:
    """Write ``size`` bytes of deterministic content to ``folder/name``."""
    with AtomicFile(folder, name, fsync=fsync) as out:
        for part in content.chunks(content.seed_for(name), size, CHUNK):
            checkpoint(cancel)
            out.write(part)
            progress(out.size)
    return _verify(out.path, size)


async def adisk_write(
    progress: Progress,
    cancel: CancelToken,
    *,
    folder: str,
    name: str,
    size: int,
    fsync: bool = False,
) -> Outcome:
    """The asyncio twin: files have no async API, so yield to the loop between chunks.

    Each 1 MiB write still blocks the loop (and the window) for as long as the
    kernel takes to accept it: about a millisecond into free page cache, tens
    of milliseconds once it throttles dirty pages (measured with the default
    job: lag p50 45 ms, max 232 ms), and an fsync blocks it for the whole
    flush. asyncio only helps work that waits on something it can watch.
    """
    with AtomicFile(folder, name, fsync=fsync) as out:
        for part in content.chunks(content.seed_for(name), size, CHUNK):
            checkpoint(cancel)
            out.write(part)
            progress(out.size)
            await asyncio.sleep(0)
    return _verify(out.path, size)


def make_tasks(spec: RunSpec, folder: str) -> list[Task]:
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
