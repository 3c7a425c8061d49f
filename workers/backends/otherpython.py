"""``threading`` and ``thread-pool`` in another interpreter (``--python PATH``).

The window needs PySide6, which has no build for a free-threaded CPython
(3.13t, 3.14t). So the window stays on this interpreter, and the thread back
ends' work runs in a helper process of the other one (:mod:`workers.helper`):
the same tasks, on the same back end's threads, there. Its events come back
over one channel, the helper's stdout (pickled frames), read by one thread
here that hands each to ``Run.post``; from there they reach the window as
every back end's do (see :mod:`workers.backends.base`).

Like the process back end's workers, the helper is started from a thread that
outlives it, runs below the window's priority (it lowers its own first thing),
dies with the app (``PR_SET_PDEATHSIG``), says its own pid, and is killed if it
ignores a cancel for :data:`CANCEL_GRACE_S`.
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import subprocess
import tempfile
import threading
import time
from typing import IO, Any

from workers import helper, pythons
from workers.backends.base import Run
from workers.core import Task, make_event
from workers.fields import SpecError

#: How long a cancelled helper gets to stop its tasks at a chunk boundary before being killed.
CANCEL_GRACE_S = 1.5
#: ``-I``: none of the user's PYTHON* variables or site folder, no current folder on the path.
BOOT = (
    "import sys, json; sys.path[:0] = [sys.argv[1]]; sys.path += json.loads(sys.argv[2]); "
    "from workers.helper import main; main()"
)


class OtherPythonRun(Run):
    """The tasks on ``backend`` (threading or thread-pool) in the interpreter at ``python``."""

    def __init__(
        self, tasks: list[Task], workers: int, *, python: str, backend: str, workload: str
    ) -> None:
        super().__init__(tasks, workers)
        self.python, self.backend, self.workload = python, backend, workload
        self.proc: subprocess.Popen[bytes] | None = None
        self.hello: dict[str, Any] = {}  # the helper's hello: pid, version, GIL
        self.latest: dict[str, Any] = {}  # its last readout of the shared objects
        self.cancelled_at: float | None = None
        self.lock = threading.Lock()  # the helper's stdin: the job, then a cancel
        self.job_sent = False
        self.errors = tempfile.TemporaryFile()  # its stderr: the reason, if it dies

    def start(self) -> None:
        """No shared objects here: the helper makes them, of threading's kind, there."""
        self.started_at = time.perf_counter()
        self._start()

    def _start(self) -> None:
        self.thread = threading.Thread(target=self._main, name="python-helper")
        self.thread.start()

    def _main(self) -> None:
        """Start the helper, send the job, hand its frames over until it ends, reap it."""
        # At the GUI's priority: this thread unpickles the events holding the GIL, and a
        # low-priority thread holding it would stall the GUI thread (see processes.py).
        # The helper lowers its own priority first thing.
        try:
            self.proc = proc = subprocess.Popen(  # noqa: S603 - the interpreter the user chose
                [self.python, "-I", "-c", BOOT, pythons.ROOT, json.dumps(pythons.pure_paths())],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self.errors,
            )
        except OSError as exc:
            self._fail_the_rest(f"could not start {self.python}: {exc.strerror or exc}")
            return
        stdin, stdout = proc.stdin, proc.stdout
        if stdin is None or stdout is None:  # cannot happen with PIPE: for the type checker
            return
        job = {"tasks": self.tasks, "workers": self.workers, "backend": self.backend}
        job |= {"workload": self.workload, "app_pid": os.getpid()}
        with self.lock, contextlib.suppress(OSError):
            helper.write_frame(stdin, job)
            self.job_sent = True
            if self.cancel_token.is_set():
                _say_cancel(stdin)
        with stdout:
            self._read(stdout)
        proc.wait()
        self._fail_the_rest(self._death(proc.returncode))

    def _read(self, out: IO[bytes]) -> None:
        while True:
            try:
                kind, item = helper.read_frame(out)
            except (EOFError, OSError, pickle.UnpicklingError):
                return
            if kind == "event":
                self.post(item)
            elif kind == "readout":
                self.latest = item
            elif kind == "hello":
                self.hello = item

    def _death(self, status: int) -> str:
        """Why tasks that never reported ended: the helper's exit, and its last words."""
        try:
            self.errors.seek(0)
            tail = self.errors.read()[-4000:].decode(errors="replace")
        except ValueError:  # closed: the run was closed while the helper would not end
            tail = ""
        last = [x for x in tail.splitlines() if x]
        said = f": {last[-1][:300]}" if last else ""
        return f"the {_name(self.hello, self.python)} helper exited with status {status}{said}"

    def _fail_the_rest(self, reason: str) -> None:
        """Every task still without a verdict: cancelled after a cancel, else failed."""
        cancelled = self.cancel_token.is_set()
        for task in self.tasks:
            if task.index not in self.verdicts:
                if cancelled:
                    self.post(make_event("cancelled", task.index))
                else:
                    self.post(make_event("failed", task.index, detail=reason))

    # -- the interface ------------------------------------------------------------
    def cancel(self) -> None:
        if self.cancelled_at is not None:
            return
        super().cancel()
        self.cancelled_at = time.perf_counter()
        with self.lock:
            if self.job_sent and self.proc is not None and self.proc.stdin is not None:
                with contextlib.suppress(OSError, ValueError):
                    _say_cancel(self.proc.stdin)

    def _collect(self) -> None:
        if self.cancelled_at is None or self.finished:
            return
        if time.perf_counter() > self.cancelled_at + CANCEL_GRACE_S:
            self._kill()  # it ignored the cancel: its tasks end as cancelled

    def _kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()

    def _close(self, deadline: float) -> None:
        grace = deadline
        if self.cancelled_at is not None:
            grace = min(deadline, self.cancelled_at + CANCEL_GRACE_S)
        self.thread.join(max(0.0, grace - time.perf_counter()))
        if self.thread.is_alive():  # a task still runs: the helper ignored the cancel
            self._kill()
            self.thread.join(max(0.0, deadline - time.perf_counter()))
        if self.proc is not None and self.proc.stdin is not None:
            with self.lock, contextlib.suppress(OSError):
                self.proc.stdin.close()
        self.errors.close()

    def worker_processes(self) -> list[int]:
        pid = self.hello.get("pid")
        alive = pid is not None and self.proc is not None and self.proc.poll() is None
        return [int(pid)] if pid is not None and alive else []

    def readout(self, workload: str) -> dict[str, Any]:
        return {k: v for k, v in self.latest.items() if k != "depth"}

    def queue_depth(self) -> int | None:
        depth = self.latest.get("depth")
        return None if depth is None else int(depth)

    def interpreter(self) -> dict[str, object]:
        """What the helper said of itself (its GIL as measured once the tasks' modules were
        imported), or, if it never said, what the interpreter answered when asked."""
        if self.hello:
            said = {k: v for k, v in self.hello.items() if k != "pid"}
            return said | {"python_path": self.python}
        try:  # asked when the job was validated: cached, unless the file changed since
            return pythons.inspect(self.python).facts()
        except SpecError as exc:  # gone, or no longer a Python: the record says which file
            return {
                "python": f"? ({exc.message})",
                "python_version": "",
                "python_path": self.python,
            }


def _say_cancel(stdin: IO[bytes]) -> None:
    stdin.write(b"c")
    stdin.flush()


def _name(facts: dict[str, Any], python: str) -> str:
    return str(facts.get("python") or python)
