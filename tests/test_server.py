"""The local download server, seen from a plain HTTP client: content, limits, pacing, its process."""

from __future__ import annotations

import asyncio
import http.client
import threading
import time

import psutil
import pytest

from tests.helpers import arun
from workers import content, limits, serving
from workers.server import LocalServer, is_loopback_host, local_url

MAX_SIZE = 100_000_000


@pytest.fixture(scope="module")
def server():
    with LocalServer(test_harness=True, max_size=MAX_SIZE) as srv:
        yield srv


def request(server: LocalServer, path: str, host: str | None = None) -> tuple[int, dict, bytes]:
    """GET ``path`` with an explicit Host header; status, headers (lower case), body."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        conn.putrequest("GET", path, skip_host=True)
        conn.putheader("Host", host or f"127.0.0.1:{server.port}")
        conn.endheaders()
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


@pytest.mark.parametrize("size", [0, 1, content.BLOCK + 7, 3_000_001])
def test_files_hold_their_content_and_say_its_digest(server, size: int) -> None:
    status, headers, body = request(server, f"/files/data.bin?size={size}")
    seed = content.seed_for("data.bin")
    assert status == 200
    assert body == b"".join(content.chunks(seed, size))
    assert headers["content-length"] == str(size)
    assert headers["x-content-sha256"] == content.sha256(seed, size)
    assert headers["content-type"] == "application/octet-stream"
    assert headers["content-disposition"] == 'attachment; filename="data.bin"'


def test_health_says_ok(server) -> None:
    assert request(server, "/health")[::2] == (200, b"ok")


@pytest.mark.parametrize(
    ("host", "status"),
    [
        ("127.0.0.1:{port}", 200),
        ("localhost:{port}", 200),
        ("[::1]:{port}", 200),
        ("LOCALHOST", 200),
        ("example.com", 403),
        ("evil.127.0.0.1.nip.io:{port}", 403),
        ("127.0.0.1.evil.com", 403),
        ("", 403),
    ],
)
def test_only_loopback_host_names_are_answered(server, host: str, status: int) -> None:
    path = "/files/a.bin?size=10"
    assert request(server, path, host.format(port=server.port) or " ")[0] == status


@pytest.mark.parametrize(
    "value", [None, "", "[::1", "::1", "127.0.0.2", "localhost.", "localhost@evil.com"]
)
def test_other_host_values_are_not_loopback(value: str | None) -> None:
    assert not is_loopback_host(value)


@pytest.mark.parametrize(
    "path",
    [
        "/files/../etc/passwd",
        "/files/..%2f..%2fx",
        "/files/%2e%2e",
        "/files/.hidden",
        "/files/a..b",
        "/files/a%20b",
        "/files/" + "x" * 101,
        "/files/",
        "/files/a/b",
        "/x",
    ],
)
def test_names_outside_the_safe_set_are_not_found(server, path: str) -> None:
    assert request(server, path + "?size=10")[0] == 404


@pytest.mark.parametrize(
    "query",
    [
        "size=-1",
        "size=abc",
        f"size={MAX_SIZE + 1}",
        "size=10&latency_ms=nan",
        "size=10&latency_ms=-5",
        "size=10&latency_ms=60001",
        "size=10&rate_mbps=-1",
        "size=10&rate_mbps=nan",
        "size=10&fault=unknown",
    ],
)
def test_bad_parameters_are_refused(server, query: str) -> None:
    assert request(server, f"/files/a.bin?{query}")[0] == 400


def test_one_connection_carries_request_after_request_and_other_methods_get_501(server) -> None:
    """HTTP/1.1 keep-alive, as http.client uses it: a HEAD (answered without a body)
    and a GET of a big, chunked file leave the connection ready for the next request."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        for method, path, status in [
            ("HEAD", "/health", 501),
            ("GET", f"/files/k.bin?size={(64 << 20) + 1}", 200),
            ("POST", "/health", 501),
            ("GET", "/health", 200),
        ]:
            conn.request(method, path)
            response = conn.getresponse()
            assert (response.status, len(response.read())) == (
                status,
                (64 << 20) + 1 if "k.bin" in path else 2 if status == 200 else 0,
            ), (method, path)
    finally:
        conn.close()


def test_redirects_count_down_to_the_file(server) -> None:
    status, headers, _ = request(server, "/redirect/2/x.bin?size=5")
    assert (status, headers["location"]) == (302, "/redirect/1/x.bin?size=5")
    status, headers, _ = request(server, "/redirect/1/x.bin?size=5")
    assert (status, headers["location"]) == (302, "/files/x.bin?size=5")


def test_latency_delays_the_first_byte(server) -> None:
    t0 = time.perf_counter()
    status, _, body = request(server, "/files/l.bin?size=10&latency_ms=150")
    assert status == 200 and len(body) == 10
    assert time.perf_counter() - t0 >= 0.15


