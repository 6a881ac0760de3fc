"""The catalog snapshot: rewards, their options, and the vendor offers behind each option.

A **reward** is what members see ("Amazon Gift Card, USD"); an **option** is one purchasable
value of it (a fixed face value, or a range); an **offer** is one vendor's way to deliver that
option, with what the vendor charges for it. Gift cards and charities of one brand and currency
are one reward however many vendors sell them; merchandise and experiences are one reward per
vendor product.

Prices in points depend on the viewer's program, so they are stored per **price class**: the
(currency, point value, markup) a program prices with. Programs with the same terms share one
class, so the price table grows with distinct terms, not with partners.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import BigInteger, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app._types import ExactDecimal, UTCDateTime, utcnow

__all__ = [
    "CatalogState",
    "Offer",
    "OptionPrice",
    "PriceClass",
    "Reward",
    "RewardCountry",
    "RewardOption",
    "RewardPrice",
    "VendorStatus",
]


class Reward(SQLModel, table=True):
    __tablename__ = "reward"
    __table_args__ = (
        Index("ix_reward_listing", "available", "name_key", "id"),
        Index("ix_reward_brand", "brand_key"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    key: str = Field(max_length=300, unique=True)  # what makes two vendor products one reward
    kind: str = Field(max_length=16, index=True)
    brand: str = Field(max_length=200)
    brand_key: str = Field(max_length=200)  # lower-case brand, for exact filters
    name: str = Field(max_length=300)
    name_key: str = Field(max_length=300)  # lower-case name, for sorting
    description: str | None = Field(default=None, sa_type=Text)
    image_url: str | None = Field(default=None, max_length=1000)
    currency: str = Field(max_length=3, index=True)
    countries: str = Field(default="", max_length=1000)  # "US,CA"; empty: anywhere
    search_text: str = Field(sa_type=Text)  # lower-case name, brand and description
    available: bool = Field(default=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class RewardCountry(SQLModel, table=True):
    """Where a reward can be used (no rows: anywhere), for the country filter."""

    __tablename__ = "reward_country"

    reward_id: uuid.UUID = Field(foreign_key="reward.id", primary_key=True)
    country: str = Field(max_length=2, primary_key=True)


class RewardOption(SQLModel, table=True):
    __tablename__ = "reward_option"
    __table_args__ = (UniqueConstraint("reward_id", "value_key"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    reward_id: uuid.UUID = Field(foreign_key="reward.id", index=True)
    value_key: str = Field(max_length=40)  # the face value, or "range"
    face_value: Decimal | None = Field(default=None, sa_type=ExactDecimal(20, 6))
    min_value: Decimal | None = Field(default=None, sa_type=ExactDecimal(20, 6))
    max_value: Decimal | None = Field(default=None, sa_type=ExactDecimal(20, 6))


class Offer(SQLModel, table=True):
    """One vendor product delivering one option, and its cost."""

    __tablename__ = "offer"
    __table_args__ = (UniqueConstraint("vendor", "vendor_product_id", "option_id"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    option_id: uuid.UUID = Field(foreign_key="reward_option.id", index=True)
    reward_id: uuid.UUID = Field(foreign_key="reward.id", index=True)
    vendor: str = Field(max_length=32)
    vendor_product_id: str = Field(max_length=100)
    countries: str = Field(default="", max_length=1000)
    # Fixed face values: what the vendor charges for it.
    cost_amount: Decimal | None = Field(default=None, sa_type=ExactDecimal(20, 6))
    cost_currency: str = Field(max_length=3)
    # Ranges: the vendor's own bounds and its cost rule (face x rate x (1 + fee %) + fee).
    min_value: Decimal | None = Field(default=None, sa_type=ExactDecimal(20, 6))
    max_value: Decimal | None = Field(default=None, sa_type=ExactDecimal(20, 6))
    step: Decimal | None = Field(default=None, sa_type=ExactDecimal(20, 6))
    cost_rate: Decimal | None = Field(default=None, sa_type=ExactDecimal(30, 15))
    fee_percent: Decimal | None = Field(default=None, sa_type=ExactDecimal(9, 4))
    fee_fixed: Decimal | None = Field(default=None, sa_type=ExactDecimal(20, 6))
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class PriceClass(SQLModel, table=True):
    """The terms a program prices with; the rates its prices were computed from."""

    __tablename__ = "price_class"
    __table_args__ = (UniqueConstraint("currency", "point_value", "markup_percent"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    currency: str = Field(max_length=3)
    point_value: Decimal = Field(sa_type=ExactDecimal(20, 8))
    markup_percent: Decimal = Field(sa_type=ExactDecimal(7, 4))
    rates_source: str | None = Field(default=None, max_length=32)
    rates_as_of: date | None = None
    priced_version: int = Field(default=0, sa_type=BigInteger)


class RewardPrice(SQLModel, table=True):
    """A reward's cheapest option in one price class: what listings filter and sort by."""

    __tablename__ = "reward_price"
    __table_args__ = (Index("ix_reward_price_points", "price_class_id", "min_points", "reward_id"),)

    price_class_id: uuid.UUID = Field(foreign_key="price_class.id", primary_key=True)
    reward_id: uuid.UUID = Field(foreign_key="reward.id", primary_key=True)
    min_points: int = Field(sa_type=BigInteger)


class OptionPrice(SQLModel, table=True):
    """An option's points in one price class (a range: its lowest value), from its cheapest
    offer."""

    __tablename__ = "option_price"

    price_class_id: uuid.UUID = Field(foreign_key="price_class.id", primary_key=True)
    option_id: uuid.UUID = Field(foreign_key="reward_option.id", primary_key=True)
    points: int = Field(sa_type=BigInteger)
    offer_id: uuid.UUID = Field(foreign_key="offer.id")


class VendorStatus(SQLModel, table=True):
    """How each vendor's last catalog refreshes went (ops read it as `vendorHealth`)."""

    __tablename__ = "vendor_status"

    vendor: str = Field(max_length=32, primary_key=True)
    last_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_success_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, max_length=1000)
    consecutive_failures: int = Field(default=0)
    products: int = Field(default=0)
    calls_last_refresh: int = Field(default=0)


class CatalogState(SQLModel, table=True):
    """One row: the snapshot's version, bumped by every change (response caches key on it)."""

    __tablename__ = "catalog_state"

    id: int = Field(default=1, primary_key=True)
    version: int = Field(default=0, sa_type=BigInteger)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
