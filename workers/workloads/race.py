"""``race``: N workers deposit into one account with a read–compute–write.

Each deposit is the two lines real code has::

    balance = account.balance[0]                       # read
    account.balance[0] = new_balance(balance, AMOUNT)  # compute, then write

A worker switched out between its read and its write (threads: the GIL's
switch interval expires; processes: another core writes at the same time;
coroutines: an ``await`` in between) writes back a balance computed from a
stale read, and every deposit made meanwhile is lost. ``guard="lock"`` makes
the two lines one step (``threading.Lock``, a process-shared lock or
``asyncio.Lock``, from :mod:`workers.shared`).

Nothing is simulated: ``expected`` counts the deposits the workers applied
(each worker counts its own, in its own slot, so that count cannot race),
``actual`` is the final balance read from the shared memory itself, and
``lost`` is the difference.
"""

from __future__ import annotations

import asyncio
from collections.abc import MutableSequence
from dataclasses import dataclass
from typing import Any

from workers import shared as shared_state
from workers.core import CancelToken, Outcome, Progress, Task, checkpoint
from workers.spec import RunSpec

AMOUNT = 1
#: Deposits between two progress reports and cancel points (~0.3 ms on threads here).
CHUNK = 1000


@dataclass(eq=False)
class Account:
    """The shared account, the deposits each worker applied, and the guard's lock."""

    key: str
    balance: MutableSequence[int]  # one slot: the balance everybody reads and writes
    applied: MutableSequence[int]  # per worker: deposits it applied (only it writes there)
    lock: Any
    arrived: MutableSequence[int] | None = None  # processes: the start line

    def readout(self) -> dict[str, Any]:
        expected = sum(self.applied) * AMOUNT
        actual = int(self.balance[0])
        return {"expected": expected, "actual": actual, "lost": expected - actual}


def new_balance(balance: int, amount: int) -> int:
    """The compute step between read and write (in real code: fees, interest, checks)."""
    return balance + amount


def race(
    progress: Progress,
    cancel: CancelToken,
    *,
    index: int,
    deposits: int,
    guard: str,
    shared: Account,
) -> Outcome:
    """``deposits`` deposits into ``shared``, guarded by its lock or not at all."""
    account, lock, applied = shared.balance, shared.lock, shared.applied
    shared_state.start_line(shared.arrived, index, cancel)
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


async def service() -> None:
    """Stands for any awaited call between read and write (a database, an HTTP API):
    the cheapest await there is, one turn of the loop for the other coroutines."""
    await asyncio.sleep(0)


async def race_async(
    progress: Progress,
    cancel: CancelToken,
    *,
    index: int,
    deposits: int,
    guard: str,
    shared: Account,
) -> Outcome:
    """The coroutine twin: one await inside the read–write window, as real code has."""
    account, lock, applied = shared.balance, shared.lock, shared.applied
    for done in range(1, deposits + 1):
        if guard == "lock":
            async with lock:
                balance = account[0]
                await service()
                account[0] = new_balance(balance, AMOUNT)
        else:
            balance = account[0]
            await service()
            account[0] = new_balance(balance, AMOUNT)
        applied[index] = done
        if done % CHUNK == 0 or done == deposits:
            progress(done)
            checkpoint(cancel)
    return Outcome(deposits, f"{deposits} deposits applied")


def make_account(spec: RunSpec) -> Account:
    kit = shared_state.kit(spec.backend)
    return Account(
        shared_state.new_key("race"),
        kit.ints(1),
        kit.ints(spec.tasks),
        kit.lock(),
        kit.arrivals(spec.tasks),
    )


def make_tasks(spec: RunSpec) -> list[Task]:
    key = shared_state.publish(make_account(spec))
    return [
        Task(
            i,
            race,
            {"index": i, "deposits": spec.size, "guard": spec.guard},
            spec.size,
            afn=race_async,
            shared=key,
        )
        for i in range(spec.tasks)
    ]
