"""Downloads from the real local server: verified bytes, throttling, every fault named."""

from __future__ import annotations

import asyncio
import http.client
import random
import threading
import time

import psutil
import pytest

from tests.helpers import drive, finals, start
from workers import content, workloads
from workers.backends import REGISTRY
from workers.core import Cancelled, TaskError
from workers.server import LocalServer
from workers.spec import RunSpec
from workers.workloads.download import adownload, download, safe_name


@pytest.fixture(scope="module")
def server():
    with LocalServer(faults=True, max_size=64 << 20) as srv:
        yield srv


def fetch(url: str, *, aio: bool = False, **kw: object):
    token = kw.pop("cancel", threading.Event())
    progress = kw.pop("progress", lambda n: None)
    if aio:
        return asyncio.run(adownload(progress, token, url=url, **kw))
    return download(progress, token, url=url, **kw)


def raw_get(server: LocalServer, path: str, host: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        conn.putrequest("GET", path, skip_host=True)
        conn.putheader("Host", host)
        conn.endheaders()
        return conn.getresponse().status
    finally:
        conn.close()


@pytest.mark.parametrize("aio", [False, True], ids=["sync", "async"])
def test_random_sizes_verify_byte_for_byte(server, tmp_path, aio: bool) -> None:
    rng = random.Random(4)
    for size in [0, 1, 65535, content.BLOCK, content.BLOCK + 1, *rng.sample(range(3 << 20), 4)]:
        name = f"r{size}.bin"
        outcome = fetch(server.url(name, size), aio=aio, folder=str(tmp_path))
        expected = b"".join(content.chunks(content.seed_for(name), size))
        assert (tmp_path / name).read_bytes() == expected
        assert outcome.units == size
        assert outcome.check == content.sha256(content.seed_for(name), size)
    assert not list(tmp_path.glob(".unfreeze-*"))


@pytest.mark.parametrize("aio", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize(
    ("fault", "words"),
    [
        ("500", "HTTP 500"),
        ("short", "closed the connection after"),
        ("close", "after"),
        ("badsum", "checksum mismatch"),
        ("redirect", "too many redirects"),
    ],
)
def test_server_faults_fail_with_a_readable_reason(server, tmp_path, aio, fault, words) -> None:
    t0 = time.perf_counter()
    with pytest.raises(TaskError, match=words):
        fetch(server.url("f.bin", 3_000_000, fault=fault), aio=aio, folder=str(tmp_path), timeout=2)
    assert time.perf_counter() - t0 < 3
    assert list(tmp_path.iterdir()) == []  # no final file, no temp file


@pytest.mark.parametrize("aio", [False, True], ids=["sync", "async"])
def test_a_stalled_server_is_given_up_on_after_the_timeout(server, tmp_path, aio) -> None:
    t0 = time.perf_counter()
    with pytest.raises(TaskError, match="stalled"):
        fetch(server.url("s.bin", 1000, fault="stall"), aio=aio, folder=str(tmp_path), timeout=1)
    assert 1 <= time.perf_counter() - t0 < 2
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("aio", [False, True], ids=["sync", "async"])
def test_refused_connection_and_good_redirects(server, aio) -> None:
    with pytest.raises(TaskError, match="connection refused"):
        fetch("http://127.0.0.1:9/x.bin", aio=aio)
    outcome = fetch(f"{server.base_url}/redirect/3/x.bin?size=1234", aio=aio)
    assert outcome.check == content.sha256(content.seed_for("x.bin"), 1234)


@pytest.mark.parametrize("aio", [False, True], ids=["sync", "async"])
def test_a_download_over_its_limit_stops_early(server, aio) -> None:
    seen: list[int] = []
    with pytest.raises(TaskError, match="larger than the limit"):
        fetch(server.url("big.bin", 8 << 20), aio=aio, max_bytes=1 << 20, progress=seen.append)
    assert not seen or max(seen) <= 1 << 20


@pytest.mark.parametrize("aio", [False, True], ids=["sync", "async"])
def test_cancel_stops_a_throttled_download_quickly(server, tmp_path, aio) -> None:
    token = threading.Event()
    timer = threading.Timer(0.3, token.set)
    timer.start()
    t0 = time.perf_counter()
    try:
        with pytest.raises(Cancelled):
            url = server.url("slow.bin", 10_000_000, rate_mbps=2)
            fetch(url, aio=aio, cancel=token, folder=str(tmp_path))
    finally:
        timer.join()
    assert time.perf_counter() - t0 < 0.3 + 0.5
    assert list(tmp_path.iterdir()) == []


def test_rate_cap_and_latency_hold(server) -> None:
    t0 = time.perf_counter()
    fetch(server.url("c.bin", 2_000_000, rate_mbps=10, latency_ms=100))
    took = time.perf_counter() - t0
    assert 0.28 <= took < 1.5, took  # 0.1 s latency + 0.2 s at 10 MB/s


def test_server_answers_loopback_names_only(server) -> None:
    path = "/files/a.bin?size=10"
    assert raw_get(server, path, f"127.0.0.1:{server.port}") == 200
    assert raw_get(server, path, f"localhost:{server.port}") == 200
    assert raw_get(server, path, "example.com") == 403
    assert raw_get(server, path, f"evil.127.0.0.1.nip.io:{server.port}") == 403
    assert server.base_url.startswith("http://127.0.0.1:")


@pytest.mark.parametrize(
    "path", ["/files/../etc/passwd", "/files/..%2f..%2fx", "/files/.hidden", "/x"]
)
def test_served_names_cannot_escape(server, path: str) -> None:
    assert raw_get(server, path + "?size=10", f"127.0.0.1:{server.port}") == 404


def test_fault_modes_need_the_test_switch() -> None:
    with LocalServer() as plain:
        assert raw_get(plain, "/files/a.bin?size=10&fault=500", f"127.0.0.1:{plain.port}") == 400
        process = psutil.Process(plain.process.pid)
    assert not process.is_running() or process.status() == psutil.STATUS_ZOMBIE


@pytest.mark.parametrize(
    ("url", "disposition", "name"),
    [
        ("http://h/../../x", None, "x"),
        ("http://h/etc/x", None, "x"),
        ("http://h/a/..%5Cx", None, "x"),
        ("http://h/%2e%2e%2fx", None, "x"),
        ("http://h/", None, "fallback.bin"),
        ("http://h/..", None, "fallback.bin"),
        ("http://h/ok.bin", 'attachment; filename="../../evil.sh"', "evil.sh"),
        ("http://h/a\x00b", None, "a_b"),
    ],
)
def test_download_names_are_reduced_to_a_safe_base_name(url, disposition, name) -> None:
    assert safe_name(url, disposition, fallback="fallback.bin") == name


@pytest.mark.parametrize("backend", list(REGISTRY))
def test_downloads_on_every_backend_with_one_failing_task(qtbot, server, backend) -> None:
    spec = RunSpec("download", backend, workers=4, tasks=4, size=300_000, rate_mbps=50)
    tasks = workloads.make_tasks(spec, base_url=server.base_url)
    bad = tasks[2].kwargs | {"url": server.url("bad.bin", 300_000, fault="500")}
    tasks[2] = tasks[2].__class__(2, tasks[2].fn, bad, tasks[2].total, tasks[2].afn)
    events = drive(qtbot, start(backend, tasks, 4))
    done = finals(events)
    assert [done[i].kind for i in range(4)] == ["done", "done", "failed", "done"]
    assert "HTTP 500" in done[2].detail
    for i in (0, 1, 3):
        assert done[i].detail == content.sha256(content.seed_for(f"file-{i:04d}.bin"), 300_000)
