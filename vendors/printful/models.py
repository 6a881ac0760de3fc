"""Printful JSON shapes (API v1 envelope ``{code, result, error}``); the fields the adapter reads.
Printful writes money as strings (``"24.00"``) and times as UNIX seconds."""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field

from vendors._adapter import WireModel

__all__ = [
    "CatalogProductEnvelope",
    "ErrorBody",
    "OrderEnvelope",
    "StoreProductEnvelope",
    "StoreProductsEnvelope",
]


class StoreProductSummary(WireModel):
    id: int
    name: str
    thumbnail_url: str | None = None


class Paging(WireModel):
    total: int
    offset: int
    limit: int


class StoreProductsEnvelope(WireModel):
    code: int
    result: list[StoreProductSummary]
    paging: Paging | None = None


class SyncProduct(WireModel):
    id: int
    name: str
    thumbnail_url: str | None = None


class CatalogRef(WireModel):
    variant_id: int
    product_id: int
    image: str | None = None
    name: str | None = None


class SyncVariant(WireModel):
    id: int
    name: str
    variant_id: int
    retail_price: Decimal
    currency: str
    product: CatalogRef | None = None
    availability_status: str | None = None


class StoreProduct(WireModel):
    sync_product: SyncProduct
    sync_variants: list[SyncVariant]


class StoreProductEnvelope(WireModel):
    code: int
    result: StoreProduct


class CatalogProductInfo(WireModel):
    id: int
    brand: str | None = None
    model: str | None = None
    description: str | None = None
    currency: str | None = None


class CatalogVariant(WireModel):
    id: int
    price: Decimal
    in_stock: bool = True
    availability_regions: dict[str, str] = Field(default_factory=dict)


class CatalogProduct(WireModel):
    product: CatalogProductInfo
    variants: list[CatalogVariant]


class CatalogProductEnvelope(WireModel):
    code: int
    result: CatalogProduct


class Costs(WireModel):
    currency: str
    total: Decimal


class Shipment(WireModel):
    tracking_number: str | None = None
    tracking_url: str | None = None


class Order(WireModel):
    id: int
    external_id: str | None = None
    status: str
    created: int | None = None
    costs: Costs | None = None
    shipments: list[Shipment] = Field(default_factory=list)


class OrderEnvelope(WireModel):
    code: int
    result: Order


class ErrorDetail(WireModel):
    reason: str | None = None
    message: str | None = None


class ErrorBody(WireModel):
    code: int | None = None
    result: str | None = None
    error: ErrorDetail | None = None
