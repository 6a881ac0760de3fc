"""Printful adapter against documented responses (respx): the envelope, draft then confirm."""

from __future__ import annotations

import dataclasses
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
    Address,
    AmbiguousOutcome,
    InvalidOrderRequest,
    Money,
    OrderRequest,
    OrderStatus,
    PermanentVendorError,
    VendorError,
)
from vendors.printful import PrintfulAdapter, PrintfulConfig

BASE = "https://api.printful.com"
ADDRESS = Address("Ada Lovelace", "19749 Dearborn St", "Chatsworth", "91311", "US", region="CA")
REQUEST = OrderRequest("ext123", "1001", Decimal("24.00"), "USD", shipping_address=ADDRESS)

pytestmark = pytest.mark.asyncio


def envelope(result: Any, code: int = 200) -> dict[str, Any]:
    return {"code": code, "result": result}


def order(status: str = "draft", **extra: Any) -> dict[str, Any]:
    return {
        "id": 13,
        "external_id": "ext123",
        "store": 10,
        "status": status,
        "shipping": "STANDARD",
        "created": 1602607640,
        "updated": 1602607640,
        "recipient": {"name": "Ada Lovelace"},
        "items": [{"sync_variant_id": 1001, "quantity": 1}],
        "costs": {"currency": "USD", "subtotal": "11.69", "shipping": "4.99", "total": "16.68"},
        "shipments": [],
        **extra,
    }


def error(code: int, message: str) -> dict[str, Any]:
    return {"code": code, "result": message, "error": {"reason": "BadRequest", "message": message}}


@pytest_asyncio.fixture
async def printful() -> AsyncIterator[PrintfulAdapter]:
    adapter = PrintfulAdapter(
        PrintfulConfig(base_url=BASE), base_url=BASE, policy=fast_policy("printful")
    )
    yield adapter
    await adapter.aclose()


def _no_order_yet() -> respx.Route:
    return respx.get(f"{BASE}/orders/@ext123").respond(404, json=error(404, "Order not found"))


@respx.mock
async def test_an_order_is_a_draft_then_a_confirmation(printful: PrintfulAdapter) -> None:
    _no_order_yet()
    draft = respx.post(f"{BASE}/orders").respond(200, json=envelope(order("draft")))
    confirm = respx.post(f"{BASE}/orders/13/confirm").respond(200, json=envelope(order("pending")))
    result = await printful.place_order(REQUEST)
    body = httpx.Response(200, content=draft.calls.last.request.content).json()
    assert body["external_id"] == "ext123"
    assert body["items"] == [{"sync_variant_id": 1001, "quantity": 1}]
    assert body["recipient"]["address1"] == "19749 Dearborn St"
    assert body["recipient"]["country_code"] == "US"
    assert draft.calls.last.request.url.params.get("confirm") is None, "a draft first"
    assert confirm.called
    assert draft.calls.last.request.headers["authorization"] == "Bearer sandbox-printful-token"
    assert result.status is OrderStatus.ACCEPTED_PENDING
    assert result.raw_status == "pending"
    assert result.charged == Money(Decimal("16.68"), "USD")


@respx.mock
async def test_an_existing_draft_is_confirmed_not_duplicated(printful: PrintfulAdapter) -> None:
    respx.get(f"{BASE}/orders/@ext123").respond(200, json=envelope(order("draft")))
    draft = respx.post(f"{BASE}/orders").respond(200, json=envelope(order()))
    respx.post(f"{BASE}/orders/13/confirm").respond(200, json=envelope(order("pending")))
    result = await printful.place_order(REQUEST)
    assert not draft.called
    assert result.replayed


@respx.mock
async def test_a_refused_duplicate_external_id_is_looked_up(printful: PrintfulAdapter) -> None:
    respx.get(f"{BASE}/orders/@ext123").mock(
        side_effect=[
            httpx.Response(404, json=error(404, "Order not found")),
            httpx.Response(200, json=envelope(order("pending"))),
            httpx.Response(200, json=envelope(order("pending"))),
        ]
    )
    respx.post(f"{BASE}/orders").respond(
        400, json=error(400, "Order with this External ID already exists")
    )
    respx.get(f"{BASE}/orders/13").respond(200, json=envelope(order("pending")))
    result = await printful.place_order(REQUEST)
    assert result.replayed
    assert result.vendor_reference == "13"


@respx.mock
async def test_an_already_confirmed_order_is_returned_as_it_stands(
    printful: PrintfulAdapter,
) -> None:
    respx.get(f"{BASE}/orders/@ext123").respond(200, json=envelope(order("inprocess")))
    respx.get(f"{BASE}/orders/13").respond(200, json=envelope(order("inprocess")))
    confirm = respx.post(f"{BASE}/orders/13/confirm").respond(200, json=envelope(order()))
    result = await printful.place_order(REQUEST)
    assert not confirm.called
    assert result.replayed


async def test_merchandise_needs_a_shipping_address(printful: PrintfulAdapter) -> None:
    with pytest.raises(InvalidOrderRequest, match="shipping address"):
        await printful.place_order(OrderRequest("ext123", "1001", Decimal(24), "USD"))


