"""The vendor-neutral vocabulary: what every adapter returns and what the rest of rewardgate sees.

An adapter speaks one vendor's real API and translates it into these records; nothing above
`vendors/` needs to know a vendor's field names or status spellings. Vendor statuses map to one
canonical `OrderStatus`, and the raw status is kept beside it for ops.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, ClassVar, Protocol, runtime_checkable

from vendors.money import Money, quantize_up

if TYPE_CHECKING:
    from vendors.webhooks import WebhookHint

__all__ = [
    "IDEMPOTENCY_KEY",
    "Address",
    "BookingAnswer",
    "Capabilities",
    "CostRule",
    "Delivery",
    "Denomination",
    "ExperienceDetails",
    "Hold",
    "OrderRequest",
    "OrderResult",
    "OrderStatus",
    "Product",
    "Recipient",
    "RewardKind",
    "TwoPhaseAdapter",
    "ValueRange",
    "VendorAdapter",
]


# Tango allows letters and digits only (≤ 100), others allow more: this form fits every vendor.
IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9]{1,64}")


class RewardKind(StrEnum):
    GIFT_CARD = "GIFT_CARD"
    MERCHANDISE = "MERCHANDISE"
    EXPERIENCE = "EXPERIENCE"
    CHARITY = "CHARITY"


class OrderStatus(StrEnum):
    """Where a vendor order stands, in the saga's terms.

    ``ACCEPTED_PENDING``: the vendor has the order and will finish it later (poll).
    ``FULFILLED``: done; the reward exists. ``PARTIAL``: some lines fulfilled, some not.
    ``FAILED``: proven failed; no reward will come (compensate). ``CANCELLED``: undone at the
    vendor. ``UNKNOWN``: the vendor's answer does not say; reconcile before acting.
    """

    ACCEPTED_PENDING = "ACCEPTED_PENDING"
    FULFILLED = "FULFILLED"
    PARTIAL = "PARTIAL"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    UNKNOWN = "UNKNOWN"

    @property
    def is_final(self) -> bool:
        return self in (OrderStatus.FULFILLED, OrderStatus.FAILED, OrderStatus.CANCELLED)


@dataclass(frozen=True, slots=True)
class CostRule:
    """What the vendor charges us for a face value ``F``, in its charge ``currency``:
    ``F * rate * (1 + fee_percent / 100) + fee_fixed``, rounded up to the minor unit."""

    currency: str
    rate: Decimal = Decimal(1)
    fee_percent: Decimal = Decimal(0)
    fee_fixed: Decimal = Decimal(0)

    def cost_of(self, face_value: Decimal) -> Money:
        amount = face_value * self.rate * (1 + self.fee_percent / 100) + self.fee_fixed
        return Money(quantize_up(amount, self.currency), self.currency)


@dataclass(frozen=True, slots=True)
class Denomination:
    """A fixed face value; ``cost`` is set when the vendor charges something else for it."""

    face_value: Decimal
    cost: Money | None = None


@dataclass(frozen=True, slots=True)
class ValueRange:
    """Any face value from ``min_value`` to ``max_value`` (inclusive), in ``step``s.

    ``bands``: where the vendor sells separate ranges (Tremendous ``skus`` of 10-100 and
    200-500), the ranges themselves; a value must fall in one of them (150 does not), and
    ``min_value``/``max_value`` are the outer bounds shown in the catalog.
    """

    min_value: Decimal
    max_value: Decimal
    step: Decimal = Decimal("0.01")
    cost: CostRule | None = None
    bands: tuple[tuple[Decimal, Decimal], ...] = ()

    def admits(self, value: Decimal) -> bool:
        if not (self.min_value <= value <= self.max_value and value % self.step == 0):
            return False
        return not self.bands or any(low <= value <= high for low, high in self.bands)


@dataclass(frozen=True, slots=True)
class Product:
    """One orderable reward of one vendor, in one currency.

    ``countries`` (ISO 3166-1 alpha-2) are where the reward can be used; empty means anywhere
    (a booking for a tour in Rome can be made from any country).
    """

    vendor: str
    vendor_product_id: str
    kind: RewardKind
    brand: str
    name: str
    currency: str
    countries: tuple[str, ...]
    description: str | None = None
    image_url: str | None = None
    denominations: tuple[Denomination, ...] = ()
    value_range: ValueRange | None = None

    def __post_init__(self) -> None:
        if not self.denominations and self.value_range is None:
            raise ValueError(f"{self.vendor}/{self.vendor_product_id}: no value to order")

    def cost_of(self, face_value: Decimal) -> Money:
        """What the vendor charges for ``face_value`` (the face value itself when it says
        nothing else)."""
        for denomination in self.denominations:
            if denomination.face_value == face_value and denomination.cost is not None:
                return denomination.cost
        if self.value_range is not None and self.value_range.cost is not None:
            return self.value_range.cost.cost_of(face_value)
        return Money(face_value, self.currency)

    def admits(self, face_value: Decimal) -> bool:
        return any(d.face_value == face_value for d in self.denominations) or (
            self.value_range is not None and self.value_range.admits(face_value)
        )


@dataclass(frozen=True, slots=True)
class Recipient:
    name: str
    email: str
    phone: str | None = None  # required by some vendors (Viator's lead traveller)


@dataclass(frozen=True, slots=True)
class Address:
    name: str
    line1: str
    city: str
    postal_code: str
    country: str
    line2: str | None = None
    region: str | None = None
    email: str | None = None


@dataclass(frozen=True, slots=True)
class BookingAnswer:
    """An answer to one of an experience's booking questions (Viator's ``bookingQuestions``:
    ``PICKUP_POINT``, ``FULL_NAMES_FIRST``, …); ``traveler`` (1-based) for questions asked of
    each traveler."""

    question: str
    answer: str
    traveler: int | None = None
    unit: str | None = None


@dataclass(frozen=True, slots=True)
class ExperienceDetails:
    travel_date: str
    travelers: int
    option_code: str | None = None
    answers: tuple[BookingAnswer, ...] = ()


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """One order as the saga asks for it.

    ``idempotency_key`` is derived from the redemption by the caller and sent as the vendor's own
    key (Tango ``externalRefID``, Tremendous ``external_id``, …), so every retry, crash recovery
    and ops replay reaches the same vendor order.
    """

    idempotency_key: str
    product_id: str
    amount: Decimal
    currency: str
    recipient: Recipient | None = None
    shipping_address: Address | None = None
    experience: ExperienceDetails | None = None
    # The earliest an order under this key can have been made (the redemption's creation):
    # where a vendor is searched by scanning, the scan stops there.
    placed_since: datetime | None = None
    hold_reference: str | None = None

    def __post_init__(self) -> None:
        if not IDEMPOTENCY_KEY.fullmatch(self.idempotency_key):
            raise ValueError(
                "idempotency_key must be 1-64 ASCII letters and digits (the form every vendor "
                f"accepts), not {self.idempotency_key!r}"
            )
        if not isinstance(self.amount, Decimal) or not self.amount > 0:
            raise ValueError(f"amount must be a positive Decimal, not {self.amount!r}")
        Money(self.amount, self.currency)


@dataclass(frozen=True, slots=True)
class Delivery:
    """What the member receives. Codes, pins and links are bearer secrets: never log them."""

    code: str | None = field(default=None, repr=False)
    pin: str | None = field(default=None, repr=False)
    url: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class OrderResult:
    vendor: str
    vendor_reference: str
    status: OrderStatus
    raw_status: str
    idempotency_key: str | None = None
    charged: Money | None = None
    delivery: Delivery | None = None
    created_at: datetime | None = None
    detail: str | None = None
    replayed: bool = False
    # A two-phase vendor's order not committed yet (a Printful draft): no order is made.
    draft: bool = False


@dataclass(frozen=True, slots=True)
class Hold:
    """A vendor-side reservation made before the order is committed (two-phase vendors)."""

    vendor: str
    reference: str
    raw_status: str
    valid_until: datetime | None = None
    price: Money | None = None
    # The vendor already held this under our key (a repeat found it instead of making another).
    reused: bool = False


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What the saga may rely on; its retry and replay policy follows from this.

    ``dedupes_on_key``: the vendor itself never creates a second order for one key, so an order
    call may be repeated. ``lookup_by_key``: an order can be found by our key after a lost
    response. ``cancel``: the vendor can undo some orders. ``two_phase``: the adapter can hold
    or draft before committing (`TwoPhaseAdapter`).
    """

    dedupes_on_key: bool
    lookup_by_key: bool
    cancel: bool = False
    two_phase: bool = False


