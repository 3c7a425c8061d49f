"""Other Python interpreters: which one a path names, and whether it can run our tasks.

``--python PATH`` runs the thread back ends' work in a helper process of
another interpreter (see :mod:`workers.backends.otherpython`), typically a
free-threaded CPython (3.13t, 3.14t) for which PySide6 has no build: the
window stays on this interpreter, the threads run where the GIL may be off.

:func:`inspect` asks the interpreter itself (a short subprocess) for its
version, whether its GIL is on, and which of our workload modules it can
import with the project on its path. It runs once per file (cached by path,
size and modification time), never on a keystroke.
"""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from workers.fields import SpecError

#: The folder holding the ``workers`` package: the helper puts it first on its path.
ROOT = str(Path(__file__).resolve().parent.parent)
#: The oldest interpreter the engine's code runs on.
OLDEST = (3, 11)
#: Third-party packages the workloads import, each pure Python (``download``
#: parses HTTP with h11): the helper finds them where this interpreter has
#: them, after its own packages. Compiled ones (numpy, psutil) only the app
#: imports (records, the footprint), never a task.
PURE_PACKAGES = ("h11",)
#: What each workload's tasks import, for :func:`inspect` to try in the other interpreter.
MODULES = {
    "cpu-python": "workers.workloads.cpu",
    "cpu-native": "workers.workloads.cpu",
    "download": "workers.workloads.download",
    "disk-write": "workers.workloads.disk",
    "queue": "workers.workloads.handoff",
    "race": "workers.workloads.race",
    "deadlock": "workers.workloads.deadlock",
}
PROBE_TIMEOUT_S = 10.0
#: How often an ask looks whether it was told to stop: a closing window waits this long.
STOP_POLL_S = 0.02

# Runs in the interpreter being asked, whatever its version (Python 2.7 too): it
# must get as far as saying which version it is.
_PROBE = """
import sys, json, platform
out = {"version": list(sys.version_info[:3]),
       "implementation": platform.python_implementation(),
       "gil_enabled": bool(getattr(sys, "_is_gil_enabled", lambda: True)()),
       "executable": sys.executable, "missing": {}}
if tuple(sys.version_info[:2]) >= (3, 11):
    import importlib
    sys.path[:0] = [sys.argv[1]]
    sys.path += json.loads(sys.argv[2])
    for workload, name in json.loads(sys.argv[3]).items():
        try:
            importlib.import_module(name)
        except Exception as exc:
            out["missing"][workload] = "%s: %s" % (type(exc).__name__, exc)
print("unfreeze-probe " + json.dumps(out))
"""


@dataclass(frozen=True, slots=True)
class Interpreter:
    """What an interpreter said about itself (the record's ``python`` fields)."""

    path: str  # as given, made absolute: the record's ``python_path``
    implementation: str
    version: str  # "3.13.0"
    gil_enabled: bool
    #: Per workload: why its tasks cannot be imported there ({} when all can).
    missing: dict[str, str]

    @property
    def name(self) -> str:
        """``CPython 3.13.0``; ``CPython 3.13.0t`` once its GIL is off."""
        return f"{self.implementation} {self.version}{'' if self.gil_enabled else 't'}"

    def facts(self) -> dict[str, object]:
        """The record's fields for a run whose work this interpreter did."""
        return {
            "python": self.name,
            "python_version": self.version,
            "gil_enabled": self.gil_enabled,
            "python_path": self.path,
        }


def gil_enabled() -> bool:
    """Whether this interpreter's GIL is on (``sys._is_gil_enabled`` from 3.13, else on)."""
    check = getattr(sys, "_is_gil_enabled", None)
    return True if check is None else bool(check())


def here() -> Interpreter:
    """This interpreter, the app's: its record fields have an empty ``python_path``."""
    return Interpreter(
        "", platform.python_implementation(), platform.python_version(), gil_enabled(), {}
    )


def pure_paths() -> list[str]:
    """The folders that hold :data:`PURE_PACKAGES` in this interpreter."""
    import importlib

    out = []
    for name in PURE_PACKAGES:
        folder = str(Path(importlib.import_module(name).__file__ or "").resolve().parent.parent)
        if folder not in out:
            out.append(folder)
    return out


_seen: dict[tuple[str, int, int], Interpreter] = {}


