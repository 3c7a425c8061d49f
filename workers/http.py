"""A small streaming HTTP/1.1 GET client: h11 reads the protocol, our drivers move the bytes.

Why not urllib or httpx: a download must stop within one chunk when
cancelled and notice a stalled server, so every wait (connect, TLS handshake,
each read) lasts at most ``POLL_S`` before the cancel token is looked at
again (a timeout on ``socket.makefile`` would leave its buffer inconsistent);
and the asyncio back end needs the same behaviour without ever blocking its
loop. So the two drivers here, :func:`get` on a non-blocking socket and
:func:`aget` on an asyncio ``BufferedProtocol``, are our own.

The protocol itself (h11, redirects, every refusal as a learner's sentence)
is :mod:`workers.exchange`; one :class:`Exchange` serves both drivers.

Speed: both drivers read into one reused 1 MiB buffer (``recv_into``, and a
``BufferedProtocol`` for asyncio), then give it to h11 in ``FEED``-sized
pieces, because h11 copies every piece three times and big copies cost page
faults (see ``FEED``). SHA-256 (~1.7 GB/s here) stays what bounds a verified
download.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import os
import selectors
import socket
import ssl
import time
from collections.abc import Awaitable
from typing import TypeVar, cast

from workers.core import CancelToken, TaskError, checkpoint, os_reason
from workers.exchange import MAX_REDIRECTS, Exchange, Head, Sink

RECV = 1 << 20  # one read: large enough for GB/s, small enough to cancel within a chunk
#: A connection's first buffer. Zero-filled, a buffer is resident memory: 1 MiB each
#: made 1 000 connections cost 1.1 GB. A buffer grows to RECV once a read fills it
#: (a fast, big transfer); small or throttled files never need more.
FIRST_RECV = 64 << 10
POLL_S = 0.2  # longest wait between two looks at the cancel token
_IN_PROGRESS = {errno.EINPROGRESS, errno.EWOULDBLOCK, getattr(errno, "WSAEWOULDBLOCK", -1)}
T = TypeVar("T")


def _connect_error(exc: OSError, host: str, port: int, timeout: float) -> TaskError:
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    if isinstance(exc, socket.gaierror):
        return TaskError(f"cannot resolve the host name {host!r} ({os_reason(exc)})")
    if isinstance(exc, ConnectionRefusedError):
        return TaskError(f"connection refused by {where}")
    if isinstance(exc, TimeoutError):
        return TaskError(f"no answer from {where} within {timeout:g} s")
    if isinstance(exc, ssl.SSLError):
        return TaskError(f"TLS error with {host}: {os_reason(exc)}")
    return TaskError(f"cannot connect to {where}: {os_reason(exc)}")


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One shared default context: loading the CA store takes ~10 ms."""
    return ssl.create_default_context()


# -- the sync driver ----------------------------------------------------------


def _wait(sock: socket.socket, event: int, cancel: CancelToken, deadline: float) -> None:
    """Wait until ``sock`` is ready, looking at ``cancel`` every POLL_S."""
    with selectors.DefaultSelector() as selector:
        selector.register(sock, event)
        while not selector.select(POLL_S):
            checkpoint(cancel)
            if time.monotonic() > deadline:
                raise TimeoutError


def _open_socket(host: str, port: int, cancel: CancelToken, deadline: float) -> socket.socket:
    """A connected non-blocking socket; each address in turn, as create_connection does."""
    error: OSError = OSError(f"no address for {host}")
    # Name resolution itself cannot be interrupted; it is usually quick.
    for family, kind, proto, _, address in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        sock = socket.socket(family, kind, proto)
        try:
            sock.setblocking(False)
            code = sock.connect_ex(address)
            if code in _IN_PROGRESS:
                _wait(sock, selectors.EVENT_WRITE, cancel, deadline)
                code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if code:
                raise OSError(code, os.strerror(code))  # the matching subclass, e.g. refused
            return sock
        except TimeoutError:
            sock.close()
            raise
        except OSError as exc:
            sock.close()
            error = exc
        except BaseException:
            sock.close()
            raise
    raise error


