"""Viator Partner API v2 adapter against documented responses (respx): hold, book, status."""

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
from tests.vendors.conftest import fast_policy, travel_date
from vendors import (
    AmbiguousOutcome,
    BookingAnswer,
    ExperienceDetails,
    Hold,
    InvalidOrderRequest,
    Money,
    OrderRequest,
    OrderStatus,
    PermanentVendorError,
    RateLimited,
    Recipient,
    VendorError,
)
from vendors.viator import ViatorAdapter, ViatorConfig
from vendors.viator._endpoints import endpoint_of

BASE = "https://api.sandbox.viator.com/partner"
REQUEST = OrderRequest(
    "pbr123",
    "5010SYDNEY",
    Decimal("158.00"),
    "USD",
    recipient=Recipient("Ada Lovelace", "ada@example.com", phone="+1 212 555 0100"),
    experience=ExperienceDetails(travel_date(), 2),
)

pytestmark = pytest.mark.asyncio


def hold(retail: str = "158.00") -> dict[str, Any]:
    held = {"status": "HOLDING", "validUntil": "2026-12-01T10:30:00Z"}
    return {
        "bookingRef": "BR-580123",
        "bookingHoldInfo": {"availability": held, "pricing": held},
        "totalPrice": {"price": {"recommendedRetailPrice": retail, "partnerNetPrice": "126.40"}},
        "currency": "USD",
        "lineItems": [],
    }


def booking(status: str = "CONFIRMED", **extra: Any) -> dict[str, Any]:
    body = {
        "status": status,
        "bookingRef": "BR-580123",
        "partnerBookingRef": "pbr123",
        "currency": "USD",
        "totalPrice": {"price": {"recommendedRetailPrice": 158.0, "partnerNetPrice": 126.4}},
        **extra,
    }
    if status == "CONFIRMED":
        body["voucherInfo"] = {"url": "https://vouchers/BR-580123.pdf", "format": "PDF"}
    return body


def error(code: str, message: str = "refused") -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "timestamp": "2026-11-23T10:00:00Z",
        "trackingId": "7E8B9A",
    }


def _without_questions(adapter: ViatorAdapter) -> ViatorAdapter:
    """An adapter whose products ask no booking questions (tested on their own below)."""

    async def none(product_code: str) -> list[Any]:
        return []

    adapter.booking_questions = none  # type: ignore[method-assign]
    return adapter


@pytest_asyncio.fixture
async def viator() -> AsyncIterator[ViatorAdapter]:
    adapter = _without_questions(
        ViatorAdapter(
            ViatorConfig(base_url=BASE, destinations=("684",)),
            base_url=BASE,
            policy=fast_policy("viator"),
        )
    )
    yield adapter
    await adapter.aclose()


@respx.mock
async def test_hold_then_book_with_the_mandatory_headers(viator: ViatorAdapter) -> None:
    held = respx.post(f"{BASE}/bookings/hold").respond(200, json=hold())
    booked = respx.post(f"{BASE}/bookings/book").respond(200, json=booking())
    result = await viator.place_order(REQUEST)
    for route in (held, booked):
        sent = route.calls.last.request
        assert sent.headers["accept"] == "application/json;version=2.0"
        assert sent.headers["exp-api-key"] == "sandbox-viator-key"
    book = httpx.Response(200, content=booked.calls.last.request.content).json()
    assert book["bookingRef"] == "BR-580123"
    assert book["partnerBookingRef"] == "pbr123"
    assert book["paxMix"] == [{"ageBand": "ADULT", "numberOfTravelers": 2}]
    assert book["bookerInfo"] == {"firstName": "Ada", "lastName": "Lovelace"}
    assert result.status is OrderStatus.FULFILLED
    assert result.charged == Money(Decimal("126.4"), "USD"), "merchants pay the net price"
    assert result.delivery is not None
    assert result.delivery.url == "https://vouchers/BR-580123.pdf"


