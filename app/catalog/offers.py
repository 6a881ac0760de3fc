"""Rewards as priced options, read from the vendors' live catalogs.

A reward here is one vendor product (``<vendor>:<product id>``), priced from what the vendor
charges for the chosen face value. Catalogs are fetched through the adapters and kept in memory
for ``ttl`` seconds per vendor. The catalog issue replaces this with the stored, aggregated
snapshot (several offers per reward, best-offer routing); quotes only depend on `PricedOption`.
"""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal, InvalidOperation

from app.pricing.quotes import PricedOption
from app.vendor_pool import VendorPool
from vendors import Money, Product, VendorError
from vendors.money import fits_minor_units, minor_units

__all__ = ["LiveOffers", "OfferError", "reward_ref"]


class OfferError(Exception):
    """The reward or option cannot be priced; ``code`` is the user error to return."""

    def __init__(self, code: str, message: str, field: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


def reward_ref(product: Product) -> str:
    return f"{product.vendor}:{product.vendor_product_id}"


class LiveOffers:
    def __init__(self, vendors: VendorPool, *, ttl: float = 600.0) -> None:
        self.vendors = vendors
        self.ttl = ttl
        self._catalogs: dict[str, tuple[float, dict[str, Product]]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def product(self, ref: str) -> Product:
        vendor, _, product_id = ref.partition(":")
        if vendor not in self.vendors.adapters or not product_id:
            raise OfferError("NOT_FOUND", "no such reward", "rewardId")
        catalog = await self._catalog(vendor)
        if product_id not in catalog:
            raise OfferError("REWARD_UNAVAILABLE", "this reward is not available now", "rewardId")
        return catalog[product_id]

    async def price(
        self, ref: str, *, option_id: str | None, amount: Decimal | None
    ) -> PricedOption:
        """The option the member chose (a fixed face value, or an amount in a range)."""
        product = await self.product(ref)
        face = _face_value(product, option_id, amount)
        return PricedOption(
            reward_ref=ref,
            option_ref=option_id,
            face_value=Money(face, product.currency),
            cost=product.cost_of(face),
        )

    async def _catalog(self, vendor: str) -> dict[str, Product]:
        cached = self._catalogs.get(vendor)
        if cached and time.monotonic() - cached[0] < self.ttl:
            return cached[1]
        async with self._locks.setdefault(vendor, asyncio.Lock()):
            cached = self._catalogs.get(vendor)
            if cached and time.monotonic() - cached[0] < self.ttl:
                return cached[1]
            try:
                products = await self.vendors.adapters[vendor].fetch_catalog()
            except VendorError as exc:
                if cached:
                    return cached[1]  # the last good catalog outlives a vendor outage
                raise OfferError(
                    "REWARD_UNAVAILABLE", f"{vendor} cannot be reached now", "rewardId"
                ) from exc
            catalog = {p.vendor_product_id: p for p in products}
            self._catalogs[vendor] = (time.monotonic(), catalog)
            return catalog


def _face_value(product: Product, option_id: str | None, amount: Decimal | None) -> Decimal:
    if option_id is not None:
        try:
            value = Decimal(option_id)
        except InvalidOperation:
            raise OfferError("NOT_FOUND", "no such option", "optionId") from None
        if not value.is_finite():  # "sNaN" would raise on comparison
            raise OfferError("NOT_FOUND", "no such option", "optionId")
        if not any(d.face_value == value for d in product.denominations):
            raise OfferError("NOT_FOUND", "no such option", "optionId")
        return value
    if amount is not None:
        if not fits_minor_units(amount, product.currency):
            raise OfferError(
                "INVALID_AMOUNT",
                f"{product.currency} amounts have at most {minor_units(product.currency)} decimals",
                "amount",
            )
        if not product.admits(amount):
            raise OfferError("INVALID_AMOUNT", "the amount is outside the reward's range", "amount")
        return amount
    if len(product.denominations) == 1 and product.value_range is None:
        return product.denominations[0].face_value
    raise OfferError("INVALID_AMOUNT", "choose an option or an amount", "optionId")