def _handshake(
    sock: socket.socket, host: str, cancel: CancelToken, deadline: float
) -> ssl.SSLSocket:
    tls = _tls_context().wrap_socket(sock, server_hostname=host, do_handshake_on_connect=False)
    try:
        while True:
            try:
                tls.do_handshake()
                return tls
            except ssl.SSLWantReadError:
                _wait(tls, selectors.EVENT_READ, cancel, deadline)
            except ssl.SSLWantWriteError:
                _wait(tls, selectors.EVENT_WRITE, cancel, deadline)
    except BaseException:
        tls.close()
        raise


def _connect(host: str, port: int, tls: bool, cancel: CancelToken, timeout: float) -> socket.socket:
    deadline = time.monotonic() + timeout
    try:
        sock = _open_socket(host, port, cancel, deadline)
        if tls:
            sock = _handshake(sock, host, cancel, deadline)
    except OSError as exc:
        raise _connect_error(exc, host, port, timeout) from None
    sock.settimeout(POLL_S)
    return sock


def get(url: str, sink: Sink, cancel: CancelToken, *, timeout: float = 10.0) -> Head:
    """GET ``url`` into ``sink``, following redirects; cancel within POLL_S.

    ``timeout`` bounds connecting and any silence from the server after that.
    """
    buffer = bytearray(FIRST_RECV)
    view = memoryview(buffer)
    for hops in range(MAX_REDIRECTS + 1):
        exchange = Exchange(url, hops, sink, timeout)
        with _connect(exchange.host, exchange.port, exchange.tls, cancel, timeout) as sock:
            try:
                sock.sendall(exchange.request)
            except OSError as exc:
                raise exchange.broken(exc) from None
            while not exchange.done:
                checkpoint(cancel)
                try:
                    n = sock.recv_into(buffer)
                except TimeoutError:
                    exchange.idle()
                    continue
                except OSError as exc:
                    raise exchange.broken(exc) from None
                exchange.received(view[:n])
                if n == len(buffer) < RECV:  # it filled: the data comes faster than we read
                    buffer = bytearray(RECV)
                    view = memoryview(buffer)
        if exchange.redirect is None:
            return exchange.head
        url = exchange.redirect
    raise AssertionError("unreachable: the last hop either answers or raises")


# -- the async driver ---------------------------------------------------------


class _Pipe(asyncio.BufferedProtocol):
    """``recv_into`` for asyncio: the transport fills one reused buffer.

    asyncio streams copy each chunk twice (into their buffer, then out as
    bytes) before h11 copies it again; here the transport writes straight into
    one buffer. Reading pauses while it is full and resumes once its bytes were
    taken.
    """

    def __init__(self) -> None:
        self.view = memoryview(bytearray(FIRST_RECV))  # grows to RECV once filled
        self.taken = self.filled = 0
        self.eof = self.paused = False
        self.error: Exception | None = None
        self.waiter: asyncio.Future[None] | None = None
        self.lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # TCP or TLS: both read and write

    def get_buffer(self, sizehint: int) -> memoryview:
        return self.view[self.filled :]

    def buffer_updated(self, nbytes: int) -> None:
        self.filled += nbytes
        if self.filled == len(self.view):
            self.transport.pause_reading()
            self.paused = True
        self.wake()

    def eof_received(self) -> bool:
        self.eof = True
        self.wake()
        return False  # let the transport close itself

    def connection_lost(self, exc: Exception | None) -> None:
        self.eof, self.error = True, exc
        self.wake()
        if not self.lost.done():
            self.lost.set_result(None)

    def wake(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    async def recv(self, timeout: float) -> memoryview | None:
        """The bytes that arrived (empty: the end), or None after ``timeout`` of silence
        or when woken to look at the cancel token (:func:`_watch`).

        The view is valid until the next call.
        """
        if self.taken == self.filled:
            self.taken = self.filled = 0
            if self.paused:
                self.paused = False
                if len(self.view) < RECV:  # it filled: the data comes faster than we read
                    self.view = memoryview(bytearray(RECV))
                self.transport.resume_reading()
            if not self.eof:
                self.waiter = asyncio.get_running_loop().create_future()
                try:
                    await asyncio.wait_for(self.waiter, timeout)
                except TimeoutError:
                    return None
                finally:
                    self.waiter = None
                if self.taken == self.filled and not self.eof:
                    return None  # woken with nothing: the run may be cancelled
        if self.taken < self.filled:
            piece = self.view[self.taken : self.filled]
            self.taken = self.filled
            return piece
        if self.error is not None:
            raise self.error
        return self.view[:0]

    async def close(self, *, abort: bool) -> None:
        if abort:  # no polite TLS goodbye to a server that may never answer it
            self.transport.abort()
        else:
            self.transport.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self.lost), POLL_S)


