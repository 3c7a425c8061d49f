"""The dask back end on a scheduler given by address, and what it refuses by name.

The contract tests (test_engine, test_faults, test_readback, test_shutdown) run dask
on a LocalCluster; here a separate ``dask scheduler`` and ``dask worker`` process pair
on loopback, started and stopped by the test, as a user's own cluster would be.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.helpers import drive, finals
from workers import backends, workloads
from workers.fields import SpecError
from workers.spec import parse_spec

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()[1]
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"nothing listens on {port} after {timeout} s")


@pytest.fixture
def scheduler_and_worker():
    """``dask scheduler`` and one ``dask worker`` (no nanny, 2 threads) on loopback; the
    worker imports this checkout's ``workers`` package, as any cluster's workers must."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DASK_LOGGING__DISTRIBUTED": "error"}
    cli = [sys.executable, "-m"]
    scheduler = subprocess.Popen(
        [*cli, "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", str(port),
         "--no-dashboard"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    worker = None
    try:
        wait_for_port(port, scheduler)
        worker = subprocess.Popen(
            [*cli, "distributed.cli.dask_worker", f"tcp://127.0.0.1:{port}", "--no-nanny",
             "--nthreads", "2", "--host", "127.0.0.1", "--no-dashboard"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        yield f"tcp://127.0.0.1:{port}", worker
    finally:
        # The worker first, while its scheduler still answers: a worker whose scheduler
        # is closing at the same moment tries to reach it again, and once outlived 10 s.
        for proc in (worker, scheduler):
            if proc is not None:
                proc.terminate()
                try:
                    proc.communicate(timeout=10)
                except subprocess.TimeoutExpired:  # dask's own shutdown, not the app's
                    proc.kill()
                    proc.communicate()


def test_a_run_on_a_scheduler_given_by_address_verifies_and_leaves_it_running(
    qtbot, scheduler_and_worker
) -> None:
    address, worker = scheduler_and_worker
    spec = parse_spec(
        {"workload": "cpu-python", "backend": "dask", "workers": 2, "tasks": 4,
         "size": "1MB", "scheduler": address.removeprefix("tcp://")}
    )  # fmt: skip
    assert spec.scheduler == address
    run = backends.start("dask", workloads.make_tasks(spec), spec.workers, scheduler=spec.scheduler)
    events = drive(qtbot, run, timeout_ms=30_000)
    done = finals(events)
    assert [done[i].kind for i in range(4)] == ["done"] * 4, done
    assert {e.pid for e in events if e.kind == "started"} == {worker.pid}  # ran over there
    assert run.workers == 2  # the scheduler's worker threads, not the number asked for
    assert run.worker_processes() == []  # not ours: never counted, never killed
    assert worker.poll() is None  # closing the run closed its client, not their cluster


def test_an_unreachable_scheduler_fails_the_run_with_a_sentence_within_seconds(qtbot) -> None:
    address = f"tcp://127.0.0.1:{free_port()}"  # nothing listens there
    spec = parse_spec({"workload": "cpu-native", "backend": "dask", "workers": 2,
                       "tasks": 2, "size": "1MB", "scheduler": address})  # fmt: skip
    t0 = time.perf_counter()
    events = drive(qtbot, backends.start("dask", workloads.make_tasks(spec), 2, scheduler=address))
    took = time.perf_counter() - t0
    done = finals(events)
    assert {e.kind for e in done.values()} == {"failed"}
    assert done[0].detail == f"could not reach the dask scheduler at {address}: connection refused"
    assert took < 1.0, took


@pytest.mark.parametrize(
    ("raw", "field", "words"),
    [
        ({"scheduler": "tcp://127.0.0.1"}, "scheduler", "is not an address"),
        ({"scheduler": "127.0.0.1:99999"}, "scheduler", "port"),
        ({"scheduler": "http://127.0.0.1:8786"}, "scheduler", "tcp:// or tls://"),
        ({"scheduler": "tcp://a b:8786"}, "scheduler", "is not an address"),
        ({"scheduler": "127.0.0.1:8786", "backend": "threading"}, "scheduler", "dask back end"),
        ({"workload": "race"}, "backend", "dask runs no race or deadlock"),
        ({"workload": "deadlock"}, "backend", "round trip to the scheduler"),
    ],
)
def test_bad_schedulers_and_the_hazards_lab_are_refused_by_name(raw, field, words) -> None:
    with pytest.raises(SpecError) as err:
        parse_spec({"workload": "cpu-python", "backend": "dask", "workers": 2} | raw)
    assert err.value.field == field and words in err.value.message, err.value


def test_a_bench_of_only_dask_on_the_hazards_lab_is_refused_not_a_hang() -> None:
    from gui.bench import specs_from_args
    from gui.cli import parser

    args = parser().parse_args(["bench", "--workloads", "race", "--backends", "dask"])
    with pytest.raises(SpecError) as err:
        specs_from_args(args)
    assert err.value.field == "backends" and "dask runs no race" in err.value.message


def spawned_workers(parent: psutil.Process) -> list[psutil.Process]:
    """``parent``'s multiprocessing children, as started (``--multiprocessing-fork``)."""
    found = []
    for child in parent.children():
        try:
            if "--multiprocessing-fork" in child.cmdline():
                found.append(child)
        except psutil.Error:  # exited meanwhile
            continue
    return found


def test_a_close_while_the_cluster_s_workers_boot_ends_at_once_leaving_no_process_or_file(
    qtbot, tmp_path, capfd
) -> None:
    """A worker process boots for a while (a fresh Python importing distributed), and
    dask closes a worker only once it is up: a close that lands meanwhile (a Cancel,
    the window closed, SIGTERM) waited for the boot: 1.1-1.3 s here with 6 workers
    booting on 2 cores. It kills the booting workers instead, which ran no task: the
    run ends in 0.06-0.12 s, all cancelled, no file, no process left, nothing said."""
    spec = parse_spec({"workload": "disk-write", "backend": "dask", "workers": 6, "tasks": 12,
                       "size": "1MB"})  # fmt: skip
    run = backends.start("dask", workloads.make_tasks(spec, folder=str(tmp_path)), spec.workers)
    booting: list[psutil.Process] = []

    def spawned() -> bool:
        booting.extend(spawned_workers(psutil.Process()))
        return bool(booting)

    try:
        qtbot.waitUntil(spawned, timeout=10_000)
    finally:
        t0 = time.perf_counter()
        run.close(timeout=3.0)
        took = time.perf_counter() - t0
    booting += spawned_workers(psutil.Process())  # any spawned after the first was seen
    _, alive = psutil.wait_procs(booting, timeout=0.2)  # killed, reaped by dask's watcher
    err = capfd.readouterr().err  # the workers' too: they write to this process's stderr
    print(f"closed {took:.3f} s after a worker process was spawned")
    assert took < 0.6, f"the close waited {took:.2f} s for the workers to boot"
    assert alive == [], f"worker processes left running: {alive}"
    assert {e.kind for e in run.verdicts.values()} == {"cancelled"}, run.verdicts
    assert os.listdir(tmp_path) == []  # nothing written, not even a temp file
    assert "Traceback" not in err and "Exception" not in err, err
