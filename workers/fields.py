"""The checks of single fields (a size, a number, a URL, a folder, workers, a guard…):
each takes what the user typed and returns it parsed, or raises :class:`SpecError`
naming the field, so the window can show it next to that field and the bench can
print it. :mod:`workers.spec` assembles a whole job from them.
"""

from __future__ import annotations

import math
import os
import re
import stat
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from workers.core import os_reason
from workers.names import (
    BACKENDS,
    GUARDS,
    HAZARDS,
    MANY_WORKERS_BACKENDS,
    MAX_MANY_WORKERS,
    MAX_SIZE,
    NO_DASK_HAZARDS,
    NOT_ELSEWHERE,
    ONLY,
    PYTHON_BACKENDS,
    TRANSFERS,
    max_workers,
    takes,
)

_UNITS = {
    "": 1, "b": 1,
    "k": 10**3, "kb": 10**3, "kib": 2**10,
    "m": 10**6, "mb": 10**6, "mib": 2**20,
    "g": 10**9, "gb": 10**9, "gib": 2**30,
}  # fmt: skip
_SIZE_RE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*")


class SpecError(ValueError):
    """Bad input: ``field`` names the input, the message says what is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def parse_size(text: object, name: str = "size") -> int:
    """``8MB``, ``512KiB``, ``1.5 GB`` or plain bytes -> bytes."""
    if isinstance(text, bool):
        raise SpecError(name, "expected a size such as 8MB, 512KiB or 1000")
    if isinstance(text, int):
        value = float(text) if abs(text) < 10**30 else math.inf
        unit = ""
    else:
        match = _SIZE_RE.fullmatch(str(text))
        if not match or match[2].lower() not in _UNITS:
            raise SpecError(name, f"{str(text)[:40]!r} is not a size such as 8MB, 512KiB or 1000")
        digits, unit = match[1], match[2].lower()
        value = float(digits) if len(digits) < 30 else math.inf
    size = value * _UNITS[unit]
    if size < 0:
        raise SpecError(name, "cannot be negative")
    if not math.isfinite(size) or size > MAX_SIZE:
        raise SpecError(name, f"at most {format_bytes(MAX_SIZE)}")
    return round(size)


def format_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n) < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"


def check_number(value: object, name: str, lo: float, hi: float, *, integer: bool) -> float:
    """``value`` (typed text or a number) as a number from ``lo`` to ``hi``, whole if
    ``integer``; a bool is refused, though Python counts it as an int."""
    if isinstance(value, bool):
        raise SpecError(name, "expected a number")
    if isinstance(value, str):
        text = value.strip()
        if len(text) > 40:
            raise SpecError(name, f"must be between {lo:g} and {hi:g}")
        try:
            value = int(text) if integer else float(text)
        except ValueError:
            raise SpecError(
                name, f"{text[:40]!r} is not {'a whole' if integer else 'a'} number"
            ) from None
    if not isinstance(value, int | float):
        raise SpecError(name, "expected a number")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise SpecError(name, "must be a finite number")
        if integer and not value.is_integer():
            raise SpecError(name, "must be a whole number")
    if not lo <= value <= hi:
        raise SpecError(name, f"must be between {lo:g} and {hi:g}")
    return value


def check_url(url: str, name: str = "urls") -> str:
    url = url.strip()
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError as exc:
        raise SpecError(name, f"{url[:80]!r} is not a valid URL ({exc})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SpecError(name, f"{url[:80]!r} is not an http(s) URL")
    if any(c.isspace() for c in url):
        raise SpecError(name, f"{url[:80]!r} contains spaces")
    return url


def check_folder(folder: str | os.PathLike[str], name: str = "folder") -> Path:
    """A folder we can write into, or a clear reason why not.

    It tries: ``os.access`` answers for the real user, and for root it says
    yes where writes fail (an effective uid dropped, NFS root squash).
    """
    path = Path(folder).expanduser()
    if not str(folder).strip():
        raise SpecError(name, "is empty")
    try:
        mode = path.stat().st_mode
    except (FileNotFoundError, NotADirectoryError):
        raise SpecError(name, f"{path} does not exist") from None
    except OSError as exc:  # e.g. a parent folder we may not enter
        raise SpecError(name, f"{path} cannot be reached ({os_reason(exc)})") from None
    if not stat.S_ISDIR(mode):
        raise SpecError(name, f"{path} is a file, not a folder")
    try:
        fd, probe = tempfile.mkstemp(dir=path, prefix=".unfreeze-probe-")
    except OSError as exc:
        raise SpecError(name, f"{path} is not writable ({os_reason(exc)})") from None
    os.close(fd)
    os.unlink(probe)
    return path


def check_pair(workload: str, backend: str) -> None:
    """Refuse, naming the back end, a workload a back end made for one kind of job won't run."""
    if backend == "dask" and workload in HAZARDS:
        raise SpecError("backend", NO_DASK_HAZARDS)
    if not takes(backend, workload):
        raise SpecError(
            "backend",
            f"{backend} runs {', '.join(ONLY[backend])} only: it puts each stage of an item "
            f"where it fits (downloads and writes on threads, the pure-Python checksum on "
            f"processes), and {workload} has no stages to split; pick thread-pool for I/O, "
            "multiprocessing for pure-Python work",
        )


