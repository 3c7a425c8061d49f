"""The local download server: deterministic files, throttled like a real network.

It runs in its own process (so serving never competes with the app for the
GIL), binds 127.0.0.1 on a free port, and answers only requests whose Host is
a loopback name, so a web page cannot reach it by DNS rebinding.
``/files/<name>?size=N`` serves ``content.chunks`` of that name with its
SHA-256; ``latency_ms`` delays the first byte and ``rate_mbps`` caps each
connection.

The test harness, off unless ``LocalServer(test_harness=True)``: the tests
that prove every download fault ends with a clear message need a server that
misbehaves on request. With the switch on, ``?fault=NAME`` (one of
``FAULTS``) answers an error, a short or reset body, a stall, a wrong digest
or a redirect loop, and ``/redirect/N/NAME`` redirects N times before
serving. With it off (the app's server) both are refused.

It counts the files it is serving at once, from the moment a request for
one arrives until its last byte is sent (first-byte latency included), and
keeps the peak: the app reads it per run (:meth:`LocalServer.reset_peak` at
the start, :attr:`LocalServer.peak` at the end) as the record's
``server_peak_connections``. Counted on the server's side, it cannot be
fooled by the client's bookkeeping: a semaphore that failed to limit the
connections shows here. Each connection carries one file (the clients close
it after), so files being served and open connections are one count.

The digest goes in the ``X-Content-SHA256`` header when it is cheap to know
up front. A bigger file would make the client wait for the server to hash it
all (16 GiB takes ~10 s here) before the first byte, so it is sent chunked
and the digest, computed while sending, follows as a trailer.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import selectors
import signal
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing.connection import Connection
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from workers import content, limits, procs

NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]"})
FAULTS = ("500", "short", "close", "stall", "badsum", "redirect")
MAX_SIZE = 16 << 30
MAX_LATENCY_S = 60.0
STALL_S = 60.0
PACE_CHUNK = 64 << 10  # a capped stream is written 64 KiB at a time, each on schedule
#: Hashing 64 MiB before answering takes ~40 ms here; bigger files go chunked.
HASH_FIRST_MAX = 64 << 20
#: Connections the kernel holds while the server accepts them one by one (``listen``'s
#: backlog; Linux caps it at ``net.core.somaxconn``, 4 096 by default). socketserver's 5
#: dropped the SYNs of an 8-worker burst, and 128 those of 1 000 workers: a dropped SYN
#: is retried after 1 s (then 3, 7 s), which reads as a slow back end, and an overflowing
#: queue reset a connection. Each accepted connection gets a thread of its own (a
#: ThreadingHTTPServer): 1 000 at once are 1 000 threads in this process, none in the app's.
BACKLOG = 4096


def local_url(
    base_url: str,
    name: str,
    size: int,
    *,
    latency_ms: float = 0,
    rate_mbps: float = 0,
    fault: str | None = None,
) -> str:
    """The URL of the local server's file ``name`` of ``size`` bytes."""
    query: dict[str, Any] = {"size": size}
    if latency_ms:
        query["latency_ms"] = f"{latency_ms:g}"
    if rate_mbps:
        query["rate_mbps"] = f"{rate_mbps:g}"
    if fault:
        query["fault"] = fault
    return f"{base_url.rstrip('/')}/files/{quote(name)}?{urlencode(query)}"