@respx.mock
async def test_a_duplicate_partner_booking_ref_returns_the_existing_booking(
    viator: ViatorAdapter,
) -> None:
    respx.post(f"{BASE}/bookings/hold").respond(200, json=hold())
    respx.post(f"{BASE}/bookings/book").respond(
        200, json={"status": "REJECTED", "rejectionReasonCode": "DUPLICATE_BOOKING"}
    )
    status = respx.post(f"{BASE}/bookings/status").respond(200, json=booking())
    result = await viator.place_order(REQUEST)
    assert httpx.Response(200, content=status.calls.last.request.content).json() == {
        "partnerBookingRef": "pbr123"
    }
    assert result.replayed
    assert result.vendor_reference == "BR-580123"


@respx.mock
async def test_a_rejected_booking_is_a_failed_result(viator: ViatorAdapter) -> None:
    respx.post(f"{BASE}/bookings/hold").respond(200, json=hold())
    respx.post(f"{BASE}/bookings/book").respond(
        200, json=booking("REJECTED", rejectionReasonCode="BOOKABLE_ITEM_IS_NO_LONGER_AVAILABLE")
    )
    result = await viator.place_order(REQUEST)
    assert result.status is OrderStatus.FAILED
    assert result.detail == "BOOKABLE_ITEM_IS_NO_LONGER_AVAILABLE"


@respx.mock
async def test_a_higher_held_price_than_agreed_is_refused_before_booking(
    viator: ViatorAdapter,
) -> None:
    respx.post(f"{BASE}/bookings/hold").respond(200, json=hold("170.00"))
    book = respx.post(f"{BASE}/bookings/book").respond(200, json=booking())
    with pytest.raises(PermanentVendorError) as caught:
        await viator.place_order(REQUEST)
    assert caught.value.vendor_code == "PRICE_CHANGED"
    assert not book.called


async def test_an_experience_needs_a_date_and_travelers(viator: ViatorAdapter) -> None:
    with pytest.raises(InvalidOrderRequest):
        await viator.place_order(OrderRequest("pbr1", "5010SYDNEY", Decimal(79), "USD"))


@pytest.mark.parametrize(("status", "expected"), ORDER_CALL_ERRORS)
@respx.mock
async def test_booking_errors_map_to_error_classes(
    viator: ViatorAdapter, status: int, expected: type[VendorError]
) -> None:
    respx.post(f"{BASE}/bookings/hold").respond(200, json=hold())
    respx.post(f"{BASE}/bookings/book").respond(
        status, json=error("ERROR", f"error {status}"), headers={"Retry-After": "0"}
    )
    respx.post(f"{BASE}/bookings/status").respond(404, json=error("NOT_FOUND"))
    with pytest.raises(expected) as caught:
        await viator.place_order(REQUEST)
    assert caught.value.status_code == status


@respx.mock
async def test_a_missing_version_header_answer_is_permanent(viator: ViatorAdapter) -> None:
    respx.post(f"{BASE}/bookings/hold").respond(400, json=error("INVALID_HEADER_VALUE"))
    with pytest.raises(PermanentVendorError) as caught:
        await viator.place_order(REQUEST)
    assert caught.value.vendor_code == "INVALID_HEADER_VALUE"


@respx.mock
async def test_a_lost_booking_answer_is_ambiguous(viator: ViatorAdapter) -> None:
    respx.post(f"{BASE}/bookings/hold").respond(200, json=hold())
    book = respx.post(f"{BASE}/bookings/book").mock(side_effect=httpx.ReadTimeout("120 s"))
    status = respx.post(f"{BASE}/bookings/status").respond(404, json=error("NOT_FOUND"))
    with pytest.raises(AmbiguousOutcome):
        await viator.place_order(REQUEST)
    attempts = fast_policy("viator").retry_attempts
    assert book.call_count == attempts
    assert status.call_count == attempts, "asked before every new booking and after the last"


@respx.mock
async def test_after_a_lost_answer_the_status_is_asked_before_booking_again(
    viator: ViatorAdapter,
) -> None:
    """As Viator documents: a timeout or 5xx on /bookings/book, then /bookings/status."""
    respx.post(f"{BASE}/bookings/hold").respond(200, json=hold())
    book = respx.post(f"{BASE}/bookings/book").mock(
        side_effect=[httpx.Response(503, json=error("ERROR")), httpx.Response(200, json=booking())]
    )
    status = respx.post(f"{BASE}/bookings/status").respond(200, json=booking())
    result = await viator.place_order(REQUEST)
    assert book.call_count == 1, "the status found the booking: not booked again"
    assert status.call_count == 1
    assert result.status is OrderStatus.FULFILLED


