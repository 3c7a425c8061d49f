"""A LocalCluster whose workers' start-up a close cuts short, instead of waiting for it.

dask closes a worker process only once it is up: ``WorkerProcess.kill`` first
waits for a start in progress, and ``SpecCluster.close`` waits for the lock its
start-up holds until every worker has joined. A close, a Cancel or a SIGTERM
that lands while the workers still boot (a fresh Python importing distributed:
0.5-2 s, longer on a busy machine) thus waited for them to be up, then closed
them: a run of 4 workers closed 1.0-2.0 s after its first worker process was
spawned, and the app exited 2.1-2.4 s after a SIGTERM at that moment (more
under load, over the 3 s every back end keeps).

Here each worker's nanny (in the app's process, as in any LocalCluster) is a
:class:`BootingNanny`, made through ``LocalCluster(worker_class=...)``. It
starts no worker process once its run said :meth:`Boot.stop`, and it says
whether its process is still booting. The run kills those processes at once
(:meth:`Boot.cut_short`): they are the app's children, and they ran no task
(one that starts in the moment before its nanny hears the worker is up finds
the run's cancel token set, and ends at once). The nanny sees its process die
and fails its start; dask's own close then has nothing to wait for: the same
run closed in 0.14-0.20 s, the app exited 0.25-0.48 s after the SIGTERM.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from typing import Any

from distributed import Nanny, Status

from workers import procs

#: How often a close looks again for a worker process that is about to be spawned.
LOOK_S = 0.01


class Boot:
    """The nannies of one LocalCluster, and whether its run still wants workers."""

    def __init__(self) -> None:
        self.stopped = threading.Event()
        self.nannies: list[BootingNanny] = []  # appended on the cluster's loop thread

    def pids(self) -> list[int]:
        """The worker processes spawned so far and still running (booting or up)."""
        found = (getattr(nanny, "pid", None) for nanny in list(self.nannies))
        return [pid for pid in found if pid]

    def stop(self) -> None:
        """No worker process starts from now on (a restart neither)."""
        self.stopped.set()

    def cut_short(self, deadline: float) -> None:
        """Stop, then SIGKILL every worker process that is still booting, until none is
        (a nanny may be spawning one right now) or ``deadline``."""
        self.stop()
        killed: set[int] = set()
        while time.perf_counter() < deadline:
            booting = [n for n in list(self.nannies) if n.booting]
            if not booting:
                break
            for nanny in booting:
                pid = getattr(nanny, "pid", None)
                if pid and pid not in killed and procs.running_child(pid):
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                    killed.add(pid)
            time.sleep(LOOK_S)


class BootingNanny(Nanny):
    """A nanny that says while its worker process boots, and starts none once stopped.

    ``booting`` holds from before the process is spawned until the worker has
    joined the scheduler and told its nanny so.
    """

    def __init__(self, *args: Any, boot: Boot, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.boot = boot
        self.booting = False
        boot.nannies.append(self)

    async def instantiate(self) -> Status:
        self.booting = True  # before the look: a close that finds it False finds no spawn
        if self.boot.stopped.is_set():
            self.booting = False
            return Status.failed  # the nanny's start fails: its run is closing
        try:
            return await super().instantiate()
        finally:
            self.booting = False
