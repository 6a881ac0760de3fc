"""Price → FX → program currency → markup → points, exactly.

``points = ceil(price × rate × (1 + markup / 100) / point_value)``

Every step is exact `Decimal` arithmetic in a local context that *raises* instead of rounding
(`decimal.Inexact` is trapped), and the only rounding is the ceiling at the end, done as an
integer division with remainder, so no intermediate expansion can round a price down. A cross
rate through EUR is a ratio (`CrossRate`) whose division joins that one final division: no
rate is rounded on the way. Points never under-charge:
``points × point_value ≥ price × rate × (1 + markup / 100)``.
"""

from __future__ import annotations

import decimal
from dataclasses import dataclass
from decimal import Decimal

from app.pricing.fx import CrossRate
from vendors.money import Money, minor_units

__all__ = ["Conversion", "convert", "points_for"]

_EXACT = decimal.Context(prec=80, traps=[decimal.Inexact, decimal.InvalidOperation])


@dataclass(frozen=True)
class Conversion:
    """What `convert` computed, for quotes to store and show."""

    price: Money
    rate: CrossRate  # units of the program currency per unit of the price's currency
    program_amount: Decimal  # price in the program currency, with markup, to 40 digits
    points: int


def points_for(
    price: Money, *, rate: CrossRate | Decimal, point_value: Decimal, markup_percent: Decimal
) -> int:
    return convert(price, rate=rate, point_value=point_value, markup_percent=markup_percent).points


def convert(
    price: Money, *, rate: CrossRate | Decimal, point_value: Decimal, markup_percent: Decimal
) -> Conversion:
    exact = rate if isinstance(rate, CrossRate) else CrossRate.of(rate)
    if price.amount < 0:
        raise ValueError("a price cannot be negative")
    if exact.source_per_eur <= 0 or exact.target_per_eur <= 0 or point_value <= 0:
        raise ValueError("rate and point value must be positive")
    if markup_percent < 0:
        raise ValueError("markup cannot be negative")
    minor_units(price.currency)
    with decimal.localcontext(_EXACT):
        # Scaled by 100 so the markup percentage stays an exact product; the cross rate's
        # divisor joins the one division below.
        numerator = price.amount * exact.target_per_eur * (100 + markup_percent)
        denominator = point_value * 100 * exact.source_per_eur
        whole, remainder = divmod(numerator, denominator)
        points = int(whole) + (1 if remainder > 0 else 0)
    with decimal.localcontext(decimal.Context(prec=40)):
        program_amount = numerator / (100 * exact.source_per_eur)
    return Conversion(price=price, rate=exact, program_amount=program_amount, points=points)
