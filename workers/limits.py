"""The open-file limit, raised in-process when a run needs more sockets than it allows.

A download holds a socket (a file descriptor) for as long as its connection is
open, so 1 000 connections at once need over 1 000 descriptors in the app and as
many in the local server. Many systems start a process with a soft limit of
1 024 and a much higher hard limit: a process may raise its own soft limit up
to the hard one (``resource.setrlimit``), with no privilege. Past the soft
limit, ``socket()`` fails with "Too many open files".
"""

from __future__ import annotations

import sys

try:
    import resource
except ImportError:  # Windows: no such limit to raise
    resource = None  # type: ignore[assignment]

#: Descriptors the app keeps besides its connections: Qt, pipes, the server's, logs.
HEADROOM = 256


def open_files_limit() -> int | None:
    """The soft limit on open files now (None where there is none to read)."""
    if resource is None:
        return None
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def raise_open_files(need: int | None = None) -> tuple[int, int] | None:
    """Raise the soft limit to the hard one if it is below ``need`` (None: always);
    return ``(before, after)`` when raised, None when nothing changed."""
    if resource is None:
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    top = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
    if (need is not None and soft >= need) or soft >= top:
        return None
    resource.setrlimit(resource.RLIMIT_NOFILE, (top, hard))
    return soft, top


def for_connections(connections: int) -> None:
    """Make room for ``connections`` sockets at once, saying so on stderr if the
    limit had to be raised, or if even the hard limit is too low."""
    need = connections + HEADROOM
    raised = raise_open_files(need)
    if raised is not None:
        before, after = raised
        print(
            f"unfreeze: raised the open-file limit from {before} to {after} "
            f"for {connections} connections",
            file=sys.stderr,
        )
    limit = open_files_limit()
    if limit is not None and limit < need:
        print(
            f"unfreeze: {connections} connections need ~{need} open files, and the hard "
            f"limit is {limit}: some will fail with 'Too many open files' (ulimit -Hn)",
            file=sys.stderr,
        )
