"""Double-spend prevention under real concurrency, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest

from app.points import ledger
from app.points.models import Hold
from tests.app.points.conftest import Books

pytestmark = pytest.mark.asyncio

BALANCE = 1000
COST = 7
ATTEMPTS = 200


async def test_concurrent_holds_never_overspend(books: Books) -> None:
    account = await books.account("contended")
    await books.call(ledger.earn, account, BALANCE, reason="x")

    async def attempt(number: int) -> Hold | ledger.InsufficientPoints:
        try:
            return await books.call(ledger.place_hold, account, COST, reference=f"hold-{number}")
        except ledger.InsufficientPoints as refused:
            return refused

    outcomes = await asyncio.gather(*(attempt(n) for n in range(ATTEMPTS)))
    holds = [o for o in outcomes if isinstance(o, Hold)]
    refused = [o for o in outcomes if isinstance(o, ledger.InsufficientPoints)]
    assert len(holds) == BALANCE // COST
    assert len(refused) == ATTEMPTS - BALANCE // COST
    assert await books.balance(account) == ledger.Balance(
        available=BALANCE % COST, pending=0, held=len(holds) * COST
    )
    assert await books.problems() == []


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
