"""Points for every reward option, per price class, from the cheapest offer.

A price class is the (currency, point value, markup) a program prices with. Prices are
computed in Python with `app.pricing.conversion` (exact, one ceiling) and stored as integers,
so listings filter and sort by points in SQL, in the database's own pages.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from sqlalchemy import delete
from sqlalchemy import select as select_columns
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.catalog.models import Offer, OptionPrice, PriceClass, Reward, RewardOption, RewardPrice
from app.db import insert_ignoring_conflicts
from app.points.ledger import MAX_BALANCE
from app.points.models import Program
from app.pricing.conversion import points_for
from app.pricing.fx import FxError, RateTable
from vendors import CostRule, Money

__all__ = ["offer_cost", "price_class_for", "reprice"]

_CHUNK = 500


class CostTerms(Protocol):
    """What an offer's price depends on (an `Offer` row, or `OfferTerms` read for pricing)."""

    @property
    def cost_amount(self) -> Decimal | None: ...
    @property
    def cost_currency(self) -> str: ...
    @property
    def cost_rate(self) -> Decimal | None: ...
    @property
    def fee_percent(self) -> Decimal | None: ...
    @property
    def fee_fixed(self) -> Decimal | None: ...
    @property
    def min_value(self) -> Decimal | None: ...


@dataclass(frozen=True, slots=True)
class OfferTerms:
    """An offer as pricing reads it: a plain row, not an ORM object (a reprice reads many)."""

    id: uuid.UUID
    option_id: uuid.UUID
    cost_amount: Decimal | None
    cost_currency: str
    cost_rate: Decimal | None
    fee_percent: Decimal | None
    fee_fixed: Decimal | None
    min_value: Decimal | None


@dataclass(frozen=True, slots=True)
class _OptionTerms:
    id: uuid.UUID
    reward_id: uuid.UUID
    face_value: Decimal | None


def offer_cost(offer: CostTerms, face_value: Decimal) -> Money:
    """What the vendor charges for ``face_value`` through this offer."""
    if offer.cost_amount is not None:
        return Money(offer.cost_amount, offer.cost_currency)
    rule = CostRule(
        offer.cost_currency,
        offer.cost_rate or Decimal(1),
        offer.fee_percent or Decimal(0),
        offer.fee_fixed or Decimal(0),
    )
    return rule.cost_of(face_value)


def lowest_value(offer: CostTerms, option: _OptionTerms) -> Decimal | None:
    """The face value an offer's price is quoted at for listing: a fixed option's value, or the
    least a range offer delivers."""
    if option.face_value is not None:
        return option.face_value
    return offer.min_value


async def price_class_for(session: AsyncSession, program: Program) -> PriceClass:
    """The program's price class (created on first use; not yet priced then)."""
    await insert_ignoring_conflicts(
        session,
        PriceClass,
        [
            {
                "id": uuid.uuid4(),
                "currency": program.currency,
                "point_value": program.point_value,
                "markup_percent": program.markup_percent,
                "rates_source": None,
                "rates_as_of": None,
                "priced_version": 0,
            }
        ],
    )
    return (
        await session.exec(
            select(PriceClass).where(
                PriceClass.currency == program.currency,
                PriceClass.point_value == program.point_value,
                PriceClass.markup_percent == program.markup_percent,
            )
        )
    ).one()


async def reprice(
    session: AsyncSession,
    classes: Sequence[PriceClass],
    rates: RateTable,
    reward_ids: Iterable[uuid.UUID] | None = None,
) -> None:
    """Compute and store the points of ``reward_ids`` (default: every reward) in ``classes``."""
    if reward_ids is None:
        reward_ids = (await session.exec(select(Reward.id))).all()
    ids = list(reward_ids)
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        connection = await session.connection()
        options = [
            _OptionTerms(*row)
            for row in await connection.execute(
                select_columns(
                    col(RewardOption.id), col(RewardOption.reward_id), col(RewardOption.face_value)
                ).where(col(RewardOption.reward_id).in_(chunk))
            )
        ]
        offers = [
            OfferTerms(*row)
            for row in await connection.execute(
                select_columns(
                    col(Offer.id),
                    col(Offer.option_id),
                    col(Offer.cost_amount),
                    col(Offer.cost_currency),
                    col(Offer.cost_rate),
                    col(Offer.fee_percent),
                    col(Offer.fee_fixed),
                    col(Offer.min_value),
                ).where(col(Offer.reward_id).in_(chunk))
            )
        ]
        by_option: dict[uuid.UUID, list[OfferTerms]] = {}
        for offer in offers:
            by_option.setdefault(offer.option_id, []).append(offer)
        option_ids = [option.id for option in options]
        for price_class in classes:
            await session.exec(
                delete(OptionPrice).where(
                    col(OptionPrice.price_class_id) == price_class.id,
                    col(OptionPrice.option_id).in_(option_ids),
                )
            )
            await session.exec(
                delete(RewardPrice).where(
                    col(RewardPrice.price_class_id) == price_class.id,
                    col(RewardPrice.reward_id).in_(chunk),
                )
            )
            option_rows, cheapest = _price_options(price_class, options, by_option, rates)
            await insert_ignoring_conflicts(session, OptionPrice, option_rows)
            await insert_ignoring_conflicts(
                session,
                RewardPrice,
                [
                    {"price_class_id": price_class.id, "reward_id": reward_id, "min_points": points}
                    for reward_id, points in cheapest.items()
                ],
            )
    for price_class in classes:
        price_class.rates_source, price_class.rates_as_of = rates.source, rates.as_of
    await session.flush()


def _price_options(
    price_class: PriceClass,
    options: Sequence[_OptionTerms],
    by_option: dict[uuid.UUID, list[OfferTerms]],
    rates: RateTable,
) -> tuple[list[dict[str, object]], dict[uuid.UUID, int]]:
    rows: list[dict[str, object]] = []
    cheapest: dict[uuid.UUID, int] = {}
    for option in options:
        best: tuple[int, uuid.UUID] | None = None
        for offer in by_option.get(option.id, []):
            value = lowest_value(offer, option)
            if value is None:
                continue
            cost = offer_cost(offer, value)
            try:
                rate = rates.rate(cost.currency, price_class.currency)
            except FxError:
                continue  # a currency without a rate cannot be priced: leave the offer out
            points = points_for(
                cost,
                rate=rate,
                point_value=price_class.point_value,
                markup_percent=price_class.markup_percent,
            )
            if points > MAX_BALANCE:
                continue  # more than any balance can hold: not orderable in this class
            if best is None or (points, str(offer.id)) < (best[0], str(best[1])):
                best = (points, offer.id)
        if best is None:
            continue
        rows.append(
            {
                "price_class_id": price_class.id,
                "option_id": option.id,
                "points": best[0],
                "offer_id": best[1],
            }
        )
        previous = cheapest.get(option.reward_id)
        cheapest[option.reward_id] = best[0] if previous is None else min(previous, best[0])
    return rows, cheapest
