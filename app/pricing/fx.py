"""Foreign exchange: where rates come from, how cross rates are made, and when they are too old.

The reference is the ECB's euro foreign exchange reference rates (``eurofxref-daily.xml``):
units of each currency per 1 EUR, published around 16:00 CET on TARGET working days. Cross
rates go through EUR. The ECB says its rates are "for information purposes only": right for
pricing our own unit (points), never for settling money.

A cross rate is kept exact, as the two per-EUR rates it is the ratio of (`CrossRate`): the
conversion to points divides by it only once, inside the single rounding at the very end.

Rates older than the maximum age (default 4 days, to cover weekends and holidays) **fail
closed** (`StaleRates`, `RatePolicy`): a quote is refused rather than priced on an old rate.
The snapshot shipped in the package lets the embedded default work offline; it is dated, so
outside development it goes stale like any other table unless fresh rates are configured.
"""

from __future__ import annotations

import asyncio
import decimal
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Protocol

import defusedxml.ElementTree as SafeXML
import httpx

from app.settings import ECB_DAILY_URL
from vendors.money import MINOR_UNITS

__all__ = [
    "BASE",
    "ECB_DAILY_URL",
    "SNAPSHOT_SOURCE",
    "CrossRate",
    "EcbRateProvider",
    "FxError",
    "RatePolicy",
    "RateProvider",
    "RateTable",
    "StaleRates",
    "UnknownCurrency",
    "cross_rate",
    "parse_ecb",
]

BASE = "EUR"
SNAPSHOT = "eurofxref-daily.xml"
SNAPSHOT_SOURCE = "ecb-snapshot"
_ECB_NS = "{http://www.ecb.int/vocabulary/2002-08-01/eurofxref}"
# A cross rate *shown* keeps 12 significant digits, rounded up; prices use the exact ratio.
_SHOWN = decimal.Context(prec=12, rounding=decimal.ROUND_CEILING)
_APPROXIMATE = decimal.Context(prec=40, rounding=decimal.ROUND_CEILING)


class FxError(Exception):
    """No rate can be given for this conversion."""


class UnknownCurrency(FxError):
    pass


class StaleRates(FxError):
    pass


@dataclass(frozen=True, slots=True)
class CrossRate:
    """Units of the target currency per unit of the source currency, exactly:
    ``target_per_eur / source_per_eur`` (both as the rates table states them)."""

    source_per_eur: Decimal
    target_per_eur: Decimal

    @classmethod
    def of(cls, rate: Decimal) -> CrossRate:
        """A direct rate (units of target per unit of source) as a cross rate."""
        return cls(Decimal(1), rate)

    @property
    def shown(self) -> Decimal:
        """The rate to 12 significant digits, rounded up: for people, never for prices."""
        with decimal.localcontext(_SHOWN):
            return self.target_per_eur / self.source_per_eur

    def approximately(self, amount: Decimal) -> Decimal:
        """``amount`` in the target currency to 40 digits: for ranking offers, not prices."""
        with decimal.localcontext(_APPROXIMATE):
            return amount * self.target_per_eur / self.source_per_eur


@dataclass(frozen=True)
class RateTable:
    """Rates from one source on one day: units of each currency per 1 EUR."""

    source: str
    as_of: date
    per_eur: Mapping[str, Decimal] = field(repr=False)

    def rate(self, from_currency: str, to_currency: str) -> CrossRate:
        return cross_rate(self.per_eur, from_currency, to_currency)

    def age_days(self, today: date) -> int:
        return (today - self.as_of).days

    def check_fresh(self, now: datetime, max_age_days: int) -> None:
        """Raise `StaleRates` when the table is older than ``max_age_days``, or dated in the
        future (a table from the future would never grow old)."""
        age = self.age_days(now.date())
        if age < -1:
            raise StaleRates(
                f"{self.source} rates are dated {self.as_of.isoformat()}, in the future; "
                "refusing to price on them"
            )
        if age > max_age_days:
            raise StaleRates(
                f"{self.source} rates are from {self.as_of.isoformat()}, {age} days old "
                f"(the limit is {max_age_days}); refusing to price on them"
            )


