"""Holds obey their expiry, swept or not, and can be extended while still pending."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from app.points import expiry, ledger
from app.points.models import Hold, HoldStatus
from tests.app.points.conftest import Books

pytestmark = pytest.mark.asyncio


async def _held(books: Books, points: int = 60, hours: float = 1) -> Hold:
    account = await books.account("m1")
    await books.call(ledger.earn, account, 100, reason="x")
    return await books.call(
        ledger.place_hold, account, points, expires_at=books.now + timedelta(hours=hours)
    )


async def test_a_hold_cannot_expire_in_the_past(books: Books) -> None:
    account = await books.account("m1")
    await books.call(ledger.earn, account, 100, reason="x")
    for moment in (books.now, books.now - timedelta(seconds=1)):
        with pytest.raises(ledger.LedgerError, match="expire in the future"):
            await books.call(ledger.place_hold, account, 10, expires_at=moment)
    assert await books.balance(account) == ledger.Balance(available=100, pending=0, held=0)


async def test_an_overdue_hold_cannot_be_posted_before_the_sweep_has_run(books: Books) -> None:
    hold = await _held(books)
    books.advance(hours=1)  # exactly at expires_at: expired
    with pytest.raises(ledger.HoldExpired) as caught:
        await books.call(ledger.post_hold, hold.id)
    assert caught.value.status == HoldStatus.EXPIRED
    account = await books.account("m1")
    assert await books.balance(account) == ledger.Balance(available=40, pending=0, held=60)
    async with books.database.session() as session:
        seen = await ledger.balance_at(session, account.id, now=books.now)
    assert seen == ledger.Balance(available=100, pending=0, held=0), "reads see it released"
    assert (await books.sweep()).holds_expired == 1
    assert await books.balance(account) == ledger.Balance(available=100, pending=0, held=0)
    assert await books.problems() == []


async def test_a_hold_can_be_posted_until_its_last_moment(books: Books) -> None:
    hold = await _held(books)
    books.advance(minutes=59, seconds=59)
    posted = await books.call(ledger.post_hold, hold.id)
    assert (posted.status, posted.posted_amount) == (HoldStatus.POSTED, 60)


async def test_voiding_an_overdue_hold_records_its_expiry(books: Books) -> None:
    hold = await _held(books)
    books.advance(hours=2)
    voided = await books.call(ledger.void_hold, hold.id)
    assert voided.status == HoldStatus.EXPIRED
    account = await books.account("m1")
    assert await books.balance(account) == ledger.Balance(available=100, pending=0, held=0)
    assert (await books.sweep()).holds_expired == 0
    assert await books.problems() == []


async def test_extending_a_hold_keeps_it_alive(books: Books) -> None:
    hold = await _held(books)
    later = books.now + timedelta(hours=5)
    extended = await books.call(ledger.extend_hold, hold.id, expires_at=later)
    assert (extended.status, extended.expires_at) == (HoldStatus.PENDING, later)
    books.advance(hours=3)
    assert (await books.sweep()).holds_expired == 0
    posted = await books.call(ledger.post_hold, hold.id)
    assert posted.status == HoldStatus.POSTED
    assert await books.problems() == []


async def test_an_expired_hold_is_not_revived(books: Books) -> None:
    hold = await _held(books)
    books.advance(hours=1)
    with pytest.raises(ledger.HoldExpired):
        await books.call(ledger.extend_hold, hold.id, expires_at=books.now + timedelta(hours=1))


async def test_a_resolved_hold_is_not_extended(books: Books) -> None:
    hold = await _held(books)
    await books.call(ledger.void_hold, hold.id)
    with pytest.raises(ledger.HoldNotPending) as caught:
        await books.call(ledger.extend_hold, hold.id, expires_at=books.now + timedelta(hours=1))
    assert caught.value.status == HoldStatus.VOIDED


async def test_an_extension_never_shortens_a_hold(books: Books) -> None:
    hold = await _held(books, hours=5)
    with pytest.raises(ledger.LedgerError, match="shorten"):
        await books.call(ledger.extend_hold, hold.id, expires_at=books.now + timedelta(hours=1))
    with pytest.raises(ledger.LedgerError, match="future"):
        await books.call(ledger.extend_hold, hold.id, expires_at=books.now)


async def test_a_hold_without_expiry_stays_without(books: Books) -> None:
    account = await books.account("m1")
    await books.call(ledger.earn, account, 100, reason="x")
    hold = await books.call(ledger.place_hold, account, 10)
    same = await books.call(ledger.extend_hold, hold.id, expires_at=books.now + timedelta(days=1))
    assert (same.status, same.expires_at) == (HoldStatus.PENDING, None)


async def test_a_hold_extended_after_the_sweep_found_it_due_is_left_alone(books: Books) -> None:
    """A sweeper whose clock runs ahead finds a hold due; before its batch runs, the saga
    extends the hold: the sweep's conditional expiry must not expire it."""
    hold = await _held(books)
    ahead = books.now + timedelta(hours=2)
    async with books.database.session() as session:
        due = await expiry.due_accounts(session, now=ahead)
    assert [d.hold_ids for d in due] == [(hold.id,)]
    await books.call(ledger.extend_hold, hold.id, expires_at=books.now + timedelta(hours=5))

    async def settle(session: AsyncSession) -> expiry.Settled:
        return await expiry.settle_due(session, due, now=ahead)

    assert (await books.run(settle)).holds_expired == 0
    books.advance(hours=3)
    assert (await books.call(ledger.post_hold, hold.id)).status == HoldStatus.POSTED
    assert await books.problems() == []


