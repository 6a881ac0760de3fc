"""Printful sandbox: the documented paths under ``https://api.printful.com``.

Reproduces: Bearer auth; the ``{code, result, error}`` envelope everywhere; the store's sync
products (``GET /store/products``, ``GET /store/products/{id}``) and catalog products with
variant prices and availability regions (``GET /products/{id}``); ``POST /orders`` creates a
**draft** (``?confirm=true`` skips it) and refuses a second order with the same
``external_id``; a shipping address is required; ``POST /orders/{id}/confirm`` submits a draft
(``pending``, then ``fulfilled`` with a shipment after the completion delay, or ``failed``);
``GET /orders/{id}`` and ``GET /orders/@{external_id}``; ``DELETE /orders/{id}`` cancels a
draft or pending order; 120 calls per minute (``429`` with ``X-Ratelimit-*`` and
``Retry-After``); timestamps are UNIX seconds and money is a string.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from vendors import _seed
from vendors._json import DecimalJSONResponse, loads
from vendors._sandbox import Lifecycle, VendorSandbox, bearer_token, decimal_str
from vendors.printful.config import SANDBOX_TOKEN

__all__ = ["PrintfulSandbox"]

_SHIPPING = {"USD": Decimal("4.99"), "EUR": Decimal("4.49")}
_REGIONS_BY_CURRENCY = {"USD": ("US", "CA", "UK", "AU", "JP", "EU"), "EUR": ("EU", "UK")}
_RECIPIENT_FIELDS = ("name", "address1", "city", "country_code", "zip")


@dataclass
class _Order:
    id: int
    external_id: str | None
    recipient: dict[str, Any]
    variant: dict[str, Any]
    quantity: int
    status: str  # draft | pending | canceled; later states come from the lifecycle
    created: int
    lifecycle: Lifecycle | None = None
    tracking: str | None = None


class PrintfulSandbox(VendorSandbox):
    name: ClassVar[str] = "printful"
    rate_limit: ClassVar[tuple[int, float] | None] = (120, 60.0)

    def __init__(
        self,
        *,
        seed: int = 0,
        rate_limit: tuple[int, float] | bool | None = True,
        token: str = SANDBOX_TOKEN,
    ) -> None:
        self.token = token
        super().__init__(seed=seed, rate_limit=rate_limit)

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/store/products", self.endpoint(self._store_products), methods=["GET"]),
            Route("/store/products/{id:int}", self.endpoint(self._store_product), methods=["GET"]),
            Route("/products/{id:int}", self.endpoint(self._catalog_product), methods=["GET"]),
            Route("/orders", self.endpoint(self._create_order), methods=["POST"]),
            Route("/orders/{ref}", self.endpoint(self._get_order), methods=["GET"]),
            Route("/orders/{ref}", self.endpoint(self._cancel_order), methods=["DELETE"]),
            Route("/orders/{ref}/confirm", self.endpoint(self._confirm_order), methods=["POST"]),
        ]

    def reset_state(self) -> None:
        self.store_products, self.catalog_products = _catalog()
        self.variants = {
            variant["id"]: variant
            for product in self.store_products.values()
            for variant in product["sync_variants"]
        }
        self.orders: dict[int, _Order] = {}

    def product_ids(self) -> list[str]:
        return [str(variant_id) for variant_id in self.variants]

    def authorized(self, request: Request) -> bool:
        return bearer_token(request) == self.token

    def error(self, status: int, code: str, message: str) -> Response:
        reasons = {400: "BadRequest", 401: "Unauthorized", 404: "NotFound", 429: "TooManyRequests"}
        return DecimalJSONResponse(
            {
                "code": status,
                "result": message,
                "error": {"reason": reasons.get(status, "Error"), "message": message},
            },
            status_code=status,
        )

    def rate_limited(self, retry_after: float) -> Response:
        response = self.error(429, "429", "Too many requests, please try again later")
        seconds = str(max(1, round(retry_after + 0.499)))
        response.headers.update(
            {
                "Retry-After": seconds,
                "X-Ratelimit-Limit": "120",
                "X-Ratelimit-Remaining": "0",
                "X-Ratelimit-Reset": seconds,
            }
        )
        return response

    def orders_summary(self) -> list[dict[str, Any]]:
        return [
            {"id": o.id, "external_id": o.external_id, "status": self._status(o)}
            for o in self.orders.values()
        ]

    async def _store_products(self, request: Request) -> Response:
        offset = int(request.query_params.get("offset", 0))
        limit = min(int(request.query_params.get("limit", 20)), 100)
        listed = [
            {
                "id": product["sync_product"]["id"],
                "external_id": product["sync_product"]["external_id"],
                "name": product["sync_product"]["name"],
                "variants": len(product["sync_variants"]),
                "synced": len(product["sync_variants"]),
                "thumbnail_url": product["sync_product"]["thumbnail_url"],
                "is_ignored": False,
            }
            for product in self.store_products.values()
            if any(self.visible(str(v["id"])) for v in product["sync_variants"])
        ]
        return self._ok(
            listed[offset : offset + limit],
            paging={"total": len(listed), "offset": offset, "limit": limit},
        )

    async def _store_product(self, request: Request) -> Response:
        product = self.store_products.get(request.path_params["id"])
        if product is None:
            return self.error(404, "404", "Sync product not found")
        variants = [v for v in product["sync_variants"] if self.visible(str(v["id"]))]
        return self._ok({**product, "sync_variants": variants})

    async def _catalog_product(self, request: Request) -> Response:
        product = self.catalog_products.get(request.path_params["id"])
        if product is None:
            return self.error(404, "404", "Product not found")
        return self._ok(product)

    async def _create_order(self, request: Request) -> Response:
        try:
            body = loads(await request.body())
            recipient = body.get("recipient") or {}
            items = body["items"]
            variant_id = int(items[0]["sync_variant_id"])
            quantity = int(items[0].get("quantity", 1))
        except (ValueError, KeyError, IndexError, TypeError, AttributeError):
            return self.error(400, "400", "Order items are required")
        missing = [field for field in _RECIPIENT_FIELDS if not recipient.get(field)]
        if missing:
            return self.error(400, "400", f"Recipient address is required: {', '.join(missing)}")
        external_id = body.get("external_id")
        if external_id is not None and any(
            o.external_id == external_id for o in self.orders.values()
        ):
            return self.error(400, "400", "Order with this External ID already exists")
        variant = self.variants.get(variant_id)
        if variant is None or not self.visible(str(variant_id)):
            return self.error(400, "400", f"Item 0: Sync variant {variant_id} not found")
        await asyncio.sleep(self.faults.processing_ms / 1000)
        order = _Order(
            id=len(self.orders) + 1_000_001,
            external_id=external_id,
            recipient=recipient,
            variant=variant,
            quantity=quantity,
            status="draft",
            created=int(self.now().timestamp()),
        )
        self.orders[order.id] = order
        if request.query_params.get("confirm") in ("true", "1"):
            self._confirm(order)
        if (dropped := await self.drop_response_after_commit()) is not None:
            return dropped
        return self._ok(self._view(order))

    async def _get_order(self, request: Request) -> Response:
        order = self._find(request.path_params["ref"])
        if order is None:
            return self.error(404, "404", "Order not found")
        return self._ok(self._view(order))

    async def _confirm_order(self, request: Request) -> Response:
        order = self._find(request.path_params["ref"])
        if order is None:
            return self.error(404, "404", "Order not found")
        if order.status != "draft":
            return self.error(400, "400", "Only draft orders can be confirmed")
        self._confirm(order)
        if (dropped := await self.drop_response_after_commit()) is not None:
            return dropped
        return self._ok(self._view(order))

    async def _cancel_order(self, request: Request) -> Response:
        order = self._find(request.path_params["ref"])
        if order is None:
            return self.error(404, "404", "Order not found")
        if self._status(order) not in ("draft", "pending"):
            return self.error(400, "400", "Order can not be canceled: it is already in process")
        order.status = "canceled"
        return self._ok(self._view(order))

    def _confirm(self, order: _Order) -> None:
        order.status = "pending"
        order.lifecycle = self.new_lifecycle()
        order.tracking = f"9400{self.random.randrange(10**17, 10**18)}"

    def _find(self, ref: str) -> _Order | None:
        if ref.startswith("@"):
            return next((o for o in self.orders.values() if o.external_id == ref[1:]), None)
        return self.orders.get(int(ref)) if ref.isdigit() else None

    def _status(self, order: _Order) -> str:
        if order.status != "pending" or order.lifecycle is None:
            return order.status
        state = order.lifecycle.state(self.now())
        return {"pending": "pending", "complete": "fulfilled", "failed": "failed"}[state]

    def _view(self, order: _Order) -> dict[str, Any]:
        status = self._status(order)
        currency = order.variant["currency"]
        subtotal = order.variant["_cost"] * order.quantity
        shipping = _SHIPPING[currency]
        retail = Decimal(order.variant["retail_price"]) * order.quantity
        return {
            "id": order.id,
            "external_id": order.external_id,
            "store": 1,
            "status": status,
            "shipping": "STANDARD",
            "created": order.created,
            "updated": order.created,
            "recipient": order.recipient,
            "items": [
                {
                    "sync_variant_id": order.variant["id"],
                    "quantity": order.quantity,
                    "price": decimal_str(order.variant["_cost"]),
                    "retail_price": order.variant["retail_price"],
                    "name": order.variant["name"],
                }
            ],
            "costs": {
                "currency": currency,
                "subtotal": decimal_str(subtotal),
                "discount": "0.00",
                "shipping": decimal_str(shipping),
                "tax": "0.00",
                "vat": "0.00",
                "total": decimal_str(subtotal + shipping),
            },
            "retail_costs": {
                "currency": currency,
                "subtotal": decimal_str(retail),
                "total": decimal_str(retail),
            },
            "shipments": (
                [
                    {
                        "carrier": "USPS",
                        "service": "First Class",
                        "tracking_number": order.tracking,
                        "tracking_url": f"https://tools.usps.com/go/TrackConfirmAction?tLabels={order.tracking}",
                        "created": order.created,
                    }
                ]
                if status == "fulfilled"
                else []
            ),
        }

    def _ok(self, result: Any, **extra: Any) -> Response:
        return DecimalJSONResponse({"code": 200, "result": _public(result), **extra})


def _public(value: Any) -> Any:
    """Drop the sandbox's private keys (``_cost``) from what it answers."""
    if isinstance(value, dict):
        return {k: _public(v) for k, v in value.items() if not str(k).startswith("_")}
    if isinstance(value, list):
        return [_public(v) for v in value]
    return value


