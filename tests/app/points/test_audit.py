"""`audit.check` finds each corruption it claims to: one hand-made corruption per invariant,
and the message of the branch that must catch it (a branch removed makes its test fail)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlmodel import col, select

from app.points import audit, ledger
from app.points.models import JournalEntry, JournalLine, LedgerAccount, PointsLot
from tests.app.points.conftest import Books, new_books

pytestmark = pytest.mark.asyncio


async def _lots(books: Books, account: LedgerAccount) -> list[PointsLot]:
    async with books.database.session() as session:
        found = await session.exec(select(PointsLot).where(PointsLot.account_id == account.id))
        return sorted(found.all(), key=lambda lot: lot.original)


async def _entry(books: Books, kind: str) -> JournalEntry:
    async with books.database.session() as session:
        found = await session.exec(
            select(JournalEntry).where(
                JournalEntry.program_id == books.program.id, JournalEntry.kind == kind
            )
        )
        return found.one()


async def _problems_after(books: Books, sql: str, **params: object) -> list[str]:
    assert await books.problems() == [], "clean before the corruption"
    await books.tamper(sql, **params)
    return await books.problems()


def _found(problems: list[str], *fragments: str) -> bool:
    return any(all(fragment in problem for fragment in fragments) for problem in problems)


async def test_a_lot_whose_original_was_raised(books: Books) -> None:
    account = await books.account("m1")
    lot = await books.call(ledger.earn, account, 100, reason="x")
    await books.call(ledger.place_hold, account, 30)
    problems = await _problems_after(
        books, "UPDATE points_lot SET original = 150 WHERE id = :id", id=lot.id
    )
    assert _found(problems, f"lot {lot.id}: original 150 is not remaining 70", "drawn 30")
    assert _found(problems, f"lot {lot.id} of 150 points was earned by [100]")


async def test_points_moved_between_lots(books: Books) -> None:
    account = await books.account("m1")
    soon = books.now + timedelta(days=10)
    await books.call(ledger.earn, account, 100, reason="x", expires_at=soon)
    await books.call(ledger.earn, account, 200, reason="y")
    await books.call(ledger.place_hold, account, 50)  # drawn from the lot expiring first
    small, large = await _lots(books, account)
    problems = await _problems_after(
        books,
        "UPDATE points_lot SET remaining = remaining + CASE WHEN id = :small THEN 10 ELSE -10 END "
        "WHERE id IN (:small, :large)",
        small=small.id,
        large=large.id,
    )
    # The account's total is unchanged: only conservation per lot sees it.
    assert not _found(problems, "active lots hold")
    assert _found(problems, f"lot {small.id}: original 100 is not remaining 60")
    assert _found(problems, f"lot {large.id}: original 200 is not remaining 190")


async def test_a_posted_hold_relabelled_voided(books: Books) -> None:
    account = await books.account("m1")
    await books.call(ledger.earn, account, 100, reason="x")
    hold = await books.call(ledger.place_hold, account, 40)
    await books.call(ledger.post_hold, hold.id, amount=25)
    problems = await _problems_after(
        books, "UPDATE hold SET status = 'voided' WHERE id = :id", id=hold.id
    )
    assert _found(problems, f"hold {hold.id} (voided) is resolved by [('post', 25)]")
    assert _found(problems, f"hold {hold.id} (voided) draws 25 from lots, expected 0")


async def test_a_void_relabelled_as_an_expiry(books: Books) -> None:
    """Void and hold expiry have the same lines: only the resolution check tells them apart."""
    account = await books.account("m1")
    await books.call(ledger.earn, account, 100, reason="x")
    hold = await books.call(ledger.place_hold, account, 40)
    await books.call(ledger.void_hold, hold.id)
    void = await _entry(books, "void")
    problems = await _problems_after(
        books, "UPDATE journal_entry SET kind = 'hold_expire' WHERE id = :id", id=void.id
    )
    assert problems == [
        f"hold {hold.id} (voided) is resolved by [('hold_expire', 40)], expected [('void', 40)]"
    ]


async def test_a_hold_resolved_twice(books: Books) -> None:
    account = await books.account("m1")
    await books.call(ledger.earn, account, 100, reason="x")
    hold = await books.call(ledger.place_hold, account, 40)
    await books.call(ledger.void_hold, hold.id)
    void = await _entry(books, "void")
    copy_id = uuid.uuid4()
    await books.tamper(
        "INSERT INTO journal_entry (id, program_id, account_id, kind, points, hold_id, "
        "created_at) SELECT :copy, program_id, account_id, kind, points, hold_id, created_at "
        "FROM journal_entry WHERE id = :id",
        copy=copy_id,
        id=void.id,
    )
    problems = await books.problems()
    assert _found(problems, f"hold {hold.id} (voided) is resolved by [('void', 40), ('void', 40)]")


async def test_an_entry_whose_lines_do_not_balance(books: Books) -> None:
    account = await books.account("m1")
    await books.call(ledger.earn, account, 100, reason="x")
    earn = await _entry(books, "earn")
    problems = await _problems_after(
        books,
        "UPDATE journal_line SET amount = 90 WHERE entry_id = :id AND side = 'debit'",
        id=earn.id,
    )
    assert _found(problems, f"entry {earn.id} posted lines do not balance")


async def test_an_entry_whose_points_disagree_with_its_lines(books: Books) -> None:
    account = await books.account("m1")
    await books.call(ledger.earn, account, 100, reason="x")
    hold = await books.call(ledger.place_hold, account, 40)
    entry = await _entry(books, "hold")
    problems = await _problems_after(
        books, "UPDATE journal_entry SET points = 45 WHERE id = :id", id=entry.id
    )
    assert _found(problems, f"entry {entry.id} (hold, 45 points) has lines")
    assert _found(problems, f"hold {hold.id} of 40 has hold entries for [45]")


async def test_lines_moved_to_another_account(books: Books) -> None:
    """Balanced lines on the wrong account: the entry balances, its shape does not."""
    account = await books.account("m1")
    other = await books.account("m2")
    await books.call(ledger.earn, account, 100, reason="x")
    await books.call(ledger.earn, other, 100, reason="y")
    async with books.database.session() as session:
        entry_ids = (
            await session.exec(
                select(JournalEntry.id).where(
                    JournalEntry.account_id == account.id, JournalEntry.kind == "earn"
                )
            )
        ).all()
    (entry_id,) = entry_ids
    await books.tamper(
        "UPDATE journal_line SET account_id = :other WHERE entry_id = :id AND side = 'credit'",
        other=other.id,
        id=entry_id,
    )
    problems = await books.problems()
    assert _found(problems, f"entry {entry_id} (earn, 100 points) has lines")
    assert not _found(problems, "do not balance")


async def test_a_hold_drawing_on_another_members_lot(books: Books) -> None:
    account = await books.account("m1")
    other = await books.account("m2")
    await books.call(ledger.earn, account, 100, reason="x")
    await books.call(ledger.earn, other, 100, reason="y")
    hold = await books.call(ledger.place_hold, account, 30)
    (own,) = await _lots(books, account)
    (theirs,) = await _lots(books, other)
    problems = await _problems_after(
        books,
        "UPDATE lot_allocation SET lot_id = :theirs WHERE hold_id = :hold",
        theirs=theirs.id,
        hold=hold.id,
    )
    assert _found(problems, f"hold {hold.id} of account {account.id} draws from lot {theirs.id}")
    assert _found(problems, f"lot {own.id}: original 100 is not remaining 70")


async def test_an_expired_lot_that_still_holds_points(books: Books) -> None:
    account = await books.account("m1")
    lot = await books.call(
        ledger.earn, account, 100, reason="x", expires_at=books.now + timedelta(hours=1)
    )
    books.advance(hours=2)
    await books.sweep()
    problems = await _problems_after(
        books,
        "UPDATE points_lot SET remaining = 5, expired_amount = 95 WHERE id = :id",
        id=lot.id,
    )
    assert _found(problems, f"expired lot {lot.id} still holds 5")
    assert _found(problems, f"lot {lot.id}: expire entries for 100, expired amount 95")


async def test_a_pending_lot_activated_twice(books: Books) -> None:
    account = await books.account("m1")
    lot = await books.call(
        ledger.earn, account, 100, reason="x", activates_at=books.now + timedelta(hours=1)
    )
    books.advance(hours=2)
    await books.call(ledger.settle_lots, account.id)
    activation = await _entry(books, "activate")
    copy_id = uuid.uuid4()
    await books.tamper(
        "INSERT INTO journal_entry (id, program_id, account_id, kind, points, lot_id, "
        "created_at) SELECT :copy, program_id, account_id, kind, points, lot_id, created_at "
        "FROM journal_entry WHERE id = :id",
        copy=copy_id,
        id=activation.id,
    )
    assert _found(await books.problems(), f"lot {lot.id} (active) activated by [100, 100]")


async def test_a_tampered_balance(books: Books) -> None:
    account = await books.account("m1")
    await books.call(ledger.earn, account, 10, reason="x")
    problems = await _problems_after(
        books, "UPDATE ledger_account SET posted_credits = 12 WHERE id = :id", id=account.id
    )
    assert _found(problems, "posted_credits=12 but the journal folds to 10")
    assert _found(problems, "active lots hold 10, available is 12")


async def test_a_journal_line_deleted(books: Books) -> None:
    account = await books.account("m1")
    await books.call(ledger.earn, account, 100, reason="x")
    await books.call(ledger.place_hold, account, 30)
    hold_entry = await _entry(books, "hold")
    async with books.database.session() as session:
        (line_id,) = (
            await session.exec(
                select(JournalLine.id).where(
                    JournalLine.entry_id == hold_entry.id, col(JournalLine.side) == "credit"
                )
            )
        ).all()
    problems = await _problems_after(books, "DELETE FROM journal_line WHERE id = :id", id=line_id)
    assert _found(problems, f"entry {hold_entry.id} pending lines do not balance")


async def test_a_member_account_relabelled_a_system_account(books: Books) -> None:
    """Relabelled, its balance would escape every member check (and the database's CHECK on
    member balances): the audit goes by what the account is, not by its kind column."""
    account = await books.account("m1")
    await books.call(ledger.earn, account, 100, reason="x")
    problems = await _problems_after(
        books,
        "UPDATE ledger_account SET kind = 'issuance', posted_credits = posted_credits + 1000000 "
        "WHERE id = :id",
        id=account.id,
    )
    assert _found(problems, f"account {account.id} is a member's but has kind 'issuance'")
    assert _found(problems, f"account {account.id} posted_credits=1000100")


async def test_a_lot_marked_expired_before_its_time(books: Books) -> None:
    account = await books.account("m1")
    lot = await books.call(
        ledger.earn, account, 100, reason="x", expires_at=books.now + timedelta(days=30)
    )
    hold = await books.call(ledger.place_hold, account, 100)
    problems = await _problems_after(
        books, "UPDATE points_lot SET state = 'expired' WHERE id = :id", id=lot.id
    )
    assert _found(problems, f"lot {lot.id} is expired before its expiry")
    # The void burns the points, dated at the lot's expiry (a clock older than the one that
    # expired the lot is taken for lag): the lot is still seen expired before its time.
    await books.call(ledger.void_hold, hold.id)
    assert _found(await books.problems(), f"lot {lot.id} is expired before its expiry")


async def test_points_dated_expired_before_their_lots_expiry(books: Books) -> None:
    account = await books.account("m1")
    lot = await books.call(
        ledger.earn, account, 100, reason="x", expires_at=books.now + timedelta(hours=1)
    )
    books.advance(hours=2)
    await books.sweep()
    problems = await _problems_after(
        books,
        "UPDATE journal_entry SET created_at = :early WHERE lot_id = :id AND kind = 'expire'",
        id=lot.id,
        early=books.now - timedelta(hours=3),
    )
    assert _found(problems, f"lot {lot.id} has points expired before")


async def test_a_lot_that_never_expires_marked_expired(books: Books) -> None:
    account = await books.account("m1")
    lot = await books.call(ledger.earn, account, 100, reason="x")
    hold = await books.call(ledger.place_hold, account, 100)
    await books.tamper("UPDATE points_lot SET state = 'expired' WHERE id = :id", id=lot.id)
    await books.call(ledger.void_hold, hold.id)
    assert _found(await books.problems(), f"lot {lot.id} never expires, yet 100 expired")


async def test_a_posted_amount_on_a_hold_that_was_not_posted(books: Books) -> None:
    account = await books.account("m1")
    await books.call(ledger.earn, account, 100, reason="x")
    voided = await books.call(ledger.place_hold, account, 60)
    pending = await books.call(ledger.place_hold, account, 10)
    await books.call(ledger.void_hold, voided.id)
    problems = await _problems_after(
        books,
        "UPDATE hold SET posted_amount = amount WHERE id IN (:voided, :pending)",
        voided=voided.id,
        pending=pending.id,
    )
    assert _found(problems, f"hold {voided.id} (voided) says 60 were posted")
    assert _found(problems, f"hold {pending.id} (pending) says 10 were posted")


async def test_a_hold_that_never_expires_recorded_as_expired(books: Books) -> None:
    """Void and hold expiry have the same lines: relabel both the status and the entry, and
    only the missing expiry gives it away."""
    account = await books.account("m1")
    await books.call(ledger.earn, account, 100, reason="x")
    hold = await books.call(ledger.place_hold, account, 60)
    await books.call(ledger.void_hold, hold.id)
    await books.tamper("UPDATE hold SET status = 'expired' WHERE id = :id", id=hold.id)
    await books.tamper(
        "UPDATE journal_entry SET kind = 'hold_expire' WHERE hold_id = :id AND kind = 'void'",
        id=hold.id,
    )
    assert _found(await books.problems(), f"hold {hold.id} is expired, but its expiry is None")


async def test_a_post_after_its_hold_expired(books: Books) -> None:
    account = await books.account("m1")
    await books.call(ledger.earn, account, 100, reason="x")
    hold = await books.call(
        ledger.place_hold, account, 60, expires_at=books.now + timedelta(hours=1)
    )
    books.advance(minutes=30)
    await books.call(ledger.post_hold, hold.id)
    earlier = books.now - timedelta(minutes=10)
    problems = await _problems_after(
        books,
        "UPDATE hold SET expires_at = :at WHERE id = :id",
        id=hold.id,
        at=earlier.replace(tzinfo=None) if books.database.is_sqlite else earlier,
    )
    assert _found(problems, f"hold {hold.id} was posted at", "after its expiry")


async def test_an_account_moved_to_another_program(books: Books) -> None:
    other = await new_books(books.database)
    account = await books.account("m1")
    await books.call(ledger.earn, account, 100, reason="x")
    await books.tamper(
        "UPDATE ledger_account SET program_id = :other WHERE id = :id",
        other=other.program.id,
        id=account.id,
    )
    async with books.database.session() as session:
        everyone = await audit.check(session, now=books.now)
    assert _found(everyone, f"account {account.id} is in program {other.program.id}")
    assert _found(everyone, f"is about account {account.id} of program {other.program.id}")
    assert _found(await books.problems(), f"is about account {account.id} of program None")
