"""What the app does around a run, on its housekeeping thread, never the GUI thread.

Before a run: the folder and the other interpreter (checked again: they may have
changed since the form checked them; an interpreter the form asked about is a
cache hit), a temp folder, stale temp files of writers killed earlier, the
open-file limit, the local server, dask's first import. After it: the temp
folder, the stale files of workers a cancel killed, the server's count of
connections. Each of these blocks for a moment (starting the server takes
~200 ms); on the GUI thread, before or after the run's clock, it would be a
freeze charged to nobody.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from dataclasses import dataclass

from workers import limits, pythons
from workers.fields import check_folder
from workers.spec import RunSpec
from workers.workloads import disk


@dataclass(frozen=True)
class Prepared:
    """What the housekeeping thread got ready for a run."""

    spec: RunSpec
    folder: str | None = None
    temp_dir: str | None = None
    base_url: str | None = None
    error: str = ""


class Server:
    """The local download server, started on first use. It must be started from a
    thread that outlives it: its process dies with the thread that started it
    (see workers.procs), so the controller's one long-lived housekeeping thread."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.server = None

    def url(self) -> str:
        """Its address, starting it if need be; its peak count starts again from here."""
        with self.lock:
            if self.server is None:
                from workers.server import LocalServer

                server = LocalServer()
                server.start()
                self.server = server
            self.server.reset_peak()  # the peak it reports at the end is this run's
            return self.server.base_url

    def peak(self) -> int | None:
        """The most files it served at once since ``url()``."""
        with self.lock:
            return None if self.server is None else self.server.peak

    def stop(self) -> None:
        with self.lock:
            server, self.server = self.server, None
        if server is not None:
            server.stop()


def prepare(spec: RunSpec, server: Server) -> Prepared:
    """Everything ``spec`` needs before it starts; a run that cannot start is a message."""
    try:
        folder, temp_dir, base_url = spec.folder, None, None
        if spec.workload in ("disk-write", "pipeline") and folder is None:
            folder = temp_dir = tempfile.mkdtemp(prefix="unfreeze-")
        elif folder is not None and spec.io_bound:
            check_folder(folder)
            disk.sweep_stale(folder)
        if spec.io_bound:  # a socket or a file per worker, all open at once
            limits.for_connections(spec.workers)
        if spec.workload in ("download", "pipeline") and not spec.urls:
            base_url = server.url()
        if spec.python:  # asked by the form, cached: asked again only if the file changed
            pythons.inspect(spec.python)
        if spec.backend == "dask":  # its first import, ~0.3-1 s, once: not the run's to pay
            import distributed  # noqa: F401
        return Prepared(spec, folder, temp_dir, base_url)
    except Exception as exc:
        return Prepared(spec, error=f"{spec.workload} on {spec.backend} could not start: {exc}")


def tidy(spec: RunSpec, temp_dir: str | None) -> None:
    """After a run: its temp folder, or the temp files of its workers a cancel killed."""
    if temp_dir:
        shutil.rmtree(temp_dir, ignore_errors=True)
    elif spec.io_bound and spec.folder:
        disk.sweep_stale(spec.folder)
