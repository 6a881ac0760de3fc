"""Money and pagination types shared by every domain."""

from __future__ import annotations

from decimal import Decimal

import strawberry

from vendors.money import minor_units

__all__ = ["EMPTY_PAGE", "Money", "PageInfo", "page_info"]


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


def page_info(cursors: list[str], *, more: bool, after: bool) -> PageInfo:
    """The page info of a forward page whose edges have ``cursors``: ``more`` rows follow it,
    ``after`` a cursor started it."""
    return PageInfo(
        has_next_page=more,
        has_previous_page=after,
        start_cursor=cursors[0] if cursors else None,
        end_cursor=cursors[-1] if cursors else None,
    )


EMPTY_PAGE = PageInfo(
    has_next_page=False, has_previous_page=False, start_cursor=None, end_cursor=None
)
