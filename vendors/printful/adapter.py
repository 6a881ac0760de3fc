"""Printful adapter: merchandise, two-phase (draft, then confirm).

`prepare` creates the draft under our ``external_id`` (it first looks the key up, and a refusal
because the ``external_id`` exists is answered by the same lookup, so a repeat never makes a
second order); `commit` confirms it (a repeat finds the order already confirmed and returns it);
`place_order` does both. A draft or pending order can be cancelled (``DELETE``), which is the
compensation for merchandise.

Catalog: the store's sync products (what the program sells, with retail prices), priced by the
catalog variant's cost; shipping is charged on the order and shows in ``charged``.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import partial
from typing import Any, ClassVar

import httpx

from vendors import webhooks
from vendors._adapter import HttpAdapter
from vendors._http import HttpPolicy, classify_status
from vendors._json import JSON_HEADERS, dumps
from vendors.base import (
    Capabilities,
    Delivery,
    Denomination,
    Hold,
    OrderRequest,
    OrderResult,
    OrderStatus,
    Product,
    RewardKind,
)
from vendors.errors import (
    AmbiguousOutcome,
    InvalidOrderRequest,
    PermanentVendorError,
    VendorError,
)
from vendors.money import Money
from vendors.printful import models
from vendors.printful.config import PrintfulConfig
from vendors.webhooks import WebhookHint

__all__ = ["REGION_COUNTRIES", "PrintfulAdapter"]

EXTERNAL_ID_EXISTS = "external_id_exists"
NOT_FOUND = "not_found"
# Printful's availability regions, as the countries they ship to from there.
REGION_COUNTRIES = {
    "US": ("US",),
    "CA": ("CA",),
    "EU": ("DE", "FR", "NL"),
    "UK": ("GB",),
    "AU": ("AU",),
    "JP": ("JP",),
}
# A draft is not an order: nothing is made until it is confirmed, so a lookup that finds one
# says UNKNOWN (the raw status says draft): confirm it or let it lapse, never wait for it.
_STATUSES = {
    "draft": OrderStatus.UNKNOWN,
    "pending": OrderStatus.ACCEPTED_PENDING,
    "onhold": OrderStatus.ACCEPTED_PENDING,
    "inprocess": OrderStatus.ACCEPTED_PENDING,
    "fulfilled": OrderStatus.FULFILLED,
    "partial": OrderStatus.PARTIAL,
    "failed": OrderStatus.FAILED,
    "canceled": OrderStatus.CANCELLED,
}


class PrintfulAdapter(HttpAdapter[PrintfulConfig]):
    name: ClassVar[str] = "printful"
    kind: ClassVar[RewardKind] = RewardKind.MERCHANDISE
    capabilities: ClassVar[Capabilities] = Capabilities(
        dedupes_on_key=True, lookup_by_key=True, cancel=True, two_phase=True
    )
    default_policy: ClassVar[HttpPolicy] = HttpPolicy(timeout=30.0, max_rate=110, rate_period=60.0)

    def credentials(self, config: PrintfulConfig) -> tuple[httpx.Auth | None, Mapping[str, str]]:
        headers = {"Authorization": f"Bearer {config.token.get_secret_value()}"}
        if config.store_id is not None:
            headers["X-PF-Store-Id"] = config.store_id
        return None, headers

    async def fetch_catalog(self) -> list[Product]:
        summaries: list[models.StoreProductSummary] = []
        offset = 0
        while True:
            page = self.parse(
                await self.http.request(
                    "GET",
                    "/store/products",
                    idempotent=True,
                    params={"offset": offset, "limit": 100},
                ),
                models.StoreProductsEnvelope,
            )
            summaries.extend(page.result)
            offset += len(page.result)
            if not page.result or page.paging is None or offset >= page.paging.total:
                break
        stores = await self.fetch_each(
            [partial(self._store_product, summary.id) for summary in summaries]
        )
        eligible = [
            (store, variant, variant.product.product_id)
            for store in stores
            for variant in store.sync_variants
            if variant.product is not None and variant.availability_status in (None, "active")
        ]
        product_ids = list(dict.fromkeys(product_id for _, _, product_id in eligible))
        details = await self.fetch_each(
            [partial(self._catalog_product, product_id) for product_id in product_ids]
        )
        catalog = dict(zip(product_ids, details, strict=True))
        products = []
        for store, variant, product_id in eligible:
            product = self._product(store, variant, catalog[product_id])
            if product is not None:
                products.append(product)
        return products

    async def _store_product(self, product_id: int) -> models.StoreProduct:
        response = await self.http.request("GET", f"/store/products/{product_id}", idempotent=True)
        return self.parse(response, models.StoreProductEnvelope).result

    async def _catalog_product(self, product_id: int) -> models.CatalogProduct:
        response = await self.http.request("GET", f"/products/{product_id}", idempotent=True)
        return self.parse(response, models.CatalogProductEnvelope).result

    async def place_order(self, request: OrderRequest) -> OrderResult:
        return await self.commit(request, await self.prepare(request))

    async def prepare(self, request: OrderRequest) -> Hold:
        """Create the draft (or find the one made under this key before)."""
        address = request.shipping_address
        if address is None:
            raise InvalidOrderRequest(self.name, "merchandise needs a shipping address")
        existing = await self._order_by_key(request.idempotency_key)
        reused = existing is not None
        if existing is None:
            body = {
                "external_id": request.idempotency_key,
                "shipping": "STANDARD",
                "recipient": {
                    "name": address.name,
                    "address1": address.line1,
                    "address2": address.line2,
                    "city": address.city,
                    "state_code": address.region,
                    "country_code": address.country,
                    "zip": address.postal_code,
                    "email": address.email or (request.recipient and request.recipient.email),
                },
                "items": [{"sync_variant_id": _variant_id(request), "quantity": 1}],
            }
            try:
                response = await self.http.request(
                    "POST",
                    "/orders",
                    idempotent=True,
                    creates=True,
                    content=dumps(body),
                    headers=JSON_HEADERS,
                )
                existing = self.parse(response, models.OrderEnvelope, creates=True).result
            except PermanentVendorError as exc:
                if exc.vendor_code != EXTERNAL_ID_EXISTS:
                    raise
                async with self.order_may_exist("Printful has an order under this external_id"):
                    existing = await self._order_by_key(request.idempotency_key)
                if existing is None:
                    raise AmbiguousOutcome(
                        self.name, "Printful says the external_id is taken but finds no order"
                    ) from exc
                reused = True
        costs = existing.costs
        return Hold(
            vendor=self.name,
            reference=str(existing.id),
            raw_status=existing.status,
            price=Money(costs.total, costs.currency) if costs else None,
            reused=reused,
        )

    async def commit(self, request: OrderRequest, hold: Hold) -> OrderResult:
        """Confirm the draft; a draft confirmed before is returned as it stands."""
        if hold.raw_status != "draft":
            return dataclasses.replace(await self.get_order(hold.reference), replayed=True)
        try:
            response = await self.http.request(
                "POST", f"/orders/{hold.reference}/confirm", idempotent=True, creates=True
            )
        except PermanentVendorError:
            async with self.order_may_exist("the confirmation was refused; its state is unknown"):
                current = await self.get_order(hold.reference)
            if current.raw_status == "draft":
                raise
            return dataclasses.replace(current, replayed=True)
        confirmed = self._result(self.parse(response, models.OrderEnvelope, creates=True).result)
        return dataclasses.replace(confirmed, replayed=hold.reused)

    async def lookup_order(
        self, idempotency_key: str, *, since: datetime | None = None
    ) -> OrderResult | None:
        order = await self._order_by_key(idempotency_key)
        return None if order is None else self._result(order)

    async def get_order(self, vendor_reference: str) -> OrderResult:
        response = await self.http.request("GET", f"/orders/{vendor_reference}", idempotent=True)
        return self._result(self.parse(response, models.OrderEnvelope).result)

    async def cancel_order(self, vendor_reference: str, reason: str) -> OrderResult:
        try:
            response = await self.http.request(
                "DELETE", f"/orders/{vendor_reference}", idempotent=True
            )
        except PermanentVendorError as exc:
            raise self.cannot_cancel(
                f"Printful cancels draft and pending orders only ({exc.message})"
            ) from exc
        return self._result(self.parse(response, models.OrderEnvelope).result)

    async def _order_by_key(self, idempotency_key: str) -> models.Order | None:
        try:
            response = await self.http.request(
                "GET", f"/orders/@{idempotency_key}", idempotent=True
            )
        except PermanentVendorError as exc:
            if exc.vendor_code == NOT_FOUND:
                return None
            raise
        return self.parse(response, models.OrderEnvelope).result

    def read_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookHint:
        """Signed with the webhook's secret key, hex-decoded (``x-pf-webhook-signature``, hex
        HMAC-SHA256 of the body); ``{type, data{order{id, external_id}}}``. No event id: a
        redelivery has the same body."""
        try:
            key = bytes.fromhex(self.config.webhook_secret.get_secret_value())
        except ValueError:
            raise webhooks.WebhookRefused(
                "the configured Printful webhook secret is not hex"
            ) from None
        webhooks.signed_with(key, body, webhooks.header(headers, "x-pf-webhook-signature"))
        event = webhooks.body_of(body)
        data = webhooks.member(event, "data")
        order = webhooks.member(data, "order")
        key_text, reference = (
            webhooks.text(order.get("external_id")),
            webhooks.text(order.get("id")),
        )
        return WebhookHint(
            event_id=webhooks.digest_id(body),
            keys=(key_text,) if key_text else (),
            references=(reference,) if reference else (),
        )

    def classify(self, response: httpx.Response, creates: bool) -> VendorError | None:
        if response.is_success:
            return None
        error = self.error_body(response, models.ErrorBody)
        message = (error.error.message if error.error else None) or error.result or "error"
        body = response.text[:2000]
        code: str | None = error.error.reason if error.error else None
        if response.status_code == 404:
            code = NOT_FOUND
        elif response.status_code == 400 and "external id" in message.lower():
            code = EXTERNAL_ID_EXISTS
        return classify_status(
            self.name, response, creates, message=message, vendor_code=code, body=body
        )

    def _result(self, order: models.Order) -> OrderResult:
        shipment = order.shipments[0] if order.shipments else None
        return OrderResult(
            vendor=self.name,
            vendor_reference=str(order.id),
            idempotency_key=order.external_id,
            status=_STATUSES.get(order.status, OrderStatus.UNKNOWN),
            raw_status=order.status,
            charged=Money(order.costs.total, order.costs.currency) if order.costs else None,
            delivery=(
                Delivery(code=shipment.tracking_number, url=shipment.tracking_url)
                if shipment
                else None
            ),
            created_at=datetime.fromtimestamp(order.created, UTC) if order.created else None,
            draft=order.status == "draft",
        )

    def _product(
        self,
        store: models.StoreProduct,
        variant: models.SyncVariant,
        catalog: models.CatalogProduct,
    ) -> Product | None:
        source = next((v for v in catalog.variants if v.id == variant.variant_id), None)
        if source is None or not source.in_stock:
            return None
        countries: list[str] = []
        for region, availability in source.availability_regions.items():
            if availability == "in_stock":
                countries.extend(REGION_COUNTRIES.get(region, ()))
        cost_currency = catalog.product.currency or variant.currency
        info: dict[str, Any] = {
            "description": catalog.product.description,
            "image_url": (variant.product.image if variant.product else None)
            or store.sync_product.thumbnail_url,
        }
        return Product(
            vendor=self.name,
            vendor_product_id=str(variant.id),
            kind=RewardKind.MERCHANDISE,
            brand=catalog.product.brand or "Printful",
            name=variant.name,
            currency=variant.currency,
            countries=tuple(sorted(set(countries))),
            denominations=(Denomination(variant.retail_price, Money(source.price, cost_currency)),),
            **info,
        )


def _variant_id(request: OrderRequest) -> int:
    if not re.fullmatch(r"[0-9]{1,18}", request.product_id):
        raise InvalidOrderRequest(
            "printful", f"{request.product_id!r} is not a Printful sync variant id (digits)"
        )
    return int(request.product_id)