@respx.mock
async def test_a_status_check_that_fails_after_a_lost_answer_is_ambiguous(
    viator: ViatorAdapter,
) -> None:
    respx.post(f"{BASE}/bookings/hold").respond(200, json=hold())
    respx.post(f"{BASE}/bookings/book").mock(side_effect=httpx.ReadTimeout("120 s"))
    respx.post(f"{BASE}/bookings/status").respond(429, headers={"Retry-After": "0"})
    with pytest.raises(AmbiguousOutcome):
        await viator.place_order(REQUEST)


async def test_a_booking_without_a_phone_is_refused_before_any_hold() -> None:
    adapter = _without_questions(
        ViatorAdapter(ViatorConfig(base_url=BASE), base_url=BASE, policy=fast_policy("viator"))
    )
    no_phone = dataclasses.replace(REQUEST, recipient=Recipient("Ada", "ada@example.com"))
    with respx.mock:
        hold_route = respx.post(f"{BASE}/bookings/hold").respond(200, json=hold())
        with pytest.raises(InvalidOrderRequest, match="phone"):
            await adapter.place_order(no_phone)
        assert not hold_route.called
    with_line = _without_questions(
        ViatorAdapter(
            ViatorConfig(base_url=BASE, contact_phone="+1 800 555 0199"),
            base_url=BASE,
            policy=fast_policy("viator"),
        )
    )
    with respx.mock:
        respx.post(f"{BASE}/bookings/hold").respond(200, json=hold())
        book = respx.post(f"{BASE}/bookings/book").respond(200, json=booking())
        await with_line.place_order(no_phone)
        sent = httpx.Response(200, content=book.calls.last.request.content).json()
        assert sent["communication"]["phone"] == "+1 800 555 0199"
    await adapter.aclose()
    await with_line.aclose()


@respx.mock
async def test_the_charge_is_the_partner_total_price(viator: ViatorAdapter) -> None:
    price = {
        "recommendedRetailPrice": 158.0,
        "partnerNetPrice": 126.4,
        "bookingFee": 3.79,
        "partnerTotalPrice": 130.19,
    }
    respx.post(f"{BASE}/bookings/status").respond(200, json=booking(totalPrice={"price": price}))
    result = await viator.get_order("BR-580123")
    assert result.charged == Money(Decimal("130.19"), "USD")


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("CONFIRMED", OrderStatus.FULFILLED),
        ("PENDING", OrderStatus.ACCEPTED_PENDING),
        ("IN_PROGRESS", OrderStatus.ACCEPTED_PENDING),
        ("ON_HOLD", OrderStatus.ACCEPTED_PENDING),
        ("REJECTED", OrderStatus.FAILED),
        ("FAILED", OrderStatus.FAILED),
        ("CANCELED", OrderStatus.CANCELLED),
        ("NEW_STATE", OrderStatus.UNKNOWN),
    ],
)
@respx.mock
async def test_statuses_map_to_canonical(
    viator: ViatorAdapter, raw: str, canonical: OrderStatus
) -> None:
    respx.post(f"{BASE}/bookings/status").respond(200, json=booking(raw))
    assert (await viator.get_order("BR-580123")).status is canonical


@respx.mock
async def test_lookup_of_an_unknown_partner_ref_is_none(viator: ViatorAdapter) -> None:
    respx.post(f"{BASE}/bookings/status").respond(404, json=error("NOT_FOUND"))
    assert await viator.lookup_order("nobody") is None


@respx.mock
async def test_cancellation_goes_through_a_quote(viator: ViatorAdapter) -> None:
    respx.get(f"{BASE}/bookings/BR-580123/cancel-quote").mock(
        side_effect=[
            httpx.Response(200, json={"bookingId": "BR-580123", "status": "NOT_CANCELLABLE"}),
            httpx.Response(200, json={"bookingId": "BR-580123", "status": "CANCELLABLE"}),
        ]
    )
    respx.get(f"{BASE}/bookings/cancel-reasons").respond(
        200, json={"reasons": [{"cancellationReasonCode": "Customer_Service.X"}]}
    )
    cancel = respx.post(f"{BASE}/bookings/BR-580123/cancel").respond(
        200, json={"bookingId": "BR-580123", "status": "ACCEPTED"}
    )
    respx.post(f"{BASE}/bookings/status").respond(200, json=booking("CANCELED"))
    with pytest.raises(PermanentVendorError, match="NOT_CANCELLABLE"):
        await viator.cancel_order("BR-580123", "member asked")
    assert not cancel.called
    result = await viator.cancel_order("BR-580123", "member asked")
    assert result.status is OrderStatus.CANCELLED
    assert httpx.Response(200, content=cancel.calls.last.request.content).json() == {
        "reasonCode": "Customer_Service.X"
    }


