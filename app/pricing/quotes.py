"""Quotes: a price in points locked for one member for a while.

A quote stores everything the conversion used (price, the two per-EUR rates and their source
and date, markup, point value), so a redemption that uses it charges exactly those points, and
an expired quote is refused instead of silently re-priced. `create_quote` refuses what it must
not lock whatever its caller checked: stale rates, a lifetime outside (0, `MAX_LIFETIME`], an
amount with more decimals than its currency has.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Final

from sqlalchemy import insert
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db import execute
from app.points.ledger import MAX_BALANCE
from app.points.models import Program
from app.pricing.conversion import convert
from app.pricing.fx import RatePolicy, RateTable
from app.pricing.models import Quote
from vendors.money import Money, fits_minor_units, minor_units

__all__ = [
    "MAX_LIFETIME",
    "InvalidAmount",
    "PricedOption",
    "QuoteError",
    "QuoteExpired",
    "QuoteNotFound",
    "TooManyPoints",
    "create_quote",
    "usable_quote",
]

MAX_LIFETIME = timedelta(days=1)
# A quote stores amounts as NUMERIC(20, 6): 14 integer digits.
_AMOUNT_BELOW = Decimal(10) ** 14


class QuoteError(Exception):
    pass


class InvalidAmount(QuoteError):
    """An amount with more decimals than its currency has (ISO 4217 minor units)."""


class TooManyPoints(QuoteError):
    """A price in points above what any balance can hold (`ledger.MAX_BALANCE`)."""


class QuoteExpired(QuoteError):
    pass


class QuoteNotFound(QuoteError):
    """No such quote for this member (another member's quote is not found either)."""


@dataclass(frozen=True)
class PricedOption:
    """One reward option as a quote prices it: the face value the member gets and what the
    vendor charges us for it."""

    reward_ref: str
    option_ref: str | None
    face_value: Money
    cost: Money
    reward_id: uuid.UUID | None = None
    option_id: uuid.UUID | None = None
    offer_id: uuid.UUID | None = None


async def create_quote(
    session: AsyncSession,
    *,
    program: Program,
    member_id: uuid.UUID,
    option: PricedOption,
    rates: RateTable,
    policy: RatePolicy,
    now: datetime,
    lifetime: timedelta,
) -> Quote:
    """Price ``option`` for the member and lock it for ``lifetime``. Raises `StaleRates`
    (an `FxError`) when ``rates`` may not be priced on now, `InvalidAmount` for an amount
    its currency cannot hold, `QuoteError` for a lifetime outside (0, `MAX_LIFETIME`]."""
    if not timedelta(0) < lifetime <= MAX_LIFETIME:
        raise QuoteError(f"a quote lives more than 0 and at most {MAX_LIFETIME}, not {lifetime}")
    for money in (option.face_value, option.cost):
        if not fits_minor_units(money.amount, money.currency):
            raise InvalidAmount(
                f"{money.amount} has more decimals than {money.currency} has "
                f"({minor_units(money.currency)})"
            )
        if not Decimal(0) < money.amount < _AMOUNT_BELOW:
            raise InvalidAmount(f"{money} is not a price: more than 0, less than 10^14")
    policy.check(rates, now)
    rate = rates.rate(option.cost.currency, program.currency)
    conversion = convert(
        option.cost,
        rate=rate,
        point_value=program.point_value,
        markup_percent=program.markup_percent,
    )
    if conversion.points > MAX_BALANCE:
        raise TooManyPoints(
            f"this costs {conversion.points} points, more than a balance can hold ({MAX_BALANCE})"
        )
    quote = Quote(
        program_id=program.id,
        member_id=member_id,
        reward_ref=option.reward_ref,
        option_ref=option.option_ref,
        reward_id=option.reward_id,
        option_id=option.option_id,
        offer_id=option.offer_id,
        face_amount=option.face_value.amount,
        face_currency=option.face_value.currency,
        price_amount=option.cost.amount,
        price_currency=option.cost.currency,
        rate=rate.shown,
        price_currency_per_eur=rate.source_per_eur,
        program_currency_per_eur=rate.target_per_eur,
        rate_source=rates.source,
        rate_as_of=rates.as_of,
        markup_percent=program.markup_percent,
        point_value=program.point_value,
        points=conversion.points,
        expires_at=now + lifetime,
        created_at=now,
    )
    await execute(session, _INSERT_QUOTE, quote.model_dump())
    return quote


_INSERT_QUOTE: Final = insert(Quote.__table__)  # type: ignore[attr-defined]


async def usable_quote(
    session: AsyncSession, quote_id: uuid.UUID, *, member_id: uuid.UUID, now: datetime
) -> Quote:
    quote = (await session.exec(select(Quote).where(Quote.id == quote_id))).first()
    if quote is None or quote.member_id != member_id:
        raise QuoteNotFound(str(quote_id))
    if quote.expires_at <= now:
        raise QuoteExpired(f"quote {quote_id} expired at {quote.expires_at.isoformat()}")
    return quote
