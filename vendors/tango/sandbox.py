"""Tango RaaS v2 sandbox: the documented paths under the API root (``/raas/v2``).

Reproduces: Basic auth; ``GET /catalogs`` (verbose items with fixed or variable values, country
restrictions, fees), ``GET /exchangerates``; ``POST /orders`` with ``externalRefID`` — 201 for a
new order, 200 and the *original* order for a repeat (whatever the repeat asks for), ``409.002``
while the same key is still in process, ``409.024`` for a key older than the replay window;
amount rules ``422.025/026/027``, inactive items ``422.030``, insufficient funds ``402.001``;
``GET /orders/{referenceOrderID}``, ``GET /orders?externalRefID=``; 1 TPS (``429.008``), 5xx as
``503.501``; orders ``PENDING`` until the completion delay passes, then ``COMPLETE`` with
credentials, or ``FAILED`` (account refunded).
"""

from __future__ import annotations

import asyncio
import re
import uuid
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from http import HTTPStatus
from typing import Any, ClassVar

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from vendors import _seed
from vendors._json import DecimalJSONResponse, loads
from vendors._sandbox import Lifecycle, VendorSandbox, as_decimal, basic_credentials
from vendors.money import quantize_up
from vendors.tango.config import ACCOUNT_CURRENCIES, SANDBOX_CREDENTIALS

__all__ = ["TangoSandbox"]

_FEES = (Decimal("0"), Decimal("1.5"), Decimal("2.5"), Decimal("3"))
_REF = re.compile(r"[A-Za-z0-9]{1,100}")
_REQUIRED = ("accountIdentifier", "customerIdentifier", "utid", "amount", "sendEmail")


@dataclass
class _Order:
    reference: str
    external_ref: str | None
    account: str
    customer: str
    item: dict[str, Any]
    amount: Decimal
    value_usd: Decimal
    fee: Decimal
    recipient: dict[str, Any] | None
    lifecycle: Lifecycle
    code: str
    pin: str
    refunded: bool = False

    @property
    def total(self) -> Decimal:
        return self.value_usd + self.fee


