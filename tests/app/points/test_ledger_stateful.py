"""The ledger against a plain-Python model, driven by Hypothesis.

Rules, over three members of one program: earn, earn pending, advance the clock, hold (with
or without an expiry), post (fully or partly), void, extend a hold, sweep. The model predicts
every answer (refusals included, with the available figure they carry) and, after every step,
the whole state: each lot's remaining, expired amount and state, each hold's status and posted
amount, each member's entries (kind and points), the stored balance columns and the balance a
read sees at the current time. `audit.check` runs too, as one oracle among these, not the only
one.

Hypothesis runs rules synchronously; the database calls run on an event loop in a thread.
"""

from __future__ import annotations

import asyncio
import copy
import threading
import uuid
from collections import Counter
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)
from sqlmodel import col, select

from app import migrations
from app.db import Database
from app.points import ledger
from app.points.models import Hold, JournalEntry, LedgerAccount, PointsLot
from app.settings import Settings
from tests.app.points.conftest import START, Books, new_books

T = TypeVar("T")
FAR = datetime.max.replace(tzinfo=START.tzinfo)
MEMBERS = ("ann", "bo", "cy")


class LoopThread:
    """An event loop in a thread, so synchronous rules can await the database."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(work, self.loop).result(timeout=120)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


@dataclass
class Lot:
    id: uuid.UUID
    original: int
    activates: datetime
    expires: datetime | None
    created: datetime
    state: str  # pending | active | expired
    remaining: int
    expired: int = 0

    def gone(self, now: datetime) -> bool:
        return self.state == "expired" or (self.expires is not None and self.expires <= now)

    def spending_order(self) -> tuple[datetime, datetime, uuid.UUID]:
        return (self.expires or FAR, self.created, self.id)


@dataclass
class ModelHold:
    account: str
    amount: int
    expires: datetime | None
    status: str = "pending"
    posted: int = 0
    drawn: dict[uuid.UUID, int] = field(default_factory=dict)


class Model:
    """What the ledger must do, in a few lines of Python."""

    def __init__(self) -> None:
        self.lots: dict[uuid.UUID, Lot] = {}
        self.holds: dict[uuid.UUID, ModelHold] = {}
        self.entries: dict[str, Counter[tuple[str, int]]] = {m: Counter() for m in MEMBERS}
        self.owner: dict[uuid.UUID, str] = {}

    def lots_of(self, member: str) -> list[Lot]:
        return [lot for lot_id, lot in self.lots.items() if self.owner[lot_id] == member]

    def balance(self, member: str) -> ledger.Balance:
        lots = self.lots_of(member)
        return ledger.Balance(
            available=sum(lot.remaining for lot in lots if lot.state == "active"),
            pending=sum(lot.remaining for lot in lots if lot.state == "pending"),
            held=sum(
                h.amount
                for h in self.holds.values()
                if h.account == member and h.status == "pending"
            ),
        )

    def seen_at(self, member: str, now: datetime) -> ledger.Balance:
        """What a read at ``now`` sees: due lots settled, overdue holds given back."""
        future = copy.deepcopy(self)
        future.settle(member, now)
        for hold in future.holds.values():
            if hold.account == member and hold.status == "pending" and _overdue(hold, now):
                future.resolve(hold, "expired", now)
        return future.balance(member)

    def earn(self, member: str, lot: Lot) -> None:
        self.lots[lot.id] = lot
        self.owner[lot.id] = member
        self.entries[member][("earn", lot.original)] += 1

    def settle(self, member: str, now: datetime) -> None:
        for lot in sorted(self.lots_of(member), key=Lot.spending_order):
            if lot.state == "pending" and lot.activates <= now:
                lot.state = "active"
                self.entries[member][("activate", lot.remaining)] += 1
            if lot.state == "active" and lot.expires is not None and lot.expires <= now:
                if lot.remaining:
                    self.entries[member][("expire", lot.remaining)] += 1
                lot.state, lot.expired, lot.remaining = "expired", lot.expired + lot.remaining, 0

    def prepare_hold(self, member: str, now: datetime) -> None:
        """What a hold does first: expire the member's overdue holds, settle due lots."""
        for hold in self.holds.values():
            if hold.account == member and hold.status == "pending" and _overdue(hold, now):
                self.resolve(hold, "expired", now)
        self.settle(member, now)

    def available_after_settling(self, member: str, now: datetime) -> int:
        """What a hold would find: a refused hold settles nothing (it writes nothing)."""
        future = copy.deepcopy(self)
        future.prepare_hold(member, now)
        return future.balance(member).available

    def hold(self, member: str, amount: int, expires: datetime | None) -> ModelHold:
        hold = ModelHold(member, amount, expires)
        needed = amount
        spendable = [lot for lot in self.lots_of(member) if lot.state == "active" and lot.remaining]
        for lot in sorted(spendable, key=Lot.spending_order):
            take = min(lot.remaining, needed)
            lot.remaining -= take
            hold.drawn[lot.id] = take
            needed -= take
            if not needed:
                break
        assert needed == 0
        self.entries[member][("hold", amount)] += 1
        return hold

    def resolve(self, hold: ModelHold, status: str, now: datetime, posted: int = 0) -> None:
        kind = {"posted": "post", "voided": "void", "expired": "hold_expire"}[status]
        hold.status, hold.posted = status, posted
        self.entries[hold.account][(kind, posted if status == "posted" else hold.amount)] += 1
        self.release(hold, hold.amount - posted, now)

    def release(self, hold: ModelHold, amount: int, now: datetime) -> None:
        for lot_id in sorted(hold.drawn, key=lambda i: self.lots[i].spending_order(), reverse=True):
            if not amount:
                return
            back = min(hold.drawn[lot_id], amount)
            if not back:
                continue
            hold.drawn[lot_id] -= back
            amount -= back
            lot = self.lots[lot_id]
            if lot.gone(now):
                lot.expired += back
                self.entries[hold.account][("expire", back)] += 1
            else:
                lot.remaining += back


