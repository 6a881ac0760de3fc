"""The hold of a redemption is dated when it is placed, not when the request arrived."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import col, select

from app.points.models import Hold, JournalEntry
from app.points.service import EarnRequest, earn_points
from app.redemption.requests import RedeemRequest
from tests.app.redemption.conftest import ADA, Harness
from tests.app.redemption.test_saga import _reward

pytestmark = pytest.mark.asyncio


async def test_a_hold_is_never_dated_before_an_earn_it_may_spend(harness: Harness) -> None:
    """The points are earned while the request is being priced and checked (seconds, for a
    vendor that is asked); the hold, placed after the earn committed, is dated after it: a
    history read oldest first never shows points spent before they were earned."""
    ids, _ = await _reward(harness, "tango")
    process = harness.process()
    checks = process._vendor_checks

    async def slow_checks(*args: Any) -> None:
        harness.advance(5)
        await earn_points(
            harness.database,
            harness.program,
            EarnRequest("alice", 10_000, "meanwhile", "earned-meanwhile"),
            now=harness.clock(),
        )
        await checks(*args)

    process._vendor_checks = slow_checks  # type: ignore[method-assign,assignment]
    request = RedeemRequest(
        member_id="alice", reward_id=ids[0], option_id=ids[1], idempotency_key="k", recipient=ADA
    )
    made = await process.redeem(harness.program, request)
    await process.drain(30)
    async with harness.database.session() as session:
        hold = await session.get(Hold, made.redemption.hold_id)
        earned = (
            await session.exec(select(JournalEntry).where(col(JournalEntry.reason) == "meanwhile"))
        ).one()
    assert hold is not None
    assert hold.created_at >= earned.created_at
