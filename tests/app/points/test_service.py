"""Earning through the service: idempotent replays, whatever the clock and the offset say."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from app.db import Database
from app.points.service import EarnRefused, EarnRequest, earn_points
from tests.app.points.conftest import Books, new_books

pytestmark = pytest.mark.asyncio


async def _earn(books: Books, request: EarnRequest) -> None:
    await earn_points(books.database, books.program, request, now=books.now)


async def test_a_replay_answers_the_first_result_after_its_expiry_passed(books: Books) -> None:
    request = EarnRequest(
        member_id="m1",
        points=50,
        reason="bonus",
        idempotency_key="k1",
        expires_at=books.now + timedelta(hours=1),
    )
    await _earn(books, request)
    books.advance(hours=2)  # the points have expired: a new earn like this would be refused
    await _earn(books, request)  # the retry of the first one is not
    fresh = EarnRequest(**{**vars(request), "idempotency_key": "k2"})
    with pytest.raises(EarnRefused) as refused:
        await _earn(books, fresh)
    assert refused.value.code == "INVALID_DATES"
    account = await books.account("m1")
    assert (await books.balance(account)).available == 50, "once, not twice"


async def test_one_instant_in_another_offset_is_the_same_input(books: Books) -> None:
    in_utc = books.now + timedelta(days=30)
    in_tokyo = in_utc.astimezone(timezone(timedelta(hours=9)))
    first = EarnRequest("m1", 50, "bonus", "k1", expires_at=in_utc)
    await _earn(books, first)
    await _earn(books, EarnRequest("m1", 50, "bonus", "k1", expires_at=in_tokyo))
    account = await books.account("m1")
    assert (await books.balance(account)).available == 50
    later = EarnRequest("m1", 50, "bonus", "k1", expires_at=in_utc + timedelta(seconds=1))
    with pytest.raises(EarnRefused) as refused:
        await _earn(books, later)
    assert refused.value.code == "IDEMPOTENCY_KEY_REUSED"


@pytest.mark.parametrize(
    ("activates_at", "expires_at"),
    [
        (None, datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-14)))),
        (datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14))), None),
        (datetime(1969, 12, 31, tzinfo=UTC), None),
        (datetime(9000, 1, 2, tzinfo=UTC), None),
    ],
    ids=["after-9999-in-utc", "before-year-1-in-utc", "before-1970", "after-9000"],
)
async def test_dates_off_the_calendar_are_refused(
    books: Books, activates_at: datetime | None, expires_at: datetime | None
) -> None:
    request = EarnRequest("m1", 10, "r", "k", activates_at=activates_at, expires_at=expires_at)
    with pytest.raises(EarnRefused) as refused:
        await _earn(books, request)
    assert refused.value.code == "INVALID_DATES"


async def test_a_lifetime_past_the_calendar_is_refused(database: Database) -> None:
    books = await new_books(database, lifetime_days=3_000_000)
    request = EarnRequest("m1", 10, "r", "k", activates_at=datetime(8999, 6, 1, tzinfo=UTC))
    with pytest.raises(EarnRefused) as refused:
        await _earn(books, request)
    assert refused.value.code == "INVALID_DATES"