@respx.mock
async def test_product_search_pages_through_the_catalog(viator: ViatorAdapter) -> None:
    def product(code: str) -> dict[str, Any]:
        return {
            "productCode": code,
            "title": f"Tour {code}",
            "images": [
                {
                    "variants": [
                        {"url": f"{code}-s.jpg", "width": 240},
                        {"url": f"{code}-l.jpg", "width": 720},
                    ]
                }
            ],
            "pricing": {"summary": {"fromPrice": 79.0}, "currency": "USD"},
        }

    search = respx.post(f"{BASE}/products/search").mock(
        side_effect=[
            httpx.Response(
                200, json={"products": [product(f"P{i}") for i in range(50)], "totalCount": 52}
            ),
            httpx.Response(
                200, json={"products": [product("P50"), product("P51")], "totalCount": 52}
            ),
        ]
    )
    products = await viator.fetch_catalog()
    assert len(products) == 52
    assert search.call_count == 2
    sent = [httpx.Response(200, content=c.request.content).json() for c in search.calls]
    assert {body["filtering"]["destination"] for body in sent} == {"684"}, "required by Viator"
    second = httpx.Response(200, content=search.calls[1].request.content).json()
    assert second["pagination"] == {"start": 51, "count": 50}
    assert products[0].image_url == "P0-l.jpg"
    assert products[0].countries == (), "a booking can be made from anywhere"


@respx.mock
async def test_availability_check_reads_the_first_available_item(viator: ViatorAdapter) -> None:
    price = {"price": {"recommendedRetailPrice": 158.0, "partnerNetPrice": 126.4}}
    respx.post(f"{BASE}/availability/check").mock(
        side_effect=[
            httpx.Response(
                200,
                json={
                    "productCode": "5010SYDNEY",
                    "currency": "USD",
                    "bookableItems": [
                        {"productOptionCode": "TG1", "available": False, "totalPrice": price},
                        {"productOptionCode": "TG2", "available": True, "totalPrice": price},
                    ],
                },
            ),
            httpx.Response(200, json={"currency": "USD", "bookableItems": []}),
        ]
    )
    assert await viator.check_availability(REQUEST) == Money(Decimal("158.0"), "USD")
    assert await viator.check_availability(REQUEST) is None


@respx.mock
async def test_a_duplicate_whose_status_cannot_be_read_is_ambiguous(viator: ViatorAdapter) -> None:
    respx.post(f"{BASE}/bookings/hold").respond(200, json=hold())
    respx.post(f"{BASE}/bookings/book").respond(
        200, json={"status": "REJECTED", "rejectionReasonCode": "DUPLICATE_BOOKING"}
    )
    respx.post(f"{BASE}/bookings/status").respond(503, json=error("ERROR"))
    with pytest.raises(AmbiguousOutcome):
        await viator.place_order(REQUEST)


QUESTIONS: dict[str, Any] = {
    "bookingQuestions": [
        {"id": "AGEBAND", "group": "PER_TRAVELER", "required": "MANDATORY",
         "allowedAnswers": ["ADULT", "CHILD"]},
        {"id": "FULL_NAMES_FIRST", "group": "PER_TRAVELER", "required": "MANDATORY",
         "maxLength": 20},
        {"id": "FULL_NAMES_LAST", "group": "PER_TRAVELER", "required": "MANDATORY"},
        {"id": "PICKUP_POINT", "group": "PER_BOOKING", "required": "MANDATORY",
         "label": "Where should we pick you up?"},
        {"id": "TRANSFER_ARRIVAL_MODE", "group": "PER_BOOKING", "required": "MANDATORY",
         "allowedAnswers": ["AIR", "RAIL", "SEA", "OTHER"]},
        {"id": "SPECIAL_REQUIREMENTS", "group": "PER_BOOKING", "required": "OPTIONAL"},
    ]
}  # fmt: skip
ASKED = [question["id"] for question in QUESTIONS["bookingQuestions"]]


