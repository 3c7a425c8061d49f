"""A hostile server: whatever it answers, a download ends with a clear verdict.

Each example is one invented answer, served from a raw socket on 127.0.0.1
to the sync and the async download (through the task runners, into a real
folder). A valid answer must arrive byte for byte; anything else must fail
with a sentence a learner can read (no exception's class name, no traceback)
and leave nothing in the folder, not even a temp file.
"""

from __future__ import annotations

import hashlib
import random
import re
import selectors
import socket
import struct
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.helpers import arun
from workers.core import Event, Task, run_task, run_task_async
from workers.workloads.download import adownload, download

WHERE = r"127\.0\.0\.1:\d+"
CLOSED = rf"^(the server closed the connection (before answering|after .+)|connection to {WHERE} broke after .+)$"
MALFORMED = rf"^malformed response from {WHERE}: "
ENDLESS_S = 2.0  # the longest a server pours out headers to a client that does not hang up


@dataclass(frozen=True)
class Answer:
    """What the server sends to every connection, and what a correct client makes of it."""

    parts: tuple[bytes, ...]  # each sent in its own write
    body: bytes | None = None  # the file a correct client saves; None: it must fail...
    message: str = ""  # ...with a message matching this
    end: str = "close"  # close (FIN), reset (RST), or endless (header lines until it hangs up)


# -- the server -------------------------------------------------------------------------


