"""A seeded random workload of every ledger operation and the sweep, in real concurrent
transactions on PostgreSQL, with a moving clock: afterwards the books balance, nothing
deadlocked, nothing failed unexpectedly, and a read at any instant agrees with what a sweep
at that instant leaves."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from app.points import expiry, ledger
from app.points.models import Hold, LedgerAccount
from tests._sql import recorded_deadlocks
from tests.app.points.conftest import Books

pytestmark = pytest.mark.asyncio

REFUSALS = (ledger.InsufficientPoints, ledger.HoldNotPending, ledger.HoldNotDue, ledger.ExceedsHold)
REFUSED_MESSAGES = ("must expire in the future", "would shorten it", "must expire after")
OPERATIONS = ["earn"] * 3 + ["hold"] * 5 + ["post", "partial", "void", "extend", "expire", "sweep"]


class _Workload:
    def __init__(self, books: Books, seed: int, members: list[LedgerAccount]) -> None:
        self.books = books
        self.random = random.Random(seed)
        self.members = members
        self.now = books.now
        self.holds: list[Hold] = []
        self.unexpected: list[str] = []
        self.outcomes: Counter[str] = Counter()
        self.failed_accounts = 0

    def tick(self) -> datetime:
        self.now += timedelta(seconds=self.random.randint(0, 90))
        return self.now

    async def step(self, operation: str) -> None:
        now, pick = self.tick(), self.random
        account = pick.choice(self.members)
        hold = pick.choice(self.holds) if self.holds else None
        if operation == "sweep":
            report = await expiry.sweep(self.books.database, now=now, batch=pick.randint(1, 3))
            self.failed_accounts += report.accounts_failed
            return
        if hold is None and operation not in ("earn", "hold"):
            return

        async def work(session: AsyncSession) -> Any:
            if operation == "earn":
                activates = (
                    now + timedelta(minutes=pick.randint(1, 30)) if pick.random() < 0.3 else None
                )
                expires = (
                    now + timedelta(minutes=pick.randint(31, 120)) if pick.random() < 0.7 else None
                )
                return await ledger.earn(
                    session,
                    account,
                    pick.randint(1, 40),
                    now=now,
                    reason="w",
                    activates_at=activates,
                    expires_at=expires,
                )
            if operation == "hold":
                expires = (
                    now + timedelta(minutes=pick.randint(1, 40)) if pick.random() < 0.8 else None
                )
                return await ledger.place_hold(
                    session, account, pick.randint(1, 60), now=now, expires_at=expires
                )
            assert hold is not None
            if operation == "post":
                return await ledger.post_hold(session, hold.id, now=now)
            if operation == "partial":
                return await ledger.post_hold(
                    session, hold.id, now=now, amount=pick.randint(1, hold.amount)
                )
            if operation == "void":
                return await ledger.void_hold(session, hold.id, now=now)
            if operation == "extend":
                later = now + timedelta(minutes=pick.randint(-5, 60))
                return await ledger.extend_hold(session, hold.id, now=now, expires_at=later)
            return await ledger.expire_hold(session, hold.id, now=now)  # fmt: skip

        try:
            result = await self.books.run(work)
        except REFUSALS as refused:
            self.outcomes[f"{operation}:{type(refused).__name__}"] += 1
        except ledger.LedgerError as refused:
            if not any(message in str(refused) for message in REFUSED_MESSAGES):
                self.unexpected.append(f"{operation}: {refused}")
        except Exception as error:
            self.unexpected.append(f"{operation}: {type(error).__name__}: {error}")
        else:
            self.outcomes[f"{operation}:ok"] += 1
            if operation == "hold":
                self.holds.append(result)

    async def worker(self, steps: int) -> None:
        for _ in range(steps):
            await self.step(self.random.choice(OPERATIONS))


@pytest.mark.parametrize("seed", range(3))
async def test_a_random_concurrent_workload_keeps_the_books(
    books: Books, seed: int, postgresql_only: None
) -> None:
    members = [await books.account(f"m{number}") for number in range(4)]
    for account in members:
        for number in range(8):
            expires = books.now + timedelta(minutes=20 + 15 * number) if number % 3 else None
            await books.call(ledger.earn, account, 30, reason="seed", expires_at=expires)
    workload = _Workload(books, seed, members)
    with recorded_deadlocks(books.database) as deadlocks:
        await asyncio.gather(*(workload.worker(40) for _ in range(12)))
    books.now = workload.now
    assert workload.unexpected == []
    assert workload.failed_accounts == 0
    assert deadlocks == []
    assert await books.problems() == []
    for minutes in (0, 7, 30, 90, 400):
        books.now = workload.now + timedelta(minutes=minutes)
        async with books.database.session() as session:
            read = await ledger.balances_at(session, [m.id for m in members], now=books.now)
        await books.sweep()
        for account in members:
            assert await books.balance(account) == read[account.id], (minutes, account.id)
        assert await books.problems() == []
