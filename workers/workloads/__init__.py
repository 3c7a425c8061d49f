"""The workloads, each split into picklable tasks (see ``workers.core``)."""

from __future__ import annotations

from workers.core import Task
from workers.spec import RunSpec


def make_tasks(
    spec: RunSpec, *, base_url: str | None = None, folder: str | None = None
) -> list[Task]:
    """The tasks of ``spec``: ``base_url`` is the local server, ``folder`` where files go."""
    if spec.workload == "download":
        from workers.workloads import download

        return download.make_tasks(spec.with_(folder=folder), base_url)
    if spec.workload == "disk-write":
        from workers.workloads import disk

        if folder is None:
            raise ValueError("disk-write needs a folder")
        return disk.make_tasks(spec, folder)
    if spec.workload == "queue":
        from workers.workloads import handoff

        return handoff.make_tasks(spec)
    from workers.workloads import cpu

    fn = cpu.cpu_python if spec.workload == "cpu-python" else cpu.cpu_native
    return cpu.make_tasks(fn, spec)
