"""``deadlock``: N workers move money around a ring of N accounts, each account with its lock.

Worker i transfers from account i to account i+1 (the last one to account 0):
it takes the lock of the account it pays from, works out the amount, then
takes the lock of the account it pays into. Worker 0 takes lock 0 then lock 1,
worker 1 lock 1 then lock 0 (with two workers: two locks in opposite order),
and once every worker holds its first lock, each waits for a lock the next
one holds, for ever. ``guard="ordered"`` takes the lower-numbered lock first,
so the ring of waits can never close.

How the app sees it, and stays in charge:

* The locks, the accounts and the graph below are the run's shared objects
  (:mod:`workers.shared`): thread locks and lists on threads, process-shared
  locks and shared memory on processes, made by the back end.
* Workers never block for good: they ``acquire(timeout=POLL_S)`` in a loop,
  checking the cancel token between tries, so Cancel and closing the window
  still work while they wait.
* Every worker keeps the wait-for graph up to date in that memory: which
  worker holds each lock (set after acquiring, cleared before releasing) and
  which lock each worker waits for, with a count of the locks it took.
* A waiter whose try timed out follows the graph from itself: it waits for a
  lock, held by a worker that waits for a lock, … back to itself. The same
  cycle seen at two tries in a row, with no lock taken by anyone in between,
  is a deadlock: it writes the cycle down, and every worker ends its task as
  failed (``Deadlocked``) at its next try or next lock. The app reads the
  cycle and the graph from the same memory (:meth:`Bank.readout`); the record's
  outcome says ``deadlock`` and quotes the cycle.
"""

from __future__ import annotations

import time
from collections.abc import MutableSequence
from dataclasses import dataclass
from typing import Any

from workers.core import CancelToken, Outcome, Progress, Task, TaskError, checkpoint
from workers.shared import POLL_S, placeholders, start_line
from workers.spec import RunSpec

#: Rounds between two progress reports and cancel points.
CHUNK = 100


class Deadlocked(TaskError):
    """The run's workers wait for each other in a cycle: this one gives up."""


@dataclass(eq=False)
class Bank:
    """The accounts, their locks, and the wait-for graph the workers keep (times in ns)."""

    locks: list[Any]
    balances: MutableSequence[int]  # they start at 0 and may go below: only the locks matter
    holder: MutableSequence[int]  # per lock: the worker holding it, + 1 (0: free)
    waiting: MutableSequence[int]  # per worker: the lock it waits for, + 1 (0: none)
    taken: MutableSequence[int]  # per worker: locks it took so far (only it writes there)
    since: MutableSequence[int]  # per worker: when it began waiting (perf_counter_ns)
    found: MutableSequence[int]  # the cycle once found: [length, worker, worker, ...]
    found_at: MutableSequence[int]  # [when it was found, when its last wait began]
    arrived: MutableSequence[int] | None  # the start line (None: tasks run one at a time)

    def cycle_from(self, me: int) -> tuple[int, ...]:
        """The workers of the wait-for cycle through ``me``, in order; () if none."""
        cycle, worker = [], me
        for _ in range(len(self.waiting)):
            lock = self.waiting[worker] - 1
            owner = self.holder[lock] - 1 if lock >= 0 else -1
            if owner < 0:
                return ()
            cycle.append(worker)
            worker = owner
            if worker == me:
                return tuple(cycle)
        return ()

    def declare(self, cycle: tuple[int, ...]) -> None:
        for i, worker in enumerate(cycle):
            self.found[1 + i] = worker
        self.found_at[0] = time.perf_counter_ns()
        self.found_at[1] = max(self.since[w] for w in cycle)
        self.found[0] = len(cycle)  # last: readers see a complete cycle

    def found_cycle(self) -> tuple[int, ...]:
        return tuple(self.found[1 : 1 + self.found[0]])

    def describe(self, cycle: tuple[int, ...]) -> str:
        """``worker 0 holds lock 0 and waits for lock 1, held by worker 1; …``"""
        n = len(self.locks)
        parts = []
        for i, worker in enumerate(cycle):
            nxt = cycle[(i + 1) % len(cycle)]
            mine = lock_of(worker, n, held=True)
            wanted = lock_of(worker, n, held=False)
            parts.append(
                f"worker {worker} holds lock {mine} and waits for lock {wanted}, held by worker {nxt}"
            )
        return "; ".join(parts)

    def graph(self) -> str:
        """Who holds what and who waits for what, now (the live view)."""
        parts = []
        for worker in range(len(self.waiting)):
            held = [str(lock) for lock, h in enumerate(self.holder) if h == worker + 1]
            wait = self.waiting[worker] - 1
            text = f"worker {worker}: holds {', '.join(held) or 'nothing'}"
            if wait >= 0:
                owner = self.holder[wait] - 1
                text += f", waits for {wait}" + (f" (worker {owner})" if owner >= 0 else "")
            parts.append(text)
        return "; ".join(parts)

    def readout(self) -> dict[str, Any]:
        cycle = self.found_cycle()
        if not cycle:
            return {"deadlock": "", "detect_s": None, "graph": self.graph()}
        return {
            "deadlock": self.describe(cycle),
            "detect_s": round(max(0, self.found_at[0] - self.found_at[1]) / 1e9, 3),
            "graph": self.graph(),
        }