def check_workers(workers: object, backend: str) -> int:
    """``workers`` as a whole number from 1 to :func:`max_workers` of ``backend``;
    over it, a message naming the field, the back end's bound and where more fit."""
    n = int(check_number(workers, "workers", 1, MAX_MANY_WORKERS, integer=True))
    top = max_workers(backend)
    if n > top:
        many = ", ".join(b for b in BACKENDS if b in MANY_WORKERS_BACKENDS)
        raise SpecError(
            "workers",
            f"{backend} takes at most {top} workers ({n} given); "
            f"{many} take up to {MAX_MANY_WORKERS}",
        )
    return n


def check_guard(workload: str, guard: object) -> str:
    known = GUARDS.get(workload, ("none",))
    text = "none" if guard in (None, "") else str(guard)
    if text not in known:
        if len(known) == 1:
            raise SpecError("guard", f"{workload} has no guard ({text[:40]!r} given): use none")
        raise SpecError(
            "guard", f"{text[:40]!r} is not a guard {workload} knows: {', '.join(known)}"
        )
    return text


def check_transfer(workload: str, backend: str, transfer: object) -> str:
    """``pickle`` (the default, anywhere) or ``shared-memory``, for CPU work on multiprocessing."""
    text = TRANSFERS[0] if transfer in (None, "") else str(transfer)
    if text not in TRANSFERS:
        raise SpecError("transfer", f"{text[:40]!r} is not one of {', '.join(TRANSFERS)}")
    if text != TRANSFERS[0] and (
        workload not in ("cpu-python", "cpu-native") or backend != "multiprocessing"
    ):
        raise SpecError("transfer", f"{text} applies to CPU work on multiprocessing")
    return text


def check_python(python: object, backend: str, workload: str) -> str:
    """The interpreter to run ``backend``'s threads in ("" = this one), as an absolute
    path; refused by name for a back end that cannot run elsewhere, a path that is no
    Python 3.11+, or an interpreter that cannot import the workload's tasks."""
    if python in (None, ""):
        return ""
    if backend not in PYTHON_BACKENDS:
        raise SpecError(
            "python",
            f"{backend} cannot run in another interpreter: {NOT_ELSEWHERE[backend]}. "
            f"Use {' or '.join(PYTHON_BACKENDS)}, or leave python empty",
        )
    from workers import pythons  # asks the interpreter itself, once per file

    interpreter = pythons.inspect(str(python))
    pythons.check_workload(interpreter, workload)
    return interpreter.path


def check_scheduler(address: object) -> str:
    """A dask scheduler's address, ``tcp://host:port`` (``host:port`` is taken as tcp),
    or "" for none (the app starts a LocalCluster)."""
    text = "" if address is None else str(address).strip()
    if not text:
        return ""
    if len(text) > 200 or any(c.isspace() for c in text):
        raise SpecError("scheduler", f"{text[:40]!r} is not an address such as tcp://host:8786")
    if "://" not in text:
        text = f"tcp://{text}"
    scheme = text.partition("://")[0]
    if scheme not in ("tcp", "tls"):
        raise SpecError("scheduler", f"{scheme!r}: a dask scheduler's address is tcp:// or tls://")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise SpecError("scheduler", f"{text[:60]!r} has no valid port (1-65535)") from None
    if not parts.hostname or port is None or port == 0 or parts.path or parts.query:
        raise SpecError(
            "scheduler", f"{text[:60]!r} is not an address such as tcp://127.0.0.1:8786"
        )
    return text
