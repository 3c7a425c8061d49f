"""The helper process: a run's tasks on threads of another interpreter.

Started by :mod:`workers.backends.otherpython` as ``PATH -I -c`` with the
project's folder first on its path. It reads one job from its stdin (the
tasks, the back end, the workers), runs it with the very back end the app
would use (``threading`` or ``thread-pool``, :mod:`workers.backends.threads`),
and writes what happens to its stdout, one frame at a time:

- ``("hello", facts)``: its pid, version, and whether its GIL is on, measured
  once the tasks' modules are imported (a C extension may turn a
  free-threaded interpreter's GIL back on as it loads);
- ``("event", Event)``: every event of its run, as the run's drain gives them;
- ``("readout", dict)``: what the run's shared objects hold (the race's
  balance, the deadlock's graph, the queue's depth), read by this process from
  the memory its threads write, while it runs and once more at the end.

Anything on its stdin after the job, or its end, cancels the run. Frames are
pickles (protocol 5, which every Python since 3.8 reads) behind a 4-byte length.
"""

from __future__ import annotations

import os
import pickle
import signal
import struct
import sys
import threading
import time
from typing import IO, Any

HEADER = struct.Struct("!I")
#: How often the run's shared objects are read and sent while it runs.
READOUT_S = 0.05


def write_frame(out: IO[bytes], item: object) -> None:
    data = pickle.dumps(item, protocol=5)
    out.write(HEADER.pack(len(data)) + data)
    out.flush()


def read_frame(source: IO[bytes]) -> Any:
    """The next frame's object; EOFError once the other side is gone."""
    head = _exactly(source, HEADER.size)
    data = _exactly(source, HEADER.unpack(head)[0])
    return pickle.loads(data)  # noqa: S301 - from the app that started us, over our own pipe


def _exactly(source: IO[bytes], n: int) -> bytes:
    """``n`` bytes, however the pipe cuts them (an unbuffered read may return fewer)."""
    parts, left = [], n
    while left:
        part = source.read(left)
        if not part:
            raise EOFError
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


def main() -> None:
    from workers import procs

    procs.lower_priority()  # below the window's, as worker processes run, imports included
    # Our stdout is the channel: anything a task prints goes to stderr instead.
    channel = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is the app's to handle
    # Unbuffered: a buffered reader would read ahead past the job (a cancel with it), and
    # its lock, held by the thread waiting for a cancel, would hold up our exit.
    stdin = os.fdopen(sys.stdin.fileno(), "rb", buffering=0, closefd=False)
    job = read_frame(stdin)
    procs.die_with_parent(job["app_pid"])  # even a SIGKILLed app takes us along
    from workers import pythons, workloads
    from workers.backends.threads import ThreadingRun, ThreadPoolRun

    facts = pythons.here().facts() | {"pid": os.getpid()}
    write_frame(channel, ("hello", facts))
    run_class = ThreadingRun if job["backend"] == "threading" else ThreadPoolRun
    run = run_class(job["tasks"], job["workers"])
    news = threading.Event()
    inbox_append = run.inbox.append

    def post(event: Any) -> None:
        inbox_append(event)
        news.set()

    run.post = post  # type: ignore[method-assign]
    waiter = threading.Thread(target=_cancel_on_input, args=(stdin, run), daemon=True)
    waiter.start()
    run.start()
    workload = job["workload"]
    next_readout = 0.0
    while True:
        news.wait(READOUT_S)
        news.clear()
        for event in run.drain():
            write_frame(channel, ("event", event))
        if time.perf_counter() >= next_readout or run.finished:
            write_frame(channel, ("readout", _readout(workloads, workload, run.shared)))
            next_readout = time.perf_counter() + READOUT_S
        if run.finished:
            break
    run.close()
    write_frame(channel, ("readout", _readout(workloads, workload, run.shared)))
    channel.close()


def _readout(workloads: Any, workload: str, shared: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = dict(workloads.readout(workload, shared))
    queue = shared.get("queue")
    if queue is not None:
        out["depth"] = queue.qsize()
    return out


def _cancel_on_input(stdin: IO[bytes], run: Any) -> None:
    """Any byte after the job, or the pipe's end (the app closed it, or died), cancels."""
    stdin.read(1)
    run.cancel()
