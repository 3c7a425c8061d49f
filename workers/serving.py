"""The local server's connections, served from one asyncio event loop on one thread.

Why a loop and not a thread per connection: at 5 000 connections the server
held ~3 600 at once on as many threads, all waiting in turn for one GIL (each
waits thousands of switch intervals), so clients met >10 s of silence and
gave up. A waiting connection here is a coroutine parked in the loop, not a
thread, and the loop runs whichever socket is ready.

A connection is one coroutine (:meth:`Files.connection`): h11 parses the
request and frames the answer (Content-Length, or chunked with a trailer),
asyncio streams move the bytes. Nothing on the loop may block for long:
hashing a file of 1 MiB or more (~0.6 ms per MiB) runs on a small pool of
threads (hashlib releases the GIL), so it overlaps with sending. Making a
1 MiB block of content (~2.5 ms, once per name: ``content.block`` is cached)
holds the GIL wherever it runs, so it stays on the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
import socket
import struct
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, ThreadPoolExecutor
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

import h11

from workers import content

NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]"})
FAULTS = ("500", "short", "close", "stall", "badsum", "redirect")
MAX_LATENCY_S = 60.0
STALL_S = 60.0
PACE_CHUNK = 64 << 10  # a capped stream is written 64 KiB at a time, each on schedule
#: Hashing 64 MiB before answering takes ~40 ms here; bigger files go chunked.
HASH_FIRST_MAX = 64 << 20
MAX_HEAD = 64 << 10  # the largest request head accepted (http.server's line limit)
#: Files this big or bigger are hashed on a thread (1 MiB: ~0.6 ms). A hop to a thread
#: and back costs ~0.05 ms, more than hashing a 64 KB file (0.04 ms) on the loop.
OFF_LOOP_MIN = 1 << 20
HASHERS = 2  # threads that hash: a second core's worth, no more
READ = 64 << 10


def is_loopback_host(host_header: str | None) -> bool:
    """``127.0.0.1``, ``localhost`` or ``[::1]``, with or without a port."""
    host = (host_header or "").strip().lower()
    if host.startswith("["):
        host = host[: host.find("]") + 1]
    else:
        host = host.partition(":")[0]
    return host in LOOPBACK_HOSTS


async def serve(
    listener: socket.socket, *, test_harness: bool, max_size: int, counts: Any, backlog: int
) -> None:
    """Serve ``listener`` (bound and listening) until the process ends."""
    with ThreadPoolExecutor(HASHERS, thread_name_prefix="unfreeze-hash") as hasher:
        files = Files(test_harness=test_harness, max_size=max_size, counts=counts, hasher=hasher)
        server = await asyncio.start_server(
            files.connection, sock=listener, backlog=backlog, limit=MAX_HEAD
        )
        async with server:
            await server.serve_forever()


class _Reply:
    """One answer on its way: h11 frames it, the stream writer sends it.

    Every write waits for the socket to take the bytes (``drain``), so a slow
    client holds back its own connection only, and a closed one raises
    ``ConnectionResetError`` at the next write.
    """

    def __init__(self, conn: h11.Connection, writer: asyncio.StreamWriter) -> None:
        self.conn, self.writer = conn, writer

    async def _send(self, event: h11.Event) -> None:
        """A head or an end in one write: h11 makes it of many small pieces, one
        segment each if written apart."""
        data = self.conn.send(event)
        if data:
            self.writer.write(data)
            await self.writer.drain()

    async def head(self, status: int, fields: list[tuple[str, str]]) -> None:
        reason = HTTPStatus(status).phrase.encode()
        await self._send(h11.Response(status_code=status, headers=fields, reason=reason))

    async def data(self, part: memoryview) -> None:
        """The bytes as they are (h11 only frames them): a MiB joined is a MiB copied."""
        for piece in self.conn.send_with_data_passthrough(h11.Data(data=part)) or ():  # type: ignore[arg-type]
            self.writer.write(piece)
        await self.writer.drain()

    async def end(self, trailers: list[tuple[str, str]] | None = None) -> None:
        await self._send(h11.EndOfMessage(headers=trailers or []))

    async def plain(self, status: int, text: str) -> None:
        body = text.encode()
        fields = [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))]
        await self.head(status, fields)
        await self.data(memoryview(body))
        await self.end()

    async def redirect(self, location: str) -> None:
        await self.head(302, [("Location", location), ("Content-Length", "0")])
        await self.end()

    async def reset(self) -> None:
        """Send what is buffered, then drop the connection abruptly: a reset (RST), not an end."""
        self.writer.transport.set_write_buffer_limits(high=0)  # drain now waits for all of it
        await self.writer.drain()
        sock = self.writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.writer.transport.abort()


async def _request(conn: h11.Connection, reader: asyncio.StreamReader) -> h11.Request | None:
    """The next request's head (None: the client closed); its empty body is read too."""
    request = None
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            if request is not None:
                return request  # a body still to come: answered all the same, then closed
            conn.receive_data(await reader.read(READ))  # b"": the client closed
        elif isinstance(event, h11.Request):
            request = event
        elif isinstance(event, h11.EndOfMessage):
            return request
        elif isinstance(event, h11.ConnectionClosed):
            return None


