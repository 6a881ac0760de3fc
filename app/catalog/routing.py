"""Which vendor delivers a reward option: the cheapest healthy offer, then the next.

Costs in different charge currencies compare through the current rates (in EUR). An offer is
healthy when its vendor's circuit is closed (or half-open: letting a call through is how it
recovers) and its last catalog refresh did not fail; the saga takes `offers_by_preference` and
fails over down the list.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from sqlalchemy import bindparam, exists, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.catalog.models import Offer, RewardOption, VendorStatus
from app.catalog.prices import offer_cost
from app.db import execute, model_of
from app.pricing.fx import FxError, RateTable
from vendors import Money

__all__ = ["RankedOffer", "best_offer", "offers_by_preference"]


@dataclass(frozen=True)
class RankedOffer:
    offer: Offer
    face_value: Decimal
    cost: Money
    cost_in_eur: Decimal


async def offers_by_preference(
    session: AsyncSession,
    option_or_id: RewardOption | uuid.UUID,
    *,
    rates: RateTable,
    breaker_states: dict[str, str],
    amount: Decimal | None = None,
) -> list[RankedOffer]:
    """Healthy offers able to deliver the option (``amount`` for ranges), cheapest first."""
    if isinstance(option_or_id, RewardOption):
        option: RewardOption | None = option_or_id
    else:
        option = await session.get(RewardOption, option_or_id)
    if option is None:
        return []
    face_value = option.face_value if option.face_value is not None else amount
    if face_value is None:
        return []
    found = await execute(session, _OFFERS, {"option": option.id})
    ranked = []
    for *columns, failing in found:
        offer = model_of(Offer, columns)
        if breaker_states.get(offer.vendor, "closed") == "opened" or failing:
            continue
        if option.face_value is None and not _admits(offer, face_value):
            continue
        cost = offer_cost(offer, face_value)
        try:
            in_eur = rates.rate(cost.currency, "EUR").approximately(cost.amount)
        except FxError:
            continue
        ranked.append(RankedOffer(offer, face_value, cost, in_eur))
    return sorted(ranked, key=lambda r: (r.cost_in_eur, r.offer.vendor, str(r.offer.id)))


_OFFER_TABLE: Final = Offer.__table__  # type: ignore[attr-defined]
_STATUS_TABLE: Final = VendorStatus.__table__  # type: ignore[attr-defined]
# The option's offers, each with whether its vendor's last refresh failed: one statement.
_OFFERS: Final = select(
    *_OFFER_TABLE.c,
    exists()
    .where(
        _STATUS_TABLE.c.vendor == _OFFER_TABLE.c.vendor,
        _STATUS_TABLE.c.consecutive_failures > 0,
    )
    .label("failing"),
).where(_OFFER_TABLE.c.option_id == bindparam("option"))


async def best_offer(
    session: AsyncSession,
    option_id: uuid.UUID,
    *,
    rates: RateTable,
    breaker_states: dict[str, str],
    amount: Decimal | None = None,
) -> RankedOffer | None:
    """The cheapest healthy offer, or None when no healthy offer remains."""
    ranked = await offers_by_preference(
        session, option_id, rates=rates, breaker_states=breaker_states, amount=amount
    )
    return ranked[0] if ranked else None


def _admits(offer: Offer, value: Decimal) -> bool:
    if offer.min_value is None or offer.max_value is None:
        return False
    step = offer.step or Decimal("0.01")
    return offer.min_value <= value <= offer.max_value and value % step == 0
