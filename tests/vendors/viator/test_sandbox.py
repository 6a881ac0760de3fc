"""Viator behaviours the sandbox reproduces, seen through the adapter."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import httpx
import pytest

from tests.vendors.conftest import AdapterFactory, first_product, order_for, travel_date
from vendors import ExperienceDetails, OrderStatus, PermanentVendorError, TwoPhaseAdapter
from vendors.sandbox import SandboxHub
from vendors.viator import ViatorAdapter

pytestmark = pytest.mark.asyncio


async def test_the_version_header_is_mandatory(hub: SandboxHub) -> None:
    async with httpx.AsyncClient(transport=hub.transport("viator"), base_url="http://v") as c:
        response = await c.post(
            "/products/search",
            headers={"exp-api-key": "sandbox-viator-key", "Accept": "application/json"},
            json={"currency": "USD"},
        )
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_HEADER_VALUE"
    assert set(response.json()) == {"code", "message", "timestamp", "trackingId"}


async def test_an_expired_hold_cannot_be_booked(
    make_adapter: AdapterFactory, hub: SandboxHub
) -> None:
    adapter = make_adapter("viator")
    assert isinstance(adapter, TwoPhaseAdapter)
    request = order_for(await first_product(adapter), "lateBooking")
    hold = await adapter.prepare(request)
    assert hold.raw_status == "HOLDING"
    assert hold.valid_until is not None
    hub["viator"].clock.advance(31 * 60)
    result = await adapter.commit(request, hold)
    assert result.status is OrderStatus.FAILED
    assert result.detail == "BOOKABLE_ITEM_IS_NO_LONGER_AVAILABLE"
    assert hub["viator"].orders_summary() == []


async def test_a_booking_within_the_hold(make_adapter: AdapterFactory, hub: SandboxHub) -> None:
    adapter = make_adapter("viator")
    assert isinstance(adapter, TwoPhaseAdapter)
    request = order_for(await first_product(adapter), "inTime")
    hold = await adapter.prepare(request)
    hub["viator"].clock.advance(29 * 60)
    assert (await adapter.commit(request, hold)).status is OrderStatus.FULFILLED


async def test_travelers_multiply_the_price_and_the_agreed_amount_caps_it(
    make_adapter: AdapterFactory,
) -> None:
    adapter = make_adapter("viator")
    product = await first_product(adapter)
    per_adult = product.denominations[0].face_value
    request = dataclasses.replace(
        order_for(product, "party"),
        amount=per_adult * 3,
        experience=ExperienceDetails(travel_date(), 3),
    )
    assert (await adapter.place_order(request)).status is OrderStatus.FULFILLED
    with pytest.raises(PermanentVendorError) as caught:
        await adapter.place_order(
            dataclasses.replace(request, idempotency_key="tooCheap", amount=per_adult * 2)
        )
    assert caught.value.vendor_code == "PRICE_CHANGED"


async def test_manual_confirmation_products_stay_pending(
    make_adapter: AdapterFactory, hub: SandboxHub
) -> None:
    adapter = make_adapter("viator")
    manual = await first_product(adapter, lambda p: p.vendor_product_id == "6710LAS")
    placed = await adapter.place_order(order_for(manual, "grandCanyon", amount=Decimal(500)))
    assert placed.status is OrderStatus.ACCEPTED_PENDING
    assert placed.raw_status == "PENDING"
    hub["viator"].clock.advance(61)
    assert (await adapter.get_order(placed.vendor_reference)).status is OrderStatus.FULFILLED


async def test_cancel_before_the_cutoff_only(make_adapter: AdapterFactory) -> None:
    adapter = make_adapter("viator")
    product = await first_product(adapter)
    booked = await adapter.place_order(order_for(product, "cancelTour"))
    cancelled = await adapter.cancel_order(booked.vendor_reference, "member asked")
    assert cancelled.status is OrderStatus.CANCELLED
    tomorrow = dataclasses.replace(
        order_for(product, "tomorrowTour"),
        experience=ExperienceDetails(
            (
                __import__("datetime").date.today() + __import__("datetime").timedelta(days=1)
            ).isoformat(),
            1,
        ),
    )
    soon = await adapter.place_order(tomorrow)
    with pytest.raises(PermanentVendorError, match="NOT_CANCELLABLE"):
        await adapter.cancel_order(soon.vendor_reference, "member asked")


async def test_availability_check_gives_the_price_for_the_party(
    make_adapter: AdapterFactory,
) -> None:
    adapter = make_adapter("viator")
    assert isinstance(adapter, ViatorAdapter)
    product = await first_product(adapter)
    request = dataclasses.replace(
        order_for(product, "priceCheck"), experience=ExperienceDetails(travel_date(), 2)
    )
    price = await adapter.check_availability(request)
    assert price is not None
    assert price.amount == product.denominations[0].face_value * 2
    past = dataclasses.replace(request, experience=ExperienceDetails("2020-01-01", 2))
    with pytest.raises(PermanentVendorError):
        await adapter.check_availability(past)
