"""Tremendous v2 adapter against documented responses (respx)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
import pytest_asyncio
import respx

from tests.vendors._contract import ORDER_CALL_ERRORS
from tests.vendors.conftest import fast_policy
from vendors import (
    AmbiguousOutcome,
    Money,
    OrderRequest,
    OrderStatus,
    PermanentVendorError,
    RateLimited,
    Recipient,
    RewardKind,
    TransientVendorError,
    VendorError,
)
from vendors.tremendous import TremendousAdapter, TremendousConfig

BASE = "https://testflight.tremendous.com/api/v2"
REQUEST = OrderRequest(
    "ext123", "OKMHM2X2OHYV", Decimal("50"), "EUR", recipient=Recipient("Ada", "ada@example.com")
)

pytestmark = pytest.mark.asyncio


def order(status: str = "EXECUTED", delivery: str | None = "SUCCEEDED") -> dict[str, Any]:
    reward: dict[str, Any] = {
        "id": "REWARD1",
        "order_id": "ORDER1",
        "value": {"denomination": 50.0, "currency_code": "EUR"},
        "recipient": {"name": "Ada", "email": "ada@example.com", "phone": None},
    }
    if delivery is not None:
        reward["delivery"] = {
            "method": "LINK",
            "status": delivery,
            "link": "https://testflight.tremendous.com/rewards/payout/abc"
            if delivery == "SUCCEEDED"
            else None,
        }
    return {
        "order": {
            "id": "ORDER1",
            "external_id": "ext123",
            "campaign_id": None,
            "created_at": "2026-11-23T10:00:00Z",
            "status": status,
            "channel": "API",
            "payment": {"subtotal": 55.11, "total": 55.11, "fees": 0.0, "discount": 0.0},
            "rewards": [reward],
        }
    }


def error(status: int, message: str = "refused") -> dict[str, Any]:
    return {"status": status, "errors": {"message": message, "payload": {}}}


@pytest_asyncio.fixture
async def tremendous() -> AsyncIterator[TremendousAdapter]:
    adapter = TremendousAdapter(
        TremendousConfig(base_url=BASE), base_url=BASE, policy=fast_policy("tremendous")
    )
    yield adapter
    await adapter.aclose()


@respx.mock
async def test_orders_are_sent_as_documented(tremendous: TremendousAdapter) -> None:
    route = respx.post(f"{BASE}/orders").respond(200, json=order())
    result = await tremendous.place_order(REQUEST)
    sent = route.calls.last.request
    assert sent.headers["authorization"] == "Bearer TEST_sandbox-api-key"
    assert httpx.Response(200, content=sent.content).json() == {
        "external_id": "ext123",
        "payment": {"funding_source_id": "balance"},
        "reward": {
            "products": ["OKMHM2X2OHYV"],
            "value": {"denomination": 50.0, "currency_code": "EUR"},
            "delivery": {"method": "LINK"},
            "recipient": {"name": "Ada", "email": "ada@example.com"},
        },
    }
    assert result.status is OrderStatus.FULFILLED
    assert result.charged == Money(Decimal("55.11"), "USD"), "payment is always in USD"
    assert result.delivery is not None
    assert result.delivery.url == "https://testflight.tremendous.com/rewards/payout/abc"
    assert not result.replayed, "Tremendous answers 200 for a new order"


@respx.mock
async def test_an_identical_repeat_answers_201_with_the_existing_order(
    tremendous: TremendousAdapter,
) -> None:
    respx.post(f"{BASE}/orders").respond(201, json=order())
    result = await tremendous.place_order(REQUEST)
    assert result.replayed
    assert result.vendor_reference == "ORDER1"


@respx.mock
async def test_a_repeat_with_another_payload_is_a_409_conflict(
    tremendous: TremendousAdapter,
) -> None:
    """A bug on our side, and an order exists under the key: ambiguous, never a refund."""
    respx.post(f"{BASE}/orders").respond(409, json=error(409, "external_id already used"))
    with pytest.raises(AmbiguousOutcome) as caught:
        await tremendous.place_order(REQUEST)
    assert caught.value.vendor_code == "external_id_conflict"


# Tremendous's 409: an order exists under the key (with other details).
@pytest.mark.parametrize(
    ("status", "expected"),
    [(s, AmbiguousOutcome if s == 409 else e) for s, e in ORDER_CALL_ERRORS],
)
@respx.mock
async def test_error_answers_map_to_error_classes(
    tremendous: TremendousAdapter, status: int, expected: type[VendorError]
) -> None:
    body = (
        {"error": {"message": "Too many requests", "payload": {}}}
        if status == 429
        else error(status, f"error {status}")
    )
    respx.post(f"{BASE}/orders").respond(status, json=body, headers={"Retry-After": "0"})
    with pytest.raises(expected) as caught:
        await tremendous.place_order(REQUEST)
    assert caught.value.status_code == status
    expected_message = "Too many requests" if status == 429 else f"error {status}"
    assert expected_message in caught.value.message


@respx.mock
async def test_the_rate_limit_body_uses_the_singular_error() -> None:
    once = TremendousAdapter(
        TremendousConfig(), base_url=BASE, policy=fast_policy("tremendous", retry_attempts=1)
    )
    respx.post(f"{BASE}/orders").respond(
        429, json={"error": {"message": "Too many requests", "payload": {}}}
    )
    try:
        with pytest.raises(RateLimited, match="Too many requests") as caught:
            await once.place_order(REQUEST)
    finally:
        await once.aclose()
    assert caught.value.retry_after == 1.0, "no Retry-After: pause 1 s as documented"


@respx.mock
async def test_timeouts_and_unreadable_successes_are_ambiguous(
    tremendous: TremendousAdapter,
) -> None:
    respx.post(f"{BASE}/orders").mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(AmbiguousOutcome):
        await tremendous.place_order(REQUEST)
    respx.post(f"{BASE}/orders").respond(200, json={"order": {"id": "X"}})
    with pytest.raises(AmbiguousOutcome):
        await tremendous.place_order(REQUEST)


@pytest.mark.parametrize(
    ("status", "delivery", "canonical"),
    [
        ("EXECUTED", "SUCCEEDED", OrderStatus.FULFILLED),
        ("EXECUTED", "PENDING", OrderStatus.ACCEPTED_PENDING),
        ("EXECUTED", "SCHEDULED", OrderStatus.ACCEPTED_PENDING),
        ("EXECUTED", "FAILED", OrderStatus.FAILED),
        ("PENDING APPROVAL", None, OrderStatus.ACCEPTED_PENDING),
        ("PENDING INTERNAL PAYMENT APPROVAL", None, OrderStatus.ACCEPTED_PENDING),
        ("PENDING SETTLEMENT", None, OrderStatus.ACCEPTED_PENDING),
        ("OPEN", None, OrderStatus.ACCEPTED_PENDING),
        ("CANCELED", "FAILED", OrderStatus.CANCELLED),
        ("FAILED", None, OrderStatus.FAILED),
        ("SOMETHING NEW", None, OrderStatus.UNKNOWN),
    ],
)
@respx.mock
async def test_statuses_with_spaces_map_to_canonical(
    tremendous: TremendousAdapter, status: str, delivery: str | None, canonical: OrderStatus
) -> None:
    respx.get(f"{BASE}/orders/ORDER1").respond(200, json=order(status, delivery))
    result = await tremendous.get_order("ORDER1")
    assert result.status is canonical
    assert result.raw_status.startswith(status)


@respx.mock
async def test_lookup_by_external_id(tremendous: TremendousAdapter) -> None:
    respx.get(f"{BASE}/orders", params={"external_id": "ext123"}).respond(
        200, json={"orders": [order()["order"]], "total_count": 1}
    )
    found = await tremendous.lookup_order("ext123")
    assert found is not None
    assert found.vendor_reference == "ORDER1"
    respx.get(f"{BASE}/orders", params={"external_id": "nope"}).respond(
        200, json={"orders": [], "total_count": 0}
    )
    assert await tremendous.lookup_order("nope") is None


@respx.mock
async def test_catalog_ranges_fixed_values_charities_and_usd_costs(
    tremendous: TremendousAdapter,
) -> None:
    respx.get(f"{BASE}/products").respond(
        200,
        json={
            "products": [
                {
                    "id": "P1",
                    "name": "Amazon.de",
                    "category": "merchant_card",
                    "skus": [{"min": 5, "max": 500}],
                    "currency_codes": ["EUR"],
                    "countries": [{"abbr": "DE"}],
                    "images": [
                        {"src": "logo.png", "type": "logo"},
                        {"src": "card.png", "type": "card"},
                    ],
                },
                {
                    "id": "P2",
                    "name": "Starbucks",
                    "category": "merchant_card",
                    "skus": [{"min": 10, "max": 10}, {"min": 25, "max": 25}],
                    "currency_codes": ["USD"],
                    "countries": [{"abbr": "US"}],
                    "images": [],
                },
                {
                    "id": "P3",
                    "name": "Red Cross",
                    "category": "charity",
                    "skus": [{"min": 1, "max": 1000}],
                    "currency_codes": ["USD"],
                    "countries": [{"abbr": "US"}],
                    "images": [],
                },
            ]
        },
    )
    respx.get(f"{BASE}/forex", params={"base": "USD"}).respond(200, json={"forex": {"EUR": 0.9074}})
    ranged, fixed, charity = await tremendous.fetch_catalog()
    assert ranged.value_range is not None
    assert ranged.value_range.min_value == Decimal(5)
    assert ranged.value_range.max_value == Decimal(500)
    assert ranged.image_url == "card.png"
    # 100 EUR / 0.9074 = 110.2050... USD -> 110.21
    assert ranged.cost_of(Decimal(100)) == Money(Decimal("110.21"), "USD")
    assert [d.face_value for d in fixed.denominations] == [10, 25]
    assert fixed.value_range is None
    assert charity.kind is RewardKind.CHARITY


@respx.mock
async def test_an_unreadable_catalog_is_transient(tremendous: TremendousAdapter) -> None:
    respx.get(f"{BASE}/products").respond(200, text="<html>")
    with pytest.raises(TransientVendorError):
        await tremendous.fetch_catalog()


@respx.mock
async def test_only_failed_deliveries_can_be_cancelled(tremendous: TremendousAdapter) -> None:
    respx.get(f"{BASE}/orders/ORDER1").mock(
        side_effect=[
            httpx.Response(200, json=order("EXECUTED", "SUCCEEDED")),
            httpx.Response(200, json=order("EXECUTED", "FAILED")),
            httpx.Response(200, json=order("CANCELED", "FAILED")),
        ]
    )
    cancel = respx.post(f"{BASE}/rewards/REWARD1/cancel").respond(200, json={"reward": {}})
    with pytest.raises(PermanentVendorError, match="delivery failed"):
        await tremendous.cancel_order("ORDER1", "member asked")
    assert not cancel.called
    result = await tremendous.cancel_order("ORDER1", "delivery failed")
    assert cancel.called
    assert result.status is OrderStatus.CANCELLED


def _without_link() -> dict[str, Any]:
    body = order()
    body["order"]["rewards"][0]["delivery"]["link"] = None
    return body


LINK = "https://testflight.tremendous.com/rewards/payout/generated"


@respx.mock
@pytest.mark.parametrize("how", ["replay", "get", "lookup"])
async def test_a_delivered_reward_without_its_link_gets_one_generated(
    tremendous: TremendousAdapter, how: str
) -> None:
    """Only the create (200) answer carries the link; a replay (201), a read and a lookup
    would leave the member without the reward."""
    respx.post(f"{BASE}/orders").respond(201, json=_without_link())
    respx.get(f"{BASE}/orders/ORDER1").respond(200, json=_without_link())
    respx.get(f"{BASE}/orders").respond(
        200, json={"orders": [_without_link()["order"]], "total_count": 1}
    )
    generate = respx.post(f"{BASE}/rewards/REWARD1/generate_link").respond(
        200, json={"reward": {"id": "REWARD1", "link": LINK}}
    )
    if how == "replay":
        result = await tremendous.place_order(REQUEST)
    elif how == "get":
        result = await tremendous.get_order("ORDER1")
    else:
        found = await tremendous.lookup_order("ext123")
        assert found is not None
        result = found
    assert generate.call_count == 1
    assert result.delivery is not None
    assert result.delivery.url == LINK


@respx.mock
async def test_no_link_is_generated_for_a_reward_not_yet_delivered(
    tremendous: TremendousAdapter,
) -> None:
    respx.get(f"{BASE}/orders/ORDER1").respond(200, json=order(delivery="PENDING"))
    generate = respx.post(f"{BASE}/rewards/REWARD1/generate_link")
    result = await tremendous.get_order("ORDER1")
    assert result.status is OrderStatus.ACCEPTED_PENDING
    assert result.delivery is None
    assert not generate.called


def _product(id: str, skus: list[dict[str, Any]] | None) -> dict[str, Any]:
    product: dict[str, Any] = {
        "id": id,
        "name": f"Brand {id}",
        "category": "merchant_card",
        "currency_codes": ["USD"],
        "countries": [{"abbr": "US"}],
        "images": [],
    }
    if skus is not None:
        product["skus"] = skus
    return product


@respx.mock
async def test_a_product_without_skus_is_skipped_and_bands_stay_separate(
    tremendous: TremendousAdapter, caplog: pytest.LogCaptureFixture
) -> None:
    respx.get(f"{BASE}/products").respond(
        200,
        json={
            "products": [
                _product("NOSKUS", None),
                _product("EMPTY", []),
                _product("BANDS", [{"min": 10, "max": 100}, {"min": 200, "max": 500}]),
            ]
        },
    )
    respx.get(f"{BASE}/forex", params={"base": "USD"}).respond(200, json={"forex": {}})
    with caplog.at_level("WARNING", logger="rewardgate.vendors.tremendous"):
        [banded] = await tremendous.fetch_catalog()
    skipped = [r for r in caplog.records if r.getMessage() == "vendor.product_skipped"]
    assert len(skipped) == 2
    assert banded.vendor_product_id == "BANDS"
    assert banded.admits(Decimal(10))
    assert banded.admits(Decimal(100))
    assert banded.admits(Decimal(200))
    assert banded.admits(Decimal(500))
    assert not banded.admits(Decimal(150)), "between the bands"
    assert not banded.admits(Decimal(501))


@respx.mock
async def test_a_link_that_cannot_be_fetched_leaves_the_order_unknown_not_failed(
    tremendous: TremendousAdapter,
) -> None:
    """The order exists: a failed link fetch makes its state UNKNOWN (ask again), never an
    error that reads as "did not act", on the create and on every later read."""
    respx.post(f"{BASE}/orders").respond(201, json=_without_link())
    respx.get(f"{BASE}/orders/ORDER1").respond(200, json=_without_link())
    respx.post(f"{BASE}/rewards/REWARD1/generate_link").respond(422, json=error(422))
    placed = await tremendous.place_order(REQUEST)
    read = await tremendous.get_order("ORDER1")
    for result in (placed, read):
        assert result.status is OrderStatus.UNKNOWN
        assert result.vendor_reference == "ORDER1"
        assert result.detail is not None
        assert "link could not be fetched" in result.detail
