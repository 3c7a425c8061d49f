"""The local download server: deterministic files, throttled like a real network.

It runs in its own process (so serving never competes with the app for the
GIL), binds 127.0.0.1 on a free port, and answers only requests whose Host is
a loopback name, so a web page cannot reach it by DNS rebinding.
``/files/<name>?size=N`` serves ``content.chunks`` of that name with its
SHA-256; ``latency_ms`` delays the first byte and ``rate_mbps`` caps each
connection. One asyncio event loop on one thread serves every connection
(:mod:`workers.serving`): 5 000 at once cost 5 000 sockets and coroutines,
not 5 000 threads.

The test harness, off unless ``LocalServer(test_harness=True)``: the tests
that prove every download fault ends with a clear message need a server that
misbehaves on request. With the switch on, ``?fault=NAME`` (one of
``FAULTS``) answers an error, a short or reset body, a stall, a wrong digest
or a redirect loop, and ``/redirect/N/NAME`` redirects N times before
serving. With it off (the app's server) both are refused.

It counts the files it is serving at once, from the moment a request for
one arrives until its last bytes are handed to the socket (first-byte latency
included), and keeps the peak: the app reads it per run
(:meth:`LocalServer.reset_peak` at the start, :attr:`LocalServer.peak` at the
end) as the record's ``server_peak_connections``. Counted on the server's
side, it cannot be fooled by the client's bookkeeping: a semaphore that failed
to limit the connections shows here. Each connection carries one file (the
clients close it after), so files being served and open connections are one
count.

The digest goes in the ``X-Content-SHA256`` header when it is cheap to know
up front. A bigger file would make the client wait for the server to hash it
all (16 GiB takes ~10 s here) before the first byte, so it is sent chunked
and the digest, computed while sending, follows as a trailer.
"""

from __future__ import annotations

import asyncio
import signal
import socket
from multiprocessing.connection import Connection
from typing import Any
from urllib.parse import quote, urlencode

from workers import limits, procs, serving
from workers.serving import FAULTS, is_loopback_host

MAX_SIZE = 16 << 30
#: Connections the kernel holds until the server accepts them (``listen``'s backlog;
#: Linux caps it at ``net.core.somaxconn``, 4 096 by default). socketserver's 5 dropped
#: the SYNs of an 8-worker burst, and 128 those of 1 000 workers: a dropped SYN is
#: retried after 1 s (then 3, 7 s), which reads as a slow back end, and an overflowing
#: queue reset a connection. The loop accepts up to this many per wake-up.
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


def _serve_forever(
    conn: Connection, test_harness: bool, max_size: int, counts: Any, backlog: int
) -> None:
    """The server process: die with the app, report the port, serve."""
    procs.die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is the app's to handle
    limits.raise_open_files()  # a socket per connection: 5 000 of them pass 1 024
    listener = socket.create_server(("127.0.0.1", 0), backlog=backlog)
    conn.send(listener.getsockname()[1])  # connections queue in the backlog from now on
    conn.close()
    asyncio.run(
        serving.serve(
            listener, test_harness=test_harness, max_size=max_size, counts=counts, backlog=backlog
        )
    )


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


__all__ = ["FAULTS", "LocalServer", "is_loopback_host", "local_url"]
