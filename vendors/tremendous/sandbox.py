"""Tremendous v2 sandbox: the documented paths under the API root (``/api/v2``).

Reproduces: Bearer auth; ``GET /products`` (merchant cards and charities, ``skus`` as allowed
denomination ranges, one product per region), ``GET /forex?base=USD``; ``POST /orders`` with
``external_id`` — 200 for a new order, 201 and the existing order for an identical repeat, 409
for the same key with a different payload; orders above the approval threshold wait in ``PENDING
APPROVAL`` until ``POST /order_approvals/{id}/approve``; payment in USD from one funding source
(``balance``, $5,000); LINK delivery ``PENDING`` until the completion delay passes, then
``SUCCEEDED`` or ``FAILED``; ``GET /orders/{id}`` (an order id or its external_id),
``GET /orders?external_id=``; ``POST /rewards/{id}/cancel`` only for a failed delivery; 10
requests per second, answered ``429 {"error": {...}}`` with ``Retry-After``.
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
from vendors._sandbox import Lifecycle, VendorSandbox, as_decimal, bearer_token
from vendors.money import quantize_up
from vendors.tremendous.config import SANDBOX_API_KEY

__all__ = ["TremendousSandbox"]

# Tremendous' forex is a little less favourable than the reference market: its cost of a
# foreign card differs from Tango's, which charges the reference rate plus a fee.
_FOREX_SPREAD = Decimal("0.985")


@dataclass
class _Order:
    id: str
    reward_id: str
    external_id: str | None
    request: dict[str, Any]
    product: dict[str, Any]
    denomination: Decimal
    currency: str
    total_usd: Decimal
    lifecycle: Lifecycle
    needs_approval: bool
    approved: bool = False
    cancelled: bool = False


class TremendousSandbox(VendorSandbox):
    name: ClassVar[str] = "tremendous"
    rate_limit: ClassVar[tuple[int, float] | None] = (10, 1.0)

    def __init__(
        self,
        *,
        seed: int = 0,
        rate_limit: tuple[int, float] | bool | None = True,
        api_key: str = SANDBOX_API_KEY,
        funding_balance: Decimal = Decimal("5000.00"),
        approval_threshold: Decimal | None = None,
    ) -> None:
        self.api_key = api_key
        self.opening_balance = funding_balance
        # Orders whose USD total exceeds this need approval (None: never).
        self.approval_threshold = approval_threshold
        super().__init__(seed=seed, rate_limit=rate_limit)

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/products", self.endpoint(self._products), methods=["GET"]),
            Route("/forex", self.endpoint(self._forex), methods=["GET"]),
            Route("/orders", self.endpoint(self._create_order), methods=["POST"]),
            Route("/orders", self.endpoint(self._list_orders), methods=["GET"]),
            Route("/orders/{id}", self.endpoint(self._get_order), methods=["GET"]),
            Route("/order_approvals/{id}/approve", self.endpoint(self._approve), methods=["POST"]),
            Route("/rewards/{id}/cancel", self.endpoint(self._cancel_reward), methods=["POST"]),
            Route(
                "/rewards/{id}/generate_link",
                self.endpoint(self._generate_link),
                methods=["POST"],
            ),
        ]

    def reset_state(self) -> None:
        self.products = {product["id"]: product for product in _catalog()}
        self.orders: dict[str, _Order] = {}
        self.balance = self.opening_balance

    def product_ids(self) -> list[str]:
        return list(self.products)

    def authorized(self, request: Request) -> bool:
        return bearer_token(request) == self.api_key

    def error(self, status: int, code: str, message: str) -> Response:
        return DecimalJSONResponse(
            {"status": status, "errors": {"message": message, "payload": {}}}, status_code=status
        )

    def rate_limited(self, retry_after: float) -> Response:
        return DecimalJSONResponse(
            {"error": {"message": "Too many requests", "payload": {}}},
            status_code=429,
            headers={"Retry-After": str(max(1, round(retry_after + 0.499)))},
        )

    def server_error(self) -> Response:
        return self.error(500, "500", "Internal server error")

    def orders_summary(self) -> list[dict[str, Any]]:
        return [
            {"id": o.id, "external_id": o.external_id, "status": self._view(o)["status"]}
            for o in self.orders.values()
        ]

    async def _products(self, request: Request) -> Response:
        countries = set(filter(None, request.query_params.get("country", "").split(",")))
        currencies = set(filter(None, request.query_params.get("currency", "").split(",")))
        products = [
            product
            for product in self.products.values()
            if self.visible(product["id"])
            and (not countries or countries & {c["abbr"] for c in product["countries"]})
            and (not currencies or currencies & set(product["currency_codes"]))
        ]
        return DecimalJSONResponse({"products": products})

    async def _forex(self, request: Request) -> Response:
        if request.query_params.get("base", "USD") != "USD":
            return self.error(400, "400", "Only base=USD is supported")
        return DecimalJSONResponse(
            {"forex": {c: _forex_rate(c) for c in _seed.USD_RATES if c != "USD"}}
        )

    async def _create_order(self, request: Request) -> Response:
        try:
            body = loads(await request.body())
            reward = body["reward"]
            product_id = reward["products"][0]
            value = reward["value"]
            denomination = as_decimal(value["denomination"])
            currency = value["currency_code"]
        except (ValueError, KeyError, IndexError, TypeError):
            return self.error(400, "400", "reward.products and reward.value are required")
        external_id = body.get("external_id")
        if external_id is not None:
            existing = next((o for o in self.orders.values() if o.external_id == external_id), None)
            if existing is not None:
                if existing.request != body:
                    return self.error(
                        409, "409", "An order with this external_id exists with other details"
                    )
                return DecimalJSONResponse({"order": self._view(existing)}, status_code=201)
        product = self.products.get(product_id)
        if product is None or not self.visible(product_id):
            return self.error(422, "422", f"Product {product_id} is not available")
        if currency not in product["currency_codes"]:
            return self.error(422, "422", f"Currency {currency} is not offered for this product")
        if denomination is None or not any(
            sku["min"] <= denomination <= sku["max"] for sku in product["skus"]
        ):
            return self.error(422, "422", "Denomination is outside the product's allowed values")
        if body.get("payment", {}).get("funding_source_id") != "balance":
            return self.error(400, "400", "Unknown funding source")
        total = quantize_up(denomination / _forex_rate(currency), "USD")
        if total > self.balance:
            return self.error(402, "402", "Insufficient funds in the funding source")
        await asyncio.sleep(self.faults.processing_ms / 1000)
        number = len(self.orders) + 1
        order = _Order(
            id=f"ORD{number:06d}{self.random.randrange(100, 999)}",
            reward_id=f"RWD{number:06d}{self.random.randrange(100, 999)}",
            external_id=external_id,
            request=body,
            product=product,
            denomination=denomination,
            currency=currency,
            total_usd=total,
            lifecycle=self.new_lifecycle(),
            needs_approval=self.approval_threshold is not None and total > self.approval_threshold,
        )
        self.balance -= total
        self.orders[order.id] = order
        if (dropped := await self.drop_response_after_commit()) is not None:
            return dropped
        return DecimalJSONResponse({"order": self._view(order, link=True)}, status_code=200)

    async def _list_orders(self, request: Request) -> Response:
        external_id = request.query_params.get("external_id")
        found = [
            self._view(order)
            for order in self.orders.values()
            if external_id is None or order.external_id == external_id
        ]
        offset = int(request.query_params.get("offset", 0))
        limit = min(int(request.query_params.get("limit", 100)), 500)
        return DecimalJSONResponse(
            {"orders": found[offset : offset + limit], "total_count": len(found)}
        )

    async def _get_order(self, request: Request) -> Response:
        order = self._find(request.path_params["id"])
        if order is None:
            return self.error(404, "404", "Record not found")
        return DecimalJSONResponse({"order": self._view(order)})

    async def _approve(self, request: Request) -> Response:
        order = self._find(request.path_params["id"])
        if order is None or not order.needs_approval or order.approved:
            return self.error(422, "422", "Order is not pending approval")
        order.approved = True
        order.lifecycle = self.new_lifecycle()
        return DecimalJSONResponse({"order": self._view(order)})

    async def _cancel_reward(self, request: Request) -> Response:
        order = next(
            (o for o in self.orders.values() if o.reward_id == request.path_params["id"]), None
        )
        if order is None:
            return self.error(404, "404", "Record not found")
        if self._delivery_status(order) != "FAILED" or order.cancelled:
            return self.error(422, "422", "Only rewards whose delivery failed can be canceled")
        order.cancelled = True
        self.balance += order.total_usd
        return DecimalJSONResponse({"reward": self._view(order)["rewards"][0]})

    async def _generate_link(self, request: Request) -> Response:
        order = next(
            (o for o in self.orders.values() if o.reward_id == request.path_params["id"]), None
        )
        if order is None:
            return self.error(404, "404", "Record not found")
        if order.cancelled or self._delivery_status(order) != "SUCCEEDED":
            return self.error(422, "422", "A link is generated only for a delivered reward")
        return DecimalJSONResponse({"reward": {"id": order.reward_id, "link": _link(order)}})

    def _find(self, id_or_external_id: str) -> _Order | None:
        return self.orders.get(id_or_external_id) or next(
            (o for o in self.orders.values() if o.external_id == id_or_external_id), None
        )

    def _delivery_status(self, order: _Order) -> str:
        if order.needs_approval and not order.approved:
            return "PENDING"
        state = order.lifecycle.state(self.now())
        return {"pending": "PENDING", "complete": "SUCCEEDED", "failed": "FAILED"}[state]

    def _view(self, order: _Order, *, link: bool = False) -> dict[str, Any]:
        """The order as the API shows it; ``link`` only in the answer that created it."""
        delivery = self._delivery_status(order)
        if order.cancelled:
            status = "CANCELED"
        elif order.needs_approval and not order.approved:
            status = "PENDING APPROVAL"
        else:
            status = "EXECUTED"
        recipient = order.request.get("reward", {}).get("recipient") or {}
        return {
            "id": order.id,
            "external_id": order.external_id,
            "campaign_id": None,
            "created_at": order.lifecycle.created_at.isoformat(),
            "status": status,
            "channel": "API",
            "payment": {
                "subtotal": order.total_usd,
                "total": order.total_usd,
                "fees": Decimal("0.00"),
                "discount": Decimal("0.00"),
                "refund": order.total_usd if order.cancelled else None,
            },
            "rewards": [
                {
                    "id": order.reward_id,
                    "order_id": order.id,
                    "created_at": order.lifecycle.created_at.isoformat(),
                    "value": {"denomination": order.denomination, "currency_code": order.currency},
                    "recipient": {
                        "name": recipient.get("name"),
                        "email": recipient.get("email"),
                        "phone": None,
                    },
                    "delivery": {
                        "method": "LINK",
                        "status": delivery,
                        "link": _link(order) if link and delivery == "SUCCEEDED" else None,
                    },
                    "expires_at": None,
                }
            ],
        }


def _link(order: _Order) -> str:
    return f"https://testflight.tremendous.com/rewards/payout/{order.reward_id}"


def _forex_rate(currency: str) -> Decimal:
    """Units of ``currency`` Tremendous gives for 1 USD."""
    if currency == "USD":
        return Decimal(1)
    return (_seed.USD_RATES[currency] * _FOREX_SPREAD).quantize(Decimal("0.0001"))


def _catalog() -> list[dict[str, Any]]:
    products: list[dict[str, Any]] = []
    for index, brand in enumerate(_seed.GIFT_CARD_BRANDS, start=1):
        if not brand.tremendous:
            continue
        slug = _seed.slug(brand.name)
        for region in brand.regions:
            currency = _seed.REGION_CURRENCY[region]
            if brand.variable:
                low, high = _seed.RANGES[currency]
                skus = [{"min": Decimal(low), "max": Decimal(high)}]
            else:
                skus = [
                    {"min": Decimal(v), "max": Decimal(v)} for v in _seed.FIXED_VALUES[currency]
                ]
            products.append(
                {
                    "id": f"TRM{index:03d}{region}",
                    "name": brand.name,
                    "description": brand.description,
                    "category": "merchant_card",
                    "subcategory": None,
                    "disclosure": f"{brand.name} is not a sponsor of this reward.",
                    "skus": skus,
                    "currency_codes": [currency],
                    "countries": [{"abbr": region}],
                    "images": [
                        {
                            "src": f"https://img.sandbox.invalid/tremendous/{slug}-{region}.png",
                            "type": "card",
                            "content_type": "image/png",
                        }
                    ],
                    "usage_instructions": f"Redeem at {slug}.example.",
                }
            )
    for index, charity in enumerate(_seed.CHARITIES[:10], start=1):
        products.append(
            {
                "id": f"TRMCH{index:03d}",
                "name": charity.name,
                "description": charity.mission,
                "category": "charity",
                "subcategory": charity.category,
                "disclosure": "Donations are made by Tremendous on the recipient's behalf.",
                "skus": [{"min": Decimal(1), "max": Decimal(1000)}],
                "currency_codes": ["USD"],
                "countries": [{"abbr": "US"}],
                "images": [
                    {
                        "src": f"https://img.sandbox.invalid/tremendous/{_seed.slug(charity.name)}.png",
                        "type": "logo",
                        "content_type": "image/png",
                    }
                ],
                "usage_instructions": None,
            }
        )
    return products
