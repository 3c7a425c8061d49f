"""The ``unfreeze`` command: the window, or ``unfreeze bench``.

Imports stay light until a command runs: spawned worker processes import the
main module again, and must not pay for Qt and pyqtgraph.
"""

from __future__ import annotations

import argparse
import sys

from workers.fields import SpecError, check_scheduler
from workers.names import ALL_BACKENDS, ALL_WORKLOADS, BACKENDS, PITFALLS, WORKLOADS

#: Panels --view can bring to the front (the window's docks of those names).
VIEWS = ("results", "timeline", "costs", "lessons")

PYTHON_HELP = (
    "run the threading and thread-pool back ends' work in a helper process of this "
    "interpreter (3.11+, e.g. a free-threaded python3.13t); the window, and the other "
    "back ends, stay on this one"
)


def _choices(kind: str, allowed: tuple[str, ...]):
    def parse(text: str) -> list[str]:
        items = [item.strip() for item in text.split(",") if item.strip()]
        unknown = [item for item in items if item not in allowed]
        if unknown or not items:
            raise argparse.ArgumentTypeError(
                f"unknown {kind} {', '.join(unknown) or '(none)'}; choose from {', '.join(allowed)}"
            )
        return items

    return parse


def _job(text: str) -> tuple[str, str]:
    workload, _, backend = text.partition(":")
    if workload not in ALL_WORKLOADS or backend not in ALL_BACKENDS:
        raise argparse.ArgumentTypeError(
            f"expected WORKLOAD:BACKEND, e.g. cpu-python:gui-thread "
            f"(workloads: {', '.join(ALL_WORKLOADS)}; back ends: {', '.join(ALL_BACKENDS)})"
        )
    return workload, backend


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a number of seconds") from None
    if not 0 <= value <= 3600:
        raise argparse.ArgumentTypeError("must be between 0 and 3600 seconds")
    return value


def _size(text: str) -> tuple[int, int]:
    width, x, height = text.strip().lower().partition("x")
    if not (x and width.isdecimal() and height.isdecimal()):
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a size such as 1280x800")
    if not (640 <= int(width) <= 7680 and 480 <= int(height) <= 4320):
        raise argparse.ArgumentTypeError("must be from 640x480 to 7680x4320")
    return int(width), int(height)


def _repeat(text: str) -> int:
    if not text.strip().isdecimal() or not 1 <= int(text) <= 100:
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a whole number from 1 to 100")
    return int(text)


def _scheduler(text: str) -> str:
    try:
        return check_scheduler(text)
    except SpecError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


SCHEDULER_HELP = (
    "dask: run on the scheduler at ADDRESS (tcp://host:8786) instead of a LocalCluster "
    "the app starts; its workers must be able to import unfreeze"
)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="unfreeze",
        description="See, measure and feel why a Qt window freezes, and how threads, "
        "processes and asyncio keep it responsive.",
    )
    p.add_argument(
        "--run", type=_job, metavar="WORKLOAD:BACKEND", help="start this job once the window is up"
    )
    p.add_argument("--screenshot", metavar="PATH", help="save a PNG of the window, then exit")
    p.add_argument(
        "--after",
        type=_seconds,
        default=1.0,
        metavar="SECONDS",
        help="wait before the screenshot (default 1)",
    )
    p.add_argument(
        "--size",
        type=_size,
        metavar="WxH",
        help="the window's size, e.g. 1280x800 (screenshots default to 1400x900)",
    )
    p.add_argument("--compare", action="store_true", help="run Compare all once the window is up")
    p.add_argument(
        "--view",
        choices=VIEWS,
        help="bring this panel to the front (its tab may hide behind another), e.g. "
        "--view timeline for a screenshot of the Timeline",
    )
    p.add_argument("--python", metavar="PATH", help=PYTHON_HELP)
    p.add_argument("--scheduler", type=_scheduler, metavar="ADDRESS", help=SCHEDULER_HELP)
    sub = p.add_subparsers(dest="command")
    b = sub.add_parser("bench", help="run workloads x back ends headless and print the table")
    b.add_argument(
        "--workloads",
        type=_choices("workload", ALL_WORKLOADS),
        default=list(WORKLOADS),
        help=f"comma-separated (default: {','.join(WORKLOADS)}; the hazards lab: race,deadlock)",
    )
    b.add_argument(
        "--backends",
        type=_choices("back end", ALL_BACKENDS),
        default=list(BACKENDS),
        help=f"comma-separated (default: {','.join(BACKENDS)}; the pitfalls: {','.join(PITFALLS)})",
    )
    b.add_argument("--workers", help="workers per run (default: CPU count for CPU work, 8 for I/O)")
    b.add_argument("--tasks", help="tasks per run")
    b.add_argument(
        "--size",
        help="bytes per task (queue: per item): 8MB, 512KiB or plain bytes; "
        "race, deadlock: K, e.g. 300k",
    )
    b.add_argument(
        "--latency-ms", dest="latency_ms", help="local server: first-byte latency per connection"
    )
    b.add_argument(
        "--rate-mbps", dest="rate_mbps", help="local server: MB/s per connection (0 = no cap)"
    )
    b.add_argument(
        "--limit",
        help="downloads: at most K connections at once, by a semaphore (0 = no limit)",
    )
    b.add_argument("--depth", help="queue: the most items the queue holds (its size)")
    b.add_argument("--items", help="queue: items the producers pass to the consumers")
    b.add_argument("--scheduler", type=_scheduler, metavar="ADDRESS", help=SCHEDULER_HELP)
    b.add_argument("--url", action="append", help="download this URL instead (repeatable)")
    b.add_argument("--folder", help="write files here instead of a temp folder")
    b.add_argument("--fsync", action="store_true", help="fsync each written file")
    b.add_argument(
        "--guard",
        default="none",
        help="hazards lab, comma-separated: none, lock (race), ordered (deadlock); each "
        "workload runs once per guard it knows, e.g. --guard none,lock",
    )
    b.add_argument("--python", metavar="PATH", help=PYTHON_HELP)
    b.add_argument(
        "--transfer",
        default="pickle",
        help="CPU work on multiprocessing, comma-separated: pickle (the input pickled with "
        "each task), shared-memory (placed once, workers attach by name); each such pair "
        "runs once per transfer, e.g. --transfer pickle,shared-memory",
    )
    b.add_argument(
        "--quick",
        action="store_true",
        help="a small configuration, each run 3 times: about a minute",
    )
    b.add_argument(
        "--repeat",
        type=_repeat,
        help="run each combination N times and report medians (default 1; --quick: 3)",
    )
    b.add_argument("--json", metavar="PATH", help="write the records as JSON")
    b.add_argument(
        "--trace",
        metavar="PATH",
        help="write the runs as a Chrome trace (open in ui.perfetto.dev or chrome://tracing)",
    )
    b.add_argument(
        "--crossing",
        action="store_true",
        help="measure what counting the bytes across the process boundary costs, in µs",
    )
    b.add_argument(
        "--ui",
        action="store_true",
        help="measure the window itself: idle lag, idle CPU, frame cost",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "bench":
        from gui import bench

        try:
            return bench.main(args)
        except SpecError as exc:
            print(f"unfreeze bench: {exc}", file=sys.stderr)
            return 2
    from gui.app import run_app

    return run_app(args)
