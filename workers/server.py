"""The local download server: deterministic files, throttled like a real network.

It runs in its own process (so serving never competes with the app for the
GIL), binds 127.0.0.1 on a free port, and answers only requests whose Host is
a loopback name. ``/files/<name>?size=N`` serves ``content.chunks`` of that
name, with its SHA-256 in ``X-Content-SHA256``; ``latency_ms`` delays the
first byte and ``rate_mbps`` caps each connection. Fault modes exist for
tests only (``faults=True``).
"""

from __future__ import annotations

import contextlib
import re
import socket
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from workers import content, procs

NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}
FAULTS = ("500", "short", "close", "stall", "badsum", "redirect")
PACE_CHUNK = 64 << 10
MAX_LATENCY_S = 60.0
STALL_S = 60.0


def local_url(
    base_url: str,
    name: str,
    size: int,
    *,
    latency_ms: float = 0,
    rate_mbps: float = 0,
    fault: str | None = None,
) -> str:
    query: dict[str, Any] = {"size": size}
    if latency_ms:
        query["latency_ms"] = f"{latency_ms:g}"
    if rate_mbps:
        query["rate_mbps"] = f"{rate_mbps:g}"
    if fault:
        query["fault"] = fault
    return f"{base_url}/files/{quote(name)}?{urlencode(query)}"


def _loopback(host_header: str | None) -> bool:
    if not host_header:
        return False
    host = host_header.strip().lower()
    if host.startswith("["):
        host = host[: host.find("]") + 1]
    elif ":" in host:
        host = host.rsplit(":", 1)[0]
    return host in LOOPBACK_HOSTS


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # a quiet server: the app's log says what matters

    def do_GET(self) -> None:
        if not _loopback(self.headers.get("Host")):
            return self._plain(403, "forbidden: this server answers loopback names only")
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        if parts.path == "/health":
            return self._plain(200, "ok")
        match = re.fullmatch(r"/redirect/(\d{1,2})/([^/]+)", parts.path)
        if match:
            left, name = int(match[1]), match[2]
            target = f"/redirect/{left - 1}/{name}" if left > 1 else f"/files/{name}"
            return self._redirect(f"{target}?{parts.query}")
        match = re.fullmatch(r"/files/([^/]+)", parts.path)
        if not match or not NAME_RE.fullmatch(match[1]) or ".." in match[1]:
            return self._plain(404, "no such file")
        try:
            size = int(query.get("size", "0"))
            latency_s = float(query.get("latency_ms", "0")) / 1000
            rate = float(query.get("rate_mbps", "0")) * 1e6
        except ValueError:
            return self._plain(400, "size, latency_ms and rate_mbps must be numbers")
        if not (
            0 <= size <= self.server.max_size and 0 <= latency_s <= MAX_LATENCY_S and rate >= 0
        ):
            return self._plain(400, "size, latency_ms or rate_mbps out of range")
        fault = query.get("fault")
        if fault is not None and (not self.server.faults or fault not in FAULTS):
            return self._plain(400, "fault modes are for tests only")
        self._serve(match[1], size, latency_s, rate, fault)

    def _serve(
        self, name: str, size: int, latency_s: float, rate: float, fault: str | None
    ) -> None:
        if latency_s:
            time.sleep(latency_s)  # the simulated network's first-byte latency
        if fault == "500":
            return self._plain(500, "simulated server error")
        if fault == "redirect":
            return self._redirect(self.path)
        seed = content.seed_for(name)
        digest = content.sha256(seed, size)
        if fault == "badsum":
            digest = "0" * 64
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(size))
        self.send_header("Content-Disposition", f'attachment; filename="{name}"')
        self.send_header("X-Content-SHA256", digest)
        self.end_headers()
        limit = {"short": size // 2, "close": size // 3}.get(fault or "", size)
        if fault == "stall":
            self.wfile.flush()
            self.server.stopping.wait(STALL_S)
            limit = 0
        sent = 0
        started = time.perf_counter()
        chunk = PACE_CHUNK if rate else content.BLOCK
        for part in content.chunks(seed, limit, chunk):
            self.wfile.write(part)
            sent += len(part)
            if rate:  # pace to the cap: never ahead of where the rate says we may be
                ahead = sent / rate - (time.perf_counter() - started)
                if ahead > 0:
                    time.sleep(ahead)
        self.wfile.flush()
        if fault in ("short", "close"):
            self.close_connection = True
            if fault == "close":  # abrupt: a reset, not a clean end of stream
                with contextlib.suppress(OSError):
                    self.connection.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
                    )

    def _plain(self, status: int, text: str) -> None:
        body = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, faults: bool, max_size: int) -> None:
        import threading

        super().__init__(("127.0.0.1", 0), _Handler)
        self.faults, self.max_size = faults, max_size
        self.stopping = threading.Event()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that goes away mid-file (a cancel, a closing app) is normal: no traceback."""
        import sys

        exc = sys.exc_info()[1]
        if not isinstance(exc, ConnectionError | TimeoutError):
            print(f"unfreeze server: {type(exc).__name__}: {exc}", file=sys.stderr)


def _serve_forever(conn: Any, faults: bool, max_size: int) -> None:
    """The server process: die with the app, report the port, serve."""
    import signal

    procs.die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    server = _Server(faults, max_size)
    conn.send(server.server_address[1])
    conn.close()
    server.serve_forever(poll_interval=0.1)


class LocalServer:
    """The app's own download server, in its own process."""

    def __init__(self, *, faults: bool = False, max_size: int = 16 << 30) -> None:
        self.faults, self.max_size = faults, max_size
        self.process: Any = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 10.0) -> str:
        ctx = procs.context()
        parent, child = ctx.Pipe(duplex=False)
        self.process = ctx.Process(
            target=_serve_forever,
            args=(child, self.faults, self.max_size),
            name="unfreeze-server",
            daemon=True,
        )
        self.process.start()
        child.close()
        try:
            if not parent.poll(timeout):
                raise RuntimeError("the local server did not start in time")
            self.port = parent.recv()
        except BaseException:
            self.stop()
            raise
        finally:
            parent.close()
        return self.base_url

    def url(self, name: str, size: int, **kw: Any) -> str:
        return local_url(self.base_url, name, size, **kw)

    def stop(self, timeout: float = 2.0) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        process.terminate()
        process.join(timeout)
        if process.is_alive():
            process.kill()
            process.join(timeout)
        process.close()

    def __enter__(self) -> LocalServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
