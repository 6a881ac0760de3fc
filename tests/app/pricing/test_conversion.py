from __future__ import annotations

import math
from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.pricing.conversion import convert, points_for
from app.pricing.fx import RateTable
from vendors.money import Money, fits_minor_units, minor_units

CURRENCIES = ["JPY", "USD", "KWD"]  # 0, 2 and 3 decimals


@st.composite
def prices(draw: st.DrawFn) -> Money:
    currency = draw(st.sampled_from(CURRENCIES))
    minor = draw(st.integers(min_value=0, max_value=10**9))
    return Money(Decimal(minor).scaleb(-minor_units(currency)), currency)


rates = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("50000"), places=6)
markups = st.decimals(min_value=Decimal(0), max_value=Decimal(20), places=4)
point_values = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal(10), places=4)


def test_the_worked_example() -> None:
    # 25.00 EUR x 1.0866 x 1.02 x 100 = 2770.83 -> 2771 points of 1 US cent
    assert (
        points_for(
            Money(Decimal("25.00"), "EUR"),
            rate=Decimal("1.0866"),
            point_value=Decimal("0.01"),
            markup_percent=Decimal(2),
        )
        == 2771
    )


@given(price=prices(), rate=rates, markup=markups, point_value=point_values)
def test_points_are_integers_that_never_under_charge_by_even_one_point(
    price: Money, rate: Decimal, markup: Decimal, point_value: Decimal
) -> None:
    points = points_for(price, rate=rate, point_value=point_value, markup_percent=markup)
    assert isinstance(points, int)
    owed = price.amount * rate * (1 + markup / 100)
    assert points * point_value >= owed
    assert points == 0 or (points - 1) * point_value < owed, "rounded up once, not more"


@given(price=prices(), more=st.integers(0, 10**6), rate=rates, markup=markups, pv=point_values)
def test_points_grow_with_the_price(
    price: Money, more: int, rate: Decimal, markup: Decimal, pv: Decimal
) -> None:
    higher = Money(
        price.amount + Decimal(more).scaleb(-minor_units(price.currency)), price.currency
    )
    assert points_for(price, rate=rate, point_value=pv, markup_percent=markup) <= points_for(
        higher, rate=rate, point_value=pv, markup_percent=markup
    )


@given(price=prices(), rate=rates, low=markups, high=markups, pv=point_values)
def test_points_grow_with_the_markup(
    price: Money, rate: Decimal, low: Decimal, high: Decimal, pv: Decimal
) -> None:
    low, high = min(low, high), max(low, high)
    assert points_for(price, rate=rate, point_value=pv, markup_percent=low) <= points_for(
        price, rate=rate, point_value=pv, markup_percent=high
    )


def test_exactness_even_for_repeating_decimals() -> None:
    conversion = convert(
        Money(Decimal("10.00"), "USD"),
        rate=Decimal(1) / Decimal(3),
        point_value=Decimal("0.01"),
        markup_percent=Decimal(0),
    )
    assert conversion.points == 334
    assert conversion.program_amount < Decimal("3.34")


@pytest.mark.parametrize(
    ("price", "rate", "point_value", "markup"),
    [
        (Money(Decimal(-1), "USD"), Decimal(1), Decimal("0.01"), Decimal(0)),
        (Money(Decimal(1), "USD"), Decimal(0), Decimal("0.01"), Decimal(0)),
        (Money(Decimal(1), "USD"), Decimal(1), Decimal(0), Decimal(0)),
        (Money(Decimal(1), "USD"), Decimal(1), Decimal("0.01"), Decimal(-1)),
    ],
)
def test_nonsense_inputs_are_refused(
    price: Money, rate: Decimal, point_value: Decimal, markup: Decimal
) -> None:
    with pytest.raises(ValueError, match=r"negative|positive"):
        points_for(price, rate=rate, point_value=point_value, markup_percent=markup)


per_eur = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("99999"), places=6)


@given(
    price=prices(),
    source=per_eur,
    target=per_eur,
    markup=markups,
    point_value=point_values,
)
def test_a_cross_rate_is_rounded_once_with_the_points(
    price: Money, source: Decimal, target: Decimal, markup: Decimal, point_value: Decimal
) -> None:
    """Through EUR: price x (target / source) x (1 + markup) / point value, one ceiling, exact
    (against a plain fraction: no rounded cross rate can slip a point in or out)."""
    program = "GBP" if price.currency != "GBP" else "USD"
    table = RateTable("test", date(2026, 12, 1), {price.currency: source, program: target})
    points = points_for(
        price,
        rate=table.rate(price.currency, program),
        point_value=point_value,
        markup_percent=markup,
    )
    exact = (
        Fraction(price.amount)
        * Fraction(target)
        / Fraction(source)
        * (100 + Fraction(markup))
        / (100 * Fraction(point_value))
    )
    assert points == math.ceil(exact)


@pytest.mark.parametrize(
    ("amount", "currency", "fits"),
    [
        ("1", "JPY", True),
        ("1.0", "JPY", True),
        ("1.5", "JPY", False),
        ("10.00", "USD", True),
        ("10.005", "USD", False),
        ("10.0050", "USD", False),
        ("10.0000000", "USD", True),
        ("1.234", "KWD", True),
        ("1.2345", "KWD", False),
        ("1E+3", "USD", True),
        ("NaN", "USD", False),
        ("Infinity", "USD", False),
        ("123456789012345678901234567890.01", "USD", True),
    ],
)
def test_amounts_fit_their_currencys_minor_units(amount: str, currency: str, fits: bool) -> None:
    assert fits_minor_units(Decimal(amount), currency) is fits
