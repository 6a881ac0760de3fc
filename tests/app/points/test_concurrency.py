"""Double-spend prevention under real concurrency, on SQLite and on PostgreSQL.

Each test here fails when one of the ledger's guards is removed (docs/points.md, "Guards"):
on PostgreSQL the transactions really interleave; on SQLite ``BEGIN IMMEDIATE`` serializes
them, so there they show that serialized writers give the same result.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

import pytest
from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db import Database
from app.points import expiry, ledger
from app.points.models import Hold, JournalEntry, PointsLot
from app.points.service import EarnRequest, earn_points
from tests._sql import recorded_deadlocks
from tests.app.points.conftest import Books

pytestmark = pytest.mark.asyncio

BALANCE = 1000
COST = 7
ATTEMPTS = 200


async def _race_holds(books: Books, member: str) -> list[Hold]:
    account = await books.account(member)

    async def attempt(number: int) -> Hold | ledger.InsufficientPoints:
        try:
            return await books.call(
                ledger.place_hold, account, COST, reference=f"{member}-{number}"
            )
        except ledger.InsufficientPoints as refused:
            return refused

    outcomes = await asyncio.gather(*(attempt(n) for n in range(ATTEMPTS)))
    holds = [o for o in outcomes if isinstance(o, Hold)]
    refused = [o for o in outcomes if isinstance(o, ledger.InsufficientPoints)]
    assert len(holds) + len(refused) == ATTEMPTS, "every attempt held or was refused, cleanly"
    assert len(holds) == BALANCE // COST
    assert await books.balance(account) == ledger.Balance(
        available=BALANCE % COST, pending=0, held=len(holds) * COST
    )
    assert await books.problems() == []
    return holds


async def test_concurrent_holds_never_overspend(books: Books) -> None:
    account = await books.account("contended")
    await books.call(ledger.earn, account, BALANCE, reason="x")
    await _race_holds(books, "contended")


async def test_concurrent_holds_over_many_lots_draw_each_point_once(books: Books) -> None:
    """Without the account lock, two holds read the same lot's remaining points and both draw
    on them (the second's delta then breaks the lot's CHECK, or draws a lot twice)."""
    account = await books.account("many-lots")
    for number in range(50):  # 50 lots of 20, each expiring at its own time
        await books.call(
            ledger.earn,
            account,
            BALANCE // 50,
            reason="x",
            expires_at=books.now + timedelta(days=30 + number),
        )
    await _race_holds(books, "many-lots")


async def test_concurrent_holds_activate_a_due_lot_once(books: Books) -> None:
    """Every hold settles the account's due lots first; without the lock, each of them would
    activate the same pending lot and credit its points again."""
    account = await books.account("activating")
    await books.call(
        ledger.earn, account, BALANCE, reason="x", activates_at=books.now + timedelta(hours=1)
    )
    books.advance(hours=2)
    await _race_holds(books, "activating")
    async with books.database.session() as session:
        activations = (
            await session.exec(
                select(func.count()).where(
                    JournalEntry.account_id == account.id, JournalEntry.kind == "activate"
                )
            )
        ).one()
    assert activations == 1


async def test_concurrent_resolutions_of_one_hold_happen_once(books: Books) -> None:
    account = await books.account("racer")
    await books.call(ledger.earn, account, 100, reason="x")
    hold = await books.call(ledger.place_hold, account, 40)

    async def resolve(post: bool) -> str:
        try:
            if post:
                await books.call(ledger.post_hold, hold.id)
                return "posted"
            await books.call(ledger.void_hold, hold.id)
            return "voided"
        except ledger.HoldNotPending:
            return "refused"

    outcomes = await asyncio.gather(*(resolve(n % 2 == 0) for n in range(20)))
    assert sorted(set(outcomes) - {"refused"}) in (["posted"], ["voided"])
    assert outcomes.count("refused") == 19
    assert await books.problems() == []


async def test_a_unit_of_work_that_read_lots_early_writes_no_stale_balance(
    books: Books, postgresql_only: None
) -> None:
    """A transaction reads a member's lots (into its session) before another transaction
    places a hold, then places one itself. Writing lot balances from what the session had read
    would put the old number back: the account says 10 available, the lot says 40."""
    account = await books.account("m1")
    await books.call(ledger.earn, account, 50, reason="x")
    lots_read, other_hold_placed = asyncio.Event(), asyncio.Event()

    async def late(session: AsyncSession) -> Hold:
        # Kept, as a unit of work keeps what it read: the session's identity map holds them.
        early = (
            await session.exec(select(PointsLot).where(PointsLot.account_id == account.id))
        ).all()
        lots_read.set()
        await other_hold_placed.wait()
        hold = await ledger.place_hold(session, account, 10, now=books.now)
        assert [lot.original for lot in early] == [50]
        return hold

    task = asyncio.create_task(books.run(late))
    await lots_read.wait()
    first = await books.call(ledger.place_hold, account, 30)
    other_hold_placed.set()
    second = await task
    assert await books.balance(account) == ledger.Balance(available=10, pending=0, held=40)
    assert await books.problems() == []
    await books.call(ledger.void_hold, first.id)
    await books.call(ledger.void_hold, second.id)
    assert await books.balance(account) == ledger.Balance(available=50, pending=0, held=0)
    assert await books.problems() == []


async def test_one_idempotency_key_sent_concurrently_earns_once(
    books: Books, database: Database
) -> None:
    """Concurrent requests with one key all pass the lookup before the first commits; the
    unique constraint stops the others, which then read the winner's record and succeed."""
    account = await books.account("m1")  # the member exists: the race is on the key alone
    request = EarnRequest(member_id="m1", points=10, reason="r", idempotency_key="once")
    outcomes = await asyncio.gather(
        *(earn_points(database, books.program, request, now=books.now) for _ in range(20)),
        return_exceptions=True,
    )
    assert outcomes == [None] * 20
    assert await books.balance(account) == ledger.Balance(available=10, pending=0, held=0)
    async with database.session() as session:
        lots = (
            await session.exec(select(func.count()).where(PointsLot.account_id == account.id))
        ).one()
    assert lots == 1


