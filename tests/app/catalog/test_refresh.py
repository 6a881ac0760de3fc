from __future__ import annotations

from decimal import Decimal

import pytest
from sqlmodel import col, select

from app.catalog.models import (
    CatalogState,
    Offer,
    OptionPrice,
    Reward,
    RewardOption,
    RewardPrice,
    VendorStatus,
)
from app.catalog.routing import best_offer, offers_by_preference
from tests.app.catalog.conftest import Catalog

pytestmark = pytest.mark.asyncio


async def _reward(catalog: Catalog, key: str) -> Reward:
    async with catalog.database.session() as session:
        return (await session.exec(select(Reward).where(Reward.key == key))).one()


async def _version(catalog: Catalog) -> int:
    async with catalog.database.session() as session:
        state = await session.get(CatalogState, 1)
        return state.version if state else 0


async def test_a_refresh_builds_one_reward_per_brand_and_currency(catalog: Catalog) -> None:
    results = await catalog.refresher.refresh()
    assert {r.vendor: r.ok for r in results} == {
        "tango": True,
        "tremendous": True,
        "printful": True,
        "viator": True,
        "change": True,
    }
    amazon = await _reward(catalog, "GIFT_CARD:amazon:USD")
    assert (amazon.name, amazon.brand, amazon.countries) == ("Amazon Gift Card", "Amazon", "US")
    async with catalog.database.session() as session:
        vendors = set(
            (await session.exec(select(Offer.vendor).where(Offer.reward_id == amazon.id))).all()
        )
        starbucks = await _reward(catalog, "GIFT_CARD:starbucks:USD")
        options = (
            await session.exec(
                select(RewardOption.value_key).where(RewardOption.reward_id == starbucks.id)
            )
        ).all()
    assert vendors == {"tango", "tremendous"}
    assert sorted(options, key=Decimal) == ["10", "25", "50", "100"]
    assert await catalog.count(Reward) >= 150
    assert await catalog.count(RewardPrice) == 2 * await catalog.count(Reward)


async def test_prices_follow_each_programs_terms(catalog: Catalog) -> None:
    await catalog.refresher.refresh(["tango", "tremendous"])
    starbucks = await _reward(catalog, "GIFT_CARD:starbucks:USD")
    usd, eur = await catalog.price_class(catalog.usd), await catalog.price_class(catalog.eur)
    async with catalog.database.session() as session:
        option = (
            await session.exec(
                select(RewardOption).where(
                    RewardOption.reward_id == starbucks.id, RewardOption.value_key == "25"
                )
            )
        ).one()
        prices = {
            row.price_class_id: row.points
            for row in (
                await session.exec(select(OptionPrice).where(OptionPrice.option_id == option.id))
            ).all()
        }
    # Tango charges 25 USD + 2.5 % = 25.63; Tremendous 25.00 USD: the cheapest offer wins.
    assert prices[usd.id] == 2500
    # 25 USD x 0.921149594694 (1 / 1.0856, rounded up) x 1.10 / 0.005 EUR = 5066.32 -> 5067.
    assert prices[eur.id] == 5067


async def test_an_outage_keeps_the_last_good_snapshot(catalog: Catalog) -> None:
    await catalog.refresher.refresh()
    offers = await catalog.count(Offer, col(Offer.vendor) == "tango")
    assert catalog.vendors.sandboxes is not None
    catalog.vendors.sandboxes["tango"].set_faults(error_rate=1.0)
    [result] = await catalog.refresher.refresh(["tango"])
    assert not result.ok
    assert await catalog.count(Offer, col(Offer.vendor) == "tango") == offers
    async with catalog.database.session() as session:
        status = await session.get(VendorStatus, "tango")
    assert status is not None
    assert status.consecutive_failures == 1
    assert status.last_success_at is not None
    assert status.last_error


async def test_disappeared_products_leave_on_the_next_good_refresh(catalog: Catalog) -> None:
    await catalog.refresher.refresh(["printful"])
    tee = await _reward(catalog, "MERCHANDISE:printful:1001")
    assert tee.available
    before = await _version(catalog)
    assert catalog.vendors.sandboxes is not None
    catalog.vendors.sandboxes["printful"].set_faults(hidden_products=["1001"])
    await catalog.refresher.refresh(["printful"])
    gone = await _reward(catalog, "MERCHANDISE:printful:1001")
    assert not gone.available, "no offer left: never shown as available"
    assert await catalog.count(Offer, col(Offer.reward_id) == gone.id) == 0
    assert await catalog.count(RewardPrice, col(RewardPrice.reward_id) == gone.id) == 0
    assert await _version(catalog) > before


async def test_a_brand_keeps_its_reward_when_one_vendor_drops_it(catalog: Catalog) -> None:
    await catalog.refresher.refresh(["tango", "tremendous"])
    amazon = await _reward(catalog, "GIFT_CARD:amazon:USD")
    assert catalog.vendors.sandboxes is not None
    tremendous_amazon = "TRM001US"
    catalog.vendors.sandboxes["tremendous"].set_faults(hidden_products=[tremendous_amazon])
    await catalog.refresher.refresh(["tremendous"])
    still = await _reward(catalog, "GIFT_CARD:amazon:USD")
    assert still.id == amazon.id
    assert still.available
    async with catalog.database.session() as session:
        vendors = set(
            (await session.exec(select(Offer.vendor).where(Offer.reward_id == amazon.id))).all()
        )
    assert vendors == {"tango"}


async def test_best_offer_is_the_cheapest_healthy_one(catalog: Catalog) -> None:
    await catalog.refresher.refresh(["tango", "tremendous"])
    starbucks = await _reward(catalog, "GIFT_CARD:starbucks:USD")
    rates = await catalog.rates.current(starbucks.created_at)
    async with catalog.database.session() as session:
        option = (
            await session.exec(
                select(RewardOption).where(
                    RewardOption.reward_id == starbucks.id, RewardOption.value_key == "25"
                )
            )
        ).one()
        ranked = await offers_by_preference(session, option.id, rates=rates, breaker_states={})
        assert [r.offer.vendor for r in ranked] == ["tremendous", "tango"]
        assert [r.cost.amount for r in ranked] == [Decimal("25.00"), Decimal("25.63")]
        failover = await best_offer(
            session, option.id, rates=rates, breaker_states={"tremendous": "opened"}
        )
        assert failover is not None
        assert failover.offer.vendor == "tango"
        nothing = await best_offer(
            session,
            option.id,
            rates=rates,
            breaker_states={"tremendous": "opened", "tango": "opened"},
        )
        assert nothing is None


async def test_ranges_route_by_amount(catalog: Catalog) -> None:
    await catalog.refresher.refresh(["tango", "tremendous"])
    amazon = await _reward(catalog, "GIFT_CARD:amazon:USD")
    rates = await catalog.rates.current(amazon.created_at)
    async with catalog.database.session() as session:
        option = (
            await session.exec(
                select(RewardOption).where(
                    RewardOption.reward_id == amazon.id, RewardOption.value_key == "range"
                )
            )
        ).one()
        ranked = await offers_by_preference(
            session, option.id, rates=rates, breaker_states={}, amount=Decimal("40")
        )
        too_much = await offers_by_preference(
            session, option.id, rates=rates, breaker_states={}, amount=Decimal("100000")
        )
    assert {r.offer.vendor for r in ranked} == {"tango", "tremendous"}
    assert ranked[0].cost.amount <= ranked[1].cost.amount
    assert too_much == []