def test_the_rate_cap_holds_per_connection(server) -> None:
    """One connection at 10 MB/s needs 0.2 s for 2 MB; four in parallel each get the full cap."""
    t0 = time.perf_counter()
    assert len(request(server, "/files/r.bin?size=2000000&rate_mbps=10")[2]) == 2_000_000
    assert time.perf_counter() - t0 >= 0.19

    took: list[float] = []

    def one() -> None:
        t = time.perf_counter()
        assert len(request(server, "/files/p.bin?size=1000000&rate_mbps=10")[2]) == 1_000_000
        took.append(time.perf_counter() - t)

    threads = [threading.Thread(target=one) for _ in range(4)]
    t0 = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(took) == 4 and min(took) >= 0.095
    assert time.perf_counter() - t0 < 0.3  # one after another would take 0.4 s


def test_files_above_64_mib_come_chunked(server) -> None:
    """The digest of a big file is not known up front: http.client reads the body all the same."""
    size = (64 << 20) + 3
    status, headers, body = request(server, f"/files/big.bin?size={size}")
    assert status == 200 and headers["transfer-encoding"] == "chunked"
    assert "content-length" not in headers and headers["trailer"] == "X-Content-SHA256"
    assert len(body) == size and body[-3:] == bytes(content.block(content.seed_for("big.bin"))[:3])


def test_the_server_listens_on_loopback_only(server) -> None:
    """Its one listening socket is 127.0.0.1:port: catches a bind to 0.0.0.0 (or "")."""
    listening = [
        c
        for c in psutil.Process(server.process.pid).net_connections(kind="inet")
        if c.status == psutil.CONN_LISTEN
    ]
    assert [(c.laddr.ip, c.laddr.port) for c in listening] == [("127.0.0.1", server.port)]


def test_local_url_builds_the_query() -> None:
    url = local_url("http://127.0.0.1:1/", "f.bin", 10, latency_ms=5, rate_mbps=2.5, fault="500")
    assert url == "http://127.0.0.1:1/files/f.bin?size=10&latency_ms=5&rate_mbps=2.5&fault=500"
    assert local_url("http://h", "f.bin", 0) == "http://h/files/f.bin?size=0"


def test_a_plain_server_refuses_faults_starts_fast_and_leaves_no_process() -> None:
    plain = LocalServer()
    t0 = time.perf_counter()
    url = plain.start()
    started = time.perf_counter() - t0
    try:
        assert url == plain.base_url and plain.start() == url  # a second start is a no-op
        assert request(plain, "/files/a.bin?size=10&fault=500")[0] == 400
        assert request(plain, "/redirect/2/a.bin?size=10")[0] == 404  # the test harness is off
        assert request(plain, "/files/a.bin?size=10")[0] == 200
        pid = plain.process.pid
    finally:
        plain.stop()
    plain.stop()  # twice is fine
    assert started < 2.0, started  # ~0.1 s bare; pytest's own imports ride along with spawn
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_a_burst_of_connections_is_not_dropped(server) -> None:
    """16 workers connecting at once all get their first byte at once (no 1 s SYN retry)."""
    import socket as socket_
    from concurrent.futures import ThreadPoolExecutor

    def first_byte(_: int) -> float:
        t0 = time.perf_counter()
        with socket_.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            host = f"127.0.0.1:{server.port}"
            sock.sendall(f"GET /files/b.bin?size=10 HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
            sock.recv(1)
        return time.perf_counter() - t0

    with ThreadPoolExecutor(16) as pool:
        waits = list(pool.map(first_byte, range(16)))
    assert max(waits) < 0.9, waits


def test_a_thousand_connections_are_served_at_once_on_a_handful_of_threads(server) -> None:
    """1 000 clients wait for their first byte together: the server holds every one at
    once (its own count) on its event loop, not on a thread each (psutil counts its
    threads), and each gets its file. A thread per connection makes ~1 000 threads."""
    n = 1000
    resource = pytest.importorskip("resource")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    limits.raise_open_files(n + limits.HEADROOM)
    process = psutil.Process(server.process.pid)

    async def one(i: int) -> bytes:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(
            f"GET /files/c{i}.bin?size=10&latency_ms=2000 HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{server.port}\r\nConnection: close\r\n\r\n".encode()
        )
        answer = await reader.read()  # the whole answer: the server closes after it
        writer.close()
        return answer

    async def clients() -> tuple[list[bytes], list[int]]:
        every = asyncio.gather(*(one(i) for i in range(n)))
        threads = [process.num_threads()]
        while not (await asyncio.wait({every}, timeout=0.05))[0]:
            threads.append(process.num_threads())
        return await every, threads

    server.reset_peak()
    try:
        answers, threads = arun(clients())
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    for i, answer in enumerate(answers):
        assert answer.startswith(b"HTTP/1.1 200 "), answer[:80]
        assert answer.endswith(content.head(content.seed_for(f"c{i}.bin"), 10)), i
    assert server.peak == n  # all at once, counted by the server
    # The loop's thread and the hashers' (idle here): a handful, not one per connection.
    assert max(threads) <= 1 + serving.HASHERS + 1, max(threads)