def inspect(text: str, stop: threading.Event | None = None) -> Interpreter:
    """The interpreter at ``text``, asked once per file; a :class:`SpecError` naming
    ``python`` for a missing path, a folder, a file that is no program, a program that
    is no Python, and a Python older than 3.11. Once ``stop`` is set, the question's
    process is killed and the answer is a SpecError (nothing is remembered)."""
    raw = text.strip()
    if not raw:
        raise SpecError("python", "is empty")
    path = Path(raw).expanduser().absolute()
    try:
        st = path.stat()
    except OSError:
        raise SpecError("python", f"{path} does not exist") from None
    if path.is_dir():
        raise SpecError("python", f"{path} is a folder, not a Python interpreter")
    if not os.access(path, os.X_OK):
        raise SpecError("python", f"{path} is not executable, so it is no interpreter")
    key = (str(path), st.st_size, st.st_mtime_ns)
    if key not in _seen:
        _seen[key] = _ask(path, stop or threading.Event())
    return _seen[key]


def _ask(path: Path, stop: threading.Event) -> Interpreter:
    args = [
        str(path),
        "-E",
        "-s",
        "-c",
        _PROBE,
        ROOT,
        json.dumps(pure_paths()),
        json.dumps(MODULES),
    ]
    try:
        proc = subprocess.Popen(  # noqa: S603 - the user's chosen interpreter, asked a fixed question
            args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT
        )
    except OSError as exc:  # e.g. exec format error: not a program this system runs
        raise SpecError("python", f"{path} cannot be run ({exc.strerror or exc})") from None
    with proc:  # its pipe closed and the process reaped, however the ask ends
        stdout = _answer(proc, path, stop)
    line = next((x for x in stdout.splitlines() if x.startswith("unfreeze-probe ")), "")
    try:
        said = json.loads(line.partition(" ")[2])
        version = tuple(int(v) for v in said["version"])
    except (ValueError, KeyError, TypeError):
        raise SpecError(
            "python",
            f"{path} did not answer as a Python interpreter does (exit status {proc.returncode})",
        ) from None
    shown = ".".join(map(str, version))
    if version[:2] < OLDEST:
        raise SpecError(
            "python", f"{path} is Python {shown}; the engine needs Python 3.11 or newer"
        )
    return Interpreter(
        str(path), str(said["implementation"]), shown, bool(said["gil_enabled"]),
        dict(said["missing"]),
    )  # fmt: skip


def _answer(proc: subprocess.Popen[str], path: Path, stop: threading.Event) -> str:
    """What ``proc`` printed once it exited; killed after :data:`PROBE_TIMEOUT_S`, or
    within :data:`STOP_POLL_S` of ``stop`` being set (``communicate`` may be called
    again after its timeout without losing output)."""
    deadline = time.monotonic() + PROBE_TIMEOUT_S
    while True:
        try:
            return proc.communicate(timeout=STOP_POLL_S)[0]
        except subprocess.TimeoutExpired:
            late = time.monotonic() > deadline
            if stop.is_set() or late:
                proc.kill()
                proc.communicate()
                said = f"did not answer within {PROBE_TIMEOUT_S:g} s" if late else "was stopped"
                raise SpecError("python", f"{path} {said}") from None


def check_workload(interpreter: Interpreter, workload: str) -> None:
    """A :class:`SpecError` naming ``python`` if ``workload``'s tasks cannot be
    imported by ``interpreter``, with what is missing."""
    reason = interpreter.missing.get(workload)
    if reason:
        raise SpecError("python", f"{interpreter.name} cannot run {workload}'s tasks ({reason})")


def candidates() -> list[str]:
    """CPython 3.11+ interpreters other than this one, found where they usually are:
    pyenv's versions, then ``python3.N`` / ``python3.Nt`` on PATH. Newest first; for
    the tests and the README's measurements (no path is hard-coded)."""
    found: list[Path] = []
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    if pyenv.is_dir():
        found += sorted(pyenv.glob("*/bin/python3.*"))
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        if Path(folder).name == "shims":  # pyenv's dispatching scripts: the versions are above
            continue
        for minor in range(11, 20):
            found += [Path(folder) / f"python3.{minor}{t}" for t in ("", "t")]
    mine = Path(sys.executable).resolve()
    out: list[str] = []
    for path in found:
        if _NAME.fullmatch(path.name) is None or _minor(str(path)) < OLDEST[1]:
            continue
        if path.is_file() and os.access(path, os.X_OK) and path.resolve() != mine:
            if str(path.resolve()) not in {str(Path(p).resolve()) for p in out}:
                out.append(str(path))
    return sorted(out, key=_minor, reverse=True)


_NAME = re.compile(r"python3\.(\d+)t?")


def _minor(path: str) -> int:
    match = _NAME.fullmatch(Path(path).name)
    return int(match[1]) if match else 0
