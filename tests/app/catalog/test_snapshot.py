"""Storing a vendor's catalog: whole catalogs larger than one chunk, repeats, retirements,
changed costs and merged ranges."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlmodel import col, select

from app.catalog.models import Offer, OptionPrice, Reward, RewardCountry, RewardOption, RewardPrice
from app.catalog.snapshot import _CHUNK
from tests.app.catalog.conftest import Catalog
from vendors import Denomination, Product, RewardKind, ValueRange
from vendors.money import Money

pytestmark = pytest.mark.asyncio

MORE_THAN_TWO_CHUNKS = 2 * _CHUNK + 234


def gift_card(
    number: int,
    *,
    vendor: str = "tango",
    cost: Decimal | None = None,
    value_range: ValueRange | None = None,
) -> Product:
    return Product(
        vendor=vendor,
        vendor_product_id=f"{vendor.upper()}{number:05d}",
        kind=RewardKind.GIFT_CARD,
        brand=f"Brand {number:05d}",
        name=f"Brand {number:05d}",
        currency="USD",
        countries=("US",),
        denominations=()
        if value_range
        else tuple(
            Denomination(Decimal(v), Money(cost, "USD") if cost else None) for v in (10, 25)
        ),
        value_range=value_range,
    )


async def _offer_ids(catalog: Catalog) -> set[object]:
    async with catalog.database.session() as session:
        return set((await session.exec(select(Offer.id))).all())


async def test_a_catalog_larger_than_one_chunk_is_stored_whole(catalog: Catalog) -> None:
    await catalog.refresher.store("tango", [gift_card(n) for n in range(MORE_THAN_TWO_CHUNKS)])

    available = col(Reward.available).is_(True)
    assert await catalog.count(Reward, available) == MORE_THAN_TWO_CHUNKS
    assert await catalog.count(RewardOption) == 2 * MORE_THAN_TWO_CHUNKS
    assert await catalog.count(Offer) == 2 * MORE_THAN_TWO_CHUNKS
    assert await catalog.count(RewardCountry) == MORE_THAN_TWO_CHUNKS
    classes = 2  # the fixture's USD and EUR programs
    assert await catalog.count(RewardPrice) == classes * MORE_THAN_TWO_CHUNKS
    assert await catalog.count(OptionPrice) == classes * 2 * MORE_THAN_TWO_CHUNKS


async def test_storing_the_same_catalog_again_keeps_every_row(catalog: Catalog) -> None:
    products = [gift_card(n) for n in range(MORE_THAN_TWO_CHUNKS)]
    await catalog.refresher.store("tango", products)
    offers = await _offer_ids(catalog)

    await catalog.refresher.store("tango", products)

    assert await _offer_ids(catalog) == offers
    assert await catalog.count(RewardOption) == 2 * MORE_THAN_TWO_CHUNKS


async def test_a_shorter_catalog_retires_the_rest(catalog: Catalog) -> None:
    await catalog.refresher.store("tango", [gift_card(n) for n in range(MORE_THAN_TWO_CHUNKS)])
    kept = _CHUNK + 100

    await catalog.refresher.store("tango", [gift_card(n) for n in range(kept)])

    assert await catalog.count(Reward, col(Reward.available).is_(True)) == kept
    assert await catalog.count(Reward, col(Reward.available).is_(False)) == (
        MORE_THAN_TWO_CHUNKS - kept
    )
    assert await catalog.count(Offer) == 2 * kept
    assert await catalog.count(RewardPrice) == 2 * kept
    assert await catalog.count(RewardCountry) == kept


async def _points(catalog: Catalog, key: str) -> list[int]:
    usd = await catalog.price_class(catalog.usd)
    async with catalog.database.session() as session:
        rows = await session.exec(
            select(OptionPrice.points)
            .join(RewardOption, col(RewardOption.id) == OptionPrice.option_id)
            .join(Reward, col(Reward.id) == RewardOption.reward_id)
            .where(Reward.key == key, OptionPrice.price_class_id == usd.id)
            .order_by(col(OptionPrice.points))
        )
        return list(rows.all())


async def test_a_changed_cost_updates_the_offer_and_its_points(catalog: Catalog) -> None:
    key = "GIFT_CARD:brand00007:USD"
    await catalog.refresher.store("tango", [gift_card(7, cost=Decimal("9.00"))])
    assert await _points(catalog, key) == [900, 900]
    offers = await _offer_ids(catalog)

    await catalog.refresher.store("tango", [gift_card(7, cost=Decimal("9.50"))])

    assert await _points(catalog, key) == [950, 950]
    assert await _offer_ids(catalog) == offers, "updated in place"


async def test_a_merged_range_spans_every_vendors_range(catalog: Catalog) -> None:
    narrow = ValueRange(Decimal(5), Decimal(500))
    wide = ValueRange(Decimal(1), Decimal(2000))
    await catalog.refresher.store("tango", [gift_card(3, value_range=narrow)])
    await catalog.refresher.store(
        "tremendous", [gift_card(3, vendor="tremendous", value_range=wide)]
    )

    async def span() -> tuple[Decimal | None, Decimal | None]:
        async with catalog.database.session() as session:
            option = (await session.exec(select(RewardOption))).one()
        return option.min_value, option.max_value

    assert await span() == (Decimal(1), Decimal(2000))
    await catalog.refresher.store("tremendous", [])
    assert await span() == (Decimal(5), Decimal(500))
