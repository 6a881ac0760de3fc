"""Viator Partner API v2 sandbox: the documented paths under the API root (``/partner``).

Reproduces: the mandatory ``Accept: application/json;version=2.0`` (else ``400
INVALID_HEADER_VALUE``) and ``exp-api-key``; ``POST /products/search`` (``filtering.destination``
required, paged, priced in the requested billing currency); ``POST /availability/check``;
``GET /products/{code}`` (its ``bookingQuestions``) and ``GET /products/booking-questions``;
``POST /bookings/hold`` (``HOLDING`` until ``validUntil``, 30 minutes by default); ``POST
/bookings/book`` with a unique ``partnerBookingRef``, ``communication.phone`` and answers to
the mandatory booking questions (``400`` without) — a repeat is ``REJECTED`` with
``DUPLICATE_BOOKING`` and books nothing, an expired hold is ``REJECTED`` with
``BOOKABLE_ITEM_IS_NO_LONGER_AVAILABLE``; bookings are ``CONFIRMED`` at once, or ``PENDING`` for
products the supplier confirms by hand (and after the completion delay), ending ``CONFIRMED``
or ``REJECTED``; ``POST /bookings/status`` by either reference; ``GET
/bookings/cancel-reasons``, ``GET /bookings/{ref}/cancel-quote``, ``POST /bookings/{ref}/cancel``;
errors ``{code, message, timestamp, trackingId}``; 429 with ``RateLimit-*`` and ``Retry-After``;
prices carry ``bookingFee`` and ``partnerTotalPrice`` (net plus fee: what the merchant is
invoiced).
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from vendors import _seed
from vendors._json import DecimalJSONResponse, loads
from vendors._sandbox import Lifecycle, VendorSandbox
from vendors.money import quantize_up
from vendors.viator._endpoints import endpoint_of
from vendors.viator.config import SANDBOX_API_KEY

__all__ = ["ViatorSandbox"]

ACCEPT_VERSION = "application/json;version=2.0"
BILLING_CURRENCIES = ("USD", "CAD", "GBP", "AUD", "EUR")
NET_SHARE = Decimal("0.80")  # merchant partners pay 80 % of the recommended retail price
BOOKING_FEE_SHARE = Decimal("0.03")  # ... plus a booking fee on the net price
MANUAL_CONFIRMATION_SECONDS = 60.0
_REASONS = (
    ("Customer_Service.Unexpected_medical_circumstances", "Unexpected medical circumstances"),
    ("Customer_Service.I_canceled_my_entire_trip", "I canceled my entire trip"),
)


@dataclass
class _Hold:
    ref: str
    body: dict[str, Any]
    valid_until: datetime
    retail: Decimal
    net: Decimal


@dataclass
class _Booking:
    ref: str
    partner_ref: str
    body: dict[str, Any]
    retail: Decimal
    net: Decimal
    lifecycle: Lifecycle
    travel_date: date
    cancelled: bool = False


class ViatorSandbox(VendorSandbox):
    name: ClassVar[str] = "viator"
    # Per endpoint, over a rolling 10 s window (Viator publishes the headers, not the numbers).
    rate_limit: ClassVar[tuple[int, float] | None] = (150, 10.0)

    def __init__(
        self,
        *,
        seed: int = 0,
        rate_limit: tuple[int, float] | bool | None = True,
        api_key: str = SANDBOX_API_KEY,
        hold_minutes: float = 30.0,
    ) -> None:
        self.api_key = api_key
        self.hold_minutes = hold_minutes
        super().__init__(seed=seed, rate_limit=rate_limit)

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/products/search", self.endpoint(self._search), methods=["POST"]),
            Route("/products/booking-questions", self.endpoint(self._questions), methods=["GET"]),
            Route("/products/{code}", self.endpoint(self._product), methods=["GET"]),
            Route("/availability/check", self.endpoint(self._check), methods=["POST"]),
            Route("/bookings/hold", self.endpoint(self._hold), methods=["POST"]),
            Route("/bookings/book", self.endpoint(self._book), methods=["POST"]),
            Route("/bookings/status", self.endpoint(self._status_of), methods=["POST"]),
            Route("/bookings/cancel-reasons", self.endpoint(self._reasons), methods=["GET"]),
            Route(
                "/bookings/{ref}/cancel-quote", self.endpoint(self._cancel_quote), methods=["GET"]
            ),
            Route("/bookings/{ref}/cancel", self.endpoint(self._cancel), methods=["POST"]),
        ]

    def reset_state(self) -> None:
        self.experiences = {e.code: e for e in _seed.EXPERIENCES}
        self.holds: dict[str, _Hold] = {}
        self.bookings: dict[str, _Booking] = {}

    def product_ids(self) -> list[str]:
        return list(self.experiences)

    def rate_window_key(self, request: Request) -> str:
        return endpoint_of(request.url.path)

    def precheck(self, request: Request) -> Response | None:
        if request.headers.get("accept", "").replace(" ", "") != ACCEPT_VERSION:
            return self.error(400, "INVALID_HEADER_VALUE", f"Accept must be {ACCEPT_VERSION}")
        return None

    def authorized(self, request: Request) -> bool:
        return request.headers.get("exp-api-key") == self.api_key

    def error(self, status: int, code: str, message: str) -> Response:
        return DecimalJSONResponse(
            {
                "code": code,
                "message": message,
                "timestamp": self.now().isoformat(),
                "trackingId": str(uuid.UUID(int=self.random.getrandbits(128))),
            },
            status_code=status,
        )

    def unauthorized(self) -> Response:
        return self.error(401, "UNAUTHORIZED", "Invalid or missing exp-api-key")

    def rate_limited(self, retry_after: float) -> Response:
        seconds = str(max(1, round(retry_after + 0.499)))
        response = self.error(429, "TOO_MANY_REQUESTS", "Rate limit exceeded")
        response.headers.update(
            {
                "Retry-After": seconds,
                "RateLimit-Limit": str(self.rate_limit[0] if self.rate_limit else 0),
                "RateLimit-Remaining": "0",
                "RateLimit-Reset": seconds,
            }
        )
        return response

    def server_error(self) -> Response:
        return self.error(500, "INTERNAL_SERVER_ERROR", "An internal error occurred")

    def orders_summary(self) -> list[dict[str, Any]]:
        return [
            {"bookingRef": b.ref, "partnerBookingRef": b.partner_ref, "status": self._state(b)}
            for b in self.bookings.values()
        ]

    async def _search(self, request: Request) -> Response:
        body = await self._json(request)
        if body is None or body.get("currency") not in BILLING_CURRENCIES:
            return self.error(400, "BAD_REQUEST", "currency is required (USD|CAD|GBP|AUD|EUR)")
        destination = (body.get("filtering") or {}).get("destination")
        if not destination:
            return self.error(400, "BAD_REQUEST", "filtering.destination is required")
        pagination = body.get("pagination") or {}
        start, count = int(pagination.get("start", 1)), min(int(pagination.get("count", 10)), 50)
        visible = [
            e
            for e in self.experiences.values()
            if self.visible(e.code) and _seed.VIATOR_DESTINATIONS.get(e.city) == str(destination)
        ]
        page = visible[start - 1 : start - 1 + count]
        currency = body["currency"]
        return DecimalJSONResponse(
            {
                "products": [
                    {
                        "productCode": e.code,
                        "title": e.title,
                        "description": f"{e.title} in {e.city}: about {e.hours} hours.",
                        "images": [
                            {
                                "variants": [
                                    {
                                        "url": f"https://img.sandbox.invalid/viator/{e.code}-{w}.jpg",
                                        "width": w,
                                        "height": w * 2 // 3,
                                    }
                                    for w in (240, 720)
                                ]
                            }
                        ],
                        "pricing": {
                            "summary": {"fromPrice": _price(e.usd_price, currency)},
                            "currency": currency,
                        },
                        "duration": {"fixedDurationInMinutes": e.hours * 60},
                        "flags": ["FREE_CANCELLATION"],
                    }
                    for e in page
                ],
                "totalCount": len(visible),
            }
        )

    async def _questions(self, request: Request) -> Response:
        return DecimalJSONResponse({"bookingQuestions": list(BOOKING_QUESTIONS.values())})

    async def _product(self, request: Request) -> Response:
        code = request.path_params["code"]
        experience = self.experiences.get(code)
        if experience is None or not self.visible(code):
            return self.error(404, "NOT_FOUND", f"Product {code} not found")
        return DecimalJSONResponse(
            {
                "productCode": code,
                "title": experience.title,
                "bookingQuestions": _questions_of(experience),
            }
        )

    async def _check(self, request: Request) -> Response:
        body, refusal = await self._bookable(request)
        if refusal is not None:
            return refusal
        assert body is not None
        retail, net = self._prices(body)
        return DecimalJSONResponse(
            {
                "productCode": body["productCode"],
                "travelDate": body["travelDate"],
                "currency": body["currency"],
                "bookableItems": [
                    {
                        "productOptionCode": body.get("productOptionCode", "TG1"),
                        "startTime": "09:00",
                        "available": True,
                        "totalPrice": {"price": _price_view(retail, net)},
                    }
                ],
            }
        )

    async def _hold(self, request: Request) -> Response:
        body, refusal = await self._bookable(request)
        if refusal is not None:
            return refusal
        assert body is not None
        retail, net = self._prices(body)
        hold = _Hold(
            ref=f"BR-{580000000 + len(self.holds) + len(self.bookings) + 1}",
            body=body,
            valid_until=self.now() + timedelta(minutes=self.hold_minutes),
            retail=retail,
            net=net,
        )
        self.holds[hold.ref] = hold
        held = {"status": "HOLDING", "validUntil": hold.valid_until.isoformat()}
        return DecimalJSONResponse(
            {
                "bookingRef": hold.ref,
                "bookingHoldInfo": {"availability": held, "pricing": held},
                "totalPrice": {"price": _price_view(retail, net)},
                "currency": body["currency"],
                "lineItems": [
                    {"ageBand": "ADULT", "numberOfTravelers": _travelers(body)},
                ],
            }
        )

    async def _book(self, request: Request) -> Response:
        body, refusal = await self._bookable(request)
        if refusal is not None:
            return refusal
        assert body is not None
        partner_ref = body.get("partnerBookingRef")
        if not isinstance(partner_ref, str) or not partner_ref:
            return self.error(400, "BAD_REQUEST", "partnerBookingRef is required")
        if not body.get("bookerInfo") or not (body.get("communication") or {}).get("phone"):
            return self.error(400, "BAD_REQUEST", "bookerInfo and communication.phone are required")
        missing = _unanswered(self.experiences[body["productCode"]], body)
        if missing:
            return self.error(
                400, "BAD_REQUEST", f"Booking question answers to give: {', '.join(missing)}"
            )
        if any(b.partner_ref == partner_ref for b in self.bookings.values()):
            return DecimalJSONResponse(
                {
                    "status": "REJECTED",
                    "rejectionReasonCode": "DUPLICATE_BOOKING",
                    "partnerBookingRef": partner_ref,
                }
            )
        hold = self.holds.get(body.get("bookingRef") or "")
        if hold is not None and self.now() > hold.valid_until:
            return DecimalJSONResponse(
                {
                    "status": "REJECTED",
                    "rejectionReasonCode": "BOOKABLE_ITEM_IS_NO_LONGER_AVAILABLE",
                    "bookingRef": hold.ref,
                    "partnerBookingRef": partner_ref,
                }
            )
        retail, net = (hold.retail, hold.net) if hold else self._prices(body)
        await asyncio.sleep(self.faults.processing_ms / 1000)
        experience = self.experiences[body["productCode"]]
        booking = _Booking(
            ref=hold.ref if hold else f"BR-{590000000 + len(self.bookings) + 1}",
            partner_ref=partner_ref,
            body=body,
            retail=retail,
            net=net,
            lifecycle=self.new_lifecycle(
                at_least_seconds=MANUAL_CONFIRMATION_SECONDS
                if experience.manual_confirmation
                else 0
            ),
            travel_date=date.fromisoformat(body["travelDate"]),
        )
        self.holds.pop(booking.ref, None)
        self.bookings[booking.ref] = booking
        if (dropped := await self.drop_response_after_commit()) is not None:
            return dropped
        return DecimalJSONResponse(self._view(booking))

    async def _status_of(self, request: Request) -> Response:
        body = await self._json(request) or {}
        ref, partner_ref = body.get("bookingRef"), body.get("partnerBookingRef")
        booking = self.bookings.get(ref) if ref else None
        if booking is None and partner_ref:
            booking = next(
                (b for b in self.bookings.values() if b.partner_ref == partner_ref), None
            )
        if booking is None:
            return self.error(404, "NOT_FOUND", "No booking with that reference")
        view = self._view(booking)
        if view["status"] == "PENDING":
            view["nextPollAt"] = (self.now() + timedelta(seconds=30)).isoformat()
        return DecimalJSONResponse(view)

    async def _reasons(self, request: Request) -> Response:
        return DecimalJSONResponse(
            {
                "reasons": [
                    {"cancellationReasonCode": code, "cancellationReasonText": text}
                    for code, text in _REASONS
                ]
            }
        )

    async def _cancel_quote(self, request: Request) -> Response:
        booking = self.bookings.get(request.path_params["ref"])
        if booking is None:
            return self.error(404, "NOT_FOUND", "No booking with that reference")
        cancellable = self._cancellable(booking)
        return DecimalJSONResponse(
            {
                "bookingId": booking.ref,
                "status": "CANCELLABLE" if cancellable else "NOT_CANCELLABLE",
                "refundDetails": {
                    "itemizedRefunds": [],
                    "refundAmount": booking.net if cancellable else Decimal(0),
                    "currencyCode": booking.body["currency"],
                    "refundPercentage": 100 if cancellable else 0,
                    "refundReason": "FREE_CANCELLATION" if cancellable else "NON_REFUNDABLE",
                },
            }
        )

    async def _cancel(self, request: Request) -> Response:
        booking = self.bookings.get(request.path_params["ref"])
        if booking is None:
            return self.error(404, "NOT_FOUND", "No booking with that reference")
        body = await self._json(request) or {}
        if body.get("reasonCode") not in {code for code, _ in _REASONS}:
            return self.error(400, "BAD_REQUEST", "reasonCode is not a cancellation reason")
        if booking.cancelled:
            return DecimalJSONResponse(
                {"bookingId": booking.ref, "status": "DECLINED", "reason": "ALREADY_CANCELLED"}
            )
        if not self._cancellable(booking):
            return DecimalJSONResponse(
                {"bookingId": booking.ref, "status": "DECLINED", "reason": "NOT_CANCELLABLE"}
            )
        booking.cancelled = True
        return DecimalJSONResponse({"bookingId": booking.ref, "status": "ACCEPTED"})

    async def _json(self, request: Request) -> dict[str, Any] | None:
        try:
            body = loads(await request.body())
        except ValueError:
            return None
        return body if isinstance(body, dict) else None

    async def _bookable(self, request: Request) -> tuple[dict[str, Any] | None, Response | None]:
        body = await self._json(request)
        if body is None:
            return None, self.error(400, "BAD_REQUEST", "Malformed JSON body")
        try:
            travel_date = date.fromisoformat(str(body["travelDate"]))
            travelers = _travelers(body)
        except (KeyError, ValueError, TypeError):
            return None, self.error(400, "BAD_REQUEST", "travelDate and paxMix are required")
        if body.get("currency") not in BILLING_CURRENCIES:
            return None, self.error(400, "BAD_REQUEST", "currency must be a billing currency")
        code = body.get("productCode")
        if code not in self.experiences or not self.visible(str(code)):
            return None, self.error(404, "NOT_FOUND", f"Product {code} not found")
        if travel_date <= self.now().date() or not 1 <= travelers <= 15:
            return None, self.error(400, "BAD_REQUEST", "No availability for that date and party")
        return body, None

    def _prices(self, body: dict[str, Any]) -> tuple[Decimal, Decimal]:
        experience = self.experiences[body["productCode"]]
        retail = _price(experience.usd_price, body["currency"]) * _travelers(body)
        return retail, quantize_up(retail * NET_SHARE, body["currency"])

    def _cancellable(self, booking: _Booking) -> bool:
        return (
            not booking.cancelled
            and self._state(booking) in ("CONFIRMED", "PENDING")
            and booking.travel_date > (self.now() + timedelta(hours=24)).date()
        )

    def _state(self, booking: _Booking) -> str:
        if booking.cancelled:
            return "CANCELED"
        state = booking.lifecycle.state(self.now())
        return {"pending": "PENDING", "complete": "CONFIRMED", "failed": "REJECTED"}[state]

    def _view(self, booking: _Booking) -> dict[str, Any]:
        status = self._state(booking)
        view: dict[str, Any] = {
            "status": status,
            "bookingRef": booking.ref,
            "partnerBookingRef": booking.partner_ref,
            "currency": booking.body["currency"],
            "totalPrice": {"price": _price_view(booking.retail, booking.net)},
            "cancellationPolicy": {
                "type": "STANDARD",
                "description": "Full refund up to 24 hours before the experience starts.",
            },
        }
        if status == "REJECTED":
            view["rejectionReasonCode"] = "OTHER"
        if status == "CONFIRMED":
            view["voucherInfo"] = {
                "url": f"https://vouchers.sandbox.invalid/viator/{booking.ref}.pdf",
                "format": "PDF",
            }
        return view


BOOKING_QUESTIONS: dict[str, dict[str, Any]] = {
    "AGEBAND": {
        "id": "AGEBAND",
        "type": "STRING",
        "group": "PER_TRAVELER",
        "label": "Age band",
        "required": "MANDATORY",
        "allowedAnswers": ["ADULT", "SENIOR", "YOUTH", "CHILD", "INFANT"],
    },
    "FULL_NAMES_FIRST": {
        "id": "FULL_NAMES_FIRST",
        "type": "STRING",
        "group": "PER_TRAVELER",
        "label": "First name",
        "required": "MANDATORY",
        "maxLength": 50,
    },
    "FULL_NAMES_LAST": {
        "id": "FULL_NAMES_LAST",
        "type": "STRING",
        "group": "PER_TRAVELER",
        "label": "Last name",
        "required": "MANDATORY",
        "maxLength": 50,
    },
    "PICKUP_POINT": {
        "id": "PICKUP_POINT",
        "type": "STRING",
        "group": "PER_BOOKING",
        "label": "Where should we pick you up?",
        "required": "MANDATORY",
        "maxLength": 200,
    },
    "SPECIAL_REQUIREMENTS": {
        "id": "SPECIAL_REQUIREMENTS",
        "type": "STRING",
        "group": "PER_BOOKING",
        "label": "Special requirements",
        "required": "OPTIONAL",
        "maxLength": 1000,
    },
}
DAY_TRIP_HOURS = 8  # day trips pick travellers up: they ask where


def _questions_of(experience: _seed.Experience) -> list[str]:
    asked = ["AGEBAND", "FULL_NAMES_FIRST", "FULL_NAMES_LAST", "SPECIAL_REQUIREMENTS"]
    return [*asked, "PICKUP_POINT"] if experience.hours >= DAY_TRIP_HOURS else asked


def _unanswered(experience: _seed.Experience, body: dict[str, Any]) -> list[str]:
    """What is wrong with a booking's answers, as Viator refuses them: mandatory questions
    unanswered, answers outside a question's allowed answers or length, or for a traveler not
    in the party."""
    travelers = _travelers(body)
    asked = set(_questions_of(experience))
    problems: list[str] = []
    given: set[tuple[Any, Any]] = set()
    for answer in body.get("bookingQuestionAnswers") or []:
        if not isinstance(answer, dict) or answer.get("question") not in asked:
            continue
        question, text = answer["question"], str(answer.get("answer") or "")
        definition = BOOKING_QUESTIONS[question]
        number = answer.get("travelerNum")
        if definition["group"] == "PER_TRAVELER" and number not in range(1, travelers + 1):
            problems.append(f"{question} (no traveler {number})")
        elif "allowedAnswers" in definition and text not in definition["allowedAnswers"]:
            problems.append(f"{question} (not an allowed answer)")
        elif len(text) > definition.get("maxLength", 10_000):
            problems.append(f"{question} (longer than {definition['maxLength']})")
        elif text.strip():
            given.add((question, number))
    for question in asked:
        definition = BOOKING_QUESTIONS[question]
        if definition["required"] != "MANDATORY":
            continue
        if definition["group"] == "PER_TRAVELER":
            problems += [
                f"{question} (traveler {n})"
                for n in range(1, travelers + 1)
                if (question, n) not in given
            ]
        elif not any(q == question for q, _ in given):
            problems.append(question)
    return sorted(problems)


def _price_view(retail: Decimal, net: Decimal) -> dict[str, Decimal]:
    fee = (net * BOOKING_FEE_SHARE).quantize(Decimal("0.01"))
    return {
        "recommendedRetailPrice": retail,
        "partnerNetPrice": net,
        "bookingFee": fee,
        "partnerTotalPrice": net + fee,
    }


def _price(usd_price: str, currency: str) -> Decimal:
    return quantize_up(Decimal(usd_price) * _seed.USD_RATES[currency], currency)


def _travelers(body: dict[str, Any]) -> int:
    return sum(int(pax["numberOfTravelers"]) for pax in body["paxMix"])
