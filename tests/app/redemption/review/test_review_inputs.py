"""Review findings: inputs accepted that the contract says are refused."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from datetime import UTC, datetime

import pytest
from pydantic import SecretStr

from app.redemption.requests import RedeemRefused, RedeemRequest, check_for_kind
from vendors import ExperienceDetails, Recipient, RewardKind
from vendors.tremendous.config import TremendousConfig
from vendors.webhooks import WebhookRefused, signed_with


@pytest.mark.parametrize("day", ["20270203", "2027W021", "2027-W02-1"])
def test_a_travel_date_is_yyyy_mm_dd(day: str) -> None:
    """date.fromisoformat (3.11+) takes basic and week/ordinal forms; the adapter then sends
    the raw string to Viator as travelDate, after the points are held."""
    request = RedeemRequest(
        member_id="alice",
        reward_id=uuid.uuid4(),
        idempotency_key="k",
        recipient=Recipient("Ada Lovelace", "ada@example.com"),
        experience=ExperienceDetails(day, 1),
    )
    with pytest.raises(RedeemRefused) as refused:
        check_for_kind(request, RewardKind.EXPERIENCE, now=datetime(2026, 12, 1, tzinfo=UTC))
    assert refused.value.code == "INVALID_TRAVEL_DATE"


def test_an_empty_webhook_key_verifies_nothing() -> None:
    """REWARDGATE_VENDORS__TREMENDOUS__WEBHOOK_KEY= (empty) is accepted, and an HMAC under an
    empty key is one anybody can compute."""
    body = b'{"uuid": "forged"}'
    forged = hmac.new(b"", body, hashlib.sha256).hexdigest()
    try:
        config = TremendousConfig(webhook_key=SecretStr(""))
    except ValueError:
        return  # refused at configuration: fine
    with pytest.raises(WebhookRefused):
        signed_with(config.webhook_key.get_secret_value().encode(), body, forged)