async def test_sweeps_and_settlements_never_deadlock(books: Books) -> None:
    """The sweep locks an account, then its holds. A void that changed the hold first and
    reached for the account second would deadlock with it: PostgreSQL kills one of the two
    and `Database.write` retries it, so only counting deadlocks shows it. Every settlement
    locks the account first."""
    account = await books.account("m1")
    await books.call(ledger.earn, account, 50, reason="x")
    hold = await books.call(
        ledger.place_hold, account, 30, expires_at=books.now + timedelta(hours=1)
    )
    books.advance(hours=2)
    account_locked = asyncio.Event()

    async def sweeper(session: AsyncSession) -> None:
        locked, _ = await ledger.settle_lots(session, account.id, now=books.now)
        account_locked.set()
        await asyncio.sleep(0.3)  # the void starts meanwhile
        with contextlib.suppress(ledger.HoldNotPending):
            await ledger.expire_hold(session, hold.id, now=books.now, locked=locked)

    async def settlement() -> None:
        await account_locked.wait()
        with contextlib.suppress(ledger.HoldNotPending):
            await books.call(ledger.void_hold, hold.id)

    with recorded_deadlocks(books.database) as deadlocks:
        await asyncio.gather(books.run(sweeper), settlement())
    assert deadlocks == []
    assert await books.balance(account) == ledger.Balance(available=50, pending=0, held=0)
    assert await books.problems() == []


async def test_an_extension_and_a_settlement_in_one_unit_of_work_never_deadlock(
    books: Books,
) -> None:
    """A saga step extends one hold, then voids another of the same account, while a
    settlement voids the first: the extension locks the account first, like the others."""
    account = await books.account("m1")
    await books.call(ledger.earn, account, 100, reason="x")
    first = await books.call(
        ledger.place_hold, account, 10, expires_at=books.now + timedelta(hours=1)
    )
    second = await books.call(ledger.place_hold, account, 10)
    extended = asyncio.Event()

    async def saga(session: AsyncSession) -> None:
        later = books.now + timedelta(hours=2)
        with contextlib.suppress(ledger.HoldNotPending):
            await ledger.extend_hold(session, first.id, now=books.now, expires_at=later)
        extended.set()
        await asyncio.sleep(0.3)
        await ledger.void_hold(session, second.id, now=books.now)

    async def settlement() -> None:
        await extended.wait()
        with contextlib.suppress(ledger.HoldNotPending):
            await books.call(ledger.void_hold, first.id)

    with recorded_deadlocks(books.database) as deadlocks:
        await asyncio.gather(books.run(saga), settlement())
    assert deadlocks == []
    assert await books.balance(account) == ledger.Balance(available=100, pending=0, held=0)
    assert await books.problems() == []


async def test_sweeps_and_settlements_over_many_accounts(
    books: Books, postgresql_only: None
) -> None:
    accounts = [await books.account(f"m{n:03}") for n in range(40)]
    holds = []
    for account in accounts:
        soon = books.now + timedelta(minutes=30)
        await books.call(ledger.earn, account, 50, reason="x", expires_at=soon)
        await books.call(ledger.earn, account, 50, reason="x")
        for _ in range(3):
            holds.append(
                await books.call(
                    ledger.place_hold, account, 20, expires_at=books.now + timedelta(minutes=10)
                )
            )
    books.advance(hours=1)

    async def void(hold: Hold) -> None:
        with contextlib.suppress(ledger.HoldNotPending):
            await books.call(ledger.void_hold, hold.id)

    async def sweeps() -> list[expiry.SweepReport]:
        return list(
            await asyncio.gather(
                books.sweep(batch=5), books.sweep(batch=7), books.sweep(batch=3, budget=None)
            )
        )

    with recorded_deadlocks(books.database) as deadlocks:
        sweeping = asyncio.create_task(sweeps())
        await asyncio.gather(*(void(hold) for hold in holds[::4]))
        reports = await sweeping
    assert deadlocks == []
    assert [report.accounts_failed for report in reports] == [0, 0, 0]
    for account in accounts:
        assert await books.balance(account) == ledger.Balance(available=50, pending=0, held=0)
    assert await books.problems() == []
