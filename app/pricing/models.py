"""Stored exchange rates and quotes."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import BigInteger, CheckConstraint, UniqueConstraint
from sqlmodel import Field, SQLModel

from app._types import ExactDecimal, UTCDateTime, utcnow

__all__ = ["FxRate", "Quote"]


class FxRate(SQLModel, table=True):
    """One currency's rate from one source on one day: units per 1 EUR."""

    __tablename__ = "fx_rate"
    __table_args__ = (UniqueConstraint("source", "as_of", "currency"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=32)
    as_of: date
    currency: str = Field(max_length=3)
    per_eur: Decimal = Field(sa_type=ExactDecimal(24, 10))
    fetched_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Quote(SQLModel, table=True):
    """A price in points, locked for one member until ``expires_at``, with everything the
    conversion used, so the redemption that uses it never re-prices."""

    __tablename__ = "quote"
    __table_args__ = (CheckConstraint("points >= 0", name="points_not_negative"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    program_id: uuid.UUID = Field(foreign_key="program.id", index=True)
    member_id: uuid.UUID = Field(foreign_key="member.id", index=True)
    # The offer the price came from (``<vendor>:<product id>``) and the catalog ids quoted.
    reward_ref: str = Field(max_length=200)
    option_ref: str | None = Field(default=None, max_length=200)
    reward_id: uuid.UUID | None = Field(default=None)
    option_id: uuid.UUID | None = Field(default=None)
    offer_id: uuid.UUID | None = Field(default=None)
    face_amount: Decimal = Field(sa_type=ExactDecimal(20, 6))
    face_currency: str = Field(max_length=3)
    price_amount: Decimal = Field(sa_type=ExactDecimal(20, 6))
    price_currency: str = Field(max_length=3)
    # The rate as shown (12 significant digits, rounded up), and the two per-EUR rates it is
    # the ratio of: the points were computed from those, exactly.
    rate: Decimal = Field(sa_type=ExactDecimal(40, 24))
    price_currency_per_eur: Decimal = Field(sa_type=ExactDecimal(40, 24))
    program_currency_per_eur: Decimal = Field(sa_type=ExactDecimal(40, 24))
    rate_source: str = Field(max_length=32)
    rate_as_of: date
    markup_percent: Decimal = Field(sa_type=ExactDecimal(7, 4))
    point_value: Decimal = Field(sa_type=ExactDecimal(20, 8))
    points: int = Field(sa_type=BigInteger)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
