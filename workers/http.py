"""A small streaming HTTP/1.1 GET client: one sans-I/O parser, a sync and an async driver.

Why not urllib or httpx: a download must stop within one chunk when
cancelled and notice a stalled server, so reads wait at most 0.2 s at a time
(a timeout on ``socket.makefile`` leaves its buffer inconsistent); and the
asyncio back end needs the same behaviour on asyncio streams. The protocol
logic lives once, in :class:`ResponseParser`; the two drivers only move bytes.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

from workers.core import CancelToken, TaskError, checkpoint
from workers.spec import format_bytes

MAX_REDIRECTS = 5
MAX_HEAD = 64 << 10
RECV = 256 << 10
POLL_S = 0.2  # longest wait between two looks at the cancel token


@dataclass
class Head:
    status: int
    reason: str
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names

    @property
    def length(self) -> int | None:
        value = self.headers.get("content-length")
        return int(value) if value is not None and value.isdigit() else None


class Sink:
    """Receives a response: its head once, then body pieces."""

    def head(self, head: Head) -> None: ...

    def data(self, piece: memoryview) -> None: ...


class ResponseParser:
    """Bytes in, head and body pieces out; knows when the body is complete."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.head: Head | None = None
        self.remaining: int | None = None  # body bytes still due (Content-Length)
        self.chunked = False
        self.chunk_left = 0
        self.state = "head"  # head, body, size, data, crlf, trailer, done
        self.received = 0

    @property
    def done(self) -> bool:
        return self.state == "done"

    def feed(self, data: bytes) -> list[memoryview]:
        if self.state == "head":
            self.buffer += data
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buffer) > MAX_HEAD:
                    raise TaskError("the server's response headers are too large")
                return []
            self._parse_head(bytes(self.buffer[:end]))
            data, self.buffer = bytes(self.buffer[end + 4 :]), bytearray()
        if not self.chunked:
            view = memoryview(data)
            if self.remaining is not None:
                view = view[: self.remaining]
                self.remaining -= len(view)
                if self.remaining == 0:
                    self.state = "done"
            self.received += len(view)
            return [view] if view else []
        return self._chunks(data)

    def eof(self) -> None:
        """The connection closed: fine only if the body was complete (or unbounded)."""
        if self.state == "head":
            raise TaskError("the server closed the connection before answering")
        if self.state == "done":
            return
        if self.remaining is not None or self.chunked:
            total = f" of {format_bytes(self.received + self.remaining)}" if self.remaining else ""
            raise TaskError(
                f"the server closed the connection after {format_bytes(self.received)}{total}"
            )
        self.state = "done"  # no length given: the end of the stream ends the body

    def _parse_head(self, raw: bytes) -> None:
        lines = raw.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
            raise TaskError(f"not an HTTP response: {lines[0][:60]!r}")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        self.head = Head(int(parts[1]), parts[2] if len(parts) > 2 else "", headers)
        self.state = "body"
        if "chunked" in headers.get("transfer-encoding", "").lower():
            self.chunked, self.state = True, "size"
        elif self.head.length is not None:
            self.remaining = self.head.length
            if self.remaining == 0:
                self.state = "done"

    def _chunks(self, data: bytes) -> list[memoryview]:
        self.buffer += data
        out: list[memoryview] = []
        while True:
            if self.state == "data":
                take = min(self.chunk_left, len(self.buffer))
                if take == 0:
                    break
                out.append(memoryview(bytes(self.buffer[:take])))
                del self.buffer[:take]
                self.chunk_left -= take
                self.received += take
                if self.chunk_left == 0:
                    self.state = "crlf"
                continue
            end = self.buffer.find(b"\r\n")
            if end < 0:
                break
            line = bytes(self.buffer[:end])
            del self.buffer[: end + 2]
            if self.state == "size":
                try:
                    self.chunk_left = int(line.split(b";")[0], 16)
                except ValueError:
                    raise TaskError("malformed chunked encoding from the server") from None
                self.state = "data" if self.chunk_left else "trailer"
            elif self.state == "crlf":
                self.state = "size"
            elif self.state == "trailer" and not line:
                self.state = "done"
                break
        return out


def _target(url: str) -> tuple[str, int, bool, str]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TaskError(f"not an http(s) URL: {url[:80]}")
    tls = parts.scheme == "https"
    port = parts.port or (443 if tls else 80)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return parts.hostname, port, tls, path


def _request(host: str, port: int, path: str) -> bytes:
    default = port in (80, 443)
    host_header = host if default else f"{host}:{port}"
    if ":" in host and not host.startswith("["):
        host_header = f"[{host}]" if default else f"[{host}]:{port}"
    return (
        f"GET {path} HTTP/1.1\r\nHost: {host_header}\r\nUser-Agent: unfreeze\r\n"
        "Accept-Encoding: identity\r\nConnection: close\r\n\r\n"
    ).encode("latin-1")


