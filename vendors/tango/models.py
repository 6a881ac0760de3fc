"""Tango RaaS v2 JSON shapes, as documented (swagger ``ItemViewVerbose``, ``OrderViewSummary``,
``ApiError``); only the fields the adapter reads."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import Field

from vendors._adapter import WireModel

__all__ = [
    "Amount",
    "Brand",
    "Catalog",
    "ErrorBody",
    "ExchangeRate",
    "ExchangeRates",
    "Item",
    "Order",
    "OrderList",
]


class Fee(WireModel):
    type: str  # FIXED | PERCENTAGE
    value: Decimal


class Item(WireModel):
    utid: str
    reward_name: str = Field(alias="rewardName")
    currency_code: str = Field(alias="currencyCode")
    status: str
    value_type: str = Field(alias="valueType")  # FIXED_VALUE | VARIABLE_VALUE
    face_value: Decimal | None = Field(default=None, alias="faceValue")
    min_value: Decimal | None = Field(default=None, alias="minValue")
    max_value: Decimal | None = Field(default=None, alias="maxValue")
    is_whole_amount_value_required: bool = Field(default=False, alias="isWholeAmountValueRequired")
    countries: list[str] = Field(default_factory=list)
    fee: Fee | None = None


class Brand(WireModel):
    brand_key: str = Field(alias="brandKey")
    brand_name: str = Field(alias="brandName")
    description: str | None = None
    short_description: str | None = Field(default=None, alias="shortDescription")
    image_urls: dict[str, str] = Field(default_factory=dict, alias="imageUrls")
    status: str
    items: list[Item]


class Catalog(WireModel):
    catalog_name: str = Field(alias="catalogName")
    brands: list[Brand]


class ExchangeRate(WireModel):
    base_currency: str = Field(alias="baseCurrency")
    reward_currency: str = Field(alias="rewardCurrency")
    base_fx: Decimal = Field(alias="baseFx")


class ExchangeRates(WireModel):
    exchange_rates: list[ExchangeRate] = Field(alias="exchangeRates")


class Amount(WireModel):
    value: Decimal
    currency_code: str = Field(alias="currencyCode")
    exchange_rate: Decimal | None = Field(default=None, alias="exchangeRate")
    fee: Decimal | None = None
    total: Decimal | None = None


class Credential(WireModel):
    label: str
    value: str
    type: str | None = None
    credential_type: str | None = Field(default=None, alias="credentialType")


class Reward(WireModel):
    credential_list: list[Credential] = Field(default_factory=list, alias="credentialList")
    redemption_instructions: str | None = Field(default=None, alias="redemptionInstructions")


class Order(WireModel):
    reference_order_id: str = Field(alias="referenceOrderID")
    external_ref_id: str | None = Field(default=None, alias="externalRefID")
    status: str
    utid: str
    amount_charged: Amount | None = Field(default=None, alias="amountCharged")
    denomination: Amount | None = None
    reward: Reward | None = None
    created_at: datetime | None = Field(default=None, alias="createdAt")


class Page(WireModel):
    number: int
    elements_per_block: int = Field(alias="elementsPerBlock")
    result_count: int = Field(alias="resultCount")
    total_count: int = Field(alias="totalCount")


class OrderList(WireModel):
    page: Page
    orders: list[Order]


class ErrorBody(WireModel):
    http_code: int | None = Field(default=None, alias="httpCode")
    i18n_key: str | None = Field(default=None, alias="i18nKey")
    message: str | None = None