def _asking() -> ViatorAdapter:
    return ViatorAdapter(
        ViatorConfig(base_url=BASE, destinations=("684",)),
        base_url=BASE,
        policy=fast_policy("viator"),
    )


@respx.mock
async def test_unanswered_booking_questions_are_refused_before_any_hold() -> None:
    adapter = _asking()
    respx.get(f"{BASE}/products/booking-questions").respond(200, json=QUESTIONS)
    respx.get(f"{BASE}/products/5010SYDNEY").respond(
        200, json={"productCode": "5010SYDNEY", "bookingQuestions": ASKED}
    )
    hold_route = respx.post(f"{BASE}/bookings/hold").respond(200, json=hold())
    wrong = BookingAnswer("TRANSFER_ARRIVAL_MODE", "CAR")
    request = dataclasses.replace(
        REQUEST, experience=ExperienceDetails(travel_date(), 2, answers=(wrong,))
    )
    try:
        with pytest.raises(InvalidOrderRequest) as caught:
            await adapter.place_order(request)
    finally:
        await adapter.aclose()
    assert caught.value.vendor_code == "BOOKING_QUESTIONS"
    asked = {(q["question"], q["traveler"], q["problem"]) for q in caught.value.body}
    assert asked == {
        ("FULL_NAMES_FIRST", 2, "missing"),
        ("FULL_NAMES_LAST", 2, "missing"),
        ("PICKUP_POINT", None, "missing"),
        ("TRANSFER_ARRIVAL_MODE", None, "not one of the allowed answers"),
    }, "the lead traveller's names and every age band come from the request"
    assert not hold_route.called


@respx.mock
async def test_answered_booking_questions_are_sent_with_the_booking() -> None:
    adapter = _asking()
    respx.get(f"{BASE}/products/booking-questions").respond(200, json=QUESTIONS)
    respx.get(f"{BASE}/products/5010SYDNEY").respond(
        200, json={"productCode": "5010SYDNEY", "bookingQuestions": ASKED}
    )
    respx.post(f"{BASE}/bookings/hold").respond(200, json=hold())
    book = respx.post(f"{BASE}/bookings/book").respond(200, json=booking())
    answers = (
        BookingAnswer("FULL_NAMES_FIRST", "Byron", 2),
        BookingAnswer("FULL_NAMES_LAST", "King", 2),
        BookingAnswer("PICKUP_POINT", "Circular Quay"),
        BookingAnswer("TRANSFER_ARRIVAL_MODE", "AIR"),
    )
    request = dataclasses.replace(
        REQUEST, experience=ExperienceDetails(travel_date(), 2, answers=answers)
    )
    try:
        await adapter.place_order(request)
    finally:
        await adapter.aclose()
    sent = httpx.Response(200, content=book.calls.last.request.content).json()
    assert sorted(
        (a["question"], a.get("travelerNum"), a["answer"]) for a in sent["bookingQuestionAnswers"]
    ) == [
        ("AGEBAND", 1, "ADULT"),
        ("AGEBAND", 2, "ADULT"),
        ("FULL_NAMES_FIRST", 1, "Ada"),
        ("FULL_NAMES_FIRST", 2, "Byron"),
        ("FULL_NAMES_LAST", 1, "Lovelace"),
        ("FULL_NAMES_LAST", 2, "King"),
        ("PICKUP_POINT", None, "Circular Quay"),
        ("TRANSFER_ARRIVAL_MODE", None, "AIR"),
    ]


@respx.mock
async def test_a_policy_of_no_retries_still_books_once() -> None:
    adapter = _without_questions(
        ViatorAdapter(
            ViatorConfig(base_url=BASE, destinations=("684",)),
            base_url=BASE,
            policy=fast_policy("viator", retry_attempts=0),
        )
    )
    respx.post(f"{BASE}/bookings/hold").respond(200, json=hold())
    book = respx.post(f"{BASE}/bookings/book").respond(200, json=booking())
    try:
        assert (await adapter.place_order(REQUEST)).status is OrderStatus.FULFILLED
    finally:
        await adapter.aclose()
    assert book.call_count == 1


