"""Money as vendors state it: a `Decimal` amount and an ISO 4217 code, never a float.

`MINOR_UNITS` is our own table of ISO 4217 exponents (the number of decimals a currency has),
pinned here for arithmetic. Display libraries (CLDR/Babel) sometimes differ from ISO, and a
rounding rule must not change because a locale database did.
"""

from __future__ import annotations

import decimal
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

__all__ = [
    "MINOR_UNITS",
    "RATE_PLACES",
    "Money",
    "fits_minor_units",
    "inverse_rate",
    "minor_units",
    "quantize_up",
]

# Rates derived by division keep this many decimal places (rounded up: costs never shrink).
RATE_PLACES = 12

MINOR_UNITS: Final[dict[str, int]] = {
    # ISO 4217 (SIX), the currencies our vendors price or charge in, plus the 0- and 3-decimal
    # ones whose arithmetic differs.
    "AED": 2, "AUD": 2, "BHD": 3, "BRL": 2, "CAD": 2, "CHF": 2, "CLP": 0, "CNY": 2, "CZK": 2,
    "DKK": 2, "EUR": 2, "GBP": 2, "HKD": 2, "HUF": 2, "IDR": 2, "ILS": 2, "INR": 2, "IQD": 3,
    "ISK": 0, "JOD": 3, "JPY": 0, "KRW": 0, "KWD": 3, "MXN": 2, "MYR": 2, "NOK": 2, "NZD": 2,
    "OMR": 3, "PHP": 2, "PLN": 2, "RON": 2, "SAR": 2, "SEK": 2, "SGD": 2, "THB": 2, "TND": 3,
    "TRY": 2, "TWD": 2, "UGX": 0, "USD": 2, "VND": 0, "XOF": 0, "ZAR": 2,
}  # fmt: skip


def minor_units(currency: str) -> int:
    """The ISO 4217 exponent of ``currency``; raises `KeyError` for a currency we do not know."""
    try:
        return MINOR_UNITS[currency]
    except KeyError:
        raise KeyError(
            f"unknown currency {currency!r}: add it to vendors.money.MINOR_UNITS"
        ) from None


def fits_minor_units(amount: Decimal, currency: str) -> bool:
    """True when ``amount`` has no more decimals than ``currency`` (1.5 JPY and 10.005 USD
    do not fit; 10.50 USD does). Raises `KeyError` for a currency we do not know."""
    places = minor_units(currency)
    if not amount.is_finite():
        return False
    exponent = amount.as_tuple().exponent
    assert isinstance(exponent, int)  # finite
    if exponent >= -places:
        return True
    try:
        return amount == amount.quantize(Decimal(1).scaleb(-places), context=_WIDE)
    except decimal.InvalidOperation:
        return False


_WIDE = decimal.Context(prec=80)


def quantize_up(amount: Decimal, currency: str) -> Decimal:
    """Round ``amount`` up (towards +∞) to the currency's minor unit."""
    exponent = Decimal(1).scaleb(-minor_units(currency))
    return amount.quantize(exponent, rounding=decimal.ROUND_CEILING)


def inverse_rate(rate: Decimal) -> Decimal:
    """``1 / rate``, to `RATE_PLACES` decimal places, rounded up.

    Vendors quote "units of X per 1 USD"; a cost needs "USD per unit of X". Rounding up keeps a
    converted cost from ever falling below the vendor's.
    """
    with decimal.localcontext(decimal.Context(prec=40)):
        return (Decimal(1) / rate).quantize(
            Decimal(1).scaleb(-RATE_PLACES), rounding=decimal.ROUND_CEILING
        )


@dataclass(frozen=True, slots=True)
class Money:
    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal):
            raise TypeError(f"Money amount must be a Decimal, not {type(self.amount).__name__}")
        if not self.amount.is_finite():
            raise ValueError(f"Money amount must be finite, not {self.amount}")
        minor_units(self.currency)

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"