class TangoSandbox(VendorSandbox):
    name: ClassVar[str] = "tango"
    rate_limit: ClassVar[tuple[int, float] | None] = (1, 1.0)

    def __init__(
        self,
        *,
        seed: int = 0,
        rate_limit: tuple[int, float] | bool | None = True,
        credentials: tuple[str, str] = SANDBOX_CREDENTIALS,
        account_balance: Decimal = Decimal("100000.00"),
    ) -> None:
        self.credentials = credentials
        self.opening_balance = account_balance
        # Repeats of a key within this window replay the order; later ones get 409.024.
        self.replay_window = timedelta(days=90)
        super().__init__(seed=seed, rate_limit=rate_limit)

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/catalogs", self.endpoint(self._catalogs), methods=["GET"]),
            Route("/exchangerates", self.endpoint(self._exchange_rates), methods=["GET"]),
            Route("/orders", self.endpoint(self._create_order), methods=["POST"]),
            Route("/orders", self.endpoint(self._list_orders), methods=["GET"]),
            Route("/orders/{reference}", self.endpoint(self._get_order), methods=["GET"]),
        ]

    def reset_state(self) -> None:
        self.brands = _catalog()
        self.items = {item["utid"]: item for brand in self.brands for item in brand["items"]}
        self.orders: dict[str, _Order] = {}
        self.by_ref: dict[str, str] = {}
        self.in_process: set[str | None] = set()
        self.balance = self.opening_balance

    def product_ids(self) -> list[str]:
        return list(self.items)

    def authorized(self, request: Request) -> bool:
        return basic_credentials(request) == self.credentials

    def error(
        self, status: int, code: str, message: str, errors: list[dict[str, Any]] | None = None
    ) -> Response:
        return DecimalJSONResponse(
            {
                "timestamp": self.now().isoformat(),
                "requestId": str(uuid.UUID(int=self.random.getrandbits(128))),
                "httpCode": status,
                "httpPhrase": HTTPStatus(status).phrase,
                "message": message,
                "i18nKey": code,
                "i18nTokenReplacements": [],
                "errors": errors or [],
            },
            status_code=status,
        )

    def unauthorized(self) -> Response:
        return self.error(401, "401.001", "Full authentication is required")

    def rate_limited(self, retry_after: float) -> Response:
        response = self.error(429, "429.008", "TPS threshold exceeded")
        response.headers["Retry-After"] = str(max(1, round(retry_after + 0.499)))
        return response

    def server_error(self) -> Response:
        return self.error(503, "503.501", "Timeout while processing the request; retry later")

    def orders_summary(self) -> list[dict[str, Any]]:
        return [
            {"referenceOrderID": o.reference, "externalRefID": o.external_ref, "status": s}
            for o in self.orders.values()
            for s in [self._status(o)]
        ]

    async def _catalogs(self, request: Request) -> Response:
        brands = []
        for brand in self.brands:
            items = [item for item in brand["items"] if self.visible(item["utid"])]
            if items:
                brands.append({**brand, "items": items})
        return DecimalJSONResponse({"catalogName": "rewardgate sandbox catalog", "brands": brands})

    async def _exchange_rates(self, request: Request) -> Response:
        return DecimalJSONResponse(
            {
                "disclaimer": "Sandbox reference rates; not for settlement.",
                # One table per currency an account can be funded in, as Tango lists them.
                "exchangeRates": [
                    {
                        "lastModifiedDate": "2026-11-20T16:00:00Z",
                        "baseCurrency": base,
                        "rewardCurrency": currency,
                        "baseFx": (rate / _seed.USD_RATES[base]).quantize(Decimal("0.000001")),
                    }
                    for base in ACCOUNT_CURRENCIES
                    if base in _seed.USD_RATES
                    for currency, rate in _seed.USD_RATES.items()
                ],
            }
        )

    async def _create_order(self, request: Request) -> Response:
        try:
            body = loads(await request.body())
        except ValueError:
            return self.error(400, "400.001", "Malformed JSON request body")
        if not isinstance(body, dict):
            return self.error(400, "400.001", "Request body must be an object")
        missing = [field for field in _REQUIRED if body.get(field) is None]
        if missing:
            return self.error(
                400,
                "400.001",
                "Validation failed",
                [{"path": f, "i18nKey": "NotNull", "message": "may not be null"} for f in missing],
            )
        ref = body.get("externalRefID")
        if ref is not None and (not isinstance(ref, str) or not _REF.fullmatch(ref)):
            return self.error(
                400,
                "400.001",
                "Validation failed",
                [{"path": "externalRefID", "message": "must be 1-100 letters and digits"}],
            )
        if ref is not None:
            if ref in self.in_process:
                return self.error(409, "409.002", "An order with this externalRefID is in process")
            if ref in self.by_ref:
                existing = self.orders[self.by_ref[ref]]
                if self.now() - existing.lifecycle.created_at > self.replay_window:
                    return self.error(409, "409.024", "An order with this externalRefID exists")
                return DecimalJSONResponse(self._view(existing), status_code=200)
        item = self.items.get(str(body["utid"]))
        if item is None:
            return self.error(
                400, "400.001", "Validation failed", [{"path": "utid", "message": "invalid utid"}]
            )
        if not self.visible(item["utid"]) or item["status"] != "active":
            return self.error(422, "422.030", "The item is not available for ordering")
        amount = as_decimal(body["amount"])
        if amount is None:
            return self.error(422, "422.025", "amount must be a number")
        if (refusal := _amount_refusal(item, amount)) is not None:
            return self.error(422, *refusal)
        value_usd = quantize_up(amount / _seed.USD_RATES[item["currencyCode"]], "USD")
        fee = quantize_up(value_usd * item["fee"]["value"] / 100, "USD")
        if value_usd + fee > self.balance:
            return self.error(402, "402.001", "Insufficient funds in the account")
        if ref is not None:
            self.in_process.add(ref)
        try:
            await asyncio.sleep(self.faults.processing_ms / 1000)
            order = self._store(body, item, amount, value_usd, fee)
        finally:
            self.in_process.discard(ref)
        if (dropped := await self.drop_response_after_commit()) is not None:
            return dropped
        return DecimalJSONResponse(self._view(order), status_code=201)

    async def _list_orders(self, request: Request) -> Response:
        query = request.query_params
        found = [
            order
            for order in self.orders.values()
            if query.get("externalRefID") in (None, order.external_ref)
            and query.get("accountIdentifier") in (None, order.account)
            and query.get("customerIdentifier") in (None, order.customer)
        ]
        if query.get("externalRefID") is not None and not found:
            return self.error(404, "404.110", "No Orders found for External Ref ID")
        page = int(query.get("page", 0))
        size = min(int(query.get("elementsPerBlock", 10)), 100)
        block = found[page * size : (page + 1) * size]
        return DecimalJSONResponse(
            {
                "page": {
                    "number": page,
                    "elementsPerBlock": size,
                    "resultCount": len(block),
                    "totalCount": len(found),
                },
                "orders": [self._view(order) for order in block],
            }
        )

    async def _get_order(self, request: Request) -> Response:
        order = self.orders.get(request.path_params["reference"])
        if order is None:
            return self.error(404, "404.002", "Order not found")
        return DecimalJSONResponse(self._view(order))

    def _store(
        self,
        body: dict[str, Any],
        item: dict[str, Any],
        amount: Decimal,
        value_usd: Decimal,
        fee: Decimal,
    ) -> _Order:
        number = len(self.orders) + 1
        order = _Order(
            reference=f"RA{self.now():%y%m%d}-{number:05d}-{self.random.randrange(10, 99)}",
            external_ref=body.get("externalRefID"),
            account=str(body["accountIdentifier"]),
            customer=str(body["customerIdentifier"]),
            item=item,
            amount=amount,
            value_usd=value_usd,
            fee=fee,
            recipient=body.get("recipient"),
            lifecycle=self.new_lifecycle(),
            code="".join(str(self.random.randrange(10)) for _ in range(16)),
            pin=f"{self.random.randrange(10000):04d}",
        )
        self.balance -= order.total
        self.orders[order.reference] = order
        if order.external_ref is not None:
            self.by_ref[order.external_ref] = order.reference
        return order

    def _status(self, order: _Order) -> str:
        state = order.lifecycle.state(self.now())
        if state == "failed" and not order.refunded:
            order.refunded = True
            self.balance += order.total
        return {"pending": "PENDING", "complete": "COMPLETE", "failed": "FAILED"}[state]

    def _view(self, order: _Order) -> dict[str, Any]:
        status = self._status(order)
        rate = _seed.USD_RATES[order.item["currencyCode"]]
        view: dict[str, Any] = {
            "referenceOrderID": order.reference,
            "externalRefID": order.external_ref,
            "customerIdentifier": order.customer,
            "accountIdentifier": order.account,
            "accountNumber": "A32-SANDBOX",
            "amountCharged": {
                "value": order.value_usd,
                "currencyCode": "USD",
                "exchangeRate": rate,
                "fee": order.fee,
                "total": order.total,
            },
            "denomination": {
                "value": order.amount,
                "currencyCode": order.item["currencyCode"],
                "exchangeRate": rate,
            },
            "utid": order.item["utid"],
            "rewardName": order.item["rewardName"],
            "sender": {},
            "recipient": order.recipient or {},
            "sendEmail": False,
            "status": status,
            "createdAt": order.lifecycle.created_at.isoformat(),
        }
        if status == "COMPLETE":
            view["reward"] = {
                "credentials": {"Card Number": order.code, "PIN": order.pin},
                "credentialList": [
                    {
                        "label": "Card Number",
                        "value": order.code,
                        "type": "text",
                        "credentialType": "cardNumber",
                    },
                    {"label": "PIN", "value": order.pin, "type": "text", "credentialType": "pin"},
                ],
                "redemptionInstructions": order.item["redemptionInstructions"],
            }
        return view


