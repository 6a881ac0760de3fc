"""Tango Card RaaS v2 adapter.

Idempotency is Tango's own: ``externalRefID`` carries our key, so `place_order` may be repeated.
A repeat returns the original order with HTTP 200 (even if the repeat asked for something
else); while the first request with that key is still being processed Tango answers ``409.002``
(wait ≥ 2 s, then repeat); ``409.024`` says the key already belongs to an order, which is found
with ``GET /orders?externalRefID=`` (which answers ``404.110`` when there is none). A lost answer
to ``POST /orders`` is ambiguous: Tango may still process a request that ended in a 5xx or a
timeout, so only a lookup decides; so is a ``409.002`` that outlasts the retries (the order is
being made).

Tango charges the account's currency (``account_currency``: USD, CAD, EUR, GBP or AUD): the
catalog's cost rule converts face values with ``GET /exchangerates`` (``baseFx`` is units of the
reward currency per unit of the account's) and adds the item's fee. What an order was charged
is its own ``amountCharged``; one that disagrees with that rule is logged.
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
from vendors.errors import (
    AmbiguousOutcome,
    PermanentVendorError,
    VendorError,
)
from vendors.money import Money, inverse_rate, minor_units
from vendors.tango.config import TangoConfig
from vendors.tango.models import (
    Amount,
    Catalog,
    ErrorBody,
    ExchangeRates,
    Item,
    Order,
    OrderList,
)
from vendors.webhooks import WebhookHint

__all__ = ["TangoAdapter"]

IN_PROCESS = "409.002"
ALREADY_EXISTS = "409.024"
NO_ORDERS_FOR_REF = "404.110"
# How far a charge may sit from the catalog's rule before it is logged: rounding of the value
# and of the rate Tango shows.
_CHARGE_TOLERANCE = Decimal("0.005")

_logger = logging.getLogger("rewardgate.vendors.tango")

_STATUSES = {
    "PENDING": OrderStatus.ACCEPTED_PENDING,
    "COMPLETE": OrderStatus.FULFILLED,
    "PARTIAL": OrderStatus.PARTIAL,
    "FAILED": OrderStatus.FAILED,
    "CANCELLED": OrderStatus.CANCELLED,
}


class TangoAdapter(HttpAdapter[TangoConfig]):
    name: ClassVar[str] = "tango"
    kind: ClassVar[RewardKind] = RewardKind.GIFT_CARD
    capabilities: ClassVar[Capabilities] = Capabilities(dedupes_on_key=True, lookup_by_key=True)
    # 1 TPS on all endpoints; one call per 1.05 s keeps clear of the vendor's own window.
    default_policy: ClassVar[HttpPolicy] = HttpPolicy(
        timeout=30.0, max_rate=1, rate_period=1.05, retry_attempts=4, retry_base_wait=1.0
    )

    def __init__(
        self,
        config: TangoConfig,
        *,
        base_url: str,
        transport: httpx.AsyncBaseTransport | None = None,
        policy: HttpPolicy | None = None,
        in_process_wait: float = 2.0,
    ) -> None:
        self.in_process_wait = in_process_wait
        self._account_per: dict[str, Decimal] = {}  # as the last catalog read priced
        super().__init__(config, base_url=base_url, transport=transport, policy=policy)

    def credentials(self, config: TangoConfig) -> tuple[httpx.Auth | None, Mapping[str, str]]:
        auth = httpx.BasicAuth(config.platform_name, config.platform_key.get_secret_value())
        return auth, {"Accept": "application/json"}

    async def fetch_catalog(self) -> list[Product]:
        catalog = self.parse(
            await self.http.request(
                "GET", "/catalogs", idempotent=True, params={"verbose": "true"}
            ),
            Catalog,
        )
        rates = self.parse(
            await self.http.request("GET", "/exchangerates", idempotent=True), ExchangeRates
        )
        account = self.config.account_currency
        account_per = {
            rate.reward_currency: inverse_rate(rate.base_fx)
            for rate in rates.exchange_rates
            if rate.base_currency == account and rate.base_fx > 0
        }
        account_per[account] = Decimal(1)
        self._account_per = account_per
        products = []
        for brand in catalog.brands:
            if brand.status.lower() != "active":
                continue
            image = _largest_image(brand.image_urls)
            for item in brand.items:
                if item.status.lower() != "active" or item.currency_code not in account_per:
                    continue
                product = self._product(
                    item, brand.brand_name, brand.description, image, account_per
                )
                if product is not None:
                    products.append(product)
        return products

    async def place_order(self, request: OrderRequest) -> OrderResult:
        body: dict[str, Any] = {
            "accountIdentifier": self.config.account_identifier,
            "customerIdentifier": self.config.customer_identifier,
            "utid": request.product_id,
            "amount": request.amount,
            "sendEmail": False,
            "externalRefID": request.idempotency_key,
        }
        if request.recipient is not None:
            first, _, last = request.recipient.name.partition(" ")
            body["recipient"] = {
                "email": request.recipient.email,
                "firstName": first,
                "lastName": last or first,
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
        except (PermanentVendorError, AmbiguousOutcome) as exc:
            if exc.vendor_code not in (ALREADY_EXISTS, IN_PROCESS):
                raise
            async with self.order_may_exist("Tango has an order under this externalRefID"):
                found = await self.lookup_order(request.idempotency_key)
            if found is None:
                if isinstance(exc, AmbiguousOutcome):
                    raise  # still being made: not listed yet
                raise AmbiguousOutcome(
                    self.name, "Tango says the externalRefID exists but lists no order for it"
                ) from exc
            return dataclasses.replace(found, replayed=True)
        order = self.parse(response, Order, creates=True)
        return self._result(order, replayed=response.status_code == 200)

    async def lookup_order(
        self, idempotency_key: str, *, since: datetime | None = None
    ) -> OrderResult | None:
        params = {
            "externalRefID": idempotency_key,
            "accountIdentifier": self.config.account_identifier,
            "customerIdentifier": self.config.customer_identifier,
        }
        try:
            response = await self.http.request("GET", "/orders", idempotent=True, params=params)
        except PermanentVendorError as exc:
            if exc.vendor_code == NO_ORDERS_FOR_REF:
                return None
            raise
        listing = self.parse(response, OrderList)
        if not listing.orders:
            return None
        return await self.get_order(listing.orders[0].reference_order_id)

    async def get_order(self, vendor_reference: str) -> OrderResult:
        response = await self.http.request("GET", f"/orders/{vendor_reference}", idempotent=True)
        return self._result(self.parse(response, Order))

    async def cancel_order(self, vendor_reference: str, reason: str) -> OrderResult:
        raise self.cannot_cancel(
            "Tango cancels only unredeemed Choice products (Reward Link) within 5 days; "
            "gift card orders are final"
        )

    def read_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookHint:
        """``AsyncOrderStatus`` events: ``{eventId, eventData{externalRefID,
        referenceOrderId}}``. Tango does not sign them: they are hints only."""
        event = webhooks.body_of(body)
        data = webhooks.member(event, "eventData")
        key, reference = (
            webhooks.text(data.get("externalRefID")),
            webhooks.text(data.get("referenceOrderId")),
        )
        return WebhookHint(
            event_id=webhooks.text(event.get("eventId")) or webhooks.digest_id(body),
            keys=(key,) if key else (),
            references=(reference,) if reference else (),
            signed=False,
        )

    def classify(self, response: httpx.Response, creates: bool) -> VendorError | None:
        if response.is_success:
            return None
        error = self.error_body(response, ErrorBody)
        message = error.message or f"HTTP {response.status_code}"
        details: dict[str, Any] = {
            "status_code": response.status_code,
            "vendor_code": error.i18n_key,
            "body": response.text[:2000],
        }
        if error.i18n_key == IN_PROCESS:
            # The order exists or is being made: never "did not act".
            return AmbiguousOutcome(self.name, message, retry_after=self.in_process_wait, **details)
        if error.i18n_key == ALREADY_EXISTS:
            return PermanentVendorError(self.name, message, **details)
        return classify_status(
            self.name,
            response,
            creates,
            message=message,
            vendor_code=error.i18n_key,
            body=details["body"],
        )

    def _result(self, order: Order, *, replayed: bool = False) -> OrderResult:
        return OrderResult(
            vendor=self.name,
            vendor_reference=order.reference_order_id,
            idempotency_key=order.external_ref_id,
            status=_STATUSES.get(order.status.upper(), OrderStatus.UNKNOWN),
            raw_status=order.status,
            charged=self._charged(order),
            delivery=_delivery(order),
            created_at=order.created_at,
            replayed=replayed,
        )

    def _charged(self, order: Order) -> Money | None:
        """The order's own ``amountCharged`` (value plus fee), which wins over any rule.

        A charge in another currency than the account's, or one that disagrees with the rule
        the catalog priced by (``denomination × account_per``, from ``baseFx``), is logged: a
        rate read the wrong way round or a price change, for ops to see."""
        charged = order.amount_charged
        if charged is None:
            return None
        total = charged.total if charged.total is not None else charged.value + (charged.fee or 0)
        try:
            expected = self._expected_value(order, charged)
        except ArithmeticError:  # a rate of 0 or one too small to invert
            expected = None
        if charged.currency_code != self.config.account_currency or (
            expected is not None
            and abs(charged.value - expected) > max(Decimal("0.01"), expected * _CHARGE_TOLERANCE)
        ):
            _logger.warning(
                "vendor.charge_differs",
                extra={
                    "vendor": self.name,
                    "vendor_reference": order.reference_order_id,
                    "charged": f"{charged.value} {charged.currency_code}",
                    "expected": None if expected is None else f"{expected:.2f}",
                    "account_currency": self.config.account_currency,
                },
            )
        try:
            return Money(total, charged.currency_code.upper())
        except (KeyError, ValueError):
            # The order exists whatever its figure says: unknown, not an error.
            _logger.warning(
                "vendor.charge_unreadable",
                extra={"vendor": self.name, "vendor_reference": order.reference_order_id},
            )
            return None

    def _expected_value(self, order: Order, charged: Amount) -> Decimal | None:
        denomination = order.denomination
        if denomination is None:
            return None
        if denomination.currency_code == charged.currency_code:
            return denomination.value
        rate = self._account_per.get(denomination.currency_code)
        if rate is None and charged.exchange_rate:
            rate = inverse_rate(charged.exchange_rate)  # a catalog this process has not read
        return None if rate is None else denomination.value * rate

    def _product(
        self,
        item: Item,
        brand: str,
        description: str | None,
        image: str | None,
        account_per: dict[str, Decimal],
    ) -> Product | None:
        """The item as a product; None for an item whose values the catalog leaves out."""
        fee_percent = fee_fixed = Decimal(0)
        if item.fee is not None:
            if item.fee.type.upper() == "PERCENTAGE":
                fee_percent = item.fee.value
            else:
                fee_fixed = item.fee.value
        cost = CostRule(
            self.config.account_currency, account_per[item.currency_code], fee_percent, fee_fixed
        )
        denominations: tuple[Denomination, ...] = ()
        value_range = None
        if item.value_type == "FIXED_VALUE":
            if item.face_value is None:
                return None
            denominations = (Denomination(item.face_value, cost.cost_of(item.face_value)),)
        else:
            if item.min_value is None or item.max_value is None:
                return None
            step = (
                Decimal(1)
                if item.is_whole_amount_value_required
                else Decimal(1).scaleb(-minor_units(item.currency_code))
            )
            value_range = ValueRange(item.min_value, item.max_value, step, cost)
        return Product(
            vendor=self.name,
            vendor_product_id=item.utid,
            kind=RewardKind.GIFT_CARD,
            brand=brand,
            name=item.reward_name,
            currency=item.currency_code,
            countries=tuple(item.countries),
            description=description,
            image_url=image,
            denominations=denominations,
            value_range=value_range,
        )


def _delivery(order: Order) -> Delivery | None:
    if order.reward is None or not order.reward.credential_list:
        return None
    found: dict[str, str] = {}
    for credential in order.reward.credential_list:
        kind = (credential.credential_type or credential.label).lower().replace(" ", "")
        if "pin" in kind:
            found.setdefault("pin", credential.value)
        elif "url" in kind or "link" in kind:
            found.setdefault("url", credential.value)
        else:
            found.setdefault("code", credential.value)
    return Delivery(**found)


def _largest_image(urls: dict[str, str]) -> str | None:
    def width(key: str) -> int:
        digits = key.split("w", 1)[0]
        return int(digits) if digits.isdigit() else 0

    return urls[max(urls, key=width)] if urls else None
