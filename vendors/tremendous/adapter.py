"""Tremendous API v2 adapter (gift cards and charity).

``external_id`` carries our key and Tremendous dedupes on it: a new order answers 200, an
identical repeat 201 with the existing order (so `place_order` may be repeated), and a repeat
with a different payload 409 — a bug on our side, and an order exists: `AmbiguousOutcome` with
``vendor_code="external_id_conflict"``. Rewards are delivered as links (``delivery.method:
LINK``); the order is ``EXECUTED`` at once and its reward's delivery completes later, so the
canonical status reads both. The reward's link comes back in the create (200) response only: a
replay (201), ``GET /orders/{id}`` and the order list carry none, so a delivered reward without
one gets it from ``POST /rewards/{id}/generate_link``. Payment is always in USD: catalog costs
convert face values with ``GET /forex``. A product's ``skus`` are separate bands of values (a
product without any is skipped, logged). Only rewards whose delivery failed can be cancelled.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar

import httpx

from vendors import webhooks
from vendors._adapter import HttpAdapter
from vendors._http import HttpPolicy, classify_status
from vendors._json import JSON_HEADERS, dumps
from vendors.base import (
    Capabilities,
    CostRule,
    Delivery,
    Denomination,
    OrderRequest,
    OrderResult,
    OrderStatus,
    Product,
    RewardKind,
    ValueRange,
)
from vendors.errors import AmbiguousOutcome, VendorError
from vendors.money import Money, inverse_rate, minor_units
from vendors.tremendous import models
from vendors.tremendous.config import TremendousConfig
from vendors.webhooks import WebhookHint

__all__ = ["TremendousAdapter"]

PAYMENT_CURRENCY = "USD"
_logger = logging.getLogger("rewardgate.vendors.tremendous")
_PENDING_ORDER = {
    "OPEN",
    "CART",
    "PENDING APPROVAL",
    "PENDING INTERNAL PAYMENT APPROVAL",
    "PENDING SETTLEMENT",
}
_DELIVERY = {
    "SUCCEEDED": OrderStatus.FULFILLED,
    "PENDING": OrderStatus.ACCEPTED_PENDING,
    "SCHEDULED": OrderStatus.ACCEPTED_PENDING,
    "FAILED": OrderStatus.FAILED,
}


class TremendousAdapter(HttpAdapter[TremendousConfig]):
    name: ClassVar[str] = "tremendous"
    kind: ClassVar[RewardKind] = RewardKind.GIFT_CARD
    capabilities: ClassVar[Capabilities] = Capabilities(
        dedupes_on_key=True, lookup_by_key=True, cancel=True
    )
    default_policy: ClassVar[HttpPolicy] = HttpPolicy(timeout=30.0, max_rate=9, rate_period=1.0)

    def credentials(self, config: TremendousConfig) -> tuple[httpx.Auth | None, Mapping[str, str]]:
        return None, {
            "Authorization": f"Bearer {config.api_key.get_secret_value()}",
            "Accept": "application/json",
        }

    async def fetch_catalog(self) -> list[Product]:
        catalog = self.parse(
            await self.http.request("GET", "/products", idempotent=True), models.Products
        )
        forex = self.parse(
            await self.http.request(
                "GET", "/forex", idempotent=True, params={"base": PAYMENT_CURRENCY}
            ),
            models.Forex,
        ).forex
        forex[PAYMENT_CURRENCY] = Decimal(1)
        products = []
        for product in catalog.products:
            if not product.skus:
                _logger.warning(
                    "vendor.product_skipped",
                    extra={"vendor": self.name, "product": product.id, "why": "no skus"},
                )
                continue
            for currency in product.currency_codes:
                if currency in forex and forex[currency] > 0:
                    products.append(self._product(product, currency, inverse_rate(forex[currency])))
        return products

    async def place_order(self, request: OrderRequest) -> OrderResult:
        body: dict[str, Any] = {
            "external_id": request.idempotency_key,
            "payment": {"funding_source_id": self.config.funding_source_id},
            "reward": {
                "products": [request.product_id],
                "value": {"denomination": request.amount, "currency_code": request.currency},
                "delivery": {"method": "LINK"},
            },
        }
        if request.recipient is not None:
            body["reward"]["recipient"] = {
                "name": request.recipient.name,
                "email": request.recipient.email,
            }
        response = await self.http.request(
            "POST",
            "/orders",
            idempotent=True,
            creates=True,
            content=dumps(body),
            headers=JSON_HEADERS,
        )
        order = self.parse(response, models.OrderEnvelope, creates=True).order
        return await self._with_link(order, replayed=response.status_code == 201)

    async def lookup_order(
        self, idempotency_key: str, *, since: datetime | None = None
    ) -> OrderResult | None:
        response = await self.http.request(
            "GET", "/orders", idempotent=True, params={"external_id": idempotency_key}
        )
        orders = self.parse(response, models.OrderList).orders
        matching = [order for order in orders if order.external_id == idempotency_key]
        return await self._with_link(matching[0]) if matching else None

    async def get_order(self, vendor_reference: str) -> OrderResult:
        response = await self.http.request("GET", f"/orders/{vendor_reference}", idempotent=True)
        return await self._with_link(self.parse(response, models.OrderEnvelope).order)

    async def _with_link(self, order: models.Order, *, replayed: bool = False) -> OrderResult:
        """The order, a delivered reward with its link: the one Tremendous answered, or a
        generated one."""
        result = self._result(order, replayed=replayed)
        if result.status is not OrderStatus.FULFILLED or result.delivery is not None:
            return result
        if not order.rewards:
            return result
        try:
            response = await self.http.request(
                "POST", f"/rewards/{order.rewards[0].id}/generate_link", idempotent=True
            )
            link = self.parse(response, models.RewardLinkEnvelope).reward.link
        except VendorError as exc:
            # The order stands; only its link is missing: ask again later.
            return dataclasses.replace(
                result,
                status=OrderStatus.UNKNOWN,
                detail=f"delivered; its link could not be fetched: {exc.message}",
            )
        return dataclasses.replace(result, delivery=Delivery(url=link))

    async def cancel_order(self, vendor_reference: str, reason: str) -> OrderResult:
        response = await self.http.request("GET", f"/orders/{vendor_reference}", idempotent=True)
        order = self.parse(response, models.OrderEnvelope).order
        failed = [r for r in order.rewards if r.delivery and r.delivery.status == "FAILED"]
        if not failed:
            raise self.cannot_cancel("Tremendous cancels only rewards whose delivery failed")
        for reward in failed:
            await self.http.request("POST", f"/rewards/{reward.id}/cancel", idempotent=True)
        return await self.get_order(vendor_reference)

    def read_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookHint:
        """Signed with the webhook's private key (``Tremendous-Webhook-Signature:
        sha256=<hex>``); ``{event, uuid, payload{resource{id, type}}}``: an order's id names
        the order, a reward's names none of ours (every Tremendous order in flight is asked)."""
        webhooks.signed_with(
            self.config.webhook_key.get_secret_value().encode(),
            body,
            webhooks.header(headers, "Tremendous-Webhook-Signature"),
        )
        event = webhooks.body_of(body)
        payload = webhooks.member(event, "payload")
        resource = webhooks.member(payload, "resource")
        order = webhooks.text(resource.get("id")) if resource.get("type") == "orders" else None
        return WebhookHint(
            event_id=webhooks.text(event.get("uuid")) or webhooks.digest_id(body),
            references=(order,) if order else (),
        )

    def classify(self, response: httpx.Response, creates: bool) -> VendorError | None:
        if response.is_success:
            return None
        error = self.error_body(response, models.ErrorBody)
        detail = error.errors or error.error
        message = (detail.message if detail else None) or f"HTTP {response.status_code}"
        body = response.text[:2000]
        if response.status_code == 409:
            # An order exists under our key (with other details): never "did not act".
            return AmbiguousOutcome(
                self.name,
                f"external_id reused with a different payload: {message}",
                status_code=409,
                vendor_code="external_id_conflict",
                body=body,
            )
        return classify_status(self.name, response, creates, message=message, body=body)

    def _result(self, order: models.Order, *, replayed: bool = False) -> OrderResult:
        reward = order.rewards[0] if order.rewards else None
        delivery_status = reward.delivery.status if reward and reward.delivery else None
        if order.status == "EXECUTED":
            status = _DELIVERY.get(delivery_status or "", OrderStatus.UNKNOWN)
        elif order.status in _PENDING_ORDER:
            status = OrderStatus.ACCEPTED_PENDING
        elif order.status == "CANCELED":
            status = OrderStatus.CANCELLED
        elif order.status == "FAILED":
            status = OrderStatus.FAILED
        else:
            status = OrderStatus.UNKNOWN
        link = reward.delivery.link if reward and reward.delivery else None
        total = order.payment.total if order.payment else None
        return OrderResult(
            vendor=self.name,
            vendor_reference=order.id,
            idempotency_key=order.external_id,
            status=status,
            raw_status=order.status + (f" / delivery {delivery_status}" if delivery_status else ""),
            charged=Money(total, PAYMENT_CURRENCY) if total is not None else None,
            delivery=Delivery(url=link) if link and status is OrderStatus.FULFILLED else None,
            created_at=order.created_at,
            replayed=replayed,
        )

    def _product(self, product: models.Product, currency: str, usd_per: Decimal) -> Product:
        cost = CostRule(PAYMENT_CURRENCY, usd_per)
        skus = product.skus or []
        fixed = [sku.min for sku in skus if sku.min == sku.max]
        ranges = [sku for sku in skus if sku.min < sku.max]
        return Product(
            vendor=self.name,
            vendor_product_id=product.id,
            kind=RewardKind.CHARITY if product.category == "charity" else RewardKind.GIFT_CARD,
            brand=product.name,
            name=product.name,
            currency=currency,
            countries=tuple(country.abbr for country in product.countries),
            description=product.description,
            image_url=next((i.src for i in product.images if i.type == "card"), None)
            or next((i.src for i in product.images), None),
            denominations=tuple(Denomination(value, cost.cost_of(value)) for value in fixed),
            value_range=(
                ValueRange(
                    min(sku.min for sku in ranges),
                    max(sku.max for sku in ranges),
                    Decimal(1).scaleb(-minor_units(currency)),
                    cost,
                    bands=tuple((sku.min, sku.max) for sku in ranges) if len(ranges) > 1 else (),
                )
                if ranges
                else None
            ),
        )