def _overdue(hold: ModelHold, now: datetime) -> bool:
    return hold.expires is not None and hold.expires <= now


class LedgerMachine(RuleBasedStateMachine):
    holds = Bundle("holds")

    def __init__(self, loop: LoopThread, database: Database) -> None:
        super().__init__()
        self.loop = loop
        self.books: Books = loop.run(new_books(database))
        self.accounts = {member: loop.run(self.books.account(member)) for member in MEMBERS}
        self.model = Model()

    @property
    def now(self) -> datetime:
        return self.books.now

    def _earn(
        self, member: str, points: int, activates: datetime | None, expires: datetime | None
    ) -> None:
        lot = self.loop.run(
            self.books.call(
                ledger.earn,
                self.accounts[member],
                points,
                reason="r",
                activates_at=activates,
                expires_at=expires,
            )
        )
        pending = activates is not None and activates > self.now
        self.model.earn(
            member,
            Lot(
                id=lot.id,
                original=points,
                activates=activates if pending and activates else self.now,
                expires=expires,
                created=self.now,
                state="pending" if pending else "active",
                remaining=points,
            ),
        )

    @rule(
        member=st.sampled_from(MEMBERS),
        points=st.integers(1, 500),
        expires_in=st.none() | st.integers(1, 240),
    )
    def earn(self, member: str, points: int, expires_in: int | None) -> None:
        expires = self.now + timedelta(hours=expires_in) if expires_in else None
        self._earn(member, points, None, expires)

    @rule(
        member=st.sampled_from(MEMBERS),
        points=st.integers(1, 500),
        activates_in=st.integers(1, 120),
        lasts=st.none() | st.integers(1, 240),
    )
    def earn_pending(self, member: str, points: int, activates_in: int, lasts: int | None) -> None:
        activates = self.now + timedelta(hours=activates_in)
        self._earn(member, points, activates, activates + timedelta(hours=lasts) if lasts else None)

    @rule(hours=st.integers(1, 96))
    def advance_clock(self, hours: int) -> None:
        self.books.advance(hours=hours)

    @rule(
        target=holds,
        member=st.sampled_from(MEMBERS),
        amount=st.integers(1, 700),
        expires_in=st.none() | st.integers(1, 72),
    )
    def hold(self, member: str, amount: int, expires_in: int | None) -> Any:
        expires = self.now + timedelta(hours=expires_in) if expires_in else None
        available = self.model.available_after_settling(member, self.now)
        try:
            hold = self.loop.run(
                self.books.call(
                    ledger.place_hold, self.accounts[member], amount, expires_at=expires
                )
            )
        except ledger.InsufficientPoints as refused:
            assert (refused.available, amount > available) == (available, True)  # noqa: PT017
            return multiple()
        assert amount <= available
        self.model.prepare_hold(member, self.now)
        self.model.holds[hold.id] = self.model.hold(member, amount, expires)
        return hold.id

    @rule(hold_id=holds, part=st.none() | st.integers(1, 700))
    def post(self, hold_id: uuid.UUID, part: int | None) -> None:
        hold = self.model.holds[hold_id]
        try:
            self.loop.run(self.books.call(ledger.post_hold, hold_id, amount=part))
        except ledger.ExceedsHold:
            assert part is not None
            assert part > hold.amount
            return
        except ledger.HoldExpired:
            assert hold.status == "pending"
            assert _overdue(hold, self.now)
            return
        except ledger.HoldNotPending as refused:
            assert (part or 0) <= hold.amount
            assert hold.status != "pending"
            assert refused.status == hold.status  # noqa: PT017
            return
        assert hold.status == "pending"
        assert not _overdue(hold, self.now)
        assert part is None or part <= hold.amount
        self.model.resolve(hold, "posted", self.now, posted=part or hold.amount)

    @rule(hold_id=holds)
    def void(self, hold_id: uuid.UUID) -> None:
        hold = self.model.holds[hold_id]
        try:
            voided = self.loop.run(self.books.call(ledger.void_hold, hold_id))
        except ledger.HoldNotPending as refused:
            assert hold.status != "pending"
            assert refused.status == hold.status  # noqa: PT017
            return
        assert hold.status == "pending"
        status = "expired" if _overdue(hold, self.now) else "voided"
        assert voided.status == status
        self.model.resolve(hold, status, self.now)

    @rule(hold_id=holds, hours=st.integers(1, 72))
    def extend(self, hold_id: uuid.UUID, hours: int) -> None:
        hold = self.model.holds[hold_id]
        later = self.now + timedelta(hours=hours)
        try:
            extended = self.loop.run(self.books.call(ledger.extend_hold, hold_id, expires_at=later))
        except ledger.HoldExpired:
            assert hold.status == "pending"
            assert _overdue(hold, self.now)
            return
        except ledger.HoldNotPending:
            assert hold.status != "pending"
            return
        except ledger.LedgerError as refused:
            assert "shorten" in str(refused)  # noqa: PT017
            assert hold.expires is not None
            assert hold.expires > later
            return
        assert hold.status == "pending"
        if hold.expires is not None:
            assert not _overdue(hold, self.now)
            hold.expires = later
        assert extended.expires_at == hold.expires

    @rule()
    def sweep(self) -> None:
        # The sweep is global: earlier examples' programs share the database, so its counts
        # are not this program's; the invariants compare this program's lots and holds.
        report = self.loop.run(self.books.sweep(batch=2))
        assert report.accounts_failed == 0
        for member in MEMBERS:
            self.model.settle(member, self.now)
        for hold in self.model.holds.values():
            if hold.status == "pending" and _overdue(hold, self.now):
                self.model.resolve(hold, "expired", self.now)

    @invariant()
    def lots_holds_and_entries_match_the_model(self) -> None:
        lots, holds, entries = self.loop.run(self._stored())
        expected_lots = {
            lot.id: (lot.remaining, lot.expired, lot.state) for lot in self.model.lots.values()
        }
        assert lots == expected_lots
        expected_holds = {hid: (h.status, h.posted) for hid, h in self.model.holds.items()}
        assert holds == expected_holds
        assert entries == self.model.entries

    @invariant()
    def balances_match_the_model(self) -> None:
        for member, account in self.accounts.items():
            stored = self.loop.run(self.books.balance(account))
            assert stored == self.model.balance(member), member
            seen = self.loop.run(self._seen(account.id))
            assert seen == self.model.seen_at(member, self.now), member

    @invariant()
    def books_balance(self) -> None:
        assert self.loop.run(self.books.problems()) == []

    async def _seen(self, account_id: uuid.UUID) -> ledger.Balance:
        async with self.books.database.session() as session:
            return await ledger.balance_at(session, account_id, now=self.now)

    async def _stored(
        self,
    ) -> tuple[
        dict[uuid.UUID, tuple[int, int, str]],
        dict[uuid.UUID, tuple[str, int]],
        dict[str, Counter[tuple[str, int]]],
    ]:
        members = {account.id: member for member, account in self.accounts.items()}
        async with self.books.database.session() as session:
            lots = (
                await session.exec(select(PointsLot).where(col(PointsLot.account_id).in_(members)))
            ).all()
            holds = (
                await session.exec(select(Hold).where(col(Hold.account_id).in_(members)))
            ).all()
            entries = (
                await session.exec(
                    select(JournalEntry.account_id, JournalEntry.kind, JournalEntry.points)
                    .join(LedgerAccount, col(LedgerAccount.id) == JournalEntry.account_id)
                    .where(col(LedgerAccount.id).in_(members))
                )
            ).all()
        counted: dict[str, Counter[tuple[str, int]]] = {m: Counter() for m in MEMBERS}
        for account_id, kind, points in entries:
            counted[members[account_id]][(kind, points)] += 1
        return (
            {lot.id: (lot.remaining, lot.expired_amount, lot.state) for lot in lots},
            {hold.id: (hold.status, hold.posted_amount) for hold in holds},
            counted,
        )


@pytest.fixture
def migrated(settings: Settings) -> Iterator[tuple[LoopThread, Database]]:
    loop = LoopThread()
    database = Database.from_settings(settings)
    loop.run(migrations.upgrade(database))
    yield loop, database
    loop.run(database.dispose())
    loop.close()


def test_ledger_behaves_like_its_model(migrated: tuple[LoopThread, Database]) -> None:
    loop, database = migrated
    run_state_machine_as_test(
        lambda: LedgerMachine(loop, database),  # type: ignore[arg-type]
        settings=settings(
            max_examples=30,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