def _connect_error(exc: OSError, host: str, port: int, timeout: float) -> TaskError:
    if isinstance(exc, socket.gaierror):
        return TaskError(f"cannot resolve the host name {host!r}")
    if isinstance(exc, ConnectionRefusedError):
        return TaskError(f"connection refused by {host}:{port}")
    if isinstance(exc, TimeoutError):
        return TaskError(f"no answer from {host}:{port} within {timeout:g} s")
    if isinstance(exc, ssl.SSLError):
        return TaskError(f"TLS error with {host}: {exc.reason or exc}")
    return TaskError(f"cannot connect to {host}:{port}: {exc.strerror or exc}")


def _next_url(url: str, head: Head, hops: int) -> str | None:
    """The redirect target, or None when ``head`` is the final answer."""
    if head.status in (301, 302, 303, 307, 308) and "location" in head.headers:
        if hops >= MAX_REDIRECTS:
            raise TaskError(f"too many redirects (more than {MAX_REDIRECTS})")
        return urljoin(url, head.headers["location"])
    if not 200 <= head.status < 300:
        host = urlsplit(url).netloc
        raise TaskError(f"HTTP {head.status} {head.reason} from {host}".rstrip())
    return None


def _take(parser: ResponseParser, data: bytes, url: str, hops: int, sink: Sink) -> str | None:
    """Feed ``data`` on; return a redirect target instead of a body when there is one."""
    had_head = parser.head is not None
    pieces = parser.feed(data)
    if parser.head is not None and not had_head:
        redirect = _next_url(url, parser.head, hops)
        if redirect:
            return redirect
        sink.head(parser.head)
    for piece in pieces:
        sink.data(piece)
    return None


def _final(parser: ResponseParser) -> Head:
    if parser.head is None:
        raise TaskError("the server closed the connection before answering")
    return parser.head


def _stalled(received: int, timeout: float) -> TaskError:
    return TaskError(f"no data for {timeout:g} s after {format_bytes(received)} (stalled)")


def get(url: str, sink: Sink, cancel: CancelToken, *, timeout: float = 10.0) -> Head:
    """GET ``url`` into ``sink``, following redirects; cancel within ``POLL_S``."""
    for hops in range(MAX_REDIRECTS + 1):
        host, port, tls, path = _target(url)
        try:
            sock = socket.create_connection((host, port), timeout=timeout)
            if tls:
                sock = ssl.create_default_context().wrap_socket(sock, server_hostname=host)
        except OSError as exc:
            raise _connect_error(exc, host, port, timeout) from None
        with sock:
            sock.settimeout(POLL_S)
            sock.sendall(_request(host, port, path))
            parser = ResponseParser()
            redirect = None
            last_data = time.monotonic()
            while not parser.done:
                checkpoint(cancel)
                try:
                    data = sock.recv(RECV)
                except TimeoutError:
                    if time.monotonic() - last_data > timeout:
                        raise _stalled(parser.received, timeout) from None
                    continue
                except OSError as exc:
                    raise TaskError(
                        f"connection to {host}:{port} broke after "
                        f"{format_bytes(parser.received)}: {exc.strerror or exc}"
                    ) from None
                last_data = time.monotonic()
                if not data:
                    parser.eof()
                    break
                redirect = _take(parser, data, url, hops, sink)
                if redirect:
                    break
        if redirect is None:
            return _final(parser)
        url = redirect
    raise AssertionError("unreachable")


async def aget(url: str, sink: Sink, cancel: CancelToken, *, timeout: float = 10.0) -> Head:
    """The asyncio twin of :func:`get`: the same parser over asyncio streams."""
    for hops in range(MAX_REDIRECTS + 1):
        host, port, tls, path = _target(url)
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(
                    host, port, ssl=ssl.create_default_context() if tls else None
                ),
                timeout,
            )
        except OSError as exc:
            raise _connect_error(exc, host, port, timeout) from None
        try:
            writer.write(_request(host, port, path))
            await writer.drain()
            parser = ResponseParser()
            redirect = None
            last_data = time.monotonic()
            while not parser.done:
                checkpoint(cancel)
                try:
                    data = await asyncio.wait_for(reader.read(RECV), POLL_S)
                except TimeoutError:
                    if time.monotonic() - last_data > timeout:
                        raise _stalled(parser.received, timeout) from None
                    continue
                except OSError as exc:
                    raise TaskError(
                        f"connection to {host}:{port} broke after "
                        f"{format_bytes(parser.received)}: {exc.strerror or exc}"
                    ) from None
                last_data = time.monotonic()
                if not data:
                    parser.eof()
                    break
                redirect = _take(parser, data, url, hops, sink)
                if redirect:
                    break
        finally:
            writer.close()
            try:
                await writer.wait_closed()
            except OSError:
                pass  # already reset by the server: nothing left to close cleanly
        if redirect is None:
            return _final(parser)
        url = redirect
    raise AssertionError("unreachable")


__all__ = ["Head", "ResponseParser", "Sink", "aget", "get"]
