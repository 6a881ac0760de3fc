from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from app.points import expiry, ledger
from app.points.models import (
    Hold,
    HoldStatus,
    JournalEntry,
    LedgerAccount,
    LotAllocation,
    PointsLot,
)
from tests.app.points.conftest import Books

pytestmark = pytest.mark.asyncio


async def _entries(books: Books) -> list[tuple[str, int]]:
    async with books.database.session() as session:
        rows = await session.exec(
            select(JournalEntry).where(JournalEntry.program_id == books.program.id)
        )
        return sorted((entry.kind, entry.points) for entry in rows.all())


async def test_earned_points_are_available_and_the_journal_balances(books: Books) -> None:
    account = await books.account("m1")
    await books.call(ledger.earn, account, 500, reason="signup")
    assert await books.balance(account) == ledger.Balance(available=500, pending=0, held=0)
    assert await books.problems() == []


@pytest.mark.parametrize("points", [0, -5])
async def test_earning_needs_a_positive_amount(books: Books, points: int) -> None:
    account = await books.account("m1")
    with pytest.raises(ledger.LedgerError, match="positive"):
        await books.call(ledger.earn, account, points, reason="x")


async def test_pending_points_are_not_spendable_before_they_activate(books: Books) -> None:
    account = await books.account("m1")
    await books.call(
        ledger.earn, account, 300, reason="purchase", activates_at=books.now.replace(day=30)
    )
    assert await books.balance(account) == ledger.Balance(available=0, pending=300, held=0)
    with pytest.raises(ledger.InsufficientPoints):
        await books.call(ledger.place_hold, account, 100)
    books.advance(days=8)
    hold = await books.call(ledger.place_hold, account, 100)
    assert hold.status == HoldStatus.PENDING
    assert await books.balance(account) == ledger.Balance(available=200, pending=0, held=100)
    assert await books.problems() == []


async def test_a_hold_posted_in_full(books: Books) -> None:
    account = await books.account("m1")
    await books.call(ledger.earn, account, 1000, reason="x")
    hold = await books.call(ledger.place_hold, account, 400, reference="r1")
    assert await books.balance(account) == ledger.Balance(available=600, pending=0, held=400)
    posted = await books.call(ledger.post_hold, hold.id)
    assert (posted.status, posted.posted_amount) == (HoldStatus.POSTED, 400)
    assert await books.balance(account) == ledger.Balance(available=600, pending=0, held=0)
    assert await books.problems() == []


async def test_a_partial_post_releases_the_rest(books: Books) -> None:
    account = await books.account("m1")
    await books.call(ledger.earn, account, 1000, reason="x")
    hold = await books.call(ledger.place_hold, account, 400)
    await books.call(ledger.post_hold, hold.id, amount=250)
    assert await books.balance(account) == ledger.Balance(available=750, pending=0, held=0)
    assert await books.problems() == []
    with pytest.raises(ledger.HoldNotPending):
        await books.call(ledger.void_hold, hold.id)


async def test_a_void_releases_everything_and_a_hold_resolves_once(books: Books) -> None:
    account = await books.account("m1")
    await books.call(ledger.earn, account, 1000, reason="x")
    hold = await books.call(ledger.place_hold, account, 1000)
    await books.call(ledger.void_hold, hold.id)
    assert await books.balance(account) == ledger.Balance(available=1000, pending=0, held=0)
    for resolve in (ledger.void_hold, ledger.post_hold):
        with pytest.raises(ledger.HoldNotPending) as caught:
            await books.call(resolve, hold.id)
        assert caught.value.status == HoldStatus.VOIDED
    assert await books.problems() == []


async def test_posting_more_than_held_is_refused(books: Books) -> None:
    account = await books.account("m1")
    await books.call(ledger.earn, account, 100, reason="x")
    hold = await books.call(ledger.place_hold, account, 50)
    with pytest.raises(ledger.ExceedsHold):
        await books.call(ledger.post_hold, hold.id, amount=51)
    assert await books.balance(account) == ledger.Balance(available=50, pending=0, held=50)


async def test_insufficient_points_write_nothing(books: Books) -> None:
    account = await books.account("m1")
    await books.call(ledger.earn, account, 100, reason="x")
    with pytest.raises(ledger.InsufficientPoints) as caught:
        await books.call(ledger.place_hold, account, 101)
    assert (caught.value.available, caught.value.requested) == (100, 101)
    async with books.database.session() as session:
        holds = (await session.exec(select(Hold).where(Hold.account_id == account.id))).all()
    assert holds == []
    assert await _entries(books) == [("earn", 100)]


async def test_spends_draw_from_the_lot_that_expires_first(books: Books) -> None:
    account = await books.account("m1")
    later = await books.call(
        ledger.earn, account, 100, reason="a", expires_at=books.now.replace(month=12, day=20)
    )
    never = await books.call(ledger.earn, account, 100, reason="b")
    sooner = await books.call(
        ledger.earn, account, 100, reason="c", expires_at=books.now.replace(month=12, day=5)
    )
    hold = await books.call(ledger.place_hold, account, 150)
    async with books.database.session() as session:
        drawn = {
            a.lot_id: a.amount
            for a in (
                await session.exec(select(LotAllocation).where(LotAllocation.hold_id == hold.id))
            ).all()
        }
    assert drawn == {sooner.id: 100, later.id: 50}
    assert never.id not in drawn
    await books.call(ledger.post_hold, hold.id, amount=120)
    async with books.database.session() as session:
        lots = {
            lot.id: lot.remaining
            for lot in (
                await session.exec(select(PointsLot).where(PointsLot.account_id == account.id))
            ).all()
        }
    # The 30 released points go back to the lot expiring last.
    assert lots == {sooner.id: 0, later.id: 80, never.id: 100}
    assert await books.problems() == []