@runtime_checkable
class VendorAdapter(Protocol):
    """One vendor, spoken in its own API, answered in neutral records and `vendors.errors`."""

    name: ClassVar[str]
    kind: ClassVar[RewardKind]
    capabilities: ClassVar[Capabilities]

    async def fetch_catalog(self) -> list[Product]:
        """Every product the vendor offers us now."""
        ...

    async def check_order(self, request: OrderRequest) -> None:
        """Refuse with `InvalidOrderRequest` what the vendor is known to refuse (Viator's
        booking questions left unanswered), before anything is reserved or ordered; it may
        ask the vendor, never anything that creates."""
        ...

    async def place_order(self, request: OrderRequest) -> OrderResult:
        """Order ``request`` under its idempotency key (the same key reaches the same order)."""
        ...

    async def lookup_order(
        self, idempotency_key: str, *, since: datetime | None = None
    ) -> OrderResult | None:
        """The order placed under ``idempotency_key``, or None when the vendor has none.

        ``since``: the earliest an order under this key can have been made (the redemption's
        creation); vendors that can only be searched by scanning (Change) stop there. A scan
        that cannot reach it raises `TransientVendorError` rather than answer None."""
        ...

    async def get_order(self, vendor_reference: str) -> OrderResult:
        """The order's current state at the vendor."""
        ...

    async def cancel_order(self, vendor_reference: str, reason: str) -> OrderResult:
        """Undo the order where the vendor allows it; `PermanentVendorError` where it does not."""
        ...

    def read_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookHint:
        """Which orders a webhook of this vendor's is about; `WebhookRefused` for one that is
        not the vendor's (a bad signature), `NotImplementedError` where it sends none."""
        ...

    def breaker_state(self) -> str:
        """``closed``, ``half-opened`` or ``opened``: whether calls currently reach the vendor."""
        ...

    async def aclose(self) -> None: ...


@runtime_checkable
class TwoPhaseAdapter(VendorAdapter, Protocol):
    """A vendor with a native reserve step (Viator hold, Printful draft)."""

    async def prepare(self, request: OrderRequest) -> Hold:
        """Reserve at the vendor without committing: a hold or a draft."""
        ...

    async def commit(self, request: OrderRequest, hold: Hold) -> OrderResult:
        """Turn the hold into the order, under ``request.idempotency_key``."""
        ...
