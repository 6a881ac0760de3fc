"""Viator Partner API v2 JSON shapes (the OpenAPI's ProductSearch, BookingHold, Booking,
BookingStatus, CancelQuote); the fields the adapter reads."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import Field

from vendors._adapter import WireModel

__all__ = [
    "Availability",
    "Booking",
    "BookingHold",
    "BookingQuestion",
    "BookingQuestions",
    "CancelQuote",
    "CancelReasons",
    "CancelResult",
    "ErrorBody",
    "ProductDetail",
    "SearchResult",
]


class ImageVariant(WireModel):
    url: str
    width: int | None = None


class Image(WireModel):
    variants: list[ImageVariant] = Field(default_factory=list)


class PricingSummary(WireModel):
    from_price: Decimal = Field(alias="fromPrice")


class Pricing(WireModel):
    summary: PricingSummary
    currency: str


class SearchProduct(WireModel):
    product_code: str = Field(alias="productCode")
    title: str
    description: str | None = None
    images: list[Image] = Field(default_factory=list)
    pricing: Pricing


class SearchResult(WireModel):
    products: list[SearchProduct]
    total_count: int = Field(alias="totalCount")


class Price(WireModel):
    recommended_retail_price: Decimal = Field(alias="recommendedRetailPrice")
    partner_net_price: Decimal = Field(alias="partnerNetPrice")
    booking_fee: Decimal | None = Field(default=None, alias="bookingFee")
    # What the merchant is invoiced: the net price plus the booking fee.
    partner_total_price: Decimal | None = Field(default=None, alias="partnerTotalPrice")

    @property
    def invoiced(self) -> Decimal:
        if self.partner_total_price is not None:
            return self.partner_total_price
        return self.partner_net_price + (self.booking_fee or 0)


class TotalPrice(WireModel):
    price: Price


class BookableItem(WireModel):
    product_option_code: str | None = Field(default=None, alias="productOptionCode")
    available: bool
    total_price: TotalPrice | None = Field(default=None, alias="totalPrice")


class Availability(WireModel):
    currency: str
    bookable_items: list[BookableItem] = Field(default_factory=list, alias="bookableItems")


class HoldStatus(WireModel):
    status: str
    valid_until: datetime | None = Field(default=None, alias="validUntil")


class HoldInfo(WireModel):
    availability: HoldStatus
    pricing: HoldStatus | None = None


class BookingHold(WireModel):
    booking_ref: str = Field(alias="bookingRef")
    booking_hold_info: HoldInfo = Field(alias="bookingHoldInfo")
    total_price: TotalPrice | None = Field(default=None, alias="totalPrice")
    currency: str


class VoucherInfo(WireModel):
    url: str | None = None


class Booking(WireModel):
    status: str
    rejection_reason_code: str | None = Field(default=None, alias="rejectionReasonCode")
    booking_ref: str | None = Field(default=None, alias="bookingRef")
    partner_booking_ref: str | None = Field(default=None, alias="partnerBookingRef")
    currency: str | None = None
    total_price: TotalPrice | None = Field(default=None, alias="totalPrice")
    voucher_info: VoucherInfo | None = Field(default=None, alias="voucherInfo")


class CancelQuote(WireModel):
    status: str  # CANCELLABLE | NOT_CANCELLABLE


class CancelReason(WireModel):
    cancellation_reason_code: str = Field(alias="cancellationReasonCode")


class CancelReasons(WireModel):
    reasons: list[CancelReason]


class CancelResult(WireModel):
    status: str  # ACCEPTED | DECLINED
    reason: str | None = None


class ProductDetail(WireModel):
    """``GET /products/{code}``: the ids of the questions a booking must answer."""

    product_code: str = Field(alias="productCode")
    booking_questions: list[str] = Field(default_factory=list, alias="bookingQuestions")


class BookingQuestion(WireModel):
    """One definition of ``GET /products/booking-questions``."""

    id: str
    label: str | None = None
    type: str = "STRING"
    group: str = "PER_BOOKING"  # PER_BOOKING | PER_TRAVELER
    required: str = "OPTIONAL"  # MANDATORY | CONDITIONAL | OPTIONAL
    allowed_answers: list[str] | None = Field(default=None, alias="allowedAnswers")
    max_length: int | None = Field(default=None, alias="maxLength")


class BookingQuestions(WireModel):
    booking_questions: list[BookingQuestion] = Field(alias="bookingQuestions")


class ErrorBody(WireModel):
    code: str | None = None
    message: str | None = None