async def test_expiry_removes_only_the_unspent_remainder(books: Books) -> None:
    account = await books.account("m1")
    await books.call(ledger.earn, account, 100, reason="x", expires_at=books.now.replace(day=24))
    hold = await books.call(ledger.place_hold, account, 30)
    await books.call(ledger.post_hold, hold.id)
    books.advance(days=2)
    assert await books.sweep() == expiry.SweepReport(accounts_settled=1, transactions=1)
    assert await books.balance(account) == ledger.Balance(available=0, pending=0, held=0)
    assert ("expire", 70) in await _entries(books)
    assert await books.sweep() == expiry.SweepReport()
    assert await books.problems() == []


async def test_expired_lots_are_never_spent_even_before_the_sweep(books: Books) -> None:
    account = await books.account("m1")
    await books.call(ledger.earn, account, 100, reason="x", expires_at=books.now.replace(day=24))
    await books.call(ledger.earn, account, 50, reason="y")
    books.advance(days=2)
    async with books.database.session() as session:
        seen = await ledger.balance_at(session, account.id, now=books.now)
    assert seen.available == 50, "reads already discount the expired lot"
    with pytest.raises(ledger.InsufficientPoints) as caught:
        await books.call(ledger.place_hold, account, 120)
    assert caught.value.available == 50
    assert await books.problems() == []


async def test_points_released_after_their_lot_expired_expire_at_once(books: Books) -> None:
    account = await books.account("m1")
    await books.call(ledger.earn, account, 100, reason="x", expires_at=books.now.replace(day=24))
    hold = await books.call(ledger.place_hold, account, 100)
    books.advance(days=2)
    await books.call(ledger.void_hold, hold.id)
    assert await books.balance(account) == ledger.Balance(available=0, pending=0, held=0)
    assert ("expire", 100) in await _entries(books)
    assert await books.problems() == []


async def test_holds_expire_in_the_sweep(books: Books) -> None:
    account = await books.account("m1")
    await books.call(ledger.earn, account, 100, reason="x")
    hold = await books.call(ledger.place_hold, account, 60, expires_at=books.now.replace(hour=13))
    books.advance(hours=2)
    assert (await books.sweep()).holds_expired == 1
    assert await books.balance(account) == ledger.Balance(available=100, pending=0, held=0)
    with pytest.raises(ledger.HoldNotPending) as caught:
        await books.call(ledger.post_hold, hold.id)
    assert caught.value.status == HoldStatus.EXPIRED
    assert await books.problems() == []


async def test_points_must_expire_after_they_activate(books: Books) -> None:
    account = await books.account("m1")
    with pytest.raises(ledger.LedgerError, match="expire after"):
        await books.call(
            ledger.earn,
            account,
            10,
            reason="x",
            activates_at=books.now.replace(day=28),
            expires_at=books.now.replace(day=27),
        )


async def _overwrite(books: Books, account: LedgerAccount, column: str, value: int) -> None:
    await books.tamper(
        f"UPDATE ledger_account SET {column} = :value WHERE id = :id", value=value, id=account.id
    )


async def test_the_database_refuses_a_negative_member_balance(books: Books) -> None:
    """The last line of defence, below the conditional update: a CHECK constraint."""
    account = await books.account("m1")
    await books.call(ledger.earn, account, 10, reason="x")
    with pytest.raises(IntegrityError):
        await _overwrite(books, account, "pending_debits", 11)


async def test_check_finds_a_tampered_balance(books: Books) -> None:
    account = await books.account("m1")
    await books.call(ledger.earn, account, 10, reason="x")
    await _overwrite(books, account, "posted_credits", 12)
    problems = await books.problems()
    assert any("posted_credits=12 but the journal folds to 10" in p for p in problems)
    assert any("active lots hold 10, available is 12" in p for p in problems)


async def test_one_reference_holds_once(books: Books) -> None:
    """A redemption's hold carries its id as reference: a second hold for it is refused by
    the database, and writes nothing."""
    account = await books.account("m1")
    await books.call(ledger.earn, account, 100, reason="x")
    await books.call(ledger.place_hold, account, 10, reference="redemption-1")
    with pytest.raises(IntegrityError):
        await books.call(ledger.place_hold, account, 10, reference="redemption-1")
    assert await books.balance(account) == ledger.Balance(available=90, pending=0, held=10)
    assert await books.problems() == []


async def test_the_database_refuses_impossible_lots_and_allocations(books: Books) -> None:
    account = await books.account("m1")
    lot = await books.call(ledger.earn, account, 10, reason="x")
    hold = await books.call(ledger.place_hold, account, 4)
    for sql in (
        "UPDATE points_lot SET remaining = 11 WHERE id = :lot",
        "UPDATE points_lot SET expired_amount = 11 WHERE id = :lot",
        "UPDATE lot_allocation SET amount = -1 WHERE hold_id = :hold",
    ):
        with pytest.raises(IntegrityError):
            await books.tamper(sql, lot=lot.id, hold=hold.id)
    assert await books.problems() == []
