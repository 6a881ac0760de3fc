from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import strawberry

from app.pricing.models import Quote as QuoteRow
from graphql_schema.core.errors import UserError
from graphql_schema.core.types import Money

__all__ = ["Quote", "QuoteInput", "QuotePayload", "quote_type"]


@strawberry.type(description="A price in points, locked for one member until `expiresAt`.")
class Quote:
    id: strawberry.ID
    points: int
    face_value: Money = strawberry.field(description="What the member receives.")
    price: Money = strawberry.field(description="What the vendor charges for it.")
    rate: Decimal = strawberry.field(description="Units of the program currency per unit of price.")
    rate_source: str
    rate_as_of: date
    markup_percent: Decimal
    point_value: Money
    expires_at: datetime


@strawberry.input
class QuoteInput:
    reward_id: strawberry.ID
    option_id: strawberry.ID | None = strawberry.field(
        default=None, description="A fixed face value of the reward."
    )
    amount: Decimal | None = strawberry.field(
        default=None, description="For rewards with a range of values."
    )
    member_id: strawberry.ID | None = strawberry.field(
        default=None, description="Required with a partner key: who the quote is for."
    )


@strawberry.type
class QuotePayload:
    quote: Quote | None
    user_errors: list[UserError]


def quote_type(row: QuoteRow, program_currency: str) -> Quote:
    return Quote(
        id=strawberry.ID(str(row.id)),
        points=row.points,
        face_value=Money.of(row.face_amount, row.face_currency),
        price=Money.of(row.price_amount, row.price_currency),
        rate=row.rate,
        rate_source=row.rate_source,
        rate_as_of=row.rate_as_of,
        markup_percent=row.markup_percent,
        point_value=Money.of(row.point_value, program_currency),
        expires_at=row.expires_at,
    )
