"""What each ledger write costs in SQL statements (printed with ``pytest -s``), held to a
budget: a hold and its post cost 22 statements on PostgreSQL before the ledger was made to
lock once, look its system accounts up once per process and read lots once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest

from app.points import ledger
from app.points.service import EarnRequest, earn_points
from tests._sql import recorded_statements
from tests.app.points.conftest import Books

pytestmark = pytest.mark.asyncio

# Statements per operation, measured on both backends (a hold drawing on one lot).
BUDGET = {"earn": 7, "hold": 8, "post": 5, "partial post": 8, "void": 8, "extend": 2}


async def _count(work: Callable[[], Awaitable[Any]]) -> tuple[int, list[str]]:
    with recorded_statements() as statements:
        await work()
    return len(statements), list(statements)


async def test_statements_per_ledger_write(books: Books, backend: str) -> None:
    account = await books.account("m1")
    warm = await books.account("warm-up")
    await books.call(ledger.earn, warm, 10, reason="x")  # the system accounts are looked up
    counts: dict[str, int] = {}
    request = EarnRequest("m1", 1000, "purchase", "k1")
    counts["earn"], _ = await _count(
        lambda: earn_points(books.database, books.program, request, now=books.now)
    )
    holds = []

    async def hold() -> None:
        holds.append(
            await books.call(
                ledger.place_hold, account, 100, expires_at=books.now + timedelta(hours=1)
            )
        )

    counts["hold"], _ = await _count(hold)
    counts["post"], _ = await _count(lambda: books.call(ledger.post_hold, holds[0].id))
    await hold()
    counts["partial post"], _ = await _count(
        lambda: books.call(ledger.post_hold, holds[1].id, amount=60)
    )
    await hold()
    later = books.now + timedelta(hours=2)
    counts["extend"], _ = await _count(
        lambda: books.call(ledger.extend_hold, holds[2].id, expires_at=later)
    )
    counts["void"], _ = await _count(lambda: books.call(ledger.void_hold, holds[2].id))
    print(f"\nstatements per ledger write on {backend}: {counts}")  # noqa: T201
    over = {name: (count, BUDGET[name]) for name, count in counts.items() if count > BUDGET[name]}
    assert over == {}, "(statements, budget)"
    assert await books.problems() == []