def is_loopback_host(host_header: str | None) -> bool:
    """``127.0.0.1``, ``localhost`` or ``[::1]``, with or without a port."""
    host = (host_header or "").strip().lower()
    if host.startswith("["):
        host = host[: host.find("]") + 1]
    else:
        host = host.partition(":")[0]
    return host in LOOPBACK_HOSTS


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # a quiet server: the app's own log says what matters

    def do_GET(self) -> None:
        if not is_loopback_host(self.headers.get("Host")):
            return self._plain(403, "forbidden: this server answers loopback names only")
        parts = urlsplit(self.path)
        if parts.path == "/health":
            return self._plain(200, "ok")
        hop = re.fullmatch(r"/redirect/(\d{1,2})/([^/]+)", parts.path)
        if hop and self.server.test_harness:
            left, name = int(hop[1]), hop[2]
            target = f"/redirect/{left - 1}/{name}" if left > 1 else f"/files/{name}"
            return self._redirect(f"{target}?{parts.query}")
        match = re.fullmatch(r"/files/([^/]+)", parts.path)
        if not match or not NAME_RE.fullmatch(match[1]) or ".." in match[1]:
            return self._plain(404, "no such file")
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        try:
            size = int(query.get("size", "0"))
            latency_s = float(query.get("latency_ms", "0")) / 1000
            rate = float(query.get("rate_mbps", "0")) * 1e6
        except ValueError:
            return self._plain(400, "size, latency_ms and rate_mbps must be numbers")
        # NaN fails every comparison, so it is refused here too.
        if not (0 <= size <= self.server.max_size):
            return self._plain(400, f"size must be between 0 and {self.server.max_size}")
        if not (0 <= latency_s <= MAX_LATENCY_S and rate >= 0):
            return self._plain(400, "latency_ms or rate_mbps out of range")
        fault = query.get("fault")
        if fault is not None and (not self.server.test_harness or fault not in FAULTS):
            return self._plain(400, "fault modes are for tests only")
        with self.server.serving() as ending:
            self._serve(match[1], size, latency_s, rate, fault, ending)

    def _serve(
        self,
        name: str,
        size: int,
        latency_s: float,
        rate: float,
        fault: str | None,
        ending: Callable[[], None],
    ) -> None:
        if latency_s:
            time.sleep(latency_s)  # the simulated network's first-byte latency
        if fault == "500":
            return self._plain(500, "simulated server error")
        if fault == "redirect":
            return self._redirect(self.path)
        seed = content.seed_for(name)
        digest = self.server.known_digest(seed, size)
        if fault == "badsum":
            digest = "0" * 64
        chunked = digest is None
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Disposition", f'attachment; filename="{name}"')
        if digest is None:
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Trailer", "X-Content-SHA256")
        else:
            self.send_header("Content-Length", str(size))
            self.send_header("X-Content-SHA256", digest)
        if size == 0 and not chunked:
            ending()  # the head is all there is
        self.end_headers()
        self.wfile.flush()
        if fault == "stall":
            return self._hold_silently()
        limit = {"short": size // 2, "close": size // 3}.get(fault or "", size)
        sha = hashlib.sha256() if chunked else None
        sent, started = 0, time.perf_counter()
        for part in content.chunks(seed, limit, PACE_CHUNK if rate else content.BLOCK):
            if sha is None and sent + len(part) == size:
                ending()  # before the last bytes leave: see _Server.serving
            if sha is not None:
                sha.update(part)
                self.wfile.write(b"%x\r\n" % len(part))
                self.wfile.write(part)
                self.wfile.write(b"\r\n")
            else:
                self.wfile.write(part)
            sent += len(part)
            if rate:  # a token bucket one chunk deep: never ahead of what the cap allows
                ahead = sent / rate - (time.perf_counter() - started)
                if ahead > 0:
                    time.sleep(ahead)
        if fault == "close":
            return self._reset()
        if fault == "short":
            self.close_connection = True
            return
        if sha is not None:
            self.server.remember_digest(seed, size, sha.hexdigest())
            ending()
            self.wfile.write(b"0\r\nX-Content-SHA256: %s\r\n\r\n" % sha.hexdigest().encode())

    def _hold_silently(self) -> None:
        """Send nothing more until the client gives up (it closes) or STALL_S pass."""
        self.close_connection = True
        with selectors.DefaultSelector() as sel:
            sel.register(self.connection, selectors.EVENT_READ)
            sel.select(STALL_S)  # readable: the client closed (it has nothing more to send)

    def _reset(self) -> None:
        """Drop the connection abruptly: a reset (RST), not a clean end of stream."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()  # socketserver's own shutdown then fails quietly

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
    daemon_threads = True  # a stalled connection must not hold the process at exit

    def __init__(self, test_harness: bool, max_size: int, counts: Any, backlog: int) -> None:
        self.request_queue_size = backlog  # read by server_activate(), in __init__
        super().__init__(("127.0.0.1", 0), _Handler)
        self.test_harness, self.max_size = test_harness, max_size
        self.counts = counts  # shared with the app: [files being served now, peak]
        self._digests: dict[tuple[int, int], str] = {}
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def serving(self) -> Iterator[Callable[[], None]]:
        """Count one more file being served; keep the peak.

        The block gets ``ending``, to call just before it sends the file's last
        bytes (the count drops then, or at the latest when the block ends). Not
        after: a client that got every byte may already have released its
        semaphore and opened its next connection, while this thread still waits
        for the GIL to return from ``write`` (seen: a peak of 6 with a limit of 3).
        Dropping first orders it before anything the client does next.
        """
        counted = [True]

        def ending() -> None:
            if counted[0]:
                counted[0] = False
                with self.counts.get_lock():
                    self.counts[0] -= 1

        with self.counts.get_lock():
            self.counts[0] += 1
            self.counts[1] = max(self.counts[1], self.counts[0])
        try:
            yield ending
        finally:
            ending()

    def known_digest(self, seed: int, size: int) -> str | None:
        """The file's SHA-256 if known or cheap to compute now, else None."""
        with self._lock:
            known = self._digests.get((seed, size))
        if known is None and size <= HASH_FIRST_MAX:
            known = content.sha256(seed, size)
        return known

    def remember_digest(self, seed: int, size: int, digest: str) -> None:
        with self._lock:
            if len(self._digests) >= 256:
                self._digests.clear()
            self._digests[(seed, size)] = digest

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that goes away mid-file (a cancel, a closing app) is normal: no traceback."""
        exc = sys.exc_info()[1]
        if not isinstance(exc, ConnectionError | TimeoutError):
            print(f"unfreeze server: {type(exc).__name__}: {exc}", file=sys.stderr)


def _serve_forever(
    conn: Connection, test_harness: bool, max_size: int, counts: Any, backlog: int
) -> None:
    """The server process: die with the app, report the port, serve."""
    procs.die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is the app's to handle
    limits.raise_open_files()  # a socket per connection: 5 000 of them pass 1 024
    server = _Server(test_harness, max_size, counts, backlog)
    conn.send(server.server_address[1])
    conn.close()
    server.serve_forever(poll_interval=0.5)


class LocalServer:
    """The app's own download server, in its own process.

    ``test_harness=True`` turns on the faults and redirects tests ask for
    (see the module's docstring); ``max_size``
    is the largest file it agrees to serve; ``backlog``, how many connections
    may wait to be accepted (see :data:`BACKLOG`).
    """

    def __init__(
        self, *, test_harness: bool = False, max_size: int = MAX_SIZE, backlog: int = BACKLOG
    ) -> None:
        self.test_harness, self.max_size, self.backlog = test_harness, max_size, backlog
        self.process: Any = None  # a multiprocessing SpawnProcess while running
        self.port = 0
        #: Files being served now, and the most at once since the last reset (shared memory).
        self.counts = procs.context().Array("q", 2)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 10.0) -> str:
        """Start the server process; return its base URL once it listens."""
        if self.process is not None:
            return self.base_url
        ctx = procs.context()
        parent, child = ctx.Pipe(duplex=False)
        self.process = ctx.Process(
            target=_serve_forever,
            args=(child, self.test_harness, self.max_size, self.counts, self.backlog),
            name="unfreeze-server",
            daemon=True,
        )
        try:
            self.process.start()
            child.close()
            if not parent.poll(timeout):
                raise RuntimeError(f"the local server did not start within {timeout:g} s")
            try:
                self.port = parent.recv()
            except EOFError:
                self.process.join(1.0)
                raise RuntimeError(
                    f"the local server exited while starting (exit code {self.process.exitcode})"
                ) from None
        except BaseException:
            self.stop()
            raise
        finally:
            parent.close()
        return self.base_url

    @property
    def peak(self) -> int:
        """The most files served at once since :meth:`reset_peak` (or the start)."""
        with self.counts.get_lock():
            return int(self.counts[1])

    def reset_peak(self) -> None:
        """Start a new count of the peak from the files being served right now."""
        with self.counts.get_lock():
            self.counts[1] = self.counts[0]

    def url(
        self,
        name: str,
        size: int,
        *,
        latency_ms: float = 0,
        rate_mbps: float = 0,
        fault: str | None = None,
    ) -> str:
        return local_url(
            self.base_url, name, size, latency_ms=latency_ms, rate_mbps=rate_mbps, fault=fault
        )

    def stop(self, timeout: float = 2.0) -> None:
        """End the server process (open connections die with it); safe to call twice."""
        process, self.process = self.process, None
        if process is None:
            return
        if process.pid is not None:
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


__all__ = ["LocalServer", "is_loopback_host", "local_url"]
