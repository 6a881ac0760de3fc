"""Viator behaviours the sandbox reproduces, seen through the adapter."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.vendors.conftest import (
    AdapterFactory,
    experience_answers,
    first_product,
    order_for,
    travel_date,
)
from vendors import (
    BookingAnswer,
    ExperienceDetails,
    InvalidOrderRequest,
    OrderRequest,
    OrderStatus,
    PermanentVendorError,
    TwoPhaseAdapter,
)
from vendors.sandbox import SandboxHub
from vendors.viator import ViatorAdapter
from vendors.viator.sandbox import ViatorSandbox

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


HEADERS = {"exp-api-key": "sandbox-viator-key", "Accept": "application/json;version=2.0"}


async def test_a_search_without_a_destination_is_refused(hub: SandboxHub) -> None:
    async with httpx.AsyncClient(transport=hub.transport("viator"), base_url="http://v") as c:
        refused = await c.post("/products/search", headers=HEADERS, json={"currency": "USD"})
        london = await c.post(
            "/products/search",
            headers=HEADERS,
            json={"currency": "USD", "filtering": {"destination": "737"}},
        )
    assert refused.status_code == 400
    assert "filtering.destination" in refused.json()["message"]
    assert london.status_code == 200
    assert london.json()["totalCount"] == 3, "the sandbox's three London experiences"


async def _book_directly(
    make_adapter: AdapterFactory,
    hub: SandboxHub,
    key: str,
    *,
    travelers: int = 1,
    **fields: Any,
) -> httpx.Response:
    """``POST /bookings/book`` sent to the sandbox by hand (what the adapter would never send),
    for the first product; ``fields`` replace or add to a booking that lacks only answers."""
    request = order_for(await first_product(make_adapter("viator")), key)
    assert request.experience is not None
    body = {
        "productCode": request.product_id,
        "travelDate": request.experience.travel_date,
        "currency": request.currency,
        "paxMix": [{"ageBand": "ADULT", "numberOfTravelers": travelers}],
        "partnerBookingRef": key,
        "bookerInfo": {"firstName": "Ada", "lastName": "Lovelace"},
        "communication": {"email": "ada@example.com", "phone": "+44 20 7946 0000"},
        **fields,
    }
    async with httpx.AsyncClient(transport=hub.transport("viator"), base_url="http://v") as c:
        return await c.post("/bookings/book", headers=HEADERS, json=body)


async def test_a_booking_without_a_phone_is_refused(
    make_adapter: AdapterFactory, hub: SandboxHub
) -> None:
    refused = await _book_directly(
        make_adapter, hub, "noPhone", communication={"email": "ada@example.com"}
    )
    assert refused.status_code == 400
    assert "communication.phone" in refused.json()["message"]
    assert hub["viator"].orders_summary() == []


async def test_the_charge_is_net_price_plus_booking_fee(make_adapter: AdapterFactory) -> None:
    adapter = make_adapter("viator")
    placed = await adapter.place_order(order_for(await first_product(adapter), "feeKey"))
    assert isinstance(adapter, ViatorAdapter)
    hold_price = await adapter.check_availability(order_for(await first_product(adapter), "x"))
    assert hold_price is not None
    assert placed.charged is not None
    net = (hold_price.amount * Decimal("0.80")).quantize(Decimal("0.01"))
    assert placed.charged.amount > net, "the booking fee is on top of the net price"


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
        experience=ExperienceDetails(travel_date(), 3, answers=experience_answers(3)),
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


async def test_a_day_trip_asks_where_to_pick_up_before_anything_is_held(
    make_adapter: AdapterFactory, hub: SandboxHub
) -> None:
    adapter = make_adapter("viator")
    trip = await first_product(adapter, lambda p: p.vendor_product_id == "7045TYO")
    request = order_for(trip, "fujiTrip", amount=Decimal(500))
    assert request.experience is not None
    unanswered = dataclasses.replace(
        request, experience=dataclasses.replace(request.experience, answers=())
    )
    with pytest.raises(InvalidOrderRequest) as caught:
        await adapter.place_order(unanswered)
    assert [q["question"] for q in caught.value.body] == ["PICKUP_POINT"]
    sandbox = hub["viator"]
    assert isinstance(sandbox, ViatorSandbox)
    assert sandbox.holds == {}, "refused before any hold"
    assert (await adapter.place_order(request)).status.is_final is False  # confirmed by hand


async def test_the_sandbox_refuses_a_booking_without_its_answers(
    make_adapter: AdapterFactory, hub: SandboxHub
) -> None:
    refused = await _book_directly(
        make_adapter,
        hub,
        "unanswered",
        travelers=2,
        bookingQuestionAnswers=[
            {"question": "AGEBAND", "answer": "ADULT", "travelerNum": 1},
            {"question": "FULL_NAMES_FIRST", "answer": "Ada", "travelerNum": 1},
            {"question": "FULL_NAMES_LAST", "answer": "Lovelace", "travelerNum": 1},
        ],
    )
    assert refused.status_code == 400
    assert "AGEBAND (traveler 2)" in refused.json()["message"]
    assert hub["viator"].orders_summary() == []


async def test_the_sandbox_limits_each_endpoint_over_ten_seconds() -> None:
    sandbox = ViatorSandbox(rate_limit=(3, 10.0))
    transport = httpx.ASGITransport(app=sandbox.app)
    body = {"currency": "USD", "filtering": {"destination": "737"}}
    async with httpx.AsyncClient(transport=transport, base_url="http://v") as c:
        searches = [
            (await c.post("/products/search", headers=HEADERS, json=body)).status_code
            for _ in range(4)
        ]
        status = await c.post("/bookings/status", headers=HEADERS, json={"bookingRef": "x"})
    assert searches == [200, 200, 200, 429]
    assert status.status_code == 404, "another endpoint: its own window (and no such booking)"


async def _day_trip(
    make_adapter: AdapterFactory, key: str, answers: list[BookingAnswer], travelers: int = 1
) -> tuple[ViatorAdapter, OrderRequest]:
    adapter = make_adapter("viator")
    assert isinstance(adapter, ViatorAdapter)
    trip = await first_product(adapter, lambda p: p.vendor_product_id == "7045TYO")
    request = dataclasses.replace(
        order_for(trip, key, amount=Decimal(5000)),
        experience=ExperienceDetails(travel_date(), travelers, answers=tuple(answers)),
    )
    return adapter, request


@pytest.mark.parametrize(
    ("answers", "recipient", "problem"),
    [
        ([BookingAnswer("PICKUP_POINT", "   ")], "Ada Lovelace", "PICKUP_POINT"),
        ([BookingAnswer("PICKUP_POINT", "Lobby")], "", "FULL_NAMES_FIRST"),
        (
            [BookingAnswer("PICKUP_POINT", "Lobby"), BookingAnswer("FULL_NAMES_FIRST", "M", 0)],
            "Ada Lovelace",
            "FULL_NAMES_FIRST",
        ),
        (
            [BookingAnswer("PICKUP_POINT", "Lobby"), BookingAnswer("PICKUP_POINT", "Gate")],
            "Ada Lovelace",
            "PICKUP_POINT",
        ),
        ([BookingAnswer("PICKUP_POINT", "x" * 201)], "Ada Lovelace", "PICKUP_POINT"),
    ],
)
async def test_answers_viator_would_refuse_are_refused_before_the_hold(
    make_adapter: AdapterFactory,
    hub: SandboxHub,
    answers: list[BookingAnswer],
    recipient: str,
    problem: str,
) -> None:
    """Blank answers, a nameless lead traveller, traveller 0, an answer given twice, one too
    long: refused as BOOKING_QUESTIONS, so the member can be asked, and nothing held."""
    adapter, request = await _day_trip(make_adapter, "refusedAnswers", answers)
    assert request.recipient is not None
    request = dataclasses.replace(
        request, recipient=dataclasses.replace(request.recipient, name=recipient)
    )
    with pytest.raises(InvalidOrderRequest) as caught:
        await adapter.place_order(request)
    assert caught.value.vendor_code == "BOOKING_QUESTIONS"
    assert problem in {q["question"] for q in caught.value.body}
    sandbox = hub["viator"]
    assert isinstance(sandbox, ViatorSandbox)
    assert sandbox.holds == {}


async def test_the_sandbox_refuses_answers_outside_the_definitions(
    make_adapter: AdapterFactory, hub: SandboxHub
) -> None:
    refused = await _book_directly(
        make_adapter,
        hub,
        "badAnswers",
        bookingQuestionAnswers=[
            {"question": "AGEBAND", "answer": "DRAGON", "travelerNum": 1},
            {"question": "FULL_NAMES_FIRST", "answer": "A" * 51, "travelerNum": 1},
            {"question": "FULL_NAMES_LAST", "answer": "Lovelace", "travelerNum": 3},
        ],
    )
    assert refused.status_code == 400
    message = refused.json()["message"]
    assert "AGEBAND (not an allowed answer)" in message
    assert "FULL_NAMES_FIRST (longer than 50)" in message
    assert "FULL_NAMES_LAST (no traveler 3)" in message