def _catalog() -> tuple[dict[int, dict[str, Any]], dict[int, dict[str, Any]]]:
    store: dict[int, dict[str, Any]] = {}
    catalog: dict[int, dict[str, Any]] = {}
    for index, item in enumerate(_seed.MERCHANDISE, start=1):
        product_id = 70 + index
        slug = _seed.slug(item.name)
        regions = _REGIONS_BY_CURRENCY[item.currency]
        catalog_variants = []
        sync_variants = []
        for number, (label, retail, cost) in enumerate(item.variants, start=1):
            variant_id = product_id * 100 + number
            image = f"https://img.sandbox.invalid/printful/{slug}-{_seed.slug(label)}.png"
            catalog_variants.append(
                {
                    "id": variant_id,
                    "product_id": product_id,
                    "name": f"{item.name} ({label})",
                    "size": label,
                    "price": cost,
                    "in_stock": True,
                    "availability_regions": {region: "in_stock" for region in regions},
                    "image": image,
                }
            )
            sync_variants.append(
                {
                    "id": index * 1000 + number,
                    "external_id": f"rg-{slug}-{_seed.slug(label)}",
                    "sync_product_id": index,
                    "name": f"{item.name} / {label}",
                    "synced": True,
                    "variant_id": variant_id,
                    "retail_price": retail,
                    "currency": item.currency,
                    "product": {
                        "variant_id": variant_id,
                        "product_id": product_id,
                        "image": image,
                        "name": f"{item.brand} {item.name} ({label})",
                    },
                    "availability_status": "active",
                    "_cost": Decimal(cost),
                }
            )
        catalog[product_id] = {
            "product": {
                "id": product_id,
                "type": "MERCH",
                "brand": item.brand,
                "model": item.name,
                "title": item.name,
                "description": item.description,
                "currency": item.currency,
                "image": f"https://img.sandbox.invalid/printful/{slug}.png",
            },
            "variants": catalog_variants,
        }
        store[index] = {
            "sync_product": {
                "id": index,
                "external_id": f"rg-{slug}",
                "name": item.name,
                "variants": len(sync_variants),
                "synced": len(sync_variants),
                "thumbnail_url": f"https://img.sandbox.invalid/printful/{slug}.png",
                "is_ignored": False,
            },
            "sync_variants": sync_variants,
        }
    return store, catalog
