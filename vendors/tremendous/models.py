"""Tremendous v2 JSON shapes (tremendous-python models); only the fields the adapter reads."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import AliasChoices, Field

from vendors._adapter import WireModel

__all__ = [
    "ErrorBody",
    "Forex",
    "Order",
    "OrderEnvelope",
    "OrderList",
    "Product",
    "Products",
    "RewardLinkEnvelope",
]


class Sku(WireModel):
    min: Decimal
    max: Decimal


class Country(WireModel):
    abbr: str


class Image(WireModel):
    src: str
    type: str | None = None


class Product(WireModel):
    id: str
    name: str
    description: str | None = None
    category: str
    skus: list[Sku] | None = None  # optional in the API: no skus, no value to order
    currency_codes: list[str]
    countries: list[Country] = Field(default_factory=list)
    images: list[Image] = Field(default_factory=list)


class Products(WireModel):
    products: list[Product]


class Forex(WireModel):
    forex: dict[str, Decimal]


class Payment(WireModel):
    subtotal: Decimal | None = None
    total: Decimal | None = None
    fees: Decimal | None = None


class Value(WireModel):
    denomination: Decimal
    currency_code: str


class RewardDelivery(WireModel):
    method: str
    status: str
    link: str | None = None  # in the create (200) response only


class RewardLink(WireModel):
    """``POST /rewards/{id}/generate_link``'s ``reward``."""

    id: str
    link: str = Field(validation_alias=AliasChoices("link", "url"))


class RewardLinkEnvelope(WireModel):
    reward: RewardLink


class Reward(WireModel):
    id: str
    value: Value | None = None
    delivery: RewardDelivery | None = None


class Order(WireModel):
    id: str
    external_id: str | None = None
    status: str
    created_at: datetime | None = None
    payment: Payment | None = None
    rewards: list[Reward] = Field(default_factory=list)


class OrderEnvelope(WireModel):
    order: Order


class OrderList(WireModel):
    orders: list[Order]
    total_count: int | None = None


class ErrorDetail(WireModel):
    message: str | None = None


class ErrorBody(WireModel):
    status: int | None = None
    errors: ErrorDetail | None = None
    error: ErrorDetail | None = None  # the 429 body uses the singular