async def _until_closed(reader: asyncio.StreamReader) -> None:
    while await reader.read(READ):
        pass


async def _due(started: float, sent: int, rate: float) -> None:
    """A token bucket one chunk deep: wait until ``sent`` bytes are within the cap."""
    ahead = sent / rate - (time.perf_counter() - started)
    if ahead > 0:
        await asyncio.sleep(ahead)


class Files:
    """What the server serves, and its count of files being served: one per loop."""

    def __init__(self, *, test_harness: bool, max_size: int, counts: Any, hasher: Executor) -> None:
        self.test_harness, self.max_size, self.hasher = test_harness, max_size, hasher
        self.counts = counts  # shared with the app: [files being served now, peak]
        self._digests: dict[tuple[int, int], str] = {}

    async def connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One client: its requests in turn (HTTP/1.1 keep-alive) until it or an answer ends."""
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD)
        try:
            while True:
                try:
                    request = await _request(conn, reader)
                except h11.RemoteProtocolError as exc:
                    if conn.our_state in (h11.IDLE, h11.SEND_RESPONSE):  # h11 lets us answer
                        reply = _Reply(conn, writer)
                        await reply.plain(exc.error_status_hint, f"bad request: {exc}")
                    return
                if request is None:
                    return
                await self._answer(request, _Reply(conn, writer), reader)
                if conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
                    return  # closed by the client's "Connection: close", a fault, a body
                conn.start_next_cycle()
        except (ConnectionError, TimeoutError):
            pass  # a client that goes away mid-file (a cancel, a closing app) is normal
        except Exception as exc:
            print(f"unfreeze server: {type(exc).__name__}: {exc}", file=sys.stderr)
        finally:
            writer.close()

    async def _answer(
        self, request: h11.Request, reply: _Reply, reader: asyncio.StreamReader
    ) -> None:
        host = next((v for k, v in request.headers if k == b"host"), b"").decode("latin-1")
        if request.method != b"GET":  # no body: a HEAD's answer must not have one
            await reply.head(501, [("Content-Length", "0")])
            return await reply.end()
        if not is_loopback_host(host):
            return await reply.plain(403, "forbidden: this server answers loopback names only")
        target = request.target.decode("latin-1")
        parts = urlsplit(target)
        if parts.path == "/health":
            return await reply.plain(200, "ok")
        hop = re.fullmatch(r"/redirect/(\d{1,2})/([^/]+)", parts.path)
        if hop and self.test_harness:
            left, name = int(hop[1]), hop[2]
            to = f"/redirect/{left - 1}/{name}" if left > 1 else f"/files/{name}"
            return await reply.redirect(f"{to}?{parts.query}")
        match = re.fullmatch(r"/files/([^/]+)", parts.path)
        if not match or not NAME_RE.fullmatch(match[1]) or ".." in match[1]:
            return await reply.plain(404, "no such file")
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        try:
            size = int(query.get("size", "0"))
            latency_s = float(query.get("latency_ms", "0")) / 1000
            rate = float(query.get("rate_mbps", "0")) * 1e6
        except ValueError:
            return await reply.plain(400, "size, latency_ms and rate_mbps must be numbers")
        # NaN fails every comparison, so it is refused here too.
        if not (0 <= size <= self.max_size):
            return await reply.plain(400, f"size must be between 0 and {self.max_size}")
        if not (0 <= latency_s <= MAX_LATENCY_S and rate >= 0):
            return await reply.plain(400, "latency_ms or rate_mbps out of range")
        fault = query.get("fault")
        if fault is not None and (not self.test_harness or fault not in FAULTS):
            return await reply.plain(400, "fault modes are for tests only")
        with self.serving() as ending:
            if latency_s:
                await asyncio.sleep(latency_s)  # the simulated network's first-byte latency
            if fault == "500":
                return await reply.plain(500, "simulated server error")
            if fault == "redirect":
                return await reply.redirect(target)
            await self._send_file(reply, reader, match[1], size, rate, fault, ending)

    async def _send_file(
        self,
        reply: _Reply,
        reader: asyncio.StreamReader,
        name: str,
        size: int,
        rate: float,
        fault: str | None,
        ending: Callable[[], None],
    ) -> None:
        seed = content.seed_for(name)
        digest = "0" * 64 if fault == "badsum" else await self.digest(seed, size)
        fields = [
            ("Content-Type", "application/octet-stream"),
            ("Content-Disposition", f'attachment; filename="{name}"'),
        ]
        if digest is None:
            fields += [("Transfer-Encoding", "chunked"), ("Trailer", "X-Content-SHA256")]
        else:
            fields += [("Content-Length", str(size)), ("X-Content-SHA256", digest)]
            if size == 0:
                ending()  # the head is all there is
        await reply.head(200, fields)
        if fault == "stall":  # send nothing more until the client gives up (closes) or STALL_S
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(_until_closed(reader), STALL_S)
            return
        limit = {"short": size // 2, "close": size // 3}.get(fault or "", size)
        sha = hashlib.sha256() if digest is None else None
        loop = asyncio.get_running_loop()
        sent, started = 0, time.perf_counter()
        for part in content.chunks(seed, limit, PACE_CHUNK if rate else content.BLOCK):
            if rate:
                await _due(started, sent, rate)
            if sha is None:
                if sent + len(part) == size:
                    ending()  # before the last bytes leave: see Files.serving
                await reply.data(part)
            else:  # hashed on a thread while the stream sends the same bytes
                hashing = loop.run_in_executor(self.hasher, sha.update, part)
                await reply.data(part)
                await hashing
            sent += len(part)
        if fault == "close":
            return await reply.reset()
        if fault == "short":
            return  # no end of message: the connection closes short
        if sha is None:
            return await reply.end()
        self.remember_digest(seed, size, sha.hexdigest())
        ending()
        await reply.end([("X-Content-SHA256", sha.hexdigest())])

    @contextlib.contextmanager
    def serving(self) -> Iterator[Callable[[], None]]:
        """Count one more file being served; keep the peak.

        The block gets ``ending``, to call just before it sends the file's last
        bytes (the count drops then, or at the latest when the block ends). Not
        after: a client that got every byte may already have released its
        semaphore and opened its next connection before this coroutine runs
        again. Dropping first orders it before anything the client does next.
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

    async def digest(self, seed: int, size: int) -> str | None:
        """The file's SHA-256 if known or cheap to compute now (big ones on a thread), else None."""
        known = self._digests.get((seed, size))
        if known is None and size <= HASH_FIRST_MAX:
            if size < OFF_LOOP_MIN:
                known = content.sha256(seed, size)
            else:
                loop = asyncio.get_running_loop()
                known = await loop.run_in_executor(self.hasher, content.sha256, seed, size)
        return known

    def remember_digest(self, seed: int, size: int, digest: str) -> None:
        if len(self._digests) >= 256:
            self._digests.clear()
        self._digests[(seed, size)] = digest


__all__ = ["FAULTS", "Files", "is_loopback_host", "serve"]