class HostileServer:
    """One thread on 127.0.0.1 that answers each connection with ``self.answer``."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/file.bin"
        self.answer = Answer((b"",))
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, name="hostile-server")

    def __enter__(self) -> HostileServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.thread.join(5)
        self.listener.close()

    def _serve(self) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(self.listener, selectors.EVENT_READ)
            while not self.stopping.is_set():
                if selector.select(0.05):
                    conn, _ = self.listener.accept()
                    with conn:
                        self._reply(conn, self.answer)

    @staticmethod
    def _reply(conn: socket.socket, answer: Answer) -> None:
        conn.settimeout(ENDLESS_S)
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            request = b""
            while b"\r\n\r\n" not in request:  # read it all: closing over unread bytes sends RST
                more = conn.recv(4096)
                if not more:
                    return
                request += more
            for i, part in enumerate(answer.parts):
                if i:
                    time.sleep(0.001)  # let the client read the pieces apart
                conn.sendall(part)
            if answer.end == "endless":
                filler = b"X-Filler: " + b"y" * 90 + b"\r\n"
                deadline = time.monotonic() + ENDLESS_S
                while time.monotonic() < deadline:
                    conn.sendall(filler * 64)
            elif answer.end == "reset":
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass  # the client hung up first: what it should do with most of these answers


@pytest.fixture
def server() -> Iterator[HostileServer]:
    with HostileServer() as srv:
        yield srv


# -- answers ----------------------------------------------------------------------------


def head(status: bytes, *fields: bytes) -> bytes:
    return status + b"\r\n" + b"".join(f + b"\r\n" for f in fields) + b"\r\n"


def chunks(
    body: bytes, cuts: list[int], ext: bytes = b"", trailers: tuple[bytes, ...] = ()
) -> bytes:
    """``body`` in chunked framing, cut at ``cuts``, then the last chunk and its trailers."""
    bounds = sorted({0, len(body), *(c % (len(body) + 1) for c in cuts)})
    out = b"".join(b"%x%s\r\n%s\r\n" % (b - a, ext, body[a:b]) for a, b in pairwise(bounds))
    return out + b"0\r\n" + b"".join(t + b"\r\n" for t in trailers) + b"\r\n"


def digest_field(body: bytes, *, wrong: bool = False, upper: bool = False) -> bytes:
    digest = hashlib.sha256(body).hexdigest()
    if wrong:
        digest = ("1" if digest[0] == "0" else "0") + digest[1:]
    return b"X-Content-SHA256: " + (digest.upper() if upper else digest).encode()


def split(wire: bytes, at: list[int]) -> tuple[bytes, ...]:
    bounds = sorted({0, len(wire), *(a % (len(wire) + 1) for a in at)})
    return tuple(wire[a:b] for a, b in pairwise(bounds)) or (b"",)


def bad_length(value: bytes) -> Answer:
    wire = head(b"HTTP/1.1 200 OK", b"Content-Length: " + value) + b"hello"
    return Answer((wire,), message=MALFORMED + "bad Content-Length$")


def refused(wire: bytes, message: str, end: str = "close") -> Answer:
    return Answer((wire,), message=message, end=end)


STATUS = [
    b"HTTP/1.1 200 OK",
    b"HTTP/1.0 200 OK",
    b"HTTP/1.1 200",
    b"HTTP/1.1 203 Non-Authoritative Information",
    b"HTTP/1.1 206 Partial Content",
    b"HTTP/1.1 299 \xe9t\xe9 \x01",
]
INTERIM = [b"HTTP/1.1 100 Continue\r\n\r\n", b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"]
FIELDS = [
    b"Content-Type: application/octet-stream",
    b'Content-Disposition: attachment; filename="../../evil.sh"',
    b"Content-Disposition: attachment; filename=.bashrc",
    b"X-Folded: a\r\n  b",
    b"Server: \xff\xfe",
    b"Set-Cookie: a=1",
    b"Set-Cookie: b=2",
    b"Empty:",
]
BAD_LENGTHS = [b"-5", "²".encode(), "١٢".encode(), b"+5", b"0x10", b"5 5", b"", b"1e3", b"5.0"]
BAD_LENGTHS += [b"1" * 25, b"\xb2", b"\xff"]
NOT_STATUS_LINES = [b"SSH-2.0-OpenSSH_9.6", b"", b"HTTP/1.1 2OO OK", b"HTTP/1.1 20 OK"]
NOT_STATUS_LINES += [b"HTTP/x 200 OK", b"\x16\x03\x01\x02\x00", b"ICY 200 OK", b"HTTP/1.1  200 OK"]
NOT_STATUS_LINES += [b"<html>"]
ref_bodies = st.binary(max_size=3000) | st.builds(
    lambda seed, n: random.Random(seed).randbytes(n), st.integers(0, 99), st.integers(1, 400_000)
)


@st.composite
def valid(
    draw: st.DrawFn,
    framings: tuple[str, ...] = ("length", "chunked", "close"),
    garbage: bool = True,
) -> Answer:
    """A well-formed answer: Content-Length, chunked (trailers too) or up to the close."""
    body = draw(ref_bodies)
    framing = draw(st.sampled_from(framings))
    fields = draw(st.lists(st.sampled_from(FIELDS), max_size=3))
    if framing != "chunked" and draw(st.booleans()):
        fields.append(digest_field(body, upper=draw(st.booleans())))
    payload = body
    if framing == "length":
        n = b"%d" % len(body)
        lengths = draw(st.sampled_from([[n], [n, n], [n + b", " + n]]))  # repeats that agree
        fields += [b"Content-Length: " + value for value in lengths]
    elif framing == "chunked":
        fields.append(b"Transfer-Encoding: " + draw(st.sampled_from([b"chunked", b"Chunked"])))
        cuts = draw(st.lists(st.integers(0, 1 << 20), max_size=4))
        ext = draw(st.sampled_from([b"", b";a=1", b';name="q"']))
        trailers = (digest_field(body),) if draw(st.booleans()) else ()
        payload = chunks(body, cuts, ext, trailers)
    fields = draw(st.permutations(fields))
    interim = b"".join(draw(st.lists(st.sampled_from(INTERIM), max_size=2)))
    wire = interim + head(draw(st.sampled_from(STATUS)), *fields) + payload
    if garbage and framing != "close":  # bytes after a complete answer are no part of it
        wire += draw(st.sampled_from([b"", b"HTTP/1.1 200 OK\r\n\r\n", b"\x00garbage"]))
    return Answer(split(wire, draw(st.lists(st.integers(0, 1 << 20), max_size=3))), body)


@st.composite
def truncated(draw: st.DrawFn) -> Answer:
    """A valid answer with a declared end, cut short by a close or a reset."""
    wire = b"".join(draw(valid(("length", "chunked"), garbage=False)).parts)
    wire = wire[: draw(st.integers(0, len(wire) - 1))]
    return Answer((wire,), message=CLOSED, end=draw(st.sampled_from(["close", "reset"])))


def bad_chunk(size: bytes = b"5", footer: bytes = b"\r\n") -> Answer:
    top = head(b"HTTP/1.1 200 OK", b"Transfer-Encoding: chunked")
    wire = top + size + b"\r\nhello" + footer + b"0\r\n\r\n"
    what = "illegal chunk header" if footer == b"\r\n" else "malformed chunk footer"
    return refused(wire, rf"^malformed chunked encoding from {WHERE}: {what}")


def not_a_status_line(line: bytes) -> Answer:
    if line.startswith(b"HTTP/"):
        return refused(line + b"\r\n\r\n", MALFORMED + "illegal status line: ['\"]")
    return refused(line + b"\r\n\r\n", rf"^not an HTTP response from {WHERE}: ['\"]")


#: Valid answers a strict reading might refuse, and the bytes they carry.
VALID: dict[str, Answer] = {
    "length": Answer((head(b"HTTP/1.1 200 OK", b"Content-Length: 3"), b"abc"), b"abc"),
    "repeated-length": Answer(
        (head(b"HTTP/1.1 200 OK", b"Content-Length: 3", b"Content-Length: 3, 3") + b"abc",), b"abc"
    ),
    "until-close": Answer((head(b"HTTP/1.0 200 OK"), b"ab", b"c"), b"abc"),
    "chunked-after-103": Answer(
        (
            INTERIM[1] + head(b"HTTP/1.1 200 OK", b"Transfer-Encoding: chunked"),
            chunks(b"hello world", [5], b";x=1", (digest_field(b"hello world"),)),
        ),
        b"hello world",
    ),
    "trailer-cannot-override-header": Answer(
        (
            head(b"HTTP/1.1 200 OK", b"Transfer-Encoding: chunked", digest_field(b"hi"))
            + chunks(b"hi", [1], trailers=(digest_field(b"hi", wrong=True),)),
        ),
        b"hi",
    ),
    "bytes-after-the-end": Answer(
        (head(b"HTTP/1.1 200 OK", b"Content-Length: 2") + b"hiHTTP/1.1 500 No\r\n\r\n",), b"hi"
    ),
}

#: Broken answers with one thing wrong each, and the sentence that must say so.
KNOWN: dict[str, Answer] = {
    "conflicting-lengths": refused(
        head(b"HTTP/1.1 200 OK", b"Content-Length: 5", b"Content-Length: 6") + b"hello",
        MALFORMED + "conflicting Content-Length headers$",
    ),
    "conflicting-list": refused(
        head(b"HTTP/1.1 200 OK", b"Content-Length: 5, 6") + b"hello",
        MALFORMED + "conflicting Content-Length headers$",
    ),
    "silence": refused(b"", r"^the server closed the connection before answering$"),
    "reset": refused(
        b"",
        rf"^(connection to {WHERE} broke after 0 B: connection reset by peer"
        r"|the server closed the connection before answering)$",
        end="reset",
    ),
    "big-header": refused(
        head(b"HTTP/1.1 200 OK", b"X-Big: " + b"y" * 70_000),
        "^the server's response headers are too large$",
    ),
    "many-headers": refused(
        head(b"HTTP/1.1 200 OK", *[b"X-%d: %s" % (i, b"y" * 99) for i in range(700)]),
        "^the server's response headers are too large$",
    ),
    "endless-head": refused(
        b"HTTP/1.1 200 OK\r\n", "^the server's response headers are too large$", "endless"
    ),
    "huge-chunk-then-close": refused(
        head(b"HTTP/1.1 200 OK", b"Transfer-Encoding: chunked") + b"f" * 20 + b"\r\nhello",
        r"^the server closed the connection after 5 B$",
    ),
    "endless-chunk-line": refused(
        head(b"HTTP/1.1 200 OK", b"Transfer-Encoding: chunked") + b"5;" + b"e" * 70_000,
        rf"^malformed chunked encoding from {WHERE}: a chunk-size line or trailer over",
    ),
    "short-body": refused(
        head(b"HTTP/1.1 200 OK", b"Content-Length: 9") + b"hello",
        r"^the server closed the connection after 5 B of 9 B$",
    ),
    "wrong-digest-header": refused(
        head(b"HTTP/1.1 200 OK", b"Content-Length: 5", digest_field(b"olleh")) + b"hello",
        r"^checksum mismatch: expected [0-9a-f]{12}… got [0-9a-f]{12}…$",
    ),
    "wrong-digest-trailer": refused(
        head(b"HTTP/1.1 200 OK", b"Transfer-Encoding: chunked")
        + chunks(b"hello", [2], trailers=(digest_field(b"hello", wrong=True),)),
        r"^checksum mismatch: expected [0-9a-f]{12}… got [0-9a-f]{12}…$",
    ),
    "gzip": refused(
        head(b"HTTP/1.1 200 OK", b"Transfer-Encoding: gzip") + b"hello",
        MALFORMED + "only Transfer-Encoding: chunked is supported$",
    ),
    "two-transfer-encodings": refused(
        head(b"HTTP/1.1 200 OK", b"Transfer-Encoding: chunked", b"Transfer-Encoding: chunked"),
        MALFORMED + "multiple Transfer-Encoding headers$",
    ),
    "no-colon": refused(
        head(b"HTTP/1.1 200 OK", b"No colon here"), MALFORMED + "illegal header line"
    ),
    "space-in-name": refused(
        head(b"HTTP/1.1 200 OK", b"Bad Name: x"), MALFORMED + "illegal header line"
    ),
    "nul-in-value": refused(
        head(b"HTTP/1.1 200 OK", b"X: a\x00b"), MALFORMED + "illegal header line"
    ),
    "fold-at-start": refused(
        head(b"HTTP/1.1 200 OK", b" folded: x"), MALFORMED + "continuation line"
    ),
    "101-upgrade": refused(head(b"HTTP/1.1 101 Switching Protocols", b"Upgrade: x"), MALFORMED),
    "404": refused(head(b"HTTP/1.1 404 Not Found"), rf"^HTTP 404 Not Found from {WHERE}$"),
    "500-escape-codes": refused(
        head(b"HTTP/1.1 500 \x1b[31m"), rf"^HTTP 500 \?\[31m from {WHERE}$"
    ),
    "redirect-loop": refused(
        head(b"HTTP/1.1 302 Found", b"Location: /again", b"Content-Length: 0"),
        r"^too many redirects \(more than 5\)$",
    ),
    "redirect-ftp": refused(
        head(b"HTTP/1.1 301 Moved", b"Location: ftp://127.0.0.1/x"),
        r"^not an http\(s\) URL: ftp://127\.0\.0\.1/x$",
    ),
    "redirect-bad-ipv6": refused(
        head(b"HTTP/1.1 307 Moved", b"Location: http://[::1/x"),
        r"^the server redirected to an invalid URL: http://\[::1/x$",
    ),
    "redirect-port-0": refused(
        head(b"HTTP/1.1 308 Moved", b"Location: http://127.0.0.1:0/x"),
        r"^connection refused by 127\.0\.0\.1:0$",
    ),
}
for value in BAD_LENGTHS:
    KNOWN[f"length-{value!r}"] = bad_length(value)
for size in [b"zz", b"-1", b"", b" 5", b"0x5", "١".encode(), b"5 5", b"g"]:
    KNOWN[f"chunk-size-{size!r}"] = bad_chunk(size=size)
for footer in [b"XX", b"\n\n", b"\n0"]:
    KNOWN[f"chunk-footer-{footer!r}"] = bad_chunk(footer=footer)
for line in NOT_STATUS_LINES:
    KNOWN[f"status-{line!r}"] = not_a_status_line(line)

answers = st.one_of(
    valid(),
    truncated(),
    st.binary(max_size=40).map(lambda b: not_a_status_line(b"\x7f" + b.replace(b"\n", b""))),
    st.sampled_from([*VALID.values(), *KNOWN.values()]),
)


# -- the verdicts -----------------------------------------------------------------------


def final_event(url: str, folder: str, aio: bool) -> Event:
    events: list[Event] = []
    task = Task(0, download, {"url": url, "folder": folder, "timeout": 3.0}, 0, adownload)
    if aio:
        arun(run_task_async(task, events.append, threading.Event()))
    else:
        run_task(task, events.append, threading.Event())
    assert [e.kind for e in events[:1]] == ["started"] and events[-1].final
    return events[-1]


def assert_readable(detail: str) -> None:
    """One plain sentence: not ``describe()``'s ``ValueError: ...`` for a raw exception."""
    assert detail and detail == detail.strip() and detail.isprintable(), detail
    assert not re.match(r"\w*(Error|Exception|Warning)\b", detail), detail
    assert "bytearray(" not in detail and "Traceback" not in detail and len(detail) < 300, detail


