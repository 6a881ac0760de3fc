from __future__ import annotations

from decimal import Decimal

import pytest

import vendors
from vendors import (
    AmbiguousOutcome,
    CostRule,
    Denomination,
    InvalidOrderRequest,
    Money,
    OrderRequest,
    OrderStatus,
    PermanentVendorError,
    Product,
    RateLimited,
    RewardKind,
    TransientVendorError,
    ValueRange,
    VendorAuthError,
    VendorError,
    VendorUnavailable,
)
from vendors.money import minor_units, quantize_up


def test_public_surface_is_deliberate() -> None:
    public = sorted(name for name in dir(vendors) if not name.startswith("_") and name[0].isupper())
    assert vendors.__all__ == sorted(vendors.__all__)
    assert set(public) <= set(vendors.__all__)


def test_error_hierarchy() -> None:
    for error in (
        TransientVendorError,
        PermanentVendorError,
        AmbiguousOutcome,
        VendorAuthError,
        VendorUnavailable,
    ):
        assert issubclass(error, VendorError)
    assert issubclass(RateLimited, TransientVendorError)
    assert issubclass(InvalidOrderRequest, PermanentVendorError)
    assert not issubclass(AmbiguousOutcome, PermanentVendorError | TransientVendorError)
    limited = RateLimited("tango", "slow down", retry_after=2.0, status_code=429)
    assert (limited.vendor, limited.retry_after, limited.status_code) == ("tango", 2.0, 429)
    assert str(limited) == "tango: slow down"


def test_money_is_never_a_float() -> None:
    with pytest.raises(TypeError):
        Money(25.0, "USD")  # type: ignore[arg-type]
    with pytest.raises(KeyError, match="unknown currency"):
        Money(Decimal(1), "XYZ")
    with pytest.raises(ValueError, match="finite"):
        Money(Decimal("NaN"), "USD")


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("10.001", "USD", "10.01"),
        ("10.000", "USD", "10.00"),
        ("151.2", "JPY", "152"),
        ("1.0001", "KWD", "1.001"),
    ],
)
def test_amounts_round_up_to_the_minor_unit(amount: str, currency: str, expected: str) -> None:
    assert quantize_up(Decimal(amount), currency) == Decimal(expected)
    assert quantize_up(Decimal(amount), currency).as_tuple().exponent == -minor_units(currency)


def test_cost_rule_converts_adds_fees_and_rounds_up() -> None:
    rule = CostRule("USD", rate=Decimal(1) / Decimal("0.9212"), fee_percent=Decimal("2.5"))
    # 25 EUR / 0.9212 = 27.1385... x 1.025 = 27.8170... -> 27.82 USD
    assert rule.cost_of(Decimal(25)) == Money(Decimal("27.82"), "USD")
    assert CostRule("USD", fee_fixed=Decimal("0.50")).cost_of(Decimal(10)).amount == Decimal(
        "10.50"
    )


def test_products_know_what_they_admit_and_cost() -> None:
    fixed = Product(
        "tango",
        "U1",
        RewardKind.GIFT_CARD,
        "Acme",
        "Acme 25",
        "USD",
        ("US",),
        denominations=(Denomination(Decimal(25), Money(Decimal("25.63"), "USD")),),
    )
    assert fixed.admits(Decimal(25))
    assert not fixed.admits(Decimal(26))
    assert fixed.cost_of(Decimal(25)) == Money(Decimal("25.63"), "USD")
    ranged = Product(
        "tango",
        "U2",
        RewardKind.GIFT_CARD,
        "Acme",
        "Acme",
        "JPY",
        ("JP",),
        value_range=ValueRange(Decimal(500), Decimal(50000), Decimal(1)),
    )
    assert ranged.admits(Decimal(1000))
    assert not ranged.admits(Decimal("1000.5"))
    assert not ranged.admits(Decimal(499))
    assert ranged.cost_of(Decimal(1000)) == Money(Decimal(1000), "JPY")
    with pytest.raises(ValueError, match="no value"):
        Product("x", "1", RewardKind.GIFT_CARD, "b", "n", "USD", ())


@pytest.mark.parametrize("key", ["", "has-hyphen", "x" * 65, "spaces here", "ünïcode"])
def test_order_keys_must_fit_every_vendor(key: str) -> None:
    with pytest.raises(ValueError, match="idempotency_key"):
        OrderRequest(key, "U1", Decimal(10), "USD")


def test_orders_need_a_positive_decimal_amount_in_a_known_currency() -> None:
    with pytest.raises(ValueError, match="positive Decimal"):
        OrderRequest("k1", "U1", Decimal(0), "USD")
    with pytest.raises(ValueError, match="positive Decimal"):
        OrderRequest("k1", "U1", 10.0, "USD")  # type: ignore[arg-type]
    with pytest.raises(KeyError):
        OrderRequest("k1", "U1", Decimal(10), "ZZZ")


def test_final_statuses() -> None:
    assert {s for s in OrderStatus if s.is_final} == {
        OrderStatus.FULFILLED,
        OrderStatus.FAILED,
        OrderStatus.CANCELLED,
    }


def test_delivery_secrets_stay_out_of_reprs() -> None:
    delivery = vendors.Delivery(code="1234-5678", pin="9999", url="https://claim.example/x")
    assert "1234" not in repr(delivery)
    assert "9999" not in repr(delivery)
    assert "claim.example" not in repr(delivery)
