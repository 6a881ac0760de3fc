"""Writing one vendor's catalog into the snapshot, in one transaction.

Vendor products become rewards, options and offers (`app.catalog.models`). Products of the same
brand and currency from several vendors (gift cards, charities) become one reward with offers
from each; a vendor's offers that its latest catalog no longer lists are removed, and a reward
with no offer left is marked unavailable. Every write is a bulk statement: a refresh's cost must
stay small next to the vendor's own latency.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.catalog.models import (
    CatalogState,
    Offer,
    OptionPrice,
    Reward,
    RewardCountry,
    RewardOption,
)
from app.db import insert_ignoring_conflicts
from vendors import Product, RewardKind

__all__ = ["bump_version", "reward_key", "store_vendor_catalog"]

RANGE = "range"
_MERGED_KINDS = (RewardKind.GIFT_CARD, RewardKind.CHARITY)
_CHUNK = 500


def reward_key(product: Product) -> str:
    """Gift cards and charities merge across vendors by brand and currency; merchandise and
    experiences are one reward per vendor product."""
    if product.kind in _MERGED_KINDS:
        return f"{product.kind.value}:{_slug(product.brand)}:{product.currency}"
    return f"{product.kind.value}:{product.vendor}:{product.vendor_product_id}"


def _slug(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def _reward_name(product: Product) -> str:
    if product.kind is RewardKind.GIFT_CARD:
        return f"{product.brand} Gift Card"
    if product.kind is RewardKind.CHARITY:
        return f"Donation to {product.brand}"
    return product.name


@dataclass(frozen=True)
class _OfferRow:
    reward_key: str
    value_key: str
    face_value: Decimal | None
    fields: dict[str, Any]


def _offer_rows(product: Product) -> list[_OfferRow]:
    key = reward_key(product)
    countries = ",".join(sorted(product.countries))
    base = {
        "vendor": product.vendor,
        "vendor_product_id": product.vendor_product_id,
        "countries": countries,
    }
    rows = []
    for denomination in product.denominations:
        cost = product.cost_of(denomination.face_value)
        rows.append(
            _OfferRow(
                key,
                _value_key(denomination.face_value),
                denomination.face_value,
                {**base, "cost_amount": cost.amount, "cost_currency": cost.currency},
            )
        )
    if product.value_range is not None:
        span = product.value_range
        rule = span.cost
        rows.append(
            _OfferRow(
                key,
                RANGE,
                None,
                {
                    **base,
                    "min_value": span.min_value,
                    "max_value": span.max_value,
                    "step": span.step,
                    "cost_currency": rule.currency if rule else product.currency,
                    "cost_rate": rule.rate if rule else Decimal(1),
                    "fee_percent": rule.fee_percent if rule else Decimal(0),
                    "fee_fixed": rule.fee_fixed if rule else Decimal(0),
                },
            )
        )
    return rows


def _value_key(value: Decimal) -> str:
    return format(value.normalize(), "f")


async def store_vendor_catalog(
    session: AsyncSession, vendor: str, products: Sequence[Product], *, now: datetime
) -> set[uuid.UUID]:
    """Make the snapshot say what ``products`` say for ``vendor``; the rewards it changed."""
    by_key: dict[str, Product] = {}
    offers: list[_OfferRow] = []
    for product in products:
        by_key.setdefault(reward_key(product), product)
        offers.extend(_offer_rows(product))
    rewards = await _upsert_rewards(session, by_key, now)
    options = await _upsert_options(session, offers, rewards)
    seen = await _upsert_offers(session, offers, rewards, options, now)
    existing = (
        await session.exec(select(Offer.id, Offer.reward_id).where(Offer.vendor == vendor))
    ).all()
    gone = [offer_id for offer_id, _ in existing if offer_id not in seen]
    touched = {reward_id for _, reward_id in existing} | set(rewards.values())
    if gone:
        for chunk in _chunks(gone):
            await session.exec(delete(OptionPrice).where(col(OptionPrice.offer_id).in_(chunk)))
            await session.exec(delete(Offer).where(col(Offer.id).in_(chunk)))
    await _settle_rewards(session, touched, now)
    return touched


async def bump_version(session: AsyncSession, *, now: datetime) -> None:
    """The snapshot changed: response caches keyed on the version stop matching."""
    await insert_ignoring_conflicts(
        session, CatalogState, [{"id": 1, "version": 0, "updated_at": now}]
    )
    await session.exec(
        update(CatalogState)
        .where(col(CatalogState.id) == 1)
        .values(version=col(CatalogState.version) + 1, updated_at=now)
    )


async def _upsert_rewards(
    session: AsyncSession, by_key: dict[str, Product], now: datetime
) -> dict[str, uuid.UUID]:
    keys = list(by_key)
    await insert_ignoring_conflicts(
        session,
        Reward,
        [_new_reward(key, product, now) for key, product in by_key.items()],
    )
    rows: list[Reward] = []
    for chunk in _chunks(keys):
        rows.extend((await session.exec(select(Reward).where(col(Reward.key).in_(chunk)))).all())
    for reward in rows:
        product = by_key[reward.key]
        description = reward.description or product.description
        image = reward.image_url or product.image_url
        if (description, image) != (reward.description, reward.image_url):
            reward.description, reward.image_url = description, image
            reward.search_text = _search_text(reward.name, reward.brand, description)
            reward.updated_at = now
    return {reward.key: reward.id for reward in rows}


def _new_reward(key: str, product: Product, now: datetime) -> dict[str, Any]:
    name = _reward_name(product)
    return {
        "id": uuid.uuid4(),
        "key": key,
        "kind": product.kind.value,
        "brand": product.brand,
        "brand_key": product.brand.lower(),
        "name": name,
        "name_key": name.lower(),
        "description": product.description,
        "image_url": product.image_url,
        "currency": product.currency,
        "countries": ",".join(sorted(product.countries)),
        "search_text": _search_text(name, product.brand, product.description),
        "available": True,
        "created_at": now,
        "updated_at": now,
    }


def _search_text(name: str, brand: str, description: str | None) -> str:
    return " ".join(part for part in (name, brand, description or "") if part).lower()


async def _upsert_options(
    session: AsyncSession, offers: list[_OfferRow], rewards: dict[str, uuid.UUID]
) -> dict[tuple[uuid.UUID, str], uuid.UUID]:
    wanted = {(rewards[o.reward_key], o.value_key): o.face_value for o in offers}
    await insert_ignoring_conflicts(
        session,
        RewardOption,
        [
            {
                "id": uuid.uuid4(),
                "reward_id": reward_id,
                "value_key": value_key,
                "face_value": face_value,
            }
            for (reward_id, value_key), face_value in wanted.items()
        ],
    )
    reward_ids = list({reward_id for reward_id, _ in wanted})
    found: dict[tuple[uuid.UUID, str], uuid.UUID] = {}
    for chunk in _chunks(reward_ids):
        rows = await session.exec(
            select(RewardOption.id, RewardOption.reward_id, RewardOption.value_key).where(
                col(RewardOption.reward_id).in_(chunk)
            )
        )
        found.update({(reward_id, key): option_id for option_id, reward_id, key in rows.all()})
    return found


async def _upsert_offers(
    session: AsyncSession,
    offers: list[_OfferRow],
    rewards: dict[str, uuid.UUID],
    options: dict[tuple[uuid.UUID, str], uuid.UUID],
    now: datetime,
) -> set[uuid.UUID]:
    rows = []
    for offer in offers:
        reward_id = rewards[offer.reward_key]
        rows.append(
            {
                "option_id": options[(reward_id, offer.value_key)],
                "reward_id": reward_id,
                "updated_at": now,
                **offer.fields,
            }
        )
    if not rows:
        return set()
    vendor = rows[0]["vendor"]
    current = {
        (o.vendor_product_id, o.option_id): o
        for o in (await session.exec(select(Offer).where(Offer.vendor == vendor))).all()
    }
    new = []
    seen: set[uuid.UUID] = set()
    for row in rows:
        existing = current.get((row["vendor_product_id"], row["option_id"]))
        if existing is None:
            row["id"] = uuid.uuid4()
            new.append(row)
            seen.add(row["id"])
            continue
        seen.add(existing.id)
        for field, value in row.items():
            if field != "updated_at" and getattr(existing, field) != value:
                setattr(existing, field, value)
                existing.updated_at = now
    await insert_ignoring_conflicts(session, Offer, _complete(new))
    await session.flush()
    return seen


def _complete(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Bulk inserts need every column in every row."""
    columns = (
        "cost_amount",
        "min_value",
        "max_value",
        "step",
        "cost_rate",
        "fee_percent",
        "fee_fixed",
    )
    return [{column: None for column in columns} | row for row in rows]


