"""Change adapter: donations to US nonprofits, in USD.

**Retries are made safe here, because Change does not make them safe.** Change documents no
idempotency: a second ``POST /api/v1/donations`` with the same ``external_id`` creates a second
donation. So `place_order`

1. first looks the key up (``GET /api/v1/donations?external_id=``) and returns the donation it
   finds, without creating anything;
2. otherwise sends the create **once**, never retried; a lost answer (timeout, 5xx, unreadable
   body) raises `AmbiguousOutcome`, and the caller's next `place_order` or `lookup_order` with
   the same key finds the donation if it was made.

Change documents no ``external_id`` filter either: a lookup reads the donations page by page
(newest first) until it finds the key, runs out of pages, reaches ``lookup_pages`` or passes
donations older than ``lookup_window_days``.

Two concurrent calls with one key could both pass step 1; the saga never runs one redemption
twice at once (it holds a lease), which closes that window.

The catalog is bounded: the configured ``nonprofit_ids``, or the first ``catalog_pages`` of the
network's listing (in ``nonprofit_categories`` when set), never the whole network.

A donation ``pledged`` to the nonprofit is done from our side (Change invoices monthly and pays
out later), and so is a created one whose answer has no ``status``; ``canceled`` and
``blocked`` are the failures.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import ClassVar

import httpx

from vendors._adapter import HttpAdapter
from vendors._http import HttpPolicy, classify_status
from vendors._json import JSON_HEADERS, dumps
from vendors.base import (
    Capabilities,
    OrderRequest,
    OrderResult,
    OrderStatus,
    Product,
    RewardKind,
    ValueRange,
)
from vendors.change import models
from vendors.change.config import ChangeConfig
from vendors.errors import InvalidOrderRequest, TransientVendorError, VendorError
from vendors.money import Money

__all__ = ["ChangeAdapter"]

CURRENCY = "USD"
MIN_DONATION = Decimal("1.00")
MAX_DONATION = Decimal("10000.00")
_SETTLED = {
    "pledged",
    "invoice_sent",
    "invoice_pending",
    "payout_scheduled",
    "sent_via_ach",
    "sent_via_check",
    "check_cashed",
    "notified",
}
_FAILED = {"canceled": OrderStatus.CANCELLED, "blocked": OrderStatus.FAILED}
# Our clock and Change's may differ: a scan goes a little further back than it must.
_CLOCK_SKEW = timedelta(minutes=5)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _aware(moment: datetime) -> datetime:
    """Change documents no offset for its times: one without is UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class ChangeAdapter(HttpAdapter[ChangeConfig]):
    name: ClassVar[str] = "change"
    kind: ClassVar[RewardKind] = RewardKind.CHARITY
    capabilities: ClassVar[Capabilities] = Capabilities(dedupes_on_key=False, lookup_by_key=True)
    default_policy: ClassVar[HttpPolicy] = HttpPolicy(timeout=15.0, max_rate=5, rate_period=1.0)

    def credentials(self, config: ChangeConfig) -> tuple[httpx.Auth | None, Mapping[str, str]]:
        return httpx.BasicAuth(config.public_key, config.secret_key.get_secret_value()), {}

    async def fetch_catalog(self) -> list[Product]:
        if self.config.nonprofit_ids:
            return await self.fetch_each(
                [functools.partial(self._nonprofit, id) for id in self.config.nonprofit_ids]
            )
        wanted = set(self.config.nonprofit_categories)
        return [
            product
            for product, category in await self._listing(None, self.config.catalog_pages)
            if not wanted or category in wanted
        ]

    async def search_nonprofits(self, name: str | None = None) -> list[Product]:
        """Nonprofits of the Change network (whose name contains ``name``), as products."""
        return [product for product, _ in await self._listing(name, self.config.catalog_pages)]

    async def _nonprofit(self, nonprofit_id: str) -> Product:
        response = await self.http.request("GET", f"/nonprofits/{nonprofit_id}", idempotent=True)
        return self._product(self.parse(response, models.Nonprofit))

    async def _listing(self, name: str | None, pages: int) -> list[tuple[Product, str | None]]:
        products: list[tuple[Product, str | None]] = []
        for page in range(1, pages + 1):
            params: dict[str, str | int] = {"page": page}
            if name:
                params["name"] = name
            listing = self.parse(
                await self.http.request("GET", "/nonprofits", idempotent=True, params=params),
                models.NonprofitList,
            )
            if not listing.nonprofits:
                break
            products.extend((self._product(n), n.category) for n in listing.nonprofits)
        return products

    async def place_order(self, request: OrderRequest) -> OrderResult:
        if request.currency != CURRENCY:
            raise InvalidOrderRequest(self.name, f"Change takes USD only, not {request.currency}")
        cents = request.amount * 100
        if cents != cents.to_integral_value():
            raise InvalidOrderRequest(
                self.name, f"{request.amount} USD is not a whole number of cents"
            )
        existing = await self.lookup_order(request.idempotency_key, since=request.placed_since)
        if existing is not None:
            return dataclasses.replace(existing, replayed=True)
        body = {
            "amount": int(cents),
            "nonprofit_id": request.product_id,
            "funds_collected": True,
            "external_id": request.idempotency_key,
            "metadata": {"source": "rewardgate"},
        }
        response = await self.http.request(
            "POST",
            "/donations",
            idempotent=False,
            creates=True,
            content=dumps(body),
            headers=JSON_HEADERS,
        )
        return self._result(self.parse(response, models.Donation, creates=True))

    async def lookup_order(
        self, idempotency_key: str, *, since: datetime | None = None
    ) -> OrderResult | None:
        """Pages of donations, newest first, until the key, the end, or donations older than
        ``since`` (or the lookup window): only those say "none". Reaching ``lookup_pages``
        first says nothing, and raises (a donation may sit further back)."""
        now = _utcnow()
        # A `since` cannot be later than now (it would end the scan before the donation).
        horizon = (
            min(_aware(since), now) - _CLOCK_SKEW
            if since
            else now - timedelta(days=self.config.lookup_window_days)
        )
        for page in range(1, self.config.lookup_pages + 1):
            response = await self.http.request(
                "GET", "/donations", idempotent=True, params={"page": page}
            )
            donations = self.parse(response, models.DonationList).donations
            if not donations:
                return None
            for donation in donations:
                if donation.external_id == idempotency_key:
                    return self._result(donation)
            dates = [_aware(d.created_at) for d in donations if d.created_at is not None]
            if dates and min(dates) < horizon:
                return None
        raise TransientVendorError(
            self.name,
            f"lookup inconclusive: {self.config.lookup_pages} pages of donations read without "
            f"reaching {horizon.isoformat()} (raise lookup_pages)",
        )

    async def get_order(self, vendor_reference: str) -> OrderResult:
        response = await self.http.request("GET", f"/donations/{vendor_reference}", idempotent=True)
        return self._result(self.parse(response, models.Donation))

    async def cancel_order(self, vendor_reference: str, reason: str) -> OrderResult:
        raise self.cannot_cancel("Change offers no cancellation; a donation shows `canceled` only")

    def classify(self, response: httpx.Response, creates: bool) -> VendorError | None:
        if response.is_success:
            return None
        error = self.error_body(response, models.ErrorBody)
        return classify_status(
            self.name,
            response,
            creates,
            message=error.error or error.message or f"HTTP {response.status_code}",
            body=response.text[:2000],
        )

    def _result(self, donation: models.Donation) -> OrderResult:
        if donation.status is None or donation.status in _SETTLED:
            status = OrderStatus.FULFILLED
        else:
            status = _FAILED.get(donation.status, OrderStatus.UNKNOWN)
        return OrderResult(
            vendor=self.name,
            vendor_reference=donation.id,
            idempotency_key=donation.external_id,
            status=status,
            raw_status=donation.status or "created",
            charged=Money(Decimal(donation.amount) / 100, donation.currency),
            created_at=donation.created_at,
        )

    def _product(self, nonprofit: models.Nonprofit) -> Product:
        return Product(
            vendor=self.name,
            vendor_product_id=nonprofit.id,
            kind=RewardKind.CHARITY,
            brand=nonprofit.name,
            name=f"Donation to {nonprofit.name}",
            currency=CURRENCY,
            countries=("US",),
            description=nonprofit.mission,
            image_url=nonprofit.icon_url,
            value_range=ValueRange(MIN_DONATION, MAX_DONATION, Decimal("0.01")),
        )
