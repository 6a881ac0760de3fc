"""A redemption and its history, as stored.

The row is the saga's whole state: which offer it orders from, under which vendor key, what
the vendor answered, who holds its lease and when it is due to run again. Every state change
is one conditional ``UPDATE`` (fenced by the lease) in the same transaction as the ledger
movement it goes with, so the row and the points never disagree.

`RedemptionEvent` is the history ops read (``rewardgate ops show``): each state change, each
vendor call with its outcome, each ops action with its actor and reason.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app._types import ExactDecimal, UTCDateTime, utcnow

__all__ = ["TERMINAL", "Redemption", "RedemptionEvent", "RedemptionStatus", "VendorWebhook"]


class RedemptionStatus(StrEnum):
    """Where a redemption stands (ARCHITECTURE.md, the saga).

    ``PENDING`` exists only inside the transaction that reserves the points: a redemption
    whose points cannot be reserved is refused and not stored.
    """

    PENDING = "PENDING"
    POINTS_RESERVED = "POINTS_RESERVED"
    VENDOR_PENDING = "VENDOR_PENDING"
    COMPLETED = "COMPLETED"
    COMPENSATED = "COMPENSATED"
    NEEDS_OPS = "NEEDS_OPS"


TERMINAL = frozenset({RedemptionStatus.COMPLETED, RedemptionStatus.COMPENSATED})


class Redemption(SQLModel, table=True):
    __tablename__ = "redemption"
    __table_args__ = (
        UniqueConstraint("member_id", "idempotency_key"),
        CheckConstraint("points > 0", name="points_positive"),
        # The worker's search for due sagas, and a member's history.
        Index("ix_redemption_due", "next_run_at"),
        Index("ix_redemption_member_created", "member_id", "created_at", "id"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    program_id: uuid.UUID = Field(foreign_key="program.id", index=True)
    member_id: uuid.UUID = Field(foreign_key="member.id")
    account_id: uuid.UUID = Field(foreign_key="ledger_account.id")
    idempotency_key: str = Field(max_length=255)
    request_hash: str = Field(max_length=64)
    # What was redeemed: catalog ids (no foreign keys: a snapshot may drop the reward later).
    reward_id: uuid.UUID
    option_id: uuid.UUID
    kind: str = Field(max_length=16)
    face_amount: Decimal = Field(sa_type=ExactDecimal(20, 6))
    face_currency: str = Field(max_length=3)
    points: int = Field(sa_type=BigInteger)
    quote_id: uuid.UUID = Field(foreign_key="quote.id")
    hold_id: uuid.UUID = Field(foreign_key="hold.id", unique=True)
    # What the vendor was expected to charge (the quote's price) and what it did charge.
    quoted_amount: Decimal = Field(sa_type=ExactDecimal(20, 6))
    quoted_currency: str = Field(max_length=3)
    charged_amount: Decimal | None = Field(default=None, sa_type=ExactDecimal(20, 6))
    charged_currency: str | None = Field(default=None, max_length=3)
    posted_points: int | None = Field(default=None, sa_type=BigInteger)
    # JSON: the offers ranked when the redemption was made, and what the order needs
    # (recipient, address, experience), so a recovery rebuilds the very same request.
    offers: str = Field(sa_type=Text)
    order_details: str = Field(sa_type=Text)
    offer_index: int = Field(default=0)
    vendor: str = Field(max_length=32)
    vendor_product_id: str = Field(max_length=100)
    # The vendor key's generation: a new one only once the last attempt is proven failed.
    attempt: int = Field(default=1)
    vendor_key: str = Field(max_length=64)
    vendor_hold: str | None = Field(default=None, sa_type=Text)  # JSON of a two-phase hold
    vendor_reference: str | None = Field(default=None, max_length=200)
    vendor_status: str | None = Field(default=None, max_length=32)
    vendor_raw_status: str | None = Field(default=None, max_length=64)
    delivery: str | None = Field(default=None, sa_type=Text)  # Fernet token; never plaintext
    status: str = Field(max_length=16, index=True)
    failure_reason: str | None = Field(default=None, max_length=1000)
    runs: int = Field(default=1)
    locked_by: str | None = Field(default=None, max_length=64)
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    next_run_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    deadline_at: datetime = Field(sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class RedemptionEvent(SQLModel, table=True):
    """One line of a redemption's history."""

    __tablename__ = "redemption_event"
    __table_args__ = (Index("ix_redemption_event_redemption", "redemption_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    redemption_id: uuid.UUID = Field(foreign_key="redemption.id")
    at: datetime = Field(sa_type=UTCDateTime)
    kind: str = Field(max_length=16)  # state | vendor | ops
    action: str = Field(max_length=32)  # reserve, place_order, lookup_order, replay, ...
    status_before: str | None = Field(default=None, max_length=16)
    status_after: str | None = Field(default=None, max_length=16)
    outcome: str | None = Field(default=None, max_length=64)
    detail: str | None = Field(default=None, max_length=1000)
    actor: str | None = Field(default=None, max_length=100)


class VendorWebhook(SQLModel, table=True):
    """A vendor webhook received once (a redelivery of the same event is recognised)."""

    __tablename__ = "vendor_webhook"
    __table_args__ = (UniqueConstraint("vendor", "event_id"),)

    id: int | None = Field(default=None, primary_key=True)
    vendor: str = Field(max_length=32)
    event_id: str = Field(max_length=200)
    received_at: datetime = Field(sa_type=UTCDateTime)
    woken: int = Field(default=0)  # redemptions it made due
