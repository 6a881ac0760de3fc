"""Quotes: a price in points locked for one member for a while.

A quote stores everything the conversion used (price, rate and its source and date, markup,
point value), so a redemption that uses it charges exactly those points, and an expired quote is
refused instead of silently re-priced.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.points.models import Program
from app.pricing.conversion import convert
from app.pricing.fx import RateTable
from app.pricing.models import Quote
from vendors.money import Money

__all__ = [
    "PricedOption",
    "QuoteError",
    "QuoteExpired",
    "QuoteNotFound",
    "create_quote",
    "usable_quote",
]


class QuoteError(Exception):
    pass


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


async def create_quote(
    session: AsyncSession,
    *,
    program: Program,
    member_id: uuid.UUID,
    option: PricedOption,
    rates: RateTable,
    now: datetime,
    lifetime: timedelta,
) -> Quote:
    rate = rates.rate(option.cost.currency, program.currency)
    conversion = convert(
        option.cost,
        rate=rate,
        point_value=program.point_value,
        markup_percent=program.markup_percent,
    )
    quote = Quote(
        program_id=program.id,
        member_id=member_id,
        reward_ref=option.reward_ref,
        option_ref=option.option_ref,
        face_amount=option.face_value.amount,
        face_currency=option.face_value.currency,
        price_amount=option.cost.amount,
        price_currency=option.cost.currency,
        rate=rate,
        rate_source=rates.source,
        rate_as_of=rates.as_of,
        markup_percent=program.markup_percent,
        point_value=program.point_value,
        points=conversion.points,
        expires_at=now + lifetime,
        created_at=now,
    )
    session.add(quote)
    await session.flush()
    return quote


async def usable_quote(
    session: AsyncSession, quote_id: uuid.UUID, *, member_id: uuid.UUID, now: datetime
) -> Quote:
    quote = (await session.exec(select(Quote).where(Quote.id == quote_id))).first()
    if quote is None or quote.member_id != member_id:
        raise QuoteNotFound(str(quote_id))
    if quote.expires_at <= now:
        raise QuoteExpired(f"quote {quote_id} expired at {quote.expires_at.isoformat()}")
    return quote