def assert_clear_verdict(
    server: HostileServer, answer: Answer, capfd: pytest.CaptureFixture[str]
) -> None:
    """Sync and async: the right file and digest, or a plain failure and an empty folder."""
    server.answer = answer
    for aio in (False, True):
        with tempfile.TemporaryDirectory() as folder:
            event = final_event(server.url, folder, aio)
            saved = list(Path(folder).iterdir())
            if answer.body is not None:
                assert (event.kind, event.detail) == (
                    "done",
                    hashlib.sha256(answer.body).hexdigest(),
                )
                assert event.value == len(answer.body)
                assert [p.read_bytes() for p in saved] == [answer.body]
            else:
                assert event.kind == "failed", event
                assert_readable(event.detail)
                assert re.search(answer.message, event.detail), (event.detail, answer.message)
                assert saved == []  # no file, no temp file
    out, err = capfd.readouterr()
    assert "Traceback" not in out + err and "Error" not in err, err


@pytest.mark.parametrize("answer", [*VALID.values(), *KNOWN.values()], ids=[*VALID, *KNOWN])
def test_each_known_answer_gets_its_verdict(
    server: HostileServer, capfd: pytest.CaptureFixture[str], answer: Answer
) -> None:
    assert_clear_verdict(server, answer, capfd)


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@example(answer=bad_length("²".encode("latin-1")))  # str.isdigit() says yes, int() says no
@example(answer=bad_length("²".encode()))
@example(answer=bad_length("١٢".encode()))
@example(answer=bad_length(b"-5"))
@example(answer=refused(head(b"HTTP/1.1 200 OK", b"X: " + b"y" * 70_000), "too large$"))
@example(answer=refused(b"HTTP/1.1 200 OK\r\n", "too large$", "endless"))
@example(answer=VALID["chunked-after-103"])
@given(answer=answers)
def test_every_answer_ends_with_a_clear_verdict(
    server: HostileServer, capfd: pytest.CaptureFixture[str], answer: Answer
) -> None:
    assert_clear_verdict(server, answer, capfd)