async def test_posting_part_of_a_hold_whose_lot_expired_meanwhile(books: Books) -> None:
    account = await books.account("m1")
    await books.call(
        ledger.earn, account, 100, reason="x", expires_at=books.now + timedelta(hours=2)
    )
    hold = await books.call(
        ledger.place_hold, account, 80, expires_at=books.now + timedelta(days=1)
    )
    books.advance(hours=3)  # the lot expired; the sweep has not run
    await books.call(ledger.post_hold, hold.id, amount=50)
    # The 30 released points return to a lot that has expired: they expire at once.
    assert await books.balance(account) == ledger.Balance(available=20, pending=0, held=0)
    await books.sweep()
    assert await books.balance(account) == ledger.Balance(available=0, pending=0, held=0)
    assert await books.problems() == []


async def test_a_void_with_an_older_clock_than_the_sweep_that_expired_the_lot(
    books: Books,
) -> None:
    """The clock is read before the account lock: a void that waited behind a sweep runs with
    an earlier ``now`` than the sweep's. The points it returns to the expired lot expired at
    the lot's expiry, not at that earlier instant (the CI workload found this, seed 1)."""
    account = await books.account("m1")
    lot_expiry = books.now + timedelta(hours=2)
    await books.call(ledger.earn, account, 100, reason="x", expires_at=lot_expiry)
    hold = await books.call(ledger.place_hold, account, 80)
    stale = books.now + timedelta(hours=1)
    books.now = lot_expiry + timedelta(minutes=1)
    await books.sweep()
    books.now = stale
    await books.call(ledger.void_hold, hold.id)
    books.now = lot_expiry + timedelta(minutes=1)
    assert await books.balance(account) == ledger.Balance(available=0, pending=0, held=0)
    assert await books.problems() == []


async def test_what_a_read_shows_available_can_be_held_before_the_sweep(books: Books) -> None:
    """A hold past its expiry gives its points back on read; a new hold must find them too."""
    account = await books.account("m1")
    await books.call(ledger.earn, account, 100, reason="x")
    first = await books.call(
        ledger.place_hold, account, 100, expires_at=books.now + timedelta(hours=1)
    )
    books.advance(hours=2)
    async with books.database.session() as session:
        seen = await ledger.balance_at(session, account.id, now=books.now)
    assert seen == ledger.Balance(available=100, pending=0, held=0)
    second = await books.call(ledger.place_hold, account, 100)
    assert second.status == HoldStatus.PENDING
    with pytest.raises(ledger.HoldNotPending) as caught:
        await books.call(ledger.post_hold, first.id)
    assert caught.value.status == HoldStatus.EXPIRED, "the new hold recorded the old one's expiry"
    assert await books.problems() == []


async def test_one_instant_in_any_offset_is_one_expiry(books: Books) -> None:
    account = await books.account("m1")
    await books.call(ledger.earn, account, 100, reason="x")
    tokyo, samoa = timezone(timedelta(hours=9)), timezone(timedelta(hours=-11))
    expires = (books.now + timedelta(hours=1)).astimezone(tokyo)
    hold = await books.call(ledger.place_hold, account, 10, expires_at=expires)
    books.now = expires.astimezone(samoa)  # exactly expires_at, in another offset
    with pytest.raises(ledger.HoldExpired):
        await books.call(ledger.post_hold, hold.id)
    with pytest.raises(ledger.HoldExpired):
        await books.call(ledger.extend_hold, hold.id, expires_at=books.now + timedelta(hours=1))
    assert (await books.call(ledger.void_hold, hold.id)).status == HoldStatus.EXPIRED
    assert await books.problems() == []


async def test_naive_datetimes_are_refused_as_ledger_errors(books: Books) -> None:
    account = await books.account("m1")
    await books.call(ledger.earn, account, 100, reason="x")
    hold = await books.call(ledger.place_hold, account, 10)
    naive = datetime(2030, 1, 1)  # noqa: DTZ001 - the point of the test
    for attempt in (
        books.call(ledger.place_hold, account, 10, expires_at=naive),
        books.call(ledger.earn, account, 10, reason="x", expires_at=naive),
        books.call(ledger.extend_hold, hold.id, expires_at=naive),
    ):
        with pytest.raises(ledger.LedgerError, match="time zone"):
            await attempt
