"""The workloads, each split into picklable tasks (see ``workers.core``).

Tasks that share something (a semaphore, a queue, the hazards lab's account,
locks and wait-for graph) name it in their kwargs; the back end makes it
(see ``workers.shared``), and the app reads the hazards lab's figures from
it (:func:`readout`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from workers.core import Task
from workers.spec import RunSpec


def make_tasks(
    spec: RunSpec, *, base_url: str | None = None, folder: str | None = None
) -> list[Task]:
    """The tasks of ``spec``: ``base_url`` is the local server, ``folder`` where files go."""
    if spec.workload == "download":
        from workers.workloads import download

        return download.make_tasks(spec.with_(folder=folder), base_url)
    if spec.workload == "race":
        from workers.workloads import race

        return race.make_tasks(spec)
    if spec.workload == "deadlock":
        from workers.workloads import deadlock

        return deadlock.make_tasks(spec)
    if spec.workload == "disk-write":
        from workers.workloads import disk

        if folder is None:
            raise ValueError("disk-write needs a folder")
        return disk.make_tasks(spec, folder)
    if spec.workload == "pipeline":
        from workers.workloads import pipeline

        return pipeline.make_tasks(spec, base_url, folder)
    if spec.workload == "queue":
        from workers.workloads import handoff

        return handoff.make_tasks(spec)
    from workers.workloads import cpu

    fn = cpu.cpu_python if spec.workload == "cpu-python" else cpu.cpu_native
    return cpu.make_tasks(fn, spec)


def readout(workload: str, shared: Mapping[str, Any]) -> dict[str, Any]:
    """What a hazards-lab run's shared objects hold now (``Run.shared``, once started):
    the race's expected, actual and lost, the deadlock's cycle and graph; {} otherwise."""
    if not shared:
        return {}
    if workload == "race":
        from workers.workloads import race

        return race.Account(**shared).readout()
    if workload == "deadlock":
        from workers.workloads import deadlock

        return deadlock.Bank(**shared).readout()
    return {}
