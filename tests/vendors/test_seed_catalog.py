"""The sandboxes' seeded catalog is big and varied enough for the catalog and routing to be
tested for real."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import pytest

from tests.vendors.conftest import VENDOR_NAMES, AdapterFactory
from vendors import Money, Product, RewardKind

pytestmark = pytest.mark.asyncio


async def _everything(make_adapter: AdapterFactory) -> list[Product]:
    products: list[Product] = []
    for name in VENDOR_NAMES:
        products.extend(await make_adapter(name).fetch_catalog())
    return products


async def test_the_seeded_catalog_is_realistic(make_adapter: AdapterFactory) -> None:
    products = await _everything(make_adapter)
    assert len(products) >= 200
    assert {p.vendor for p in products} == set(VENDOR_NAMES)
    assert {p.kind for p in products} == set(RewardKind)
    assert {"USD", "EUR", "GBP", "CAD", "JPY", "INR"} <= {p.currency for p in products}
    assert any(p.denominations for p in products), "fixed face values"
    assert any(p.value_range for p in products), "variable amounts"
    restricted = [p for p in products if p.countries]
    assert len({p.countries for p in restricted}) >= 8, "country restrictions vary"
    assert any(not p.countries for p in products), "some rewards can be used anywhere"


async def test_ten_brands_are_sold_by_tango_and_tremendous_at_different_costs(
    make_adapter: AdapterFactory,
) -> None:
    offers: dict[tuple[str, str], dict[str, Product]] = defaultdict(dict)
    for name in ("tango", "tremendous"):
        for product in await make_adapter(name).fetch_catalog():
            offers[(product.brand, product.currency)][name] = product
    shared = {key: both for key, both in offers.items() if len(both) == 2}
    assert len({brand for brand, _ in shared}) >= 10
    differing = 0
    for both in shared.values():
        value = _common_value(both["tango"], both["tremendous"])
        if value is None:
            continue
        costs = {vendor: both[vendor].cost_of(value) for vendor in both}
        assert all(isinstance(cost, Money) and cost.currency == "USD" for cost in costs.values())
        differing += costs["tango"] != costs["tremendous"]
    assert differing >= 10


def _common_value(a: Product, b: Product) -> Decimal | None:
    for value in [d.face_value for d in a.denominations] + [Decimal(25), Decimal(1000)]:
        if a.admits(value) and b.admits(value):
            return value
    return None
