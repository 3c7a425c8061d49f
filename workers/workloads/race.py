"""``race``: N workers deposit into one account with a read–compute–write.

Each deposit is the two lines real code has::

    balance = account.balance[0]                       # read
    account.balance[0] = new_balance(balance, AMOUNT)  # compute, then write

A worker switched out between its read and its write (threads: the GIL's
switch interval expires; processes: another core writes at the same time;
coroutines: an ``await`` in the compute step) writes back a balance computed from a
stale read, and every deposit made meanwhile is lost. ``guard="lock"`` makes
the two lines one step with the run's lock.

The account, the lock and the start line are the run's shared objects
(:mod:`workers.shared`): the tasks name them, the back end makes them of its
kind (a list and a ``threading.Lock`` for threads, shared memory and a
process-shared lock for processes, an ``asyncio.Lock`` for coroutines).

Nothing is simulated: ``expected`` counts the deposits the workers applied
(each worker counts its own, in its own slot, so that count cannot race),
``actual`` is the final balance the app reads from the shared memory itself
(:meth:`Account.readout`), and ``lost`` is the difference.
"""

from __future__ import annotations

import asyncio
from collections.abc import MutableSequence
from dataclasses import dataclass
from typing import Any

from workers.core import CancelToken, Outcome, Progress, Task, checkpoint
from workers.shared import placeholders, start_line
from workers.spec import RunSpec

AMOUNT = 1
#: Deposits between two progress reports and cancel points (~0.3 ms on threads here).
CHUNK = 1000


@dataclass(eq=False)
class Account:
    """What the workers share: the balance, the deposits each applied, the lock, the start line."""

    balance: MutableSequence[int]  # one slot: the balance everybody reads and writes
    applied: MutableSequence[int]  # per worker: deposits it applied (only it writes there)
    lock: Any  # a threading.Lock, a process-shared lock or an asyncio.Lock
    arrived: MutableSequence[int] | None  # the start line (None: nobody to wait for)

    def readout(self) -> dict[str, int]:
        expected = sum(self.applied) * AMOUNT
        actual = int(self.balance[0])
        return {"expected": expected, "actual": actual, "lost": expected - actual}


def make_tasks(spec: RunSpec) -> list[Task]:
    """One task per worker, all naming the same :class:`Account`: one placeholder per field."""
    n = spec.tasks
    account = placeholders(
        balance=("ints", 1), applied=("ints", n), lock=("lock", 1), arrived=("start_line", n)
    )
    job = {"deposits": spec.size, "guard": spec.guard} | account
    return [Task(i, race, {"index": i} | job, spec.size, race_async) for i in range(n)]


def new_balance(balance: int, amount: int) -> int:
    """The compute step between read and write (in real code: fees, interest, checks)."""
    return balance + amount


def race(
    progress: Progress, cancel: CancelToken, *, index: int, deposits: int, guard: str, **shared: Any
) -> Outcome:
    """``deposits`` deposits into the run's account (``shared``: its objects), guarded
    by its lock or not at all."""
    state = Account(**shared)
    account, lock, applied = state.balance, state.lock, state.applied
    start_line(state.arrived, index, cancel)
    for done in range(1, deposits + 1):
        if guard == "lock":
            with lock:
                balance = account[0]
                account[0] = new_balance(balance, AMOUNT)
        else:
            balance = account[0]
            account[0] = new_balance(balance, AMOUNT)
        applied[index] = done
        if done % CHUNK == 0 or done == deposits:
            progress(done)
            checkpoint(cancel)
    return Outcome(deposits, f"{deposits} deposits applied")


async def new_balance_from_service(balance: int, amount: int) -> int:
    """The compute step as a service makes it (a database, an HTTP API): awaited, so
    the loop runs the other coroutines meanwhile (here for the cheapest await there is,
    one turn of the loop)."""
    await asyncio.sleep(0)
    return new_balance(balance, amount)


async def race_async(
    progress: Progress, cancel: CancelToken, *, index: int, deposits: int, guard: str, **shared: Any
) -> Outcome:
    """The coroutine twin: the compute step awaits, inside the read–write window, as
    real code's does. Coroutines start together: asyncio's kit makes no start line."""
    state = Account(**shared)
    account, lock, applied = state.balance, state.lock, state.applied
    for done in range(1, deposits + 1):
        if guard == "lock":
            async with lock:
                balance = account[0]
                account[0] = await new_balance_from_service(balance, AMOUNT)
        else:
            balance = account[0]
            account[0] = await new_balance_from_service(balance, AMOUNT)
        applied[index] = done
        if done % CHUNK == 0 or done == deposits:
            progress(done)
            checkpoint(cancel)
    return Outcome(deposits, f"{deposits} deposits applied")
