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

__all__ = [
    "SEARCH_SEPARATOR",
    "bump_version",
    "reward_key",
    "search_text_of",
    "store_vendor_catalog",
]

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
    """Make the snapshot say what ``products`` say for ``vendor``; the rewards it changed.

    Works through the catalog `_CHUNK` rewards at a time, so memory stays flat however many
    products the vendor lists.
    """
    grouped: dict[str, list[Product]] = {}
    for product in products:
        grouped.setdefault(reward_key(product), []).append(product)
    touched: set[uuid.UUID] = set()
    seen: set[uuid.UUID] = set()
    for keys in _chunks(grouped):
        offers = [row for key in keys for product in grouped[key] for row in _offer_rows(product)]
        rewards = await _upsert_rewards(session, {key: grouped[key][0] for key in keys}, now)
        options = await _upsert_options(session, offers, rewards)
        seen |= await _upsert_offers(session, vendor, offers, rewards, options, now)
        touched |= set(rewards.values())
    listed = await session.exec(select(Offer.id, Offer.reward_id).where(Offer.vendor == vendor))
    gone = [(offer_id, reward_id) for offer_id, reward_id in listed if offer_id not in seen]
    touched |= {reward_id for _, reward_id in gone}
    for chunk in _chunks([offer_id for offer_id, _ in gone]):
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
    await insert_ignoring_conflicts(
        session,
        Reward,
        [_new_reward(key, product, now) for key, product in by_key.items()],
    )
    rows = await session.exec(
        select(Reward.id, Reward.key, Reward.description, Reward.image_url).where(
            col(Reward.key).in_(list(by_key))
        )
    )
    ids: dict[str, uuid.UUID] = {}
    filled: dict[uuid.UUID, tuple[str | None, str | None]] = {}
    for reward_id, key, description, image in rows:
        ids[key] = reward_id
        product = by_key[key]
        more = (description or product.description, image or product.image_url)
        if more != (description, image):
            filled[reward_id] = more
    changes: list[dict[str, Any]] = []
    if filled:
        names = await session.exec(
            select(Reward.id, Reward.name, Reward.brand).where(col(Reward.id).in_(list(filled)))
        )
        for reward_id, name, brand in names:
            description, image = filled[reward_id]
            changes.append(
                {
                    "id": reward_id,
                    "description": description,
                    "image_url": image,
                    "search_text": search_text_of(name, brand, description),
                    "updated_at": now,
                }
            )
    await _update_by_id(session, Reward, changes)
    return ids


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
        "search_text": search_text_of(name, product.brand, product.description),
        "available": True,
        "created_at": now,
        "updated_at": now,
    }


# Between the fields a search covers: a character no search may hold, so that a term never
# matches across two fields ("gift card airbnb" is not in "Airbnb Gift Card" + "Airbnb").
SEARCH_SEPARATOR = "\x1f"


def search_text_of(name: str, brand: str, description: str | None) -> str:
    return SEARCH_SEPARATOR.join(part for part in (name, brand, description or "") if part).lower()


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
    vendor: str,
    offers: list[_OfferRow],
    rewards: dict[str, uuid.UUID],
    options: dict[tuple[uuid.UUID, str], uuid.UUID],
    now: datetime,
) -> set[uuid.UUID]:
    """Insert new offers and update changed ones of ``rewards``; the ids of all of them."""
    listed = await session.exec(
        select(Offer).where(
            Offer.vendor == vendor, col(Offer.reward_id).in_(list(rewards.values()))
        )
    )
    current = {(o.vendor_product_id, o.option_id): o for o in listed}
    new = []
    seen: set[uuid.UUID] = set()
    for offer in offers:
        reward_id = rewards[offer.reward_key]
        row: dict[str, Any] = {
            "option_id": options[(reward_id, offer.value_key)],
            "reward_id": reward_id,
        }
        row |= offer.fields
        existing = current.get((row["vendor_product_id"], row["option_id"]))
        if existing is None:
            row |= {"id": uuid.uuid4(), "updated_at": now}
            new.append(row)
            seen.add(row["id"])
            continue
        seen.add(existing.id)
        for field, value in row.items():
            if getattr(existing, field) != value:
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
    for chunk in _chunks(reward_ids):
        options = (
            await session.exec(
                select(RewardOption.id, RewardOption.reward_id, RewardOption.value_key).where(
                    col(RewardOption.reward_id).in_(chunk)
                )
            )
        ).all()
        offers = await session.exec(
            select(
                Offer.option_id, Offer.countries, col(Offer.min_value), col(Offer.max_value)
            ).where(col(Offer.reward_id).in_(chunk))
        )
        reward_of = {option_id: reward_id for option_id, reward_id, _ in options}
        by_option: dict[uuid.UUID, list[tuple[Decimal | None, Decimal | None]]] = {}
        by_reward: dict[uuid.UUID, list[str]] = {}
        for option_id, countries, min_value, max_value in offers:
            by_option.setdefault(option_id, []).append((min_value, max_value))
            by_reward.setdefault(reward_of[option_id], []).append(countries)
        orphans = [option_id for option_id, _, _ in options if option_id not in by_option]
        if orphans:
            await session.exec(delete(OptionPrice).where(col(OptionPrice.option_id).in_(orphans)))
            await session.exec(delete(RewardOption).where(col(RewardOption.id).in_(orphans)))
        await _update_by_id(
            session,
            RewardOption,
            [
                {
                    "id": option_id,
                    "min_value": min(low for low, _ in spans if low is not None),
                    "max_value": max(high for _, high in spans if high is not None),
                }
                for option_id, _, value_key in options
                if value_key == RANGE and (spans := by_option.get(option_id))
            ],
        )
        await session.exec(delete(RewardCountry).where(col(RewardCountry.reward_id).in_(chunk)))
        changes: list[dict[str, Any]] = []
        listed_in: list[dict[str, object]] = []
        for reward_id in chunk:
            listed = by_reward.get(reward_id, [])
            everywhere = any(not codes for codes in listed)
            codes = set() if everywhere else {c for codes in listed for c in codes.split(",") if c}
            changes.append(
                {
                    "id": reward_id,
                    "available": bool(listed),
                    "countries": ",".join(sorted(codes)),
                    "updated_at": now,
                }
            )
            listed_in.extend({"reward_id": reward_id, "country": code} for code in sorted(codes))
        await _update_by_id(session, Reward, changes)
        await insert_ignoring_conflicts(session, RewardCountry, listed_in)


async def _update_by_id(
    session: AsyncSession, model: type[Reward] | type[RewardOption], rows: list[dict[str, Any]]
) -> None:
    """Each row's values written to the row with its ``id`` (one statement, many rows)."""
    if rows:
        await session.exec(update(model), params=rows)


def _chunks(items: Sequence[Any] | Iterable[Any], size: int = _CHUNK) -> Iterable[list[Any]]:
    items = list(items)
    for start in range(0, len(items), size):
        yield items[start : start + size]
