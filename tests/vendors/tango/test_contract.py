"""Tango RaaS v2 adapter against documented responses (respx), one case per documented answer."""

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
    TransientVendorError,
    VendorError,
)
from vendors.tango import TangoAdapter, TangoConfig

BASE = "https://integration-api.tangocard.com/raas/v2"
REQUEST = OrderRequest("ref123", "U561593", Decimal("25.00"), "USD")

pytestmark = pytest.mark.asyncio


def order(status: str = "COMPLETE", *, ref: str = "ref123", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "referenceOrderID": "RA190426-1234-56",
        "externalRefID": ref,
        "customerIdentifier": "rewardgate",
        "accountIdentifier": "rewardgate",
        "amountCharged": {
            "value": 25.0,
            "currencyCode": "USD",
            "exchangeRate": 1.0,
            "fee": 0.63,
            "total": 25.63,
        },
        "denomination": {"value": 25.0, "currencyCode": "USD", "exchangeRate": 1.0},
        "utid": "U561593",
        "rewardName": "Amazon.com Gift Card",
        "status": status,
        "createdAt": "2026-11-23T10:00:00.000Z",
        **extra,
    }
    if status == "COMPLETE":
        body["reward"] = {
            "credentials": {"Claim Code": "AQ7B-XXXXXX-ABCD", "PIN": "1234"},
            "credentialList": [
                {
                    "label": "Claim Code",
                    "value": "AQ7B-XXXXXX-ABCD",
                    "type": "text",
                    "credentialType": "cardNumber",
                },
                {"label": "PIN", "value": "1234", "type": "text", "credentialType": "pin"},
            ],
            "redemptionInstructions": "Redeem at amazon.com",
        }
    return body


def error(status: int, key: str, message: str = "refused") -> dict[str, Any]:
    return {
        "timestamp": "2026-11-23T10:00:00.000Z",
        "requestId": "4c1c7a44-7d35-4c9e-8d0e-1f2a3b4c5d6e",
        "path": "/raas/v2/orders",
        "httpCode": status,
        "httpPhrase": "Error",
        "message": message,
        "i18nKey": key,
        "i18nTokenReplacements": [],
        "errors": [],
    }


@pytest_asyncio.fixture
async def tango() -> AsyncIterator[TangoAdapter]:
    adapter = TangoAdapter(
        TangoConfig(base_url=BASE),
        base_url=BASE,
        policy=fast_policy("tango"),
        in_process_wait=0.01,
    )
    yield adapter
    await adapter.aclose()


@respx.mock
async def test_orders_are_sent_as_documented(tango: TangoAdapter) -> None:
    route = respx.post(f"{BASE}/orders").respond(201, json=order())
    result = await tango.place_order(REQUEST)
    sent = route.calls.last.request
    assert sent.headers["authorization"].startswith("Basic ")
    body = httpx.Response(200, content=sent.content).json()
    assert body == {
        "accountIdentifier": "rewardgate",
        "customerIdentifier": "rewardgate",
        "utid": "U561593",
        "amount": 25.0,
        "sendEmail": False,
        "externalRefID": "ref123",
    }
    assert result.status is OrderStatus.FULFILLED
    assert result.raw_status == "COMPLETE"
    assert result.charged == Money(Decimal("25.63"), "USD")
    assert result.delivery is not None
    assert (result.delivery.code, result.delivery.pin) == ("AQ7B-XXXXXX-ABCD", "1234")
    assert not result.replayed


@respx.mock
async def test_a_replay_answers_200_with_the_original_order(tango: TangoAdapter) -> None:
    respx.post(f"{BASE}/orders").respond(200, json=order())
    result = await tango.place_order(REQUEST)
    assert result.replayed
    assert result.vendor_reference == "RA190426-1234-56"


@respx.mock
async def test_in_process_409_002_is_retried_with_the_same_key(tango: TangoAdapter) -> None:
    route = respx.post(f"{BASE}/orders").mock(
        side_effect=[
            httpx.Response(409, json=error(409, "409.002", "in process")),
            httpx.Response(200, json=order()),
        ]
    )
    result = await tango.place_order(REQUEST)
    assert route.call_count == 2
    bodies = [call.request.content for call in route.calls]
    assert bodies[0] == bodies[1], "the retry carries the same externalRefID"
    assert result.replayed


