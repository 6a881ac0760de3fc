"""Viator Partner API v2 adapter: experiences, two-phase (hold, then book).

`prepare` places a hold (``/bookings/hold``: price and availability held until ``validUntil``);
`commit` books it with our key as ``partnerBookingRef``. Viator never creates a second booking
for one ``partnerBookingRef``: a repeat is answered ``REJECTED / DUPLICATE_BOOKING``, which the
adapter resolves with ``/bookings/status`` and returns as the existing booking. A booking whose
held retail price exceeds what the caller agreed to (``request.amount``) is refused before it
is made. Bookings may take up to 120 s, hence the timeout; after a lost answer or a 5xx the
adapter asks ``/bookings/status`` by ``partnerBookingRef`` before it books again, as Viator
documents, and never books blindly.

The catalog search needs ``filtering.destination``: one search per configured destination.
Bookings need ``communication.phone`` (the member's, else the configured ``contact_phone``) and
answers to the product's mandatory booking questions (``GET /products/{code}`` names them,
``GET /products/booking-questions`` defines them), both checked before any hold: a missing or
unacceptable answer is `InvalidOrderRequest` with ``vendor_code="BOOKING_QUESTIONS"`` and the
questions in its ``body``, for the caller to ask the member. The age band and the lead
traveller's names are answered from the request itself. What the merchant is invoiced, and
what an order is charged, is ``partnerTotalPrice`` (the net price plus the booking fee).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import quote

import httpx

from vendors._adapter import HttpAdapter
from vendors._http import HttpPolicy, classify_status
from vendors._json import JSON_HEADERS, dumps
from vendors.base import (
    BookingAnswer,
    Capabilities,
    Delivery,
    Denomination,
    Hold,
    OrderRequest,
    OrderResult,
    OrderStatus,
    Product,
    RewardKind,
)
from vendors.errors import (
    AmbiguousOutcome,
    InvalidOrderRequest,
    PermanentVendorError,
    VendorError,
)
from vendors.money import Money
from vendors.viator import models
from vendors.viator._endpoints import endpoint_of
from vendors.viator.config import ViatorConfig

__all__ = ["ACCEPT_VERSION", "BOOKING_QUESTIONS", "ViatorAdapter"]

ACCEPT_VERSION = "application/json;version=2.0"
DUPLICATE_BOOKING = "DUPLICATE_BOOKING"
NOT_FOUND = "NOT_FOUND"
PRICE_CHANGED = "PRICE_CHANGED"
BOOKING_QUESTIONS = "BOOKING_QUESTIONS"
_PAGE = 50
_STATUSES = {
    "CONFIRMED": OrderStatus.FULFILLED,
    "PENDING": OrderStatus.ACCEPTED_PENDING,
    "IN_PROGRESS": OrderStatus.ACCEPTED_PENDING,
    "ON_HOLD": OrderStatus.ACCEPTED_PENDING,
    "REJECTED": OrderStatus.FAILED,
    "FAILED": OrderStatus.FAILED,
    "CANCELED": OrderStatus.CANCELLED,
    "CANCELLED": OrderStatus.CANCELLED,
}


class ViatorAdapter(HttpAdapter[ViatorConfig]):
    name: ClassVar[str] = "viator"
    kind: ClassVar[RewardKind] = RewardKind.EXPERIENCE
    capabilities: ClassVar[Capabilities] = Capabilities(
        dedupes_on_key=True, lookup_by_key=True, cancel=True, two_phase=True
    )
    default_policy: ClassVar[HttpPolicy] = HttpPolicy(timeout=120.0, max_rate=15, rate_period=1.0)
    # Viator's question definitions, read on first use: the same for every product.
    _question_definitions: dict[str, models.BookingQuestion] | None = None

    def rate_window(self, path: str) -> str:
        return endpoint_of(path)

    def credentials(self, config: ViatorConfig) -> tuple[httpx.Auth | None, Mapping[str, str]]:
        return None, {
            "exp-api-key": config.api_key.get_secret_value(),
            "Accept": ACCEPT_VERSION,
            "Accept-Language": "en-US",
        }

    async def fetch_catalog(self) -> list[Product]:
        found: dict[str, Product] = {}
        for destination in self.config.destinations:
            for product in await self._search(destination):
                found.setdefault(product.vendor_product_id, product)
        return list(found.values())

    async def _search(self, destination: str) -> list[Product]:
        products: list[Product] = []
        start = 1
        while True:
            body = {
                "filtering": {"destination": destination},
                "currency": self.config.currency,
                "pagination": {"start": start, "count": _PAGE},
            }
            page = self.parse(await self._post("/products/search", body), models.SearchResult)
            products.extend(self._product(found) for found in page.products)
            start += len(page.products)
            if not page.products or start > page.total_count:
                return products

    async def check_availability(self, request: OrderRequest) -> Money | None:
        """The authoritative retail price of ``request`` (the date, option and party it names),
        or None when nothing is available; what a quote for an experience should use."""
        availability = self.parse(
            await self._post("/availability/check", self._booking_body(request)),
            models.Availability,
        )
        for item in availability.bookable_items:
            if item.available and item.total_price is not None:
                retail = item.total_price.price.recommended_retail_price
                return Money(retail, availability.currency)
        return None

    async def place_order(self, request: OrderRequest) -> OrderResult:
        return await self.commit(request, await self.prepare(request))

    async def check_order(self, request: OrderRequest) -> None:
        """A phone to book with, and every booking question answered."""
        self._communication(request)
        await self.booking_answers(request)

    async def prepare(self, request: OrderRequest) -> Hold:
        """Hold availability and price (a hold costs nothing and lapses by itself)."""
        await self.check_order(request)  # what the booking will need, before anything is held
        hold = self.parse(
            await self._post("/bookings/hold", self._booking_body(request)), models.BookingHold
        )
        price = hold.total_price.price if hold.total_price is not None else None
        return Hold(
            vendor=self.name,
            reference=hold.booking_ref,
            raw_status=hold.booking_hold_info.availability.status,
            valid_until=hold.booking_hold_info.availability.valid_until,
            price=Money(price.recommended_retail_price, hold.currency) if price else None,
        )

    async def commit(self, request: OrderRequest, hold: Hold) -> OrderResult:
        if hold.price is not None and hold.price.amount > request.amount:
            raise PermanentVendorError(
                self.name,
                f"the held price {hold.price} exceeds the agreed {request.amount}",
                vendor_code=PRICE_CHANGED,
            )
        try:
            answers = await self.booking_answers(request)
        except VendorError:
            # A repeated commit may find the product gone or its questions changed while a
            # booking already exists under the key: that booking, if there is one.
            async with self.order_may_exist("the booking's questions could not be read"):
                existing = await self.lookup_order(request.idempotency_key)
            if existing is not None:
                return dataclasses.replace(existing, replayed=True)
            raise
        body = {
            **self._booking_body(request),
            "bookingRef": hold.reference,
            "partnerBookingRef": request.idempotency_key,
            "bookerInfo": _booker(request),
            "communication": self._communication(request),
            "bookingQuestionAnswers": answers,
        }
        found, booking = await self._book(request.idempotency_key, body)
        if found is not None:
            return found
        assert booking is not None
        if booking.status == "REJECTED" and booking.rejection_reason_code == DUPLICATE_BOOKING:
            async with self.order_may_exist("Viator has a booking under this partnerBookingRef"):
                existing = await self.lookup_order(request.idempotency_key)
            if existing is None:
                raise AmbiguousOutcome(
                    self.name, "Viator reports a duplicate booking but has no status for it"
                )
            return dataclasses.replace(existing, replayed=True)
        return self._result(booking)

    async def _book(
        self, key: str, body: dict[str, Any]
    ) -> tuple[OrderResult | None, models.Booking | None]:
        """``/bookings/book``, made again only after ``/bookings/status`` says the last try
        made nothing: the booking it found, or the answer to the one that was made."""
        lost: AmbiguousOutcome | None = None
        for _ in range(max(1, self.http.policy.retry_attempts)):
            try:
                response = await self._post("/bookings/book", body, creates=True, repeat=False)
                return None, self.parse(response, models.Booking, creates=True)
            except AmbiguousOutcome as exc:
                lost = exc
            except VendorError as exc:
                if lost is None:
                    raise
                raise AmbiguousOutcome(
                    self.name, f"{lost.message}; then: {exc.message}", status_code=exc.status_code
                ) from exc
            async with self.order_may_exist(f"{lost.message}; the status check failed"):
                existing = await self.lookup_order(key)
            if existing is not None:
                return existing, None
        assert lost is not None
        raise lost

    async def booking_questions(self, product_code: str) -> list[models.BookingQuestion]:
        """The questions a booking of ``product_code`` asks (definitions read once)."""
        response = await self.http.request(
            "GET", f"/products/{quote(product_code, safe='')}", idempotent=True
        )
        asked = self.parse(response, models.ProductDetail).booking_questions
        known = self._question_definitions
        if known is None or not set(asked) <= set(known):
            # Read once, and again when a product asks a question defined since.
            listing = self.parse(
                await self.http.request("GET", "/products/booking-questions", idempotent=True),
                models.BookingQuestions,
            )
            known = self._question_definitions = {q.id: q for q in listing.booking_questions}
        # A question still undefined is asked as mandatory: better asked than refused later.
        return [known.get(q) or models.BookingQuestion(id=q, required="MANDATORY") for q in asked]

    async def booking_answers(self, request: OrderRequest) -> list[dict[str, Any]]:
        """``bookingQuestionAnswers`` for the request, or `InvalidOrderRequest` naming what is
        missing or not acceptable."""
        experience = request.experience
        if experience is None:
            raise InvalidOrderRequest(self.name, "an experience needs a travel date and travelers")
        questions = await self.booking_questions(request.product_id)
        by_id = {question.id: question for question in questions}
        given: dict[tuple[str, int], BookingAnswer] = {}
        wrong: list[dict[str, Any]] = []
        for answer in experience.answers:
            question = by_id.get(answer.question)
            if question is None:
                continue  # not asked of this product
            per_traveler = question.group == "PER_TRAVELER"
            traveler = answer.traveler if per_traveler else 1
            if traveler is None or not 1 <= traveler <= experience.travelers:
                wrong.append(_asked(question, answer.traveler, "for a traveler not in the party"))
            elif (question.id, traveler) in given:
                wrong.append(_asked(question, answer.traveler, "answered twice"))
            else:
                given[(question.id, traveler)] = answer
        answers: list[dict[str, Any]] = []
        for question in questions:
            travelers = (
                range(1, experience.travelers + 1) if question.group == "PER_TRAVELER" else [1]
            )
            for traveler in travelers:
                # The party is booked as adults: the age band is ours to answer.
                chosen = _implied(question.id, traveler, request)
                if chosen is None or question.id != "AGEBAND":
                    chosen = given.get((question.id, traveler)) or chosen
                if chosen is not None and not str(chosen.answer).strip():
                    chosen = None  # blank is not an answer
                if chosen is None:
                    if question.required == "MANDATORY":
                        wrong.append(_asked(question, traveler, "missing"))
                    continue
                if question.allowed_answers and chosen.answer not in question.allowed_answers:
                    wrong.append(_asked(question, traveler, "not one of the allowed answers"))
                    continue
                if question.max_length and len(str(chosen.answer)) > question.max_length:
                    wrong.append(_asked(question, traveler, "too long"))
                    continue
                entry: dict[str, Any] = {"question": question.id, "answer": str(chosen.answer)}
                if question.group == "PER_TRAVELER":
                    entry["travelerNum"] = traveler
                if chosen.unit:
                    entry["unit"] = chosen.unit
                answers.append(entry)
        if wrong:
            raise InvalidOrderRequest(
                self.name,
                "booking questions to answer: "
                + ", ".join(f"{w['question']} ({w['problem']})" for w in wrong),
                vendor_code=BOOKING_QUESTIONS,
                body=wrong,
            )
        return answers

    def _communication(self, request: OrderRequest) -> dict[str, str | None]:
        phone = (request.recipient.phone if request.recipient else None) or (
            self.config.contact_phone
        )
        if not phone:
            raise InvalidOrderRequest(
                self.name,
                "Viator needs a phone for the booking: the member's, or the configured "
                "contact_phone",
            )
        return {"email": request.recipient.email if request.recipient else None, "phone": phone}

    async def lookup_order(
        self, idempotency_key: str, *, since: datetime | None = None
    ) -> OrderResult | None:
        try:
            response = await self._post("/bookings/status", {"partnerBookingRef": idempotency_key})
        except PermanentVendorError as exc:
            if exc.vendor_code == NOT_FOUND:
                return None
            raise
        return self._result(self.parse(response, models.Booking))

    async def get_order(self, vendor_reference: str) -> OrderResult:
        response = await self._post("/bookings/status", {"bookingRef": vendor_reference})
        return self._result(self.parse(response, models.Booking))

    async def cancel_order(self, vendor_reference: str, reason: str) -> OrderResult:
        quote = self.parse(
            await self.http.request(
                "GET", f"/bookings/{vendor_reference}/cancel-quote", idempotent=True
            ),
            models.CancelQuote,
        )
        if quote.status != "CANCELLABLE":
            raise self.cannot_cancel(f"Viator's cancel quote says {quote.status}")
        reasons = self.parse(
            await self.http.request("GET", "/bookings/cancel-reasons", idempotent=True),
            models.CancelReasons,
        )
        if not reasons.reasons:
            raise self.cannot_cancel("Viator offers no cancellation reason")
        outcome = self.parse(
            await self._post(
                f"/bookings/{vendor_reference}/cancel",
                {"reasonCode": reasons.reasons[0].cancellation_reason_code},
            ),
            models.CancelResult,
        )
        if outcome.status != "ACCEPTED" and outcome.reason != "ALREADY_CANCELLED":
            raise self.cannot_cancel(f"Viator declined ({outcome.reason})")
        return await self.get_order(vendor_reference)

    async def _post(
        self, path: str, body: dict[str, Any], *, creates: bool = False, repeat: bool = True
    ) -> httpx.Response:
        # Searches and status reads change nothing and a hold lapses by itself: safe to repeat.
        # A booking is not repeated blindly (``repeat=False``): `_book` asks its status first.
        return await self.http.request(
            "POST",
            path,
            idempotent=repeat,
            creates=creates,
            content=dumps(body),
            headers=JSON_HEADERS,
        )

    def _booking_body(self, request: OrderRequest) -> dict[str, Any]:
        experience = request.experience
        if experience is None:
            raise InvalidOrderRequest(self.name, "an experience needs a travel date and travelers")
        body: dict[str, Any] = {
            "productCode": request.product_id,
            "travelDate": experience.travel_date,
            "currency": request.currency,
            "paxMix": [{"ageBand": "ADULT", "numberOfTravelers": experience.travelers}],
        }
        if experience.option_code:
            body["productOptionCode"] = experience.option_code
        return body

    def classify(self, response: httpx.Response, creates: bool) -> VendorError | None:
        if response.is_success:
            return None
        error = self.error_body(response, models.ErrorBody)
        code = NOT_FOUND if response.status_code == 404 else error.code
        return classify_status(
            self.name,
            response,
            creates,
            message=error.message or f"HTTP {response.status_code}",
            vendor_code=code,
            body=response.text[:2000],
        )

    def _result(self, booking: models.Booking) -> OrderResult:
        status = _STATUSES.get(booking.status, OrderStatus.UNKNOWN)
        price = booking.total_price.price if booking.total_price else None
        voucher = booking.voucher_info.url if booking.voucher_info else None
        return OrderResult(
            vendor=self.name,
            vendor_reference=booking.booking_ref or "",
            idempotency_key=booking.partner_booking_ref,
            status=status,
            raw_status=booking.status,
            charged=(
                Money(price.invoiced, booking.currency)
                if price is not None and booking.currency
                else None
            ),
            delivery=Delivery(url=voucher) if voucher and status is OrderStatus.FULFILLED else None,
            detail=booking.rejection_reason_code,
        )

    def _product(self, found: models.SearchProduct) -> Product:
        image = None
        for candidate in found.images:
            widest = max(candidate.variants, key=lambda v: v.width or 0, default=None)
            if widest is not None:
                image = widest.url
                break
        return Product(
            vendor=self.name,
            vendor_product_id=found.product_code,
            kind=RewardKind.EXPERIENCE,
            brand="Viator",
            name=found.title,
            currency=found.pricing.currency,
            countries=(),
            description=found.description,
            image_url=image,
            # The price per adult from the search; the hold gives the authoritative total.
            denominations=(Denomination(found.pricing.summary.from_price),),
        )


def _implied(question: str, traveler: int, request: OrderRequest) -> BookingAnswer | None:
    """What the request itself answers: every traveller is an adult (the party we book), and
    the lead traveller is the recipient."""
    if question == "AGEBAND":
        return BookingAnswer(question, "ADULT", traveler)
    if traveler == 1 and question in ("FULL_NAMES_FIRST", "FULL_NAMES_LAST"):
        booker = _booker(request)
        return BookingAnswer(
            question, booker["firstName" if question == "FULL_NAMES_FIRST" else "lastName"]
        )
    return None


def _asked(question: models.BookingQuestion, traveler: int | None, problem: str) -> dict[str, Any]:
    return {
        "question": question.id,
        "label": question.label,
        "traveler": traveler if question.group == "PER_TRAVELER" else None,
        "allowedAnswers": question.allowed_answers,
        "problem": problem,
    }


def _booker(request: OrderRequest) -> dict[str, str]:
    name = request.recipient.name if request.recipient else "Reward Member"
    first, _, last = name.partition(" ")
    return {"firstName": first, "lastName": last or first}
