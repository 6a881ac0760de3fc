"""A reward option as quotes and redemptions take it: the catalog's ids in, the offers able to
deliver it out, cheapest healthy first (`routing.offers_by_preference`).

The price a member sees is the first offer's cost, the offer the saga orders from first; the
rest are where it fails over to when nothing could have been sent to the first.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from sqlalchemy import bindparam, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.catalog.models import Reward, RewardOption
from app.catalog.routing import RankedOffer, offers_by_preference
from app.db import execute, model_of
from app.pricing.fx import RateTable
from app.pricing.quotes import PricedOption
from vendors import Money
from vendors.money import fits_minor_units, minor_units

__all__ = ["ChosenOption", "OfferError", "choose_option"]


class OfferError(Exception):
    """The reward or option cannot be priced; ``code`` is the user error to return."""

    def __init__(self, code: str, message: str, field: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


@dataclass(frozen=True)
class ChosenOption:
    reward: Reward
    option: RewardOption
    face_value: Money
    offers: list[RankedOffer]  # never empty

    @property
    def best(self) -> RankedOffer:
        return self.offers[0]

    def priced(self) -> PricedOption:
        """What a quote locks: the face value, and what the first offer's vendor charges."""
        offer = self.best.offer
        return PricedOption(
            reward_ref=f"{offer.vendor}:{offer.vendor_product_id}",
            option_ref=str(self.option.id),
            face_value=self.face_value,
            cost=self.best.cost,
            reward_id=self.reward.id,
            option_id=self.option.id,
            offer_id=offer.id,
        )


async def choose_option(
    session: AsyncSession,
    reward_id: uuid.UUID,
    option_id: uuid.UUID | None,
    amount: Decimal | None,
    *,
    rates: RateTable,
    breaker_states: dict[str, str],
) -> ChosenOption:
    """The option of the reward the member chose (a fixed value, or an amount in a range),
    with its healthy offers; `OfferError` naming what is wrong otherwise."""
    found = (await execute(session, _REWARD_AND_OPTIONS, {"reward": reward_id})).all()
    if not found:
        raise OfferError("NOT_FOUND", "no such reward", "rewardId")
    width = len(_REWARDS.c)
    reward = model_of(Reward, found[0][:width])
    if not reward.available:
        raise OfferError("REWARD_UNAVAILABLE", "this reward is not available now", "rewardId")
    options = [model_of(RewardOption, row[width:]) for row in found if row[width] is not None]
    option = _option(options, option_id, amount)
    if option.face_value is not None and amount is not None and amount != option.face_value:
        raise OfferError("INVALID_AMOUNT", "this option has a fixed value", "amount")
    face = option.face_value if option.face_value is not None else _amount(option, amount, reward)
    offers = await offers_by_preference(
        session, option, rates=rates, breaker_states=breaker_states, amount=face
    )
    if not offers:
        if option.face_value is None:
            raise OfferError(
                "INVALID_AMOUNT", "no vendor delivers this amount now; try another", "amount"
            )
        raise OfferError("REWARD_UNAVAILABLE", "no vendor can deliver this reward now", "rewardId")
    return ChosenOption(reward, option, Money(face, reward.currency), offers)


_REWARDS: Final = Reward.__table__  # type: ignore[attr-defined]
_OPTIONS: Final = RewardOption.__table__  # type: ignore[attr-defined]
_REWARD_AND_OPTIONS: Final = (
    select(*_REWARDS.c, *_OPTIONS.c)
    .select_from(_REWARDS.outerjoin(_OPTIONS, _OPTIONS.c.reward_id == _REWARDS.c.id))
    .where(_REWARDS.c.id == bindparam("reward"))
)


def _option(
    options: list[RewardOption], option_id: uuid.UUID | None, amount: Decimal | None
) -> RewardOption:
    if option_id is not None:
        for option in options:
            if option.id == option_id:
                return option
        raise OfferError("NOT_FOUND", "no such option of this reward", "optionId")
    if len(options) == 1:
        return options[0]
    if amount is not None:
        ranges = [option for option in options if option.face_value is None]
        fixed = [option for option in options if option.face_value == amount]
        if len(fixed) == 1:
            return fixed[0]
        if len(ranges) == 1:
            return ranges[0]
    raise OfferError("INVALID_AMOUNT", "choose one of the reward's options", "optionId")


def _amount(option: RewardOption, amount: Decimal | None, reward: Reward) -> Decimal:
    if amount is None:
        raise OfferError("INVALID_AMOUNT", "this option needs an amount", "amount")
    if not fits_minor_units(amount, reward.currency):
        raise OfferError(
            "INVALID_AMOUNT",
            f"{reward.currency} amounts have at most {minor_units(reward.currency)} decimals",
            "amount",
        )
    low, high = option.min_value, option.max_value
    if low is None or high is None or not low <= amount <= high:
        raise OfferError(
            "INVALID_AMOUNT", f"the amount must be {low} to {high} {reward.currency}", "amount"
        )
    return amount