EMPTY_LISTING = {
    "page": {"number": 0, "elementsPerBlock": 10, "resultCount": 0, "totalCount": 0},
    "orders": [],
}


@respx.mock
async def test_in_process_409_002_that_outlasts_the_retries_is_ambiguous(
    tango: TangoAdapter,
) -> None:
    """409.002: the order exists or is being made. Never "did not act"."""
    in_process = httpx.Response(409, json=error(409, "409.002", "in process"))
    route = respx.post(f"{BASE}/orders").mock(return_value=in_process)
    lookup = respx.get(f"{BASE}/orders").respond(404, json=error(404, "404.110", "No Orders"))
    with pytest.raises(AmbiguousOutcome) as caught:
        await tango.place_order(REQUEST)
    assert caught.value.vendor_code == "409.002"
    assert route.call_count == fast_policy("tango").retry_attempts
    assert lookup.called, "looked up before saying so"


@respx.mock
async def test_in_process_409_002_then_listed_is_the_order(tango: TangoAdapter) -> None:
    respx.post(f"{BASE}/orders").respond(409, json=error(409, "409.002", "in process"))
    respx.get(f"{BASE}/orders").respond(200, json={**EMPTY_LISTING, "orders": [order("PENDING")]})
    respx.get(f"{BASE}/orders/RA190426-1234-56").respond(200, json=order("PENDING"))
    result = await tango.place_order(REQUEST)
    assert (result.status, result.replayed) == (OrderStatus.ACCEPTED_PENDING, True)


@respx.mock
async def test_a_lookup_answered_404_110_finds_no_order(tango: TangoAdapter) -> None:
    respx.get(f"{BASE}/orders").respond(
        404, json=error(404, "404.110", "No Orders found for External Ref ID")
    )
    assert await tango.lookup_order("ref123") is None


@respx.mock
async def test_other_lookup_refusals_still_raise(tango: TangoAdapter) -> None:
    respx.get(f"{BASE}/orders").respond(404, json=error(404, "404.002", "Not found"))
    with pytest.raises(PermanentVendorError):
        await tango.lookup_order("ref123")


@respx.mock
async def test_already_exists_409_024_is_resolved_by_lookup(tango: TangoAdapter) -> None:
    respx.post(f"{BASE}/orders").respond(409, json=error(409, "409.024", "already exists"))
    listing = respx.get(f"{BASE}/orders", params={"externalRefID": "ref123"}).respond(
        200,
        json={
            "page": {"number": 0, "elementsPerBlock": 10, "resultCount": 1, "totalCount": 1},
            "orders": [order()],
        },
    )
    respx.get(f"{BASE}/orders/RA190426-1234-56").respond(200, json=order())
    result = await tango.place_order(REQUEST)
    assert listing.called
    assert result.replayed
    assert result.vendor_reference == "RA190426-1234-56"


@respx.mock
async def test_409_024_without_an_order_listed_is_ambiguous(tango: TangoAdapter) -> None:
    respx.post(f"{BASE}/orders").respond(409, json=error(409, "409.024"))
    respx.get(f"{BASE}/orders").respond(
        200,
        json={
            "page": {"number": 0, "elementsPerBlock": 10, "resultCount": 0, "totalCount": 0},
            "orders": [],
        },
    )
    with pytest.raises(AmbiguousOutcome):
        await tango.place_order(REQUEST)


@pytest.mark.parametrize(("status", "expected"), ORDER_CALL_ERRORS)
@respx.mock
async def test_error_answers_map_to_error_classes(
    tango: TangoAdapter, status: int, expected: type[VendorError]
) -> None:
    keys = {402: "402.001", 422: "422.025", 429: "429.008", 503: "503.501", 409: "409.001"}
    respx.post(f"{BASE}/orders").respond(
        status, json=error(status, keys.get(status, f"{status}.001")), headers={"Retry-After": "0"}
    )
    with pytest.raises(expected) as caught:
        await tango.place_order(REQUEST)
    assert caught.value.status_code == status
    assert caught.value.vendor_code == keys.get(status, f"{status}.001")


@respx.mock
async def test_insufficient_funds_is_permanent_with_its_key(tango: TangoAdapter) -> None:
    respx.post(f"{BASE}/orders").respond(402, json=error(402, "402.001", "Insufficient funds"))
    with pytest.raises(PermanentVendorError, match="Insufficient funds") as caught:
        await tango.place_order(REQUEST)
    assert caught.value.vendor_code == "402.001"


