"""A repeat under a known key is answered before anything is priced (the review of 7e1d948)."""

from __future__ import annotations

from typing import Any

import pytest

from app.pricing.fx import FxError
from app.redemption.requests import RedeemRequest
from tests.app.redemption.conftest import ADA, Harness
from tests.app.redemption.test_saga import _reward

pytestmark = pytest.mark.asyncio


async def test_a_repeat_does_not_ask_the_rates_provider(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids, _ = await _reward(harness, "tango")
    process = harness.process()
    request = RedeemRequest(
        member_id="alice",
        reward_id=ids[0],
        option_id=ids[1],
        idempotency_key="repeated",
        recipient=ADA,
    )
    made = await process.redeem(harness.program, request)
    await process.drain(30)
    rates = harness.services.rates
    calls: list[int] = []

    async def unreachable() -> Any:
        calls.append(1)
        raise FxError("ECB unreachable")

    monkeypatch.setattr(rates, "_table", None)
    monkeypatch.setattr(rates.provider, "fetch", unreachable)
    again = await process.redeem(harness.program, request)
    assert again.redemption.id == made.redemption.id
    assert calls == [], "the provider was asked for a redemption already made"
