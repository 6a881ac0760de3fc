"""The expiry sweep runs in small transactions, in a fixed lock order, and one account that
fails does not keep everyone else's points from expiring."""

from __future__ import annotations

import itertools
import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event
from sqlmodel.ext.asyncio.session import AsyncSession
from structlog.testing import capture_logs

from app.points import expiry, ledger
from app.points.models import LedgerAccount
from tests.app.points.conftest import Books

pytestmark = pytest.mark.asyncio


async def _due_accounts(books: Books, count: int) -> list[LedgerAccount]:
    """``count`` members whose points expire in an hour, each with a hold that expires too."""
    accounts = []
    for number in range(count):
        account = await books.account(f"member-{number:03}")
        await books.call(
            ledger.earn, account, 10, reason="x", expires_at=books.now + timedelta(hours=1)
        )
        await books.call(ledger.place_hold, account, 4, expires_at=books.now + timedelta(hours=1))
        accounts.append(account)
    books.advance(hours=2)
    return accounts


async def test_the_sweep_works_in_batches_each_its_own_transaction(books: Books) -> None:
    accounts = await _due_accounts(books, 7)
    per_transaction: list[int] = []

    def begin(*_: Any) -> None:
        per_transaction.append(0)

    def count_locks(*args: Any) -> None:
        if "FROM ledger_account" in str(args[2]) and per_transaction:
            per_transaction[-1] += 1

    engine = books.database.engine.sync_engine
    event.listen(engine, "begin", begin)
    event.listen(engine, "before_cursor_execute", count_locks)
    try:
        report = await books.sweep(batch=3, budget=None)
    finally:
        event.remove(engine, "begin", begin)
        event.remove(engine, "before_cursor_execute", count_locks)
    assert report == expiry.SweepReport(accounts_settled=7, holds_expired=7, transactions=3)
    writes = [locks for locks in per_transaction if locks]
    assert len(writes) == 3, "three write transactions: 3 + 3 + 1 accounts"
    for account in accounts:
        assert await books.balance(account) == ledger.Balance(available=0, pending=0, held=0)
    assert await books.problems() == []
    assert await books.sweep() == expiry.SweepReport(), "nothing left to do"