@respx.mock
async def test_rate_limit_carries_retry_after(tango: TangoAdapter) -> None:
    respx.post(f"{BASE}/orders").respond(
        429, json=error(429, "429.008"), headers={"Retry-After": "120"}
    )
    with pytest.raises(RateLimited) as caught:
        await tango.place_order(REQUEST)
    assert 119 < caught.value.retry_after <= 120


@pytest.mark.parametrize(
    "failure", [httpx.ReadTimeout("timed out"), httpx.RemoteProtocolError("connection reset")]
)
@respx.mock
async def test_a_lost_answer_is_ambiguous(tango: TangoAdapter, failure: Exception) -> None:
    respx.post(f"{BASE}/orders").mock(side_effect=failure)
    with pytest.raises(AmbiguousOutcome):
        await tango.place_order(REQUEST)


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(201, content=b"<html>gateway</html>"),
        httpx.Response(201, json={"referenceOrderID": "RA1"}),
    ],
)
@respx.mock
async def test_an_unreadable_success_is_ambiguous(
    tango: TangoAdapter, response: httpx.Response
) -> None:
    respx.post(f"{BASE}/orders").mock(return_value=response)
    with pytest.raises(AmbiguousOutcome):
        await tango.place_order(REQUEST)


@respx.mock
async def test_an_unreadable_catalog_is_transient(tango: TangoAdapter) -> None:
    respx.get(f"{BASE}/catalogs").respond(200, json={"brands": "nope"})
    with pytest.raises(TransientVendorError):
        await tango.fetch_catalog()


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("PENDING", OrderStatus.ACCEPTED_PENDING),
        ("COMPLETE", OrderStatus.FULFILLED),
        ("PARTIAL", OrderStatus.PARTIAL),
        ("FAILED", OrderStatus.FAILED),
        ("CANCELLED", OrderStatus.CANCELLED),
        ("SOMETHING_NEW", OrderStatus.UNKNOWN),
    ],
)
@respx.mock
async def test_statuses_map_to_canonical(
    tango: TangoAdapter, raw: str, canonical: OrderStatus
) -> None:
    respx.get(f"{BASE}/orders/RA190426-1234-56").respond(200, json=order(raw))
    result = await tango.get_order("RA190426-1234-56")
    assert (result.status, result.raw_status) == (canonical, raw)
    assert (result.delivery is not None) == (raw == "COMPLETE")


@respx.mock
async def test_catalog_items_become_products_with_costs(tango: TangoAdapter) -> None:
    item = {
        "utid": "U1",
        "rewardName": "Amazon.de",
        "currencyCode": "EUR",
        "status": "active",
        "valueType": "FIXED_VALUE",
        "faceValue": 25.0,
        "countries": ["DE"],
        "fee": {"type": "PERCENTAGE", "value": 2.5},
    }
    respx.get(f"{BASE}/catalogs").respond(
        200,
        json={
            "catalogName": "c",
            "brands": [
                {
                    "brandKey": "B1",
                    "brandName": "Amazon",
                    "status": "active",
                    "imageUrls": {"80w-326ppi": "small", "300w-326ppi": "large"},
                    "items": [item, {**item, "utid": "U2", "status": "inactive"}],
                },
            ],
        },
    )
    respx.get(f"{BASE}/exchangerates").respond(
        200,
        json={
            "exchangeRates": [{"baseCurrency": "USD", "rewardCurrency": "EUR", "baseFx": 0.9212}]
        },
    )
    [product] = await tango.fetch_catalog()
    assert (product.vendor_product_id, product.brand, product.currency) == ("U1", "Amazon", "EUR")
    assert product.countries == ("DE",)
    assert product.image_url == "large"
    # 25 EUR / 0.9212 = 27.1385 USD, + 2.5 % = 27.8170 -> 27.82 USD
    assert product.cost_of(Decimal(25)) == Money(Decimal("27.82"), "USD")


async def test_gift_cards_cannot_be_cancelled(tango: TangoAdapter) -> None:
    with pytest.raises(PermanentVendorError, match="cannot cancel"):
        await tango.cancel_order("RA1", "member asked")


def _catalog_with(item: dict[str, Any]) -> dict[str, Any]:
    brand = {"brandKey": "B1", "brandName": "Amazon", "status": "active", "items": [item]}
    return {"catalogName": "c", "brands": [brand]}