def cross_rate(per_eur: Mapping[str, Decimal], from_currency: str, to_currency: str) -> CrossRate:
    """Units of ``to_currency`` per unit of ``from_currency``, through EUR, exactly."""
    if from_currency == to_currency:
        return CrossRate(Decimal(1), Decimal(1))
    rates = {BASE: Decimal(1), **per_eur}
    for currency in (from_currency, to_currency):
        if currency not in rates:
            raise UnknownCurrency(f"no rate for {currency}")
    return CrossRate(rates[from_currency], rates[to_currency])


@dataclass(frozen=True)
class RatePolicy:
    """When a rates table may be priced on: not older than ``max_age_days``, except the
    packaged snapshot where ``allow_stale_snapshot`` (development) says so."""

    max_age_days: int
    allow_stale_snapshot: bool = False

    def check(self, table: RateTable, now: datetime) -> None:
        """Raise `StaleRates` when ``table`` may not be priced on at ``now``."""
        if self.allow_stale_snapshot and table.source == SNAPSHOT_SOURCE:
            return
        table.check_fresh(now, self.max_age_days)


class RateProvider(Protocol):
    """Where a `RateTable` comes from."""

    name: str

    async def fetch(self) -> RateTable: ...


def parse_ecb(document: bytes, *, source: str = "ecb") -> RateTable:
    """A `RateTable` from the ECB's daily XML (a document in ``eurofxref-daily.xml`` form)."""
    try:
        root = SafeXML.fromstring(document)
    except SafeXML.ParseError as exc:
        raise FxError(f"not an ECB rates document: {exc}") from exc
    days = [cube for cube in root.iter(f"{_ECB_NS}Cube") if cube.get("time")]
    if not days:
        raise FxError("the ECB document has no dated rates")
    latest = max(days, key=lambda cube: cube.get("time") or "")
    try:
        as_of = date.fromisoformat(latest.get("time") or "")
    except ValueError as exc:
        raise FxError(f"the ECB document's date {latest.get('time')!r} is not a date") from exc
    per_eur: dict[str, Decimal] = {}
    for cube in latest:
        currency, rate = cube.get("currency"), cube.get("rate")
        if currency is None or rate is None or currency not in MINOR_UNITS:
            continue
        per_eur[currency] = _rate(currency, rate)
    return RateTable(source, as_of, per_eur)


# What a stored rate can hold (`FxRate.per_eur`: NUMERIC(24, 10)).
_RATE_PLACES = 10
_RATE_BELOW = Decimal(10) ** 14


def _rate(currency: str, text: str) -> Decimal:
    """A per-EUR rate as the ECB writes one: positive, finite, at most 10 decimals, below
    10^14; anything else makes the whole document unusable (`FxError`)."""
    try:
        value = Decimal(text)
    except decimal.InvalidOperation as exc:
        raise FxError(f"unreadable rate {text!r} for {currency}") from exc
    exponent = value.as_tuple().exponent
    if (
        not value.is_finite()
        or not isinstance(exponent, int)
        or not Decimal(0) < value < _RATE_BELOW
        or value != value.quantize(Decimal(1).scaleb(-_RATE_PLACES), context=_APPROXIMATE)
    ):
        raise FxError(f"{text!r} is not a usable rate for {currency}")
    return value


class EcbRateProvider:
    """ECB rates from a file path, an ``http(s)://`` URL, or the snapshot in the package."""

    name = "ecb"

    def __init__(self, location: str | None = None, *, timeout: float = 10.0) -> None:
        self.location = location
        self.timeout = timeout

    @property
    def is_snapshot(self) -> bool:
        return self.location is None

    async def fetch(self) -> RateTable:
        if self.location is None:
            document = resources.files("app.pricing").joinpath("data", SNAPSHOT).read_bytes()
            return parse_ecb(document, source=SNAPSHOT_SOURCE)
        if self.location.startswith(("http://", "https://")):
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                try:
                    response = await client.get(self.location)
                    response.raise_for_status()
                except httpx.HTTPError as exc:
                    raise FxError(f"cannot fetch ECB rates from {self.location}: {exc}") from exc
            return parse_ecb(response.content)
        path = Path(self.location)
        try:
            document = await asyncio.to_thread(path.read_bytes)
        except OSError as exc:
            raise FxError(f"cannot read ECB rates from {path}: {exc}") from exc
        return parse_ecb(document)
