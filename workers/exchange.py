"""One HTTP GET's protocol side, with no I/O: h11 parses, :class:`Exchange` judges.

URLs come from users, so answers come from anywhere. h11 parses status
lines, headers, Content-Length and chunked framing, trailers and interim
answers as the RFCs say, and refuses what they forbid (a Content-Length of
"²", two that disagree, a chunk size of "-1"). An :class:`Exchange` feeds it
the bytes a driver read (``workers.http``: a socket, or an asyncio
transport), hands the body to a :class:`Sink`, follows redirects, and turns
every refusal into a :class:`TaskError` a learner can read.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import quote, urljoin, urlsplit

import h11

from workers.core import TaskError, os_reason
from workers.fields import format_bytes

MAX_REDIRECTS = 5
REDIRECTS = frozenset({301, 302, 303, 307, 308})
MAX_HEAD = 64 << 10  # largest head (or chunk-size line, or trailer) accepted from a server
#: h11 copies each piece it is given three times (into its buffer, then twice
#: out). Copies under glibc's mmap threshold (128 KiB) reuse heap memory; 1 MiB
#: copies got fresh pages each time on the main thread, and their page faults
#: cut loopback throughput tenfold (~3.6 GB/s to ~0.35 GB/s).
FEED = 96 << 10
_PATH_SAFE = "!#$%&'()*+,/:;=?@[]~"  # left as they are; spaces, controls, non-ASCII get %XX
_BYTES_REPR = re.compile(r"""bytearray\(b((['"]).*?\2)\)|\bb((['"]).*?\4)""")  # h11's {!r}


@dataclass
class Head:
    """A response's status line and header fields (names in lower case).

    ``url`` is the address that gave this answer, after any redirects.
    ``trailers`` are the fields a chunked body sends after its last chunk.
    """

    url: str
    status: int
    reason: str
    headers: dict[str, str] = field(default_factory=dict)
    trailers: dict[str, str] = field(default_factory=dict)

    @property
    def length(self) -> int | None:
        """The declared Content-Length (None when absent or chunked); h11 checked its digits."""
        if "transfer-encoding" in self.headers or "content-length" not in self.headers:
            return None
        return int(self.headers["content-length"])


class Sink:
    """Receives a final (non-redirect, 2xx) response: its head once, then body pieces.

    A piece is only valid during the call.
    """

    def head(self, head: Head) -> None:
        pass

    def data(self, piece: memoryview) -> None:
        pass


class Exchange:
    """One GET and its answer: h11 parses the bytes a driver reads, this judges the events."""

    def __init__(self, url: str, hops: int, sink: Sink, timeout: float) -> None:
        self.host, self.port, self.tls, path = _target(url)
        self.url, self.hops, self.sink, self.timeout = url, hops, sink, timeout
        self.where = _where(url)
        name = f"[{self.host}]" if ":" in self.host else self.host
        host = name if self.port == (443 if self.tls else 80) else f"{name}:{self.port}"
        self.h11 = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEAD)
        fields = [("Host", host), ("User-Agent", "unfreeze")]
        fields += [("Accept-Encoding", "identity"), ("Connection", "close")]
        self.request = self.h11.send(h11.Request(method="GET", target=path, headers=fields)) or b""
        self.answer: Head | None = None
        self.redirect: str | None = None
        self.done = False
        self.body = 0  # body bytes so far
        self.first = b""  # the answer's first bytes: they name a server that is not HTTP
        self.last_data = time.monotonic()

    @property
    def head(self) -> Head:
        if self.answer is None:  # received() raises first; this keeps the type checker honest
            raise TaskError("the server closed the connection before answering")
        return self.answer

    def received(self, data: bytes | memoryview) -> None:
        """Handle bytes just read (empty: the server closed the connection)."""
        self.last_data = time.monotonic()
        view = memoryview(data)
        if self.answer is None and len(self.first) < 80:
            self.first += bytes(view[: 80 - len(self.first)])
        try:
            for start in range(0, max(len(view), 1), FEED):  # empty: one call, h11's EOF
                self.h11.receive_data(view[start : start + FEED])  # type: ignore[arg-type]
                while not self.done:
                    event = self.h11.next_event()
                    if event is h11.NEED_DATA or event is h11.PAUSED:
                        break
                    self._handle(event)
                if self.done:
                    break
        except h11.RemoteProtocolError as exc:
            raise (self._refused(exc) if view else self._closed_early()) from None
        if not view and not self.done:
            raise self._closed_early()

    def _handle(self, event: object) -> None:
        match event:
            case h11.Response():
                self._answered(event)
            case h11.Data(data=piece):
                self.body += len(piece)
                self.sink.data(memoryview(piece))
            case h11.EndOfMessage(headers=trailers):
                self.head.trailers = _fields(trailers)
                self.done = True
            case h11.ConnectionClosed():
                raise self._closed_early()
            # Anything else is an interim answer (100 Continue, 103 Early Hints): wait on.

    def _answered(self, response: h11.Response) -> None:
        if sum(len(name) + len(value) + 4 for name, value in response.headers) > MAX_HEAD:
            raise TaskError("the server's response headers are too large")
        reason = response.reason.decode("latin-1")
        head = Head(self.url, response.status_code, reason, _fields(response.headers))
        self.answer = head
        self.redirect = _redirect_target(head, self.hops)
        if self.redirect is not None:
            self.done = True
        else:
            self.sink.head(head)

    def _refused(self, exc: h11.RemoteProtocolError) -> TaskError:
        """h11's reason for refusing the answer, as a sentence that names the server."""
        if self.answer is not None:  # past the head only chunked framing can go wrong
            if exc.error_status_hint == 431:
                why = f"a chunk-size line or trailer over {format_bytes(MAX_HEAD)}"
            else:
                why = _words(exc)
            return TaskError(f"malformed chunked encoding from {self.where}: {why}")
        if exc.error_status_hint == 431:
            return TaskError("the server's response headers are too large")
        first = self.first.split(b"\n", 1)[0].rstrip(b"\r")
        if not first.startswith(b"HTTP/"):
            shown = first[:60].decode("latin-1")
            return TaskError(f"not an HTTP response from {self.where}: {shown!r}")
        return TaskError(f"malformed response from {self.where}: {_words(exc)}")

    def _closed_early(self) -> TaskError:
        if self.answer is None:
            return TaskError("the server closed the connection before answering")
        return TaskError(f"the server closed the connection after {self.so_far()}")

    def so_far(self) -> str:
        """``1.2 MB of 8.0 MB``, or just ``1.2 MB`` when the total is unknown."""
        length = self.answer.length if self.answer is not None else None
        if length is None:
            return format_bytes(self.body)
        return f"{format_bytes(self.body)} of {format_bytes(length)}"

    def idle(self) -> None:
        """A read found nothing for POLL_S: give up once ``timeout`` passed without data."""
        if time.monotonic() - self.last_data > self.timeout:
            raise TaskError(f"no data for {self.timeout:g} s after {self.so_far()} (stalled)")

    def broken(self, exc: OSError) -> TaskError:
        return TaskError(
            f"connection to {self.where} broke after {self.so_far()}: {os_reason(exc)}"
        )


def _fields(headers: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    """h11's (name, value) pairs as a dict; a repeated name joins its values with commas."""
    out: dict[str, str] = {}
    for raw_name, raw_value in headers:
        name, value = raw_name.decode("latin-1"), raw_value.decode("latin-1")
        out[name] = f"{out[name]}, {value}" if name in out else value
    return out


def _words(exc: h11.RemoteProtocolError) -> str:
    """h11's words, shown as text: ``illegal chunk header: 'zz\\r\\n'``, at most 100 characters."""
    text = _BYTES_REPR.sub(lambda m: m[1] or m[3], str(exc))
    text = text[:1].lower() + text[1:]
    return text if len(text) <= 100 else text[:99] + "…"


def _printable(text: str, limit: int = 80) -> str:
    """``text`` fit for a one-line message: control characters as ``?``, cut at ``limit``."""
    shown = "".join(c if c.isprintable() else "?" for c in text[:limit])
    return shown + "…" if len(text) > limit else shown


def _redirect_target(head: Head, hops: int) -> str | None:
    """The next URL when ``head`` redirects; an error for any other non-2xx answer."""
    location = head.headers.get("location")
    if head.status in REDIRECTS and location:
        if hops >= MAX_REDIRECTS:
            raise TaskError(f"too many redirects (more than {MAX_REDIRECTS})")
        try:
            return urljoin(head.url, location)
        except ValueError:  # e.g. an unclosed "[" of an IPv6 address
            raise TaskError(
                f"the server redirected to an invalid URL: {_printable(location)}"
            ) from None
    if not 200 <= head.status < 300:
        status = f"HTTP {head.status} {_printable(head.reason)}".rstrip()
        raise TaskError(f"{status} from {_where(head.url)}")
    return None


def _where(url: str) -> str:
    """``host:port`` as the URL gave it, without any ``user:password@``."""
    return urlsplit(url).netloc.rpartition("@")[2]


def _target(url: str) -> tuple[str, int, bool, str]:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise TaskError(f"not a valid URL: {_printable(url)}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TaskError(f"not an http(s) URL: {_printable(url)}")
    try:  # an international name goes on the wire in its ASCII (IDNA) form
        host = parts.hostname.encode("idna").decode("ascii")
    except UnicodeError:
        raise TaskError(f"not a valid host name: {_printable(parts.hostname)}") from None
    tls = parts.scheme == "https"
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if port is None:  # an explicit port 0 stays 0 (refused), never quietly port 80
        port = 443 if tls else 80
    return host, port, tls, quote(path, safe=_PATH_SAFE)
