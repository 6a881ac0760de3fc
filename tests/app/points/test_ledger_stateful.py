"""The ledger against a plain-Python model, driven by Hypothesis.

Rules: earn, earn pending, advance the clock, hold, post (fully or partly), void, expire (the
sweep). After every step: the journal balances, balance columns equal the fold of the journal,
no account is negative, lots and holds agree with balances, a hold resolves at most once, and
available / pending / held are what the model predicts.

Hypothesis runs rules synchronously; the database calls run on an event loop in a thread.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
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

from app import migrations
from app.db import Database
from app.points import ledger
from app.settings import Settings
from tests.app.points.conftest import START, Books, new_books

T = TypeVar("T")
FAR = datetime.max.replace(tzinfo=START.tzinfo)


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
    remaining: int
    activates: datetime
    expires: datetime | None
    state: str  # pending | active | expired
    order: int


@dataclass
class ModelHold:
    amount: int
    status: str = "pending"
    drawn: dict[int, int] = field(default_factory=dict)


class Model:
    """What the ledger must do, in a few lines of Python."""

    def __init__(self) -> None:
        self.lots: list[Lot] = []
        self.holds: dict[uuid.UUID, ModelHold] = {}

    @property
    def available(self) -> int:
        return sum(lot.remaining for lot in self.lots if lot.state == "active")

    @property
    def pending(self) -> int:
        return sum(lot.remaining for lot in self.lots if lot.state == "pending")

    @property
    def held(self) -> int:
        return sum(h.amount for h in self.holds.values() if h.status == "pending")

    def earn(
        self, points: int, now: datetime, activates: datetime, expires: datetime | None
    ) -> None:
        state = "pending" if activates > now else "active"
        self.lots.append(Lot(points, max(activates, now), expires, state, len(self.lots)))

    def settle(self, now: datetime) -> None:
        for lot in self.lots:
            if lot.state == "pending" and lot.activates <= now:
                lot.state = "active"
            if lot.state == "active" and lot.expires is not None and lot.expires <= now:
                lot.state, lot.remaining = "expired", 0

    def hold(self, amount: int) -> ModelHold:
        hold = ModelHold(amount)
        needed = amount
        for index in sorted(
            (i for i, lot in enumerate(self.lots) if lot.state == "active" and lot.remaining),
            key=lambda i: (self.lots[i].expires or FAR, self.lots[i].order),
        ):
            take = min(self.lots[index].remaining, needed)
            self.lots[index].remaining -= take
            hold.drawn[index] = take
            needed -= take
            if not needed:
                break
        assert needed == 0
        return hold

    def release(self, hold: ModelHold, amount: int) -> None:
        def latest_first(index: int) -> tuple[datetime, int]:
            return (self.lots[index].expires or FAR, self.lots[index].order)

        for index in sorted(hold.drawn, key=latest_first, reverse=True):
            back = min(hold.drawn[index], amount)
            hold.drawn[index] -= back
            amount -= back
            if self.lots[index].state != "expired":
                self.lots[index].remaining += back
            if not amount:
                return


class LedgerMachine(RuleBasedStateMachine):
    holds = Bundle("holds")

    def __init__(self, loop: LoopThread, database: Database) -> None:
        super().__init__()
        self.loop = loop
        self.books: Books = loop.run(new_books(database))
        self.account = loop.run(self.books.account("member"))
        self.model = Model()

    @property
    def now(self) -> datetime:
        return self.books.now

    @rule(points=st.integers(1, 500), expires_in=st.none() | st.integers(1, 240))
    def earn(self, points: int, expires_in: int | None) -> None:
        expires = self.now + timedelta(hours=expires_in) if expires_in else None
        self.loop.run(
            self.books.call(ledger.earn, self.account, points, reason="r", expires_at=expires)
        )
        self.model.earn(points, self.now, self.now, expires)

    @rule(
        points=st.integers(1, 500),
        activates_in=st.integers(1, 120),
        lasts=st.none() | st.integers(1, 240),
    )
    def earn_pending(self, points: int, activates_in: int, lasts: int | None) -> None:
        activates = self.now + timedelta(hours=activates_in)
        expires = activates + timedelta(hours=lasts) if lasts else None
        self.loop.run(
            self.books.call(
                ledger.earn,
                self.account,
                points,
                reason="r",
                activates_at=activates,
                expires_at=expires,
            )
        )
        self.model.earn(points, self.now, activates, expires)

    @rule(hours=st.integers(1, 96))
    def advance_clock(self, hours: int) -> None:
        self.books.advance(hours=hours)

    @rule(target=holds, amount=st.integers(1, 700))
    def hold(self, amount: int) -> Any:
        expected = Model()
        expected.lots = [Lot(**vars(lot)) for lot in self.model.lots]
        expected.settle(self.now)
        try:
            hold = self.loop.run(self.books.call(ledger.place_hold, self.account, amount))
        except ledger.InsufficientPoints as refused:
            assert (refused.available, expected.available < amount) == (expected.available, True)  # noqa: PT017
            return multiple()
        assert expected.available >= amount
        self.model.settle(self.now)
        self.model.holds[hold.id] = self.model.hold(amount)
        return hold.id

    @rule(hold_id=holds, part=st.none() | st.integers(1, 700))
    def post(self, hold_id: uuid.UUID, part: int | None) -> None:
        hold = self.model.holds[hold_id]
        try:
            self.loop.run(self.books.call(ledger.post_hold, hold_id, amount=part))
        except ledger.HoldNotPending:
            assert hold.status != "pending"
            return
        except ledger.ExceedsHold:
            assert part is not None
            assert part > hold.amount
            return
        assert hold.status == "pending"
        assert part is None or part <= hold.amount
        self.model.settle(self.now)
        hold.status = "posted"
        self.model.release(hold, hold.amount - (part or hold.amount))

    @rule(hold_id=holds)
    def void(self, hold_id: uuid.UUID) -> None:
        hold = self.model.holds[hold_id]
        try:
            self.loop.run(self.books.call(ledger.void_hold, hold_id))
        except ledger.HoldNotPending:
            assert hold.status != "pending"
            return
        self.model.settle(self.now)
        hold.status = "voided"
        self.model.release(hold, hold.amount)

    @rule()
    def expire(self) -> None:
        self.loop.run(self.books.call(ledger.sweep))
        self.model.settle(self.now)

    @invariant()
    def books_balance(self) -> None:
        assert self.loop.run(self.books.problems()) == []

    @invariant()
    def balances_match_the_model(self) -> None:
        balance = self.loop.run(self.books.balance(self.account))
        assert balance == ledger.Balance(self.model.available, self.model.pending, self.model.held)


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
            max_examples=25,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