EUR_ITEM = {
    "utid": "U1",
    "rewardName": "Amazon.de",
    "currencyCode": "EUR",
    "status": "active",
    "valueType": "FIXED_VALUE",
    "faceValue": 25.0,
    "countries": ["DE"],
}


@respx.mock
async def test_the_account_currency_is_a_setting() -> None:
    """A GBP-funded account: costs in GBP, from the GBP-based rates."""
    adapter = TangoAdapter(
        TangoConfig(base_url=BASE, account_currency="GBP"),
        base_url=BASE,
        policy=fast_policy("tango"),
    )
    respx.get(f"{BASE}/catalogs").respond(200, json=_catalog_with({**EUR_ITEM, "utid": "U9"}))
    respx.get(f"{BASE}/exchangerates").respond(
        200,
        json={
            "exchangeRates": [
                {"baseCurrency": "USD", "rewardCurrency": "EUR", "baseFx": 0.9212},
                {"baseCurrency": "GBP", "rewardCurrency": "EUR", "baseFx": 1.1748},
            ]
        },
    )
    try:
        [product] = await adapter.fetch_catalog()
    finally:
        await adapter.aclose()
    # 25 EUR / 1.1748 = 21.2802 GBP -> 21.29 GBP
    assert product.cost_of(Decimal(25)) == Money(Decimal("21.29"), "GBP")


async def test_an_account_currency_tango_does_not_fund_is_refused() -> None:
    with pytest.raises(ValueError, match="account_currency"):
        TangoConfig(account_currency="JPY")


def _eur_order(value: float) -> dict[str, Any]:
    return order(
        amountCharged={
            "value": value,
            "currencyCode": "USD",
            "exchangeRate": 0.9212,
            "fee": 0,
            "total": value,
        },
        denomination={"value": 25.0, "currencyCode": "EUR", "exchangeRate": 0.9212},
    )


@respx.mock
@pytest.mark.parametrize(("value", "logged"), [(27.14, False), (23.03, True), (30.0, True)])
async def test_the_charge_is_the_orders_own_and_a_disagreeing_one_is_logged(
    tango: TangoAdapter, value: float, logged: bool, caplog: pytest.LogCaptureFixture
) -> None:
    """25 EUR at baseFx 0.9212 is 27.14 USD; 23.03 is the rate read the wrong way round."""
    respx.get(f"{BASE}/catalogs").respond(200, json=_catalog_with(EUR_ITEM))
    respx.get(f"{BASE}/exchangerates").respond(
        200,
        json={
            "exchangeRates": [{"baseCurrency": "USD", "rewardCurrency": "EUR", "baseFx": 0.9212}]
        },
    )
    await tango.fetch_catalog()
    respx.get(f"{BASE}/orders/RA190426-1234-56").respond(200, json=_eur_order(value))
    with caplog.at_level("WARNING", logger="rewardgate.vendors.tango"):
        result = await tango.get_order("RA190426-1234-56")
    assert result.charged == Money(Decimal(str(value)), "USD"), "the order's own figure wins"
    differs = [r for r in caplog.records if r.getMessage() == "vendor.charge_differs"]
    assert bool(differs) is logged


@respx.mock
async def test_409_024_whose_lookup_fails_is_ambiguous(tango: TangoAdapter) -> None:
    respx.post(f"{BASE}/orders").respond(409, json=error(409, "409.024"))
    respx.get(f"{BASE}/orders").respond(503, json=error(503, "503.000"))
    with pytest.raises(AmbiguousOutcome):
        await tango.place_order(REQUEST)


@respx.mock
@pytest.mark.parametrize(
    "charged",
    [
        {"value": 25.0, "currencyCode": "usd", "total": 25.63},  # not a code we know
        {"value": 25.0, "currencyCode": "USD", "exchangeRate": 1e-400, "total": 25.63},
    ],
)
async def test_an_order_whose_charge_cannot_be_read_is_still_the_order(
    tango: TangoAdapter, charged: dict[str, Any]
) -> None:
    body = order(
        amountCharged=charged,
        denomination={"value": 25.0, "currencyCode": "EUR", "exchangeRate": 0.9},
    )
    respx.post(f"{BASE}/orders").respond(201, json=body)
    result = await tango.place_order(REQUEST)
    assert result.vendor_reference == "RA190426-1234-56"
