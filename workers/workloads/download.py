"""Downloading files over real HTTP, verified by size and SHA-256.

Bytes are hashed as they arrive. Without a target folder they are then
dropped: the work being shown is the transfer, and keeping 16 GiB in memory
would teach nothing. With a folder they go to a hidden temp file there, renamed
over the final name only once complete and verified, so a cancel, a fault or
a crash never leaves a partial file under a real name.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from workers import http
from workers.core import CancelToken, Outcome, Task, TaskError
from workers.fields import format_bytes
from workers.names import MAX_SIZE
from workers.server import local_url
from workers.shared import Shared, aheld, held
from workers.spec import RunSpec
from workers.workloads.disk import AtomicFile

TIMEOUT_S = 10.0
MAX_NAME = 120
_UNSAFE = re.compile(r"[^A-Za-z0-9._ ()+-]")
_STAR = re.compile(r"filename\*\s*=\s*[\w!#$%&+^`{}~-]*'[^']*'([^;\s]+)", re.IGNORECASE)
_PLAIN = re.compile(r'filename\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]+))', re.IGNORECASE)

Progress = Callable[[int], None]


def _disposition_name(value: str | None) -> str:
    """The file name a Content-Disposition header suggests (RFC 6266), raw."""
    if not value:
        return ""
    star = _STAR.search(value)
    if star:
        return unquote(star[1], errors="replace")
    plain = _PLAIN.search(value)
    if not plain:
        return ""
    return re.sub(r"\\(.)", r"\1", plain[1]) if plain[1] is not None else plain[2]


def _clean(candidate: str) -> str:
    """The last path segment of ``candidate`` made harmless, or '' if nothing is left."""
    base = candidate.replace("\\", "/").rsplit("/", 1)[-1]
    if base in ("", ".", ".."):
        return ""
    base = _UNSAFE.sub("_", base).lstrip(". ").rstrip(". ")
    if len(base) > MAX_NAME:  # keep the suffix: it says what the file is
        _, dot, suffix = base.rpartition(".")
        if dot and 0 < len(suffix) <= 16:
            base = f"{base[: MAX_NAME - len(suffix) - 1]}.{suffix}"
        else:
            base = base[:MAX_NAME]
    return base


def safe_name(url: str, content_disposition: str | None = None, *, fallback: str = "") -> str:
    """A plain base name for a downloaded file: no folders, no dot-files, no tricks.

    The server's suggested name (Content-Disposition) wins over the URL's
    last segment; each is percent-decoded, cut to its last segment (``/`` and
    ``\\`` both count), stripped of leading dots and spaces, with characters
    outside a small safe set (control characters included) replaced by ``_``.
    ``../../x``, ``/etc/x``, ``..\\x`` and ``%2e%2e%2fx`` all give ``x``. When
    nothing usable is left: ``fallback``, by default ``download-<crc32 of url>.bin``.
    """
    path = urlsplit(url).path
    for raw in (_disposition_name(content_disposition), unquote(path, errors="replace")):
        name = _clean(raw)
        if name:
            return name
    return fallback or f"download-{zlib.crc32(url.encode(errors='replace')):08x}.bin"


def final_path(folder: str, name: str) -> Path:
    """``folder/name``, refusing any name that would land anywhere else."""
    base = Path(folder)
    path = base / name
    if path.parent != base or name in ("", ".", ".."):
        raise TaskError(f"refusing to save {name!r} outside {folder}")
    return path


class _Body(http.Sink):
    """Hashes, counts and stores a response body, enforcing its limits."""

    def __init__(
        self,
        progress: Progress,
        max_bytes: int,
        folder: str | None,
        files: contextlib.ExitStack,
        *,
        keep: bool = False,
    ) -> None:
        self.progress, self.max_bytes, self.folder, self.files = progress, max_bytes, folder, files
        self.kept = bytearray() if keep else None  # the body, for a stage that works on it
        self.sha = hashlib.sha256()
        self.size = 0
        self.response: http.Head | None = None
        self.out: AtomicFile | None = None

    def head(self, head: http.Head) -> None:
        self.response = head
        if head.length is not None and head.length > self.max_bytes:
            raise TaskError(
                f"{format_bytes(head.length)} is larger than the limit of "
                f"{format_bytes(self.max_bytes)}"
            )
        if self.folder is not None:  # named only now: redirects and Content-Disposition count
            name = safe_name(head.url, head.headers.get("content-disposition"))
            path = final_path(self.folder, name)
            self.out = self.files.enter_context(AtomicFile(self.folder, path.name))

    def data(self, piece: memoryview) -> None:
        self.size += len(piece)
        if self.size > self.max_bytes:
            raise TaskError(
                f"stopped at {format_bytes(self.size)}: larger than the limit of "
                f"{format_bytes(self.max_bytes)}"
            )
        self.sha.update(piece)
        if self.kept is not None:
            self.kept += piece
        if self.out is not None:
            self.out.write(piece)
        self.progress(self.size)

    def verify(self, expect_sha256: str | None) -> Outcome:
        """Size against Content-Length, digest against the caller's or the server's."""
        length = self.response.length if self.response else None
        if length is not None and self.size != length:
            raise TaskError(f"got {self.size:,} bytes, expected {length:,}")
        got = self.sha.hexdigest()
        server = ""  # the server's digest: a header, or a trailer when it hashed while sending
        if self.response is not None:
            header = self.response.headers.get("x-content-sha256")
            server = header or self.response.trailers.get("x-content-sha256", "")
        want = (expect_sha256 or server).strip().lower()
        if want and got != want:
            raise TaskError(f"checksum mismatch: expected {want[:12]}… got {got[:12]}…")
        return Outcome(self.size, got)


def download(
    progress: Progress,
    cancel: CancelToken,
    *,
    url: str,
    folder: str | None = None,
    max_bytes: int = MAX_SIZE,
    timeout: float = TIMEOUT_S,
    expect_sha256: str | None = None,
    gate: Any = None,
) -> Outcome:
    """GET ``url``; verify size and SHA-256; keep it in ``folder`` if given.

    ``gate``: the run's semaphore (see :mod:`workers.shared`), held from before
    the connection opens until after it closes; None: no limit.
    """
    with held(gate, cancel), contextlib.ExitStack() as files:  # an exception discards the temp file
        body = _Body(progress, max_bytes, folder, files)
        http.get(url, body, cancel, timeout=timeout)
        return body.verify(expect_sha256)  # before the exit renames it into place


async def adownload(
    progress: Progress,
    cancel: CancelToken,
    *,
    url: str,
    folder: str | None = None,
    max_bytes: int = MAX_SIZE,
    timeout: float = TIMEOUT_S,
    expect_sha256: str | None = None,
    gate: asyncio.Semaphore | None = None,
) -> Outcome:
    """The asyncio twin of :func:`download`: the same body handling and checks.

    Hashing and file writes run on the loop's thread between reads; each
    covers one read (at most 1 MiB, well under a millisecond).
    """
    async with aheld(gate, cancel):
        with contextlib.ExitStack() as files:
            body = _Body(progress, max_bytes, folder, files)
            await http.aget(url, body, cancel, timeout=timeout)
            return body.verify(expect_sha256)


def fetch(
    progress: Progress, cancel: CancelToken, *, url: str, timeout: float = TIMEOUT_S
) -> bytes:
    """GET ``url`` into memory, checked as :func:`download` checks (length, and SHA-256
    against the server's digest): the first stage of the pipeline workload."""
    with contextlib.ExitStack() as files:
        body = _Body(progress, MAX_SIZE, None, files, keep=True)
        http.get(url, body, cancel, timeout=timeout)
        body.verify(None)
        return bytes(body.kept or b"")


async def afetch(
    progress: Progress, cancel: CancelToken, *, url: str, timeout: float = TIMEOUT_S
) -> bytes:
    """The asyncio twin of :func:`fetch`."""
    with contextlib.ExitStack() as files:
        body = _Body(progress, MAX_SIZE, None, files, keep=True)
        await http.aget(url, body, cancel, timeout=timeout)
        body.verify(None)
        return bytes(body.kept or b"")


def served(base_url: str, spec: RunSpec, i: int) -> str:
    """The local server's ``file-i.bin`` for ``spec``: its size, latency and rate cap."""
    return local_url(
        base_url,
        f"file-{i:04d}.bin",
        spec.size,
        latency_ms=spec.latency_ms,
        rate_mbps=spec.rate_mbps,
    )


def make_tasks(spec: RunSpec, base_url: str | None) -> list[Task]:
    """Task i fetches the local server's ``file-i.bin``, or the user's URLs in turn.

    A user URL's size is unknown until it answers, so its total is 0.
    """
    tasks = []
    for i in range(spec.tasks):
        if spec.urls:
            url, total = spec.urls[i % len(spec.urls)], 0
        elif base_url is None:
            raise ValueError("downloads need the local server's address or URLs")
        else:
            url, total = served(base_url, spec, i), spec.size
        kwargs: dict[str, Any] = {"url": url, "folder": spec.folder, "timeout": TIMEOUT_S}
        if spec.limit:  # one semaphore for the whole run: at most ``limit`` connections at once
            kwargs["gate"] = Shared("gate", "semaphore", spec.limit)
        tasks.append(Task(i, download, kwargs, total, adownload))
    return tasks


__all__ = ["adownload", "afetch", "download", "fetch", "final_path", "make_tasks", "safe_name"]