async def _settle_rewards(session: AsyncSession, reward_ids: set[uuid.UUID], now: datetime) -> None:
    """Rewards whose offers changed: drop options no offer delivers, widen ranges to what the
    offers deliver, recompute countries and availability."""
    for chunk in _chunks(list(reward_ids)):
        offers = (await session.exec(select(Offer).where(col(Offer.reward_id).in_(chunk)))).all()
        options = (
            await session.exec(select(RewardOption).where(col(RewardOption.reward_id).in_(chunk)))
        ).all()
        rewards = (await session.exec(select(Reward).where(col(Reward.id).in_(chunk)))).all()
        by_option: dict[uuid.UUID, list[Offer]] = {}
        by_reward: dict[uuid.UUID, list[Offer]] = {}
        for offer in offers:
            by_option.setdefault(offer.option_id, []).append(offer)
            by_reward.setdefault(offer.reward_id, []).append(offer)
        orphans = [option.id for option in options if option.id not in by_option]
        if orphans:
            await session.exec(delete(OptionPrice).where(col(OptionPrice.option_id).in_(orphans)))
            await session.exec(delete(RewardOption).where(col(RewardOption.id).in_(orphans)))
        for option in options:
            served = by_option.get(option.id)
            if served and option.value_key == RANGE:
                option.min_value = min(o.min_value for o in served if o.min_value is not None)
                option.max_value = max(o.max_value for o in served if o.max_value is not None)
        await session.exec(delete(RewardCountry).where(col(RewardCountry.reward_id).in_(chunk)))
        countries: list[dict[str, object]] = []
        for reward in rewards:
            mine = by_reward.get(reward.id, [])
            reward.available = bool(mine)
            everywhere = any(not offer.countries for offer in mine)
            codes = (
                set()
                if everywhere
                else {code for offer in mine for code in offer.countries.split(",") if code}
            )
            reward.countries = ",".join(sorted(codes))
            reward.updated_at = now
            countries.extend({"reward_id": reward.id, "country": code} for code in sorted(codes))
        await insert_ignoring_conflicts(session, RewardCountry, countries)
    await session.flush()


def _chunks(items: Sequence[Any] | Iterable[Any], size: int = _CHUNK) -> Iterable[list[Any]]:
    items = list(items)
    for start in range(0, len(items), size):
        yield items[start : start + size]