async def test_accounts_are_locked_in_ascending_id_order(
    books: Books, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every transaction locking several accounts takes them in one order: no deadlocks."""
    accounts = await _due_accounts(books, 5)
    async with books.database.session() as session:
        due = await expiry.due_accounts(session, now=books.now)
    locked: list[uuid.UUID] = []
    lock = ledger.lock_account

    async def recording(session: AsyncSession, account_id: uuid.UUID) -> LedgerAccount:
        locked.append(account_id)
        return await lock(session, account_id)

    monkeypatch.setattr(ledger, "lock_account", recording)

    async def settle(session: AsyncSession) -> expiry.Settled:
        return await expiry.settle_due(session, list(reversed(due)), now=books.now)

    assert (await books.run(settle)).holds_expired == 5
    assert locked == sorted(account.id for account in accounts)


async def test_an_account_that_fails_is_skipped_and_logged(books: Books) -> None:
    accounts = await _due_accounts(books, 5)
    broken = sorted(accounts, key=lambda a: a.id)[2]
    # Corrupted behind the ledger's back: expiring its lot would make the balance negative.
    await books.tamper(
        "UPDATE ledger_account SET posted_credits = 4, pending_debits = 4 WHERE id = :id",
        id=broken.id,
    )
    with capture_logs() as logs:
        report = await books.sweep(batch=5, budget=None)
    assert (report.accounts_settled, report.accounts_failed, report.holds_expired) == (4, 1, 4)
    assert report.transactions == 4, "the batch failed, then each account on its own"
    failures = [log for log in logs if log["event"] == "points.sweep.account_failed"]
    assert [(log["account_id"], log["log_level"]) for log in failures] == [
        (str(broken.id), "error")
    ]
    for account in accounts:
        if account.id != broken.id:
            assert await books.balance(account) == ledger.Balance(available=0, pending=0, held=0)


async def test_lots_that_activate_are_settled_by_the_sweep(books: Books) -> None:
    account = await books.account("m1")
    await books.call(
        ledger.earn, account, 25, reason="x", activates_at=books.now + timedelta(hours=1)
    )
    books.advance(hours=1)
    report = await books.sweep()
    assert (report.accounts_settled, report.holds_expired) == (1, 0)
    assert await books.balance(account) == ledger.Balance(available=25, pending=0, held=0)
    assert await books.problems() == []


async def test_a_transaction_commits_when_its_time_is_up(books: Books) -> None:
    """With no time at all, each transaction settles one account: the rest of its batch goes
    to the next transaction, and nothing is skipped."""
    accounts = await _due_accounts(books, 4)
    report = await books.sweep(batch=25, budget=timedelta(0))
    assert report == expiry.SweepReport(accounts_settled=4, holds_expired=4, transactions=4)
    for account in accounts:
        assert await books.balance(account) == ledger.Balance(available=0, pending=0, held=0)


async def test_an_account_with_hundreds_due_is_settled_in_small_steps(
    books: Books, monkeypatch: pytest.MonkeyPatch
) -> None:
    """300 due lots and 150 overdue holds on one account: no transaction settles more than
    `LOTS_PER_STEP` lots and `HOLDS_PER_STEP` holds of it, and one pass finishes it."""
    account = await books.account("heavy")

    async def seed(session: AsyncSession) -> None:
        for number in range(300):
            soon = books.now + timedelta(minutes=30 + number % 5)
            await ledger.earn(session, account, 10, now=books.now, reason="x", expires_at=soon)
        for _ in range(150):
            soon = books.now + timedelta(minutes=10)
            await ledger.place_hold(session, account, 5, now=books.now, expires_at=soon)

    await books.run(seed)
    books.advance(hours=2)
    steps: list[tuple[int, int]] = []
    settle, expire = ledger._settle_lot, ledger.expire_hold
    counts = [0, 0]

    async def counting_settle(*args: Any, **kwargs: Any) -> None:
        counts[0] += 1
        await settle(*args, **kwargs)

    async def counting_expire(*args: Any, **kwargs: Any) -> Any:
        counts[1] += 1
        return await expire(*args, **kwargs)

    def begin(*_: Any) -> None:
        steps.append((counts[0], counts[1]))

    monkeypatch.setattr(ledger, "_settle_lot", counting_settle)
    monkeypatch.setattr(ledger, "expire_hold", counting_expire)
    engine = books.database.engine.sync_engine
    event.listen(engine, "begin", begin)
    try:
        report = await books.sweep()
    finally:
        event.remove(engine, "begin", begin)
    steps.append((counts[0], counts[1]))
    per_step = [(b[0] - a[0], b[1] - a[1]) for a, b in itertools.pairwise(steps)]
    assert max(lots for lots, _ in per_step) <= expiry.LOTS_PER_STEP
    assert max(holds for _, holds in per_step) <= expiry.HOLDS_PER_STEP
    assert (report.accounts_settled, report.holds_expired, report.accounts_failed) == (1, 150, 0)
    assert await books.balance(account) == ledger.Balance(available=0, pending=0, held=0)
    assert await books.problems() == []


async def test_a_broken_account_is_skipped_on_every_pass(books: Books) -> None:
    accounts = await _due_accounts(books, 6)
    broken = sorted(accounts, key=lambda a: a.id)[2]
    await books.tamper(
        "DELETE FROM lot_allocation WHERE hold_id IN (SELECT id FROM hold WHERE account_id = :id)",
        id=broken.id,
    )
    for _ in range(2):
        report = await books.sweep(batch=3)
        assert report.accounts_failed == 1
    for account in accounts:
        if account.id != broken.id:
            assert await books.balance(account) == ledger.Balance(available=0, pending=0, held=0)
