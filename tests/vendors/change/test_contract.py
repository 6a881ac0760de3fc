"""Change adapter against documented responses (respx). Change is not idempotent: the adapter
looks up before it creates, and creates once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
import pytest_asyncio
import respx

from tests.vendors.conftest import fast_policy
from vendors import (
    AmbiguousOutcome,
    InvalidOrderRequest,
    Money,
    OrderRequest,
    OrderStatus,
    PermanentVendorError,
    RateLimited,
    TransientVendorError,
    VendorAuthError,
    VendorError,
)
from vendors.change import ChangeAdapter, ChangeConfig

BASE = "https://api.getchange.io/api/v1"
REQUEST = OrderRequest("don123", "n_redcross", Decimal("12.50"), "USD")

pytestmark = pytest.mark.asyncio


def donation(status: str = "pledged") -> dict[str, Any]:
    return {
        "id": "d_2b5f1c",
        "amount": 1250,
        "nonprofit_id": "n_redcross",
        "external_id": "don123",
        "metadata": {},
        "currency": "USD",
        "live_mode": False,
        "status": status,
    }


@pytest_asyncio.fixture
async def change() -> AsyncIterator[ChangeAdapter]:
    adapter = ChangeAdapter(
        ChangeConfig(base_url=BASE), base_url=BASE, policy=fast_policy("change")
    )
    yield adapter
    await adapter.aclose()


def _nothing_yet() -> respx.Route:
    return respx.get(f"{BASE}/donations", params={"external_id": "don123"}).respond(
        200, json={"donations": []}
    )


@respx.mock
async def test_a_donation_is_created_in_cents_after_a_lookup(change: ChangeAdapter) -> None:
    lookup = _nothing_yet()
    create = respx.post(f"{BASE}/donations").respond(200, json=donation())
    result = await change.place_order(REQUEST)
    assert lookup.called
    sent = create.calls.last.request
    assert sent.headers["authorization"].startswith("Basic ")
    assert httpx.Response(200, content=sent.content).json() == {
        "amount": 1250,
        "nonprofit_id": "n_redcross",
        "funds_collected": True,
        "external_id": "don123",
        "metadata": {"source": "rewardgate"},
    }
    assert result.status is OrderStatus.FULFILLED
    assert result.raw_status == "pledged"
    assert result.charged == Money(Decimal("12.50"), "USD")


@respx.mock
async def test_an_existing_donation_is_returned_without_creating(change: ChangeAdapter) -> None:
    respx.get(f"{BASE}/donations").respond(200, json={"donations": [donation()]})
    create = respx.post(f"{BASE}/donations").respond(200, json=donation())
    result = await change.place_order(REQUEST)
    assert not create.called
    assert result.replayed


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (400, PermanentVendorError),
        (401, VendorAuthError),
        (404, PermanentVendorError),
        (422, PermanentVendorError),
        (429, RateLimited),
        (500, AmbiguousOutcome),
        (503, AmbiguousOutcome),
    ],
)
@respx.mock
async def test_the_create_is_sent_once_whatever_happens(
    change: ChangeAdapter, status: int, expected: type[VendorError]
) -> None:
    _nothing_yet()
    create = respx.post(f"{BASE}/donations").respond(status, json={"error": f"error {status}"})
    with pytest.raises(expected, match=f"error {status}"):
        await change.place_order(REQUEST)
    assert create.call_count == 1, "Change is not idempotent: never resend a create"


@pytest.mark.parametrize(
    "failure", [httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("connection reset")]
)
@respx.mock
async def test_a_lost_answer_is_ambiguous_and_not_retried(
    change: ChangeAdapter, failure: Exception
) -> None:
    _nothing_yet()
    create = respx.post(f"{BASE}/donations").mock(side_effect=failure)
    with pytest.raises(AmbiguousOutcome):
        await change.place_order(REQUEST)
    assert create.call_count == 1


@respx.mock
async def test_an_unreadable_answer_is_ambiguous(change: ChangeAdapter) -> None:
    _nothing_yet()
    respx.post(f"{BASE}/donations").respond(200, text="OK")
    with pytest.raises(AmbiguousOutcome):
        await change.place_order(REQUEST)


@respx.mock
async def test_a_failing_lookup_is_transient_and_creates_nothing(change: ChangeAdapter) -> None:
    respx.get(f"{BASE}/donations").respond(503, json={"error": "down"})
    create = respx.post(f"{BASE}/donations").respond(200, json=donation())
    with pytest.raises(TransientVendorError):
        await change.place_order(REQUEST)
    assert not create.called


async def test_usd_whole_cents_only(change: ChangeAdapter) -> None:
    with pytest.raises(InvalidOrderRequest, match="USD only"):
        await change.place_order(OrderRequest("don1", "n_x", Decimal(10), "EUR"))
    with pytest.raises(InvalidOrderRequest, match="whole number of cents"):
        await change.place_order(OrderRequest("don1", "n_x", Decimal("10.005"), "USD"))


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("pledged", OrderStatus.FULFILLED),
        ("invoice_sent", OrderStatus.FULFILLED),
        ("payout_scheduled", OrderStatus.FULFILLED),
        ("sent_via_ach", OrderStatus.FULFILLED),
        ("check_cashed", OrderStatus.FULFILLED),
        ("notified", OrderStatus.FULFILLED),
        ("canceled", OrderStatus.CANCELLED),
        ("blocked", OrderStatus.FAILED),
        ("mystery", OrderStatus.UNKNOWN),
    ],
)
@respx.mock
async def test_statuses_map_to_canonical(
    change: ChangeAdapter, raw: str, canonical: OrderStatus
) -> None:
    respx.get(f"{BASE}/donations/d_2b5f1c").respond(200, json=donation(raw))
    assert (await change.get_order("d_2b5f1c")).status is canonical


@respx.mock
async def test_nonprofits_page_until_empty(change: ChangeAdapter) -> None:
    respx.get(f"{BASE}/nonprofits").mock(
        side_effect=[
            httpx.Response(200, json={"nonprofits": [{"id": "n_a", "name": "A"}], "page": 1}),
            httpx.Response(200, json={"nonprofits": [], "page": 2}),
        ]
    )
    [product] = await change.fetch_catalog()
    assert (product.brand, product.currency, product.countries) == ("A", "USD", ("US",))
    assert product.value_range is not None
