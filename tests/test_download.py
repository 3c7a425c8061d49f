"""Downloads from the real local server: verified bytes, every fault named, sync and async alike."""

from __future__ import annotations

import asyncio
import random
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.helpers import arun, drive, finals, start
from workers import content, http, workloads
from workers.core import Cancelled, Task, TaskError
from workers.exchange import FEED, Exchange
from workers.names import backends_for
from workers.server import LocalServer
from workers.spec import RunSpec
from workers.workloads.download import (
    TIMEOUT_S,
    adownload,
    download,
    final_path,
    make_tasks,
    safe_name,
)

BIG = (64 << 20) + 12_345  # above the size the server hashes up front: chunked, digest in a trailer
both = pytest.mark.parametrize("aio", [False, True], ids=["sync", "async"])


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    with LocalServer(test_harness=True, max_size=128 << 20) as srv:
        yield srv


def fetch(url: str, *, aio: bool = False, **kw: object):
    """Run the sync or the async download of ``url`` to its end."""
    token = kw.pop("cancel", threading.Event())
    progress = kw.pop("progress", lambda n: None)
    if aio:
        return arun(adownload(progress, token, url=url, **kw))
    return download(progress, token, url=url, **kw)


def expected(name: str, size: int) -> tuple[bytes, str]:
    seed = content.seed_for(name)
    return b"".join(content.chunks(seed, size)), content.sha256(seed, size)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def unanswered_port() -> Iterator[int]:
    """A port whose accept queue is full: new connections wait, unanswered."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = [socket.socket() for _ in range(3)]
    for filler in fillers:
        filler.setblocking(False)
        filler.connect_ex(("127.0.0.1", port))
    yield port
    for sock in [*fillers, listener]:
        sock.close()


# -- the happy path -------------------------------------------------------------


@both
def test_random_sizes_arrive_byte_for_byte(server, tmp_path: Path, aio: bool) -> None:
    rng = random.Random(4)
    sizes = [0, 1, 65_535, content.BLOCK, content.BLOCK + 1, *rng.sample(range(3 << 20), 3)]
    for size in sizes:
        name = f"r{size}.bin"
        seen: list[int] = []
        outcome = fetch(server.url(name, size), aio=aio, folder=str(tmp_path), progress=seen.append)
        data, digest = expected(name, size)
        assert (tmp_path / name).read_bytes() == data
        assert (outcome.units, outcome.check) == (size, digest)
        assert seen == sorted(seen) and (not seen or seen[-1] == size)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"r{s}.bin" for s in sizes)


@both
def test_big_files_are_verified_by_their_trailer(server, aio: bool) -> None:
    outcome = fetch(server.url("big.bin", BIG), aio=aio)
    assert (outcome.units, outcome.check) == (BIG, content.sha256(content.seed_for("big.bin"), BIG))


@both
def test_redirects_are_followed_up_to_five(server, tmp_path: Path, aio: bool) -> None:
    outcome = fetch(f"{server.base_url}/redirect/5/x.bin?size=1234", aio=aio, folder=str(tmp_path))
    assert outcome.check == expected("x.bin", 1234)[1]
    assert [p.name for p in tmp_path.iterdir()] == ["x.bin"]  # named after the final answer
    with pytest.raises(TaskError, match=r"^too many redirects \(more than 5\)$"):
        fetch(f"{server.base_url}/redirect/6/x.bin?size=1234", aio=aio)


@both
def test_a_known_digest_is_checked(server, aio: bool) -> None:
    url = server.url("k.bin", 1000)
    assert fetch(url, aio=aio, expect_sha256=expected("k.bin", 1000)[1].upper()).units == 1000
    with pytest.raises(TaskError, match=r"^checksum mismatch: expected abababababab… got "):
        fetch(url, aio=aio, expect_sha256="ab" * 32)


# -- every fault, by name -----------------------------------------------------------


@both
@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("500", r"^HTTP 500 Internal Server Error from 127\.0\.0\.1:\d+$"),
        ("short", r"^the server closed the connection after 1\.5 MB of 3\.0 MB$"),
        ("close", r"^connection to 127\.0\.0\.1:\d+ broke after .* of 3\.0 MB: connection reset"),
        ("badsum", r"^checksum mismatch: expected 000000000000… got [0-9a-f]{12}…$"),
        ("redirect", r"^too many redirects \(more than 5\)$"),
    ],
)
def test_server_faults_fail_with_a_readable_reason(
    server, tmp_path: Path, aio: bool, fault: str, message: str
) -> None:
    t0 = time.perf_counter()
    with pytest.raises(TaskError, match=message):
        fetch(server.url("f.bin", 3_000_000, fault=fault), aio=aio, folder=str(tmp_path), timeout=2)
    assert time.perf_counter() - t0 < 2
    assert list(tmp_path.iterdir()) == []  # no final file, no temp file


@both
def test_a_stalled_server_is_given_up_on_after_the_timeout(
    server, tmp_path: Path, aio: bool
) -> None:
    t0 = time.perf_counter()
    with pytest.raises(TaskError, match=r"^no data for 0\.5 s after 0 B of 1\.0 KB \(stalled\)$"):
        url = server.url("s.bin", 1000, fault="stall")
        fetch(url, aio=aio, folder=str(tmp_path), timeout=0.5)
    assert 0.5 <= time.perf_counter() - t0 < 1.5
    assert list(tmp_path.iterdir()) == []


@both
def test_connection_failures_say_what_happened(server, aio: bool) -> None:
    port = closed_port()
    with pytest.raises(TaskError, match=rf"^connection refused by 127\.0\.0\.1:{port}$"):
        fetch(f"http://127.0.0.1:{port}/x.bin", aio=aio)
    with pytest.raises(TaskError, match=r"^TLS error with 127\.0\.0\.1: wrong version number"):
        fetch(f"https://127.0.0.1:{server.port}/files/a.bin?size=1", aio=aio)
    with pytest.raises(TaskError, match=r"^not an http"):
        fetch("ftp://127.0.0.1/x", aio=aio)
    with pytest.raises(TaskError, match=r"^not a valid URL"):
        fetch("http://127.0.0.1:port/x", aio=aio)


@both
def test_connecting_gives_up_after_the_timeout(unanswered_port: int, aio: bool) -> None:
    t0 = time.perf_counter()
    with pytest.raises(TaskError, match=r"no answer from|stalled"):
        fetch(f"http://127.0.0.1:{unanswered_port}/x.bin", aio=aio, timeout=0.4)
    assert 0.4 <= time.perf_counter() - t0 < 1.2


def test_failure_messages_for_names_and_certificates() -> None:
    from workers.http import _connect_error

    dns = socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    assert str(_connect_error(dns, "nope.invalid", 80, 10)) == (
        "cannot resolve the host name 'nope.invalid' (name or service not known)"
    )
    cert = ssl.SSLCertVerificationError(1, "certificate verify failed")
    cert.verify_message = "self-signed certificate"
    assert str(_connect_error(cert, "h", 443, 10)) == "TLS error with h: self-signed certificate"
    assert str(_connect_error(TimeoutError(), "::1", 8, 2)) == "no answer from [::1]:8 within 2 s"


class _TLSFiles(BaseHTTPRequestHandler):
    """Serves ``/<name>?size=N`` like the local server, over TLS."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        name, _, size = self.path.lstrip("/").partition("?size=")
        data, digest = expected(name, int(size))
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Content-SHA256", digest)
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """An https server on 127.0.0.1 with a fresh self-signed certificate: (base URL, cert file)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("needs the openssl command to make a certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    args = "req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2"
    args += " -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1"
    subprocess.run(
        [openssl, *args.split(), "-keyout", key, "-out", cert], check=True, capture_output=True
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _TLSFiles)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"https://127.0.0.1:{httpd.server_address[1]}", str(cert)
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


@both
def test_https_checks_the_certificate_then_streams(tls_server, monkeypatch, aio: bool) -> None:
    base, cert = tls_server
    size = 3 * content.BLOCK + 5  # fills the 1 MiB read buffer: pause and resume over TLS
    with pytest.raises(TaskError, match=r"^TLS error with 127\.0\.0\.1: self.signed certificate"):
        fetch(f"{base}/t.bin?size=10", aio=aio)
    monkeypatch.setattr(http, "_tls_context", lambda: ssl.create_default_context(cafile=cert))
    outcome = fetch(f"{base}/t.bin?size={size}", aio=aio)
    assert (outcome.units, outcome.check) == (size, expected("t.bin", size)[1])


# -- limits and cancel ----------------------------------------------------------------


@both
def test_a_declared_size_over_the_limit_is_refused_before_any_byte(server, aio: bool) -> None:
    seen: list[int] = []
    with pytest.raises(TaskError, match=r"^8\.4 MB is larger than the limit of 1\.0 MB$"):
        fetch(server.url("big.bin", 8 << 20), aio=aio, max_bytes=1_000_000, progress=seen.append)
    assert seen == []


@both
def test_an_undeclared_size_over_the_limit_stops_within_a_chunk(server, aio: bool) -> None:
    seen: list[int] = []
    with pytest.raises(TaskError, match=r"^stopped at .*: larger than the limit of 3\.0 MB$"):
        fetch(server.url("c.bin", BIG), aio=aio, max_bytes=3_000_000, progress=seen.append)
    assert seen and max(seen) <= 3_000_000


@both
def test_cancel_stops_a_throttled_download_quickly(server, tmp_path: Path, aio: bool) -> None:
    token = threading.Event()
    timer = threading.Timer(0.3, token.set)
    seen: list[int] = []
    timer.start()
    t0 = time.perf_counter()
    try:
        with pytest.raises(Cancelled):
            url = server.url("slow.bin", 10_000_000, rate_mbps=5)
            fetch(url, aio=aio, cancel=token, folder=str(tmp_path), progress=seen.append)
        assert time.perf_counter() - t0 < 0.3 + 0.5
    finally:
        timer.cancel()
        timer.join()
    assert 0 < seen[-1] < 10_000_000  # it was under way
    assert list(tmp_path.iterdir()) == []  # no final file, no .part file


@both
def test_cancel_stops_a_connection_that_is_not_answered(unanswered_port: int, aio: bool) -> None:
    token = threading.Event()
    timer = threading.Timer(0.2, token.set)
    timer.start()
    t0 = time.perf_counter()
    try:
        with pytest.raises(Cancelled):
            fetch(f"http://127.0.0.1:{unanswered_port}/x.bin", aio=aio, cancel=token)
        assert time.perf_counter() - t0 < 0.2 + 0.5
    finally:
        timer.cancel()
        timer.join()


@both
def test_cancel_stops_a_download_whose_server_went_silent(server, aio: bool) -> None:
    """Connected, asked, and no answer: the read waiting for data sees the cancel
    (for asyncio, through the watcher shared by the run's connections)."""
    token = threading.Event()
    timer = threading.Timer(0.3, token.set)
    timer.start()
    t0 = time.perf_counter()
    try:
        with pytest.raises(Cancelled):
            fetch(server.url("quiet.bin", 1000, fault="stall"), aio=aio, cancel=token)
        assert time.perf_counter() - t0 < 0.3 + 0.5
    finally:
        timer.cancel()
        timer.join()


def test_the_async_download_never_blocks_its_loop(server) -> None:
    """The asyncio back end runs on the GUI thread: a heartbeat must keep beating.

    Counted while the client waits out a stalled server for 0.3 s: a loop that
    keeps turning beats ~60 times (every 5 ms), however busy the machine; a
    blocking read would leave it at 0 or 1. A bound on the longest gap would
    also measure the scheduler's stalls on a busy machine (100 ms and more).
    """
    beats: list[float] = []
    stalled: list[float] = []

    async def heartbeat(stop: asyncio.Event) -> None:
        while not stop.is_set():
            await asyncio.sleep(0.005)
            beats.append(time.perf_counter())

    async def main() -> None:
        stop = asyncio.Event()
        beat = asyncio.create_task(heartbeat(stop))
        token = threading.Event()
        try:
            await adownload(lambda n: None, token, url=server.url("h.bin", 20 << 20))
            stalled.append(time.perf_counter())
            with pytest.raises(TaskError, match="stalled"):
                url = server.url("h.bin", 10, fault="stall")
                await adownload(lambda n: None, token, url=url, timeout=0.3)
            stalled.append(time.perf_counter())
        finally:
            stop.set()
            await beat

    arun(main())
    start, end = stalled
    during = [t for t in beats if start < t < end]
    print(f"{len(during)} heartbeats in the {end - start:.2f} s stall")
    assert len(during) >= 20, len(during)


# -- one exchange on its own: h11 parses, the messages explain -------------------------


class Recorder(http.Sink):
    """Keeps what a download would see: the heads and the body."""

    def __init__(self) -> None:
        self.heads: list[http.Head] = []
        self.body = bytearray()
        self.pieces: list[int] = []

    def head(self, head: http.Head) -> None:
        self.heads.append(head)

    def data(self, piece: memoryview) -> None:
        self.body += piece
        self.pieces.append(len(piece))


def exchange(sink: http.Sink | None = None) -> Exchange:
    return Exchange("http://h:8/x", 0, sink or http.Sink(), 10.0)


def test_an_exchange_reads_chunked_bodies_cut_anywhere() -> None:
    wire = (
        b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 99\r\n\r\n"
        b"5;ext=1\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nX-Content-SHA256: abc\r\n\r\n"
    )
    for step in (1, 2, 7, len(wire)):
        sink = Recorder()
        flow = exchange(sink)
        for i in range(0, len(wire), step):
            flow.received(wire[i : i + step])
        assert (bytes(sink.body), flow.done) == (b"hello world", True)
        [head] = sink.heads  # the interim 103 is not an answer
        assert (head.status, head.length) == (200, None)
        assert head.trailers == {"x-content-sha256": "abc"}
        assert "x-content-sha256" not in head.headers


def test_big_reads_reach_h11_in_pieces_under_the_mmap_threshold() -> None:
    """h11 copies each piece three times: 1 MiB pieces page-faulted at a tenth of the speed."""
    sink = Recorder()
    flow = exchange(sink)
    flow.received(b"HTTP/1.1 200 OK\r\nContent-Length: 3000000\r\n\r\n" + b"x" * 1_500_000)
    flow.received(memoryview(b"y" * 1_500_000))
    assert flow.done and sink.body == b"x" * 1_500_000 + b"y" * 1_500_000
    assert max(sink.pieces) <= FEED < 128 << 10


@pytest.mark.parametrize(
    ("wire", "message"),
    [
        (b"SSH-2.0-OpenSSH\r\n\r\n", r"^not an HTTP response from h:8: 'SSH-2\.0-OpenSSH'$"),
        (b"\x16\x03\x01\x00", r"^not an HTTP response from h:8: '\\x16\\x03\\x01\\x00'$"),
        (
            b"HTTP/1.1 2OO OK\r\n\r\n",
            r"^malformed response from h:8: illegal status line: 'HTTP/1\.1 2OO OK'$",
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: \xc2\xb2\r\n\r\n",
            r"^malformed response from h:8: bad Content-Length$",
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            r"^malformed response from h:8: conflicting Content-Length headers$",
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            r"^malformed chunked encoding from h:8: illegal chunk header: 'zz\\r\\n'$",
        ),
        (
            b"HTTP/1.1 200 OK\r\nX: " + b"y" * (70 << 10),
            r"^the server's response headers are too large$",
        ),
        (
            b"HTTP/1.1 200 OK\r\nX: " + b"y" * (70 << 10) + b"\r\n\r\n",
            r"^the server's response headers are too large$",
        ),
        (b"HTTP/1.1 404 Not\x1bFound\r\n\r\n", r"^HTTP 404 Not\?Found from h:8$"),
        (
            b"HTTP/1.1 302 Found\r\nLocation: http://[::1\r\n\r\n",
            r"^the server redirected to an invalid URL: http://\[::1$",
        ),
    ],
)
def test_an_exchange_names_what_is_wrong(wire: bytes, message: str) -> None:
    with pytest.raises(TaskError, match=message):
        exchange().received(wire)


def test_messages_name_the_server_without_its_password() -> None:
    flow = Exchange("http://user:secret@h:8/x", 0, http.Sink(), 10.0)
    with pytest.raises(TaskError, match=r"^HTTP 500 Oops from h:8$"):
        flow.received(b"HTTP/1.1 500 Oops\r\n\r\n")


def test_the_end_of_the_stream_ends_a_body_without_a_length() -> None:
    sink = Recorder()
    flow = exchange(sink)
    flow.received(b"HTTP/1.0 200 OK\r\n\r\nabc")
    flow.received(b"")
    assert flow.done and sink.body == b"abc"
    cut = exchange()
    cut.received(b"HTTP/1.1 200 OK\r\nContent-Length: 2000000\r\n\r\n" + b"x" * 1_000_000)
    with pytest.raises(
        TaskError, match=r"^the server closed the connection after 1\.0 MB of 2\.0 MB$"
    ):
        cut.received(b"")
    with pytest.raises(TaskError, match=r"^the server closed the connection before answering$"):
        exchange().received(b"")
    early = exchange()
    early.received(b"HTTP/1.1 200 OK\r\nContent-")
    with pytest.raises(TaskError, match=r"^the server closed the connection before answering$"):
        early.received(b"")


def test_requests_go_out_as_plain_ascii() -> None:
    flow = Exchange("http://bücher.de:8080/a b/é?q=1", 0, http.Sink(), 1.0)
    assert (flow.host, flow.port, flow.tls) == ("xn--bcher-kva.de", 8080, False)
    assert flow.request == (
        b"GET /a%20b/%C3%A9?q=1 HTTP/1.1\r\nHost: xn--bcher-kva.de:8080\r\n"
        b"User-Agent: unfreeze\r\nAccept-Encoding: identity\r\nConnection: close\r\n\r\n"
    )
    assert b"Host: [::1]\r\n" in Exchange("https://[::1]:443/", 0, http.Sink(), 1.0).request


# -- file names ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "disposition", "name"),
    [
        ("http://h/../../x", None, "x"),
        ("http://h/etc/x", None, "x"),
        ("http://h//etc/x", None, "x"),
        ("http://h/a/..%5Cx", None, "x"),
        ("http://h/..\\x", None, "x"),
        ("http://h/%2e%2e%2fx", None, "x"),
        ("http://h/.bashrc", None, "bashrc"),
        ("http://h/a\x00b\x1fc.bin", None, "a_b_c.bin"),
        ("http://h/", None, "fallback.bin"),
        ("http://h", None, "fallback.bin"),
        ("http://h/..", None, "fallback.bin"),
        ("http://h/%2e%2e", None, "fallback.bin"),
        ("http://h/ok.bin", 'attachment; filename="../../evil.sh"', "evil.sh"),
        ("http://h/ok.bin", 'attachment; filename=".."', "ok.bin"),
        ("http://h/get?id=3", "attachment; filename=report.pdf", "report.pdf"),
        (
            "http://h/x",
            "attachment; filename=\"a.txt\"; filename*=UTF-8''%E2%82%AC%20r.txt",
            "_ r.txt",
        ),
        ("http://h/" + "a" * 300 + ".tar.gz", None, "a" * 117 + ".gz"),
    ],
)
def test_download_names_are_reduced_to_a_safe_base_name(url, disposition, name) -> None:
    assert safe_name(url, disposition, fallback="fallback.bin") == name