@pytest.mark.parametrize(
    ("path", "endpoint"),
    [
        ("/products/search", "/products/search"),
        ("/products/5010SYDNEY", "/products/{ref}"),
        ("/products/booking-questions", "/products/booking-questions"),
        ("/bookings/BR-580000001/cancel", "/bookings/{ref}/cancel"),
        ("/partner/bookings/status", "/bookings/status"),
    ],
)
async def test_each_endpoint_is_its_own_rate_window(path: str, endpoint: str) -> None:
    assert endpoint_of(path) == endpoint


@respx.mock
async def test_a_limited_endpoint_pauses_alone(viator: ViatorAdapter) -> None:
    """Viator limits per endpoint: a 429 on search must not stop booking status reads."""
    respx.post(f"{BASE}/products/search").respond(
        429,
        json=error("TOO_MANY_REQUESTS"),
        headers={"Retry-After": "3600", "RateLimit-Remaining": "0", "RateLimit-Reset": "3600"},
    )
    status = respx.post(f"{BASE}/bookings/status").respond(200, json=booking())
    with pytest.raises(RateLimited):
        await viator.fetch_catalog()
    assert (await viator.get_order("BR-580123")).status is OrderStatus.FULFILLED
    assert status.called
    with pytest.raises(RateLimited, match="pause"):
        await viator.fetch_catalog()  # still paused, nothing sent


@pytest.mark.parametrize(
    ("path", "endpoint"),
    [
        ("/bookings/status?x=1", "/bookings/status"),
        ("/availability/schedules/5010SYDNEY", "/availability/schedules/{ref}"),
        ("/products/modified-since", "/products/modified-since"),
    ],
)
async def test_endpoint_names_are_kept_and_references_made_generic(
    path: str, endpoint: str
) -> None:
    assert endpoint_of(path) == endpoint


@respx.mock
async def test_a_repeated_commit_whose_product_is_gone_returns_the_booking(
    viator: ViatorAdapter,
) -> None:
    """The booking exists under the key: a product page gone since says nothing about it."""
    adapter = ViatorAdapter(
        ViatorConfig(base_url=BASE, destinations=("684",)),
        base_url=BASE,
        policy=fast_policy("viator"),
    )
    respx.get(f"{BASE}/products/5010SYDNEY").respond(404, json=error("NOT_FOUND"))
    respx.post(f"{BASE}/bookings/status").respond(200, json=booking())
    book = respx.post(f"{BASE}/bookings/book")
    held = Hold(vendor="viator", reference="BR-580123", raw_status="HOLDING")
    try:
        result = await adapter.commit(REQUEST, held)
    finally:
        await adapter.aclose()
    assert result.replayed
    assert result.vendor_reference == "BR-580123"
    assert not book.called


@respx.mock
async def test_a_question_without_a_definition_is_asked_as_mandatory() -> None:
    adapter = _asking()
    definitions = respx.get(f"{BASE}/products/booking-questions").respond(200, json=QUESTIONS)
    respx.get(f"{BASE}/products/5010SYDNEY").respond(
        200, json={"productCode": "5010SYDNEY", "bookingQuestions": [*ASKED, "NEW_QUESTION"]}
    )
    hold_route = respx.post(f"{BASE}/bookings/hold").respond(200, json=hold())
    try:
        with pytest.raises(InvalidOrderRequest) as caught:
            await adapter.place_order(REQUEST)
    finally:
        await adapter.aclose()
    assert "NEW_QUESTION" in {q["question"] for q in caught.value.body}
    assert definitions.call_count == 1
    assert not hold_route.called


async def test_a_product_code_is_quoted_into_its_path() -> None:
    adapter = _asking()
    with respx.mock:
        detail = respx.get(url__regex=rf"{BASE}/products/.*").respond(
            200, json={"productCode": "x", "bookingQuestions": []}
        )
        respx.get(f"{BASE}/products/booking-questions").respond(200, json=QUESTIONS)
        await adapter.booking_questions("bad\ncode/../x")
    await adapter.aclose()
    assert "/products/bad%0Acode%2F..%2Fx" in str(detail.calls[0].request.url)
