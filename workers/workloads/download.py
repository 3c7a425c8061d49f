"""Downloading files over real HTTP, verified by size and SHA-256.

Bytes are hashed as they arrive; without a target folder they are then
dropped (the work is the transfer, not the memory), with one they go to a
hidden temp file renamed over the final name only once complete and
verified — a cancel, a fault or a crash never leaves a partial file.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from pathlib import PurePosixPath
from urllib.parse import unquote, urlsplit

from workers import http
from workers.core import CancelToken, Outcome, Task, TaskError
from workers.server import local_url
from workers.spec import MAX_SIZE, RunSpec, format_bytes
from workers.workloads.disk import AtomicFile

UNIT = "B"
TIMEOUT_S = 10.0
_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]")


def safe_name(url: str, disposition: str | None = None, fallback: str = "download.bin") -> str:
    """A plain base name for a downloaded file: no folders, no dot-files, no tricks.

    ``../../x`` → ``x``, ``/etc/x`` → ``x``, ``..\\x`` → ``x``; empty or
    all-dots names become ``fallback``.
    """
    candidate = ""
    if disposition:
        match = re.search(r'filename\*?=(?:UTF-8\'\')?"?([^";]+)"?', disposition, re.IGNORECASE)
        if match:
            candidate = unquote(match[1])
    if not candidate:
        candidate = unquote(PurePosixPath(urlsplit(url).path).name)
    candidate = candidate.replace("\\", "/").split("/")[-1]
    candidate = _UNSAFE.sub("_", candidate).strip(" .")
    return candidate[:120] or fallback


class _Receiver(http.Sink):
    """Hashes, counts and stores a response body, enforcing its limits."""

    def __init__(
        self, progress, cancel: CancelToken, max_bytes: int, out: AtomicFile | None
    ) -> None:
        self.progress, self.cancel, self.max_bytes, self.out = progress, cancel, max_bytes, out
        self.sha = hashlib.sha256()
        self.size = 0
        self.expected: int | None = None
        self.digest: str | None = None
        self.head_: http.Head | None = None

    def head(self, head: http.Head) -> None:
        self.head_ = head
        self.expected = head.length
        self.digest = head.headers.get("x-content-sha256")
        if self.expected is not None and self.expected > self.max_bytes:
            raise TaskError(
                f"{format_bytes(self.expected)} is larger than the limit of {format_bytes(self.max_bytes)}"
            )

    def data(self, piece: memoryview) -> None:
        self.size += len(piece)
        if self.size > self.max_bytes:
            raise TaskError(
                f"stopped at {format_bytes(self.size)}: larger than the limit of {format_bytes(self.max_bytes)}"
            )
        self.sha.update(piece)
        if self.out is not None:
            self.out.write(piece)
        self.progress(self.size)

    def verify(self, expect_sha256: str | None) -> Outcome:
        if self.expected is not None and self.size != self.expected:
            raise TaskError(f"got {self.size:,} bytes, expected {self.expected:,}")
        got = self.sha.hexdigest()
        want = expect_sha256 or self.digest
        if want and got != want.lower():
            raise TaskError(f"checksum mismatch: expected {want[:12]}…, got {got[:12]}…")
        return Outcome(self.size, got)


def _open(folder: str | None, url: str) -> AtomicFile | None:
    if folder is None:
        return None
    # The final name is only known from the URL up front; a Content-Disposition
    # name cannot be used safely before the body starts, so the URL's wins.
    return AtomicFile(
        folder, safe_name(url, fallback=f"download-{zlib.crc32(url.encode()):08x}.bin")
    )


def download(
    progress,
    cancel: CancelToken,
    *,
    url: str,
    folder: str | None = None,
    max_bytes: int = MAX_SIZE,
    timeout: float = TIMEOUT_S,
    expect_sha256: str | None = None,
) -> Outcome:
    """GET ``url``; verify size and SHA-256; keep it in ``folder`` if given."""
    out = _open(folder, url)
    if out is None:
        receiver = _Receiver(progress, cancel, max_bytes, None)
        http.get(url, receiver, cancel, timeout=timeout)
        return receiver.verify(expect_sha256)
    with out:
        receiver = _Receiver(progress, cancel, max_bytes, out)
        http.get(url, receiver, cancel, timeout=timeout)
        outcome = receiver.verify(expect_sha256)
    return outcome


async def adownload(
    progress,
    cancel: CancelToken,
    *,
    url: str,
    folder: str | None = None,
    max_bytes: int = MAX_SIZE,
    timeout: float = TIMEOUT_S,
    expect_sha256: str | None = None,
) -> Outcome:
    """The asyncio twin of :func:`download` (the same receiver and checks)."""
    out = _open(folder, url)
    if out is None:
        receiver = _Receiver(progress, cancel, max_bytes, None)
        await http.aget(url, receiver, cancel, timeout=timeout)
        return receiver.verify(expect_sha256)
    with out:
        receiver = _Receiver(progress, cancel, max_bytes, out)
        await http.aget(url, receiver, cancel, timeout=timeout)
        outcome = receiver.verify(expect_sha256)
    return outcome


def make_tasks(spec: RunSpec, base_url: str | None) -> list[Task]:
    """Task i fetches the local server's ``file-i.bin``, or the user's URLs in turn."""
    tasks = []
    for i in range(spec.tasks):
        if spec.urls:
            url, total = spec.urls[i % len(spec.urls)], 0
        else:
            if base_url is None:
                raise ValueError("downloads need the local server's address or URLs")
            name = f"file-{i:04d}.bin"
            url = local_url(
                base_url, name, spec.size, latency_ms=spec.latency_ms, rate_mbps=spec.rate_mbps
            )
            total = spec.size
        kwargs = {"url": url, "folder": spec.folder}
        tasks.append(Task(i, download, kwargs, total, adownload))
    return tasks


__all__ = ["adownload", "download", "make_tasks", "safe_name"]
