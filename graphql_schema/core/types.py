"""Money and pagination types shared by every domain."""

from __future__ import annotations

import base64
from decimal import Decimal

import strawberry

from vendors.money import minor_units

__all__ = [
    "EMPTY_PAGE",
    "MAX_PAGE",
    "Money",
    "PageInfo",
    "decode_cursor",
    "encode_cursor",
    "page_size",
]

MAX_PAGE = 100


@strawberry.type(description="An exact amount in an ISO 4217 currency.")
class Money:
    amount: Decimal = strawberry.field(description='Exact decimal, as a string: "25.00".')
    currency: str = strawberry.field(description="ISO 4217 code.")

    @classmethod
    def of(cls, amount: Decimal, currency: str) -> Money:
        """Written with the currency's minor units ("25.00", "1000" yen); a finer amount (a
        point worth 0.005 USD) keeps its digits and loses only trailing zeros."""
        exponent = Decimal(1).scaleb(-minor_units(currency))
        written = amount.quantize(exponent)
        return cls(amount=written if written == amount else amount.normalize(), currency=currency)


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


EMPTY_PAGE = PageInfo(
    has_next_page=False, has_previous_page=False, start_cursor=None, end_cursor=None
)


def encode_cursor(*parts: str) -> str:
    return base64.urlsafe_b64encode("|".join(parts).encode()).decode()


def decode_cursor(cursor: str, parts: int) -> list[str] | None:
    """The cursor's parts, or None for a cursor we did not make."""
    try:
        decoded = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
    except (ValueError, UnicodeDecodeError):
        return None
    return decoded if len(decoded) == parts else None


def page_size(first: int | None, default: int = 20) -> int:
    return max(1, min(first if first is not None else default, MAX_PAGE))