#: The pipes reading under each cancel token (by id; the token is kept with them), and
#: the watcher task that wakes them.
_reading: dict[int, tuple[CancelToken, set[_Pipe], asyncio.Task[None]]] = {}


def _watch(cancel: CancelToken, pipe: _Pipe) -> None:
    """Have ``pipe`` woken once ``cancel`` is set.

    One watcher per token looks at it every POLL_S and wakes the pipes reading
    under it, so a pipe waits for data (or for its silence timeout) with no timer
    of its own: 5 000 idle connections cost one wake-up every POLL_S, not 5 000
    (each a ``wait_for`` timer, which kept the loop seconds behind at that scale).
    """
    entry = _reading.get(id(cancel))
    if entry is None:
        pipes: set[_Pipe] = set()
        watcher = asyncio.get_running_loop().create_task(
            _watcher(cancel, pipes), name="cancel-watcher"
        )
        entry = _reading[id(cancel)] = (cancel, pipes, watcher)
    entry[1].add(pipe)


async def _watcher(cancel: CancelToken, pipes: set[_Pipe]) -> None:
    try:
        while pipes:  # ends with the last pipe; the next one starts another
            await asyncio.sleep(POLL_S)
            if cancel.is_set():
                for pipe in pipes:
                    pipe.wake()
    finally:
        _reading.pop(id(cancel), None)


def _unwatch(cancel: CancelToken, pipe: _Pipe) -> None:
    entry = _reading.get(id(cancel))
    if entry is not None:
        entry[1].discard(pipe)


async def _polled(aw: Awaitable[T], cancel: CancelToken, deadline: float) -> T:
    """Await ``aw``, looking at ``cancel`` every POLL_S; TimeoutError after ``deadline``."""
    task = asyncio.ensure_future(aw)
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=POLL_S)
            if done:
                return task.result()
            checkpoint(cancel)
            if time.monotonic() > deadline:
                raise TimeoutError
    finally:
        task.cancel()  # a no-op once done; else asyncio closes the half-open socket


async def _aconnect(host: str, port: int, tls: bool, cancel: CancelToken, timeout: float) -> _Pipe:
    loop = asyncio.get_running_loop()
    connecting = loop.create_connection(_Pipe, host, port, ssl=_tls_context() if tls else None)
    try:
        _, pipe = await _polled(connecting, cancel, time.monotonic() + timeout)
    except OSError as exc:
        raise _connect_error(exc, host, port, timeout) from None
    return pipe


async def aget(url: str, sink: Sink, cancel: CancelToken, *, timeout: float = 10.0) -> Head:
    """The asyncio twin of :func:`get`: the same exchange over an asyncio transport.

    It never blocks the loop, and sees ``cancel`` within POLL_S: connecting
    gives up after POLL_S to look at it, and a watcher shared by every pipe of
    the run wakes the reading ones (:func:`_watch`). It suits a loop that runs
    on the GUI thread.
    """
    for hops in range(MAX_REDIRECTS + 1):
        exchange = Exchange(url, hops, sink, timeout)
        pipe = await _aconnect(exchange.host, exchange.port, exchange.tls, cancel, timeout)
        finished = False
        _watch(cancel, pipe)
        try:
            pipe.transport.write(exchange.request)
            while not exchange.done:
                checkpoint(cancel)
                try:
                    data = await pipe.recv(timeout)
                except OSError as exc:
                    raise exchange.broken(exc) from None
                if data is None:
                    exchange.idle()
                else:
                    exchange.received(data)
            finished = exchange.redirect is None
        finally:
            _unwatch(cancel, pipe)
            await pipe.close(abort=not finished)
        if exchange.redirect is None:
            return exchange.head
        url = exchange.redirect
    raise AssertionError("unreachable: the last hop either answers or raises")


__all__ = ["MAX_REDIRECTS", "POLL_S", "Head", "Sink", "aget", "get"]