def make_tasks(spec: RunSpec) -> list[Task]:
    """One task per worker, all naming the same :class:`Bank`: one placeholder per field."""
    workers = spec.tasks
    n = max(2, workers)  # accounts (and locks): one worker alone still pays into another
    bank = placeholders(
        locks=("timed_locks", n),
        balances=("ints", n),
        holder=("ints", n),
        waiting=("ints", workers),
        taken=("ints", workers),
        since=("ints", workers),
        found=("ints", workers + 1),
        found_at=("ints", 2),
        arrived=("start_line", workers),
    )
    job = {"rounds": spec.size, "guard": spec.guard} | bank
    return [Task(i, transfers, {"index": i} | job, spec.size) for i in range(workers)]


def lock_of(worker: int, n: int, *, held: bool) -> int:
    """The lock an unordered worker takes first (``held``), or second."""
    return worker if held else (worker + 1) % n


def take(bank: Bank, me: int, lock: int, cancel: CancelToken) -> None:
    """Take ``lock``, keeping the graph; give up on a cancel or a deadlock."""
    if bank.found[0]:
        raise Deadlocked(f"deadlock: {bank.describe(bank.found_cycle())}")
    bank.since[me] = time.perf_counter_ns()
    bank.waiting[me] = lock + 1
    try:
        seen: tuple[tuple[int, ...], int] | None = None
        while not bank.locks[lock].acquire(timeout=POLL_S):
            checkpoint(cancel)
            if not bank.found[0]:
                now = (bank.cycle_from(me), sum(bank.taken))
                if now[0] and now == seen:
                    bank.declare(now[0])
                seen = now
            if bank.found[0]:
                raise Deadlocked(f"deadlock: {bank.describe(bank.found_cycle())}")
    finally:
        bank.waiting[me] = 0
    bank.holder[lock] = me + 1
    bank.taken[me] += 1


def give(bank: Bank, lock: int) -> None:
    bank.holder[lock] = 0  # before the release: a free lock never shows a holder
    bank.locks[lock].release()


def fee(balance: int) -> int:
    """The amount to move, worked out while the first lock is held."""
    return 1 + balance % 7


def transfers(
    progress: Progress, cancel: CancelToken, *, index: int, rounds: int, guard: str, **shared: Any
) -> Outcome:
    """``rounds`` transfers from account ``index`` to the next one in the ring
    (``shared``: the run's objects that make up the :class:`Bank`)."""
    bank = Bank(**shared)
    n = len(bank.locks)
    pay_from, pay_to = index, (index + 1) % n
    first, second = pay_from, pay_to
    if guard == "ordered" and first > second:
        first, second = second, first
    balances = bank.balances
    start_line(bank.arrived, index, cancel)
    for done in range(1, rounds + 1):
        take(bank, index, first, cancel)
        try:
            amount = fee(balances[pay_from])
            take(bank, index, second, cancel)
            try:
                balances[pay_from] -= amount
                balances[pay_to] += amount
            finally:
                give(bank, second)
        finally:
            give(bank, first)
        if done % CHUNK == 0 or done == rounds:
            progress(done)
            checkpoint(cancel)
    return Outcome(rounds, f"{rounds} transfers")