def _amount_refusal(item: dict[str, Any], amount: Decimal) -> tuple[str, str] | None:
    if item["valueType"] == "FIXED_VALUE":
        if amount != item["faceValue"]:
            return "422.027", f"amount must be {item['faceValue']} for this item"
        return None
    if not item["minValue"] <= amount <= item["maxValue"]:
        return "422.025", f"amount must be between {item['minValue']} and {item['maxValue']}"
    if item["isWholeAmountValueRequired"] and amount != amount.to_integral_value():
        return "422.026", "amount must be a whole number for this item"
    return None


def _catalog() -> list[dict[str, Any]]:
    brands = []
    for index, brand in enumerate(_seed.GIFT_CARD_BRANDS, start=1):
        slug = _seed.slug(brand.name)
        fee = _FEES[index % len(_FEES)]
        items: list[dict[str, Any]] = []
        for region in brand.regions:
            currency = _seed.REGION_CURRENCY[region]
            base: dict[str, Any] = {
                "currencyCode": currency,
                "status": "active",
                "countries": [region],
                "credentialTypes": ["cardNumber", "pin"],
                "rewardType": "gift card",
                "exchangeRateRule": "1",
                "fee": {"type": "PERCENTAGE", "value": fee},
                "redemptionInstructions": f"Redeem online at {slug}.example or in store.",
                "isWholeAmountValueRequired": currency in ("JPY", "INR"),
            }
            if brand.variable:
                low, high = _seed.RANGES[currency]
                items.append(
                    {
                        **base,
                        "utid": f"U{index:03d}{len(items):03d}",
                        "rewardName": f"{brand.name} {region} Gift Card",
                        "valueType": "VARIABLE_VALUE",
                        "minValue": Decimal(low),
                        "maxValue": Decimal(high),
                    }
                )
                continue
            for value in _seed.FIXED_VALUES[currency]:
                items.append(
                    {
                        **base,
                        "utid": f"U{index:03d}{len(items):03d}",
                        "rewardName": f"{brand.name} {region} {value} {currency}",
                        "valueType": "FIXED_VALUE",
                        "faceValue": Decimal(value),
                    }
                )
        brands.append(
            {
                "brandKey": f"B{index:06d}",
                "brandName": brand.name,
                "disclaimer": f"{brand.name} is not a sponsor of this promotion.",
                "description": brand.description,
                "shortDescription": brand.description,
                "terms": "Sandbox terms.",
                "createdDate": "2024-01-01T00:00:00Z",
                "lastUpdateDate": "2026-11-01T00:00:00Z",
                "imageUrls": {
                    f"{w}w-326ppi": f"https://img.sandbox.invalid/tango/{slug}-{w}w.png"
                    for w in (80, 200, 300)
                },
                "status": "active",
                "items": items,
            }
        )
    return brands
