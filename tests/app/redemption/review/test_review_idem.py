from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from app.redemption.requests import RedeemRefused, RedeemRequest
from tests.app.redemption.conftest import ADA, Harness
from tests.app.redemption.test_saga import START, _reward

pytestmark = pytest.mark.asyncio


async def test_one_key_many_inputs_at_once(harness: Harness) -> None:
    ids, _ = await _reward(harness, "change")
    services = [harness.process() for _ in range(4)]

    async def one(i: int):  # type: ignore[no-untyped-def]
        request = RedeemRequest(
            member_id="alice",
            reward_id=ids[0],
            option_id=ids[1],
            idempotency_key="same",
            recipient=ADA,
            amount=Decimal(10 + i % 2),
        )
        try:
            return (await services[i % 4].redeem(harness.program, request)).redemption.id
        except RedeemRefused as refused:
            return refused.code
        except Exception as error:
            return f"raised {type(error).__name__}"

    results = await asyncio.gather(*(one(i) for i in range(12)))
    for s in services:
        await s.drain(10)
    ids_made = {r for r in results if not isinstance(r, str)}
    assert len(ids_made) == 1, results
    assert all(r == "IDEMPOTENCY_KEY_REUSED" for r in results if isinstance(r, str)), results
    balance = await harness.balance()
    assert balance.available + balance.held < START