@pytest.mark.parametrize(("status", "expected"), ORDER_CALL_ERRORS)
@respx.mock
async def test_error_answers_map_to_error_classes(
    printful: PrintfulAdapter, status: int, expected: type[VendorError]
) -> None:
    _no_order_yet()
    respx.post(f"{BASE}/orders").respond(
        status, json=error(status, f"error {status}"), headers={"Retry-After": "0"}
    )
    with pytest.raises(expected) as caught:
        await printful.place_order(REQUEST)
    assert caught.value.status_code == status


@respx.mock
async def test_a_lost_confirmation_is_ambiguous(printful: PrintfulAdapter) -> None:
    _no_order_yet()
    respx.post(f"{BASE}/orders").respond(200, json=envelope(order()))
    respx.post(f"{BASE}/orders/13/confirm").mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(AmbiguousOutcome):
        await printful.place_order(REQUEST)


@respx.mock
async def test_an_unreadable_draft_is_ambiguous(printful: PrintfulAdapter) -> None:
    _no_order_yet()
    respx.post(f"{BASE}/orders").respond(200, json={"code": 200, "result": "?"})
    with pytest.raises(AmbiguousOutcome):
        await printful.place_order(REQUEST)


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("draft", OrderStatus.UNKNOWN),
        ("pending", OrderStatus.ACCEPTED_PENDING),
        ("onhold", OrderStatus.ACCEPTED_PENDING),
        ("inprocess", OrderStatus.ACCEPTED_PENDING),
        ("partial", OrderStatus.PARTIAL),
        ("fulfilled", OrderStatus.FULFILLED),
        ("failed", OrderStatus.FAILED),
        ("canceled", OrderStatus.CANCELLED),
        ("archived", OrderStatus.UNKNOWN),
    ],
)
@respx.mock
async def test_statuses_map_to_canonical(
    printful: PrintfulAdapter, raw: str, canonical: OrderStatus
) -> None:
    shipments = [{"tracking_number": "9400", "tracking_url": "https://track/9400"}]
    respx.get(f"{BASE}/orders/13").respond(
        200, json=envelope(order(raw, shipments=shipments if raw == "fulfilled" else []))
    )
    result = await printful.get_order("13")
    assert result.status is canonical
    if raw == "fulfilled":
        assert result.delivery is not None
        assert result.delivery.url == "https://track/9400"


@respx.mock
async def test_cancel_is_a_delete_and_refused_once_in_process(printful: PrintfulAdapter) -> None:
    respx.delete(f"{BASE}/orders/13").mock(
        side_effect=[
            httpx.Response(200, json=envelope(order("canceled"))),
            httpx.Response(400, json=error(400, "Order can not be canceled")),
        ]
    )
    assert (await printful.cancel_order("13", "changed mind")).status is OrderStatus.CANCELLED
    with pytest.raises(PermanentVendorError, match="cannot cancel"):
        await printful.cancel_order("13", "changed mind")


@respx.mock
@pytest.mark.parametrize(("store_id", "sent"), [(None, None), ("1234567", "1234567")])
async def test_the_store_id_is_sent_when_configured(store_id: str | None, sent: str | None) -> None:
    """Account-level tokens act on a store named by X-PF-Store-Id."""
    adapter = PrintfulAdapter(
        PrintfulConfig(base_url=BASE, store_id=store_id),
        base_url=BASE,
        policy=fast_policy("printful"),
    )
    route = respx.get(f"{BASE}/orders/@ext123").respond(404, json=envelope("Not found", 404))
    try:
        await adapter.lookup_order("ext123")
    except VendorError:
        pass
    finally:
        await adapter.aclose()
    assert route.calls.last.request.headers.get("X-PF-Store-Id") == sent


@respx.mock
@pytest.mark.parametrize(
    "after",
    [
        [httpx.Response(404, json=error(404, "Order not found"))],  # taken, yet none listed
        [httpx.Response(503, json=error(503, "down"))],  # taken, then the lookup fails
    ],
)
async def test_an_external_id_that_is_taken_is_never_did_not_act(
    printful: PrintfulAdapter, after: list[httpx.Response]
) -> None:
    """Printful says an order exists under the key: whatever the lookup then says, the
    outcome is ambiguous (a refund on "did not act" would pay for a real order twice)."""
    respx.get(f"{BASE}/orders/@ext123").mock(
        side_effect=[httpx.Response(404, json=error(404, "Order not found")), *after * 5]
    )
    respx.post(f"{BASE}/orders").respond(
        400, json=error(400, "Order with this External ID already exists")
    )
    with pytest.raises(AmbiguousOutcome):
        await printful.place_order(REQUEST)


@respx.mock
async def test_a_product_id_that_is_not_a_variant_id_is_refused_before_sending(
    printful: PrintfulAdapter,
) -> None:
    respx.get(f"{BASE}/orders/@ext123").respond(404, json=envelope("Not found", 404))
    create = respx.post(f"{BASE}/orders")
    with pytest.raises(InvalidOrderRequest, match="sync variant id"):
        await printful.place_order(dataclasses.replace(REQUEST, product_id="tee-large"))
    assert not create.called


@respx.mock
async def test_a_product_id_of_other_digits_is_refused_too(printful: PrintfulAdapter) -> None:
    respx.get(f"{BASE}/orders/@ext123").respond(404, json=envelope("Not found", 404))
    with pytest.raises(InvalidOrderRequest):
        await printful.place_order(dataclasses.replace(REQUEST, product_id="²"))