def test_a_name_with_nothing_usable_falls_back_to_one_from_the_url() -> None:
    assert safe_name("http://h/") == safe_name("http://h/") != safe_name("http://g/")
    assert safe_name("http://h/").startswith("download-") and safe_name("").endswith(".bin")


@pytest.mark.parametrize("name", ["", ".", "..", "../x", "a/b", "/etc/x"])
def test_a_final_path_must_sit_in_its_folder(tmp_path: Path, name: str) -> None:
    with pytest.raises(TaskError, match="refusing to save"):
        final_path(str(tmp_path), name)
    assert final_path(str(tmp_path), "ok.bin") == tmp_path / "ok.bin"


# -- tasks --------------------------------------------------------------------------------


def test_tasks_fetch_the_local_files_or_the_given_urls() -> None:
    spec = RunSpec("download", "threading", workers=2, tasks=3, size=500, latency_ms=5, rate_mbps=2)
    tasks = make_tasks(spec, "http://127.0.0.1:1")
    assert [t.kwargs["url"] for t in tasks] == [
        f"http://127.0.0.1:1/files/file-{i:04d}.bin?size=500&latency_ms=5&rate_mbps=2"
        for i in range(3)
    ]
    assert [(t.index, t.total, t.fn, t.afn) for t in tasks] == [
        (i, 500, download, adownload) for i in range(3)
    ]
    assert tasks[0].kwargs | {"url": ""} == {"url": "", "folder": None, "timeout": TIMEOUT_S}
    with_urls = make_tasks(spec.with_(urls=("http://a/1", "http://b/2")), None)
    assert [(t.kwargs["url"], t.total) for t in with_urls] == [
        ("http://a/1", 0),
        ("http://b/2", 0),
        ("http://a/1", 0),
    ]
    with pytest.raises(ValueError, match="local server"):
        make_tasks(spec, None)


@pytest.mark.parametrize("backend", backends_for("download"))
def test_downloads_on_every_backend_with_one_failing_task(qtbot, server, backend) -> None:
    spec = RunSpec("download", backend, workers=4, tasks=4, size=300_000, rate_mbps=50)
    tasks = workloads.make_tasks(spec, base_url=server.base_url)
    bad = tasks[2].kwargs | {"url": server.url("bad.bin", 300_000, fault="500")}
    tasks[2] = Task(2, tasks[2].fn, bad, tasks[2].total, tasks[2].afn)
    done = finals(drive(qtbot, start(backend, tasks, 4)))
    assert [done[i].kind for i in range(4)] == ["done", "done", "failed", "done"]
    assert done[2].detail.startswith("HTTP 500 Internal Server Error from 127.0.0.1:")
    for i in (0, 1, 3):
        assert done[i].detail == expected(f"file-{i:04d}.bin", 300_000)[1]
