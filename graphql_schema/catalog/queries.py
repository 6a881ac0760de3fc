from __future__ import annotations

import uuid
from typing import Any

import strawberry
from sqlalchemy.engine import Connection

from app.catalog.listing import InvalidCursor, RewardPage, get_reward, list_rewards
from app.catalog.listing import RewardFilter as Wanted
from app.catalog.listing import RewardSort as SortKey
from graphql_schema._selection import selects
from graphql_schema.catalog.types import (
    Node,
    Reward,
    RewardConnection,
    RewardEdge,
    RewardFilter,
    RewardOption,
    RewardSort,
    VendorHealth,
    reward_type,
)
from graphql_schema.context import Info
from graphql_schema.core.ids import global_uuid
from graphql_schema.core.paging import bad_input, decode_cursor, encode_cursor, page_size
from graphql_schema.core.permissions import AnyPrincipal, OpsOnly
from graphql_schema.core.types import PageInfo
from graphql_schema.loaders import options_for

__all__ = ["CatalogQuery", "reward_by_id", "reward_cursor"]


MAX_SEARCH = 100
MAX_BRAND = 200


@strawberry.type
class CatalogQuery:
    @strawberry.field(
        description="The catalog, priced in the viewer's program: a Relay connection with "
        "cursors from the database. `first`: 1 to 100 (default 20); `after`: a cursor of a "
        "page of this same query (same sort and filter), else `BAD_USER_INPUT`.",
        permission_classes=[AnyPrincipal],
    )
    async def rewards(
        self,
        info: Info,
        first: int | None = 20,
        after: str | None = None,
        filter: RewardFilter | None = None,
        sort: RewardSort | None = RewardSort.RELEVANCE,
    ) -> RewardConnection:
        context = info.context
        size = page_size(first)
        wanted = _wanted(filter)
        order = SortKey((sort or RewardSort.RELEVANCE).value)
        query = _query_identity(order, wanted)
        position = decode_cursor(after, query) if after is not None else None
        price_class = await context.viewer_price_class()
        with_options = selects(info, "edges", "node", "options")

        def read(connection: Connection) -> tuple[RewardPage, list[list[RewardOption]] | None]:
            page = list_rewards(
                connection, price_class, wanted=wanted, sort=order, first=size, after=position
            )
            if not (with_options and page.items):
                return page, None
            # The page's options in the page's own transaction: one statement for all of them.
            return page, options_for(connection, [(price_class, item.id) for item in page.items])

        # A keyset page walks an index and stops; a substring search scans.
        try:
            page, options = await context.database.read(read, short=not wanted.search)
        except InvalidCursor:
            raise bad_input("`after` is not a cursor this API made", "after") from None
        # Counted once per snapshot by the catalog service, and only when asked for (the
        # value is never read otherwise).
        with_total = selects(info, "totalCount")
        total = await context.catalog.count(price_class, wanted) if with_total else 0
        edges = [
            RewardEdge(
                cursor=encode_cursor(cursor, query),
                node=reward_type(item, price_class, options[index] if options else None),
            )
            for index, (item, cursor) in enumerate(zip(page.items, page.cursors, strict=True))
        ]
        return RewardConnection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=page.has_next,
                has_previous_page=position is not None,
                start_cursor=edges[0].cursor if edges else None,
                end_cursor=edges[-1].cursor if edges else None,
            ),
            total_count=total,
        )

    @strawberry.field(
        description="One reward by its global id; null when there is none.",
        permission_classes=[AnyPrincipal],
    )
    async def reward(self, info: Info, id: strawberry.ID) -> Reward | None:
        reward_id = global_uuid(str(id), "Reward")
        return await reward_by_id(info, reward_id) if reward_id else None

    @strawberry.field(
        description="Any object with a global id: a `Reward`, or a `Redemption` the caller "
        "may see.",
        permission_classes=[AnyPrincipal],
    )
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        reward_id = global_uuid(str(id), "Reward")
        if reward_id is not None:
            return await reward_by_id(info, reward_id)
        redemption_id = global_uuid(str(id), "Redemption")
        if redemption_id is None:
            return None
        from graphql_schema.redemption.queries import visible_redemption
        from graphql_schema.redemption.types import redemption_type

        found = await visible_redemption(info, redemption_id)
        return None if found is None else redemption_type(*found)

    @strawberry.field(
        description="Each vendor's circuit and catalog refreshes.", permission_classes=[OpsOnly]
    )
    async def vendor_health(self, info: Info) -> list[VendorHealth]:
        rows = await info.context.catalog.health()
        return [VendorHealth(**vars(row)) for row in rows]


async def reward_by_id(info: Info, reward_id: uuid.UUID) -> Reward | None:
    price_class = await info.context.viewer_price_class()
    row = await info.context.database.read(
        lambda connection: get_reward(connection, price_class, reward_id), short=True
    )
    if row is None:
        return None
    options = None
    if selects(info, "options"):
        options = await info.context.loaders.options_by_reward.load((price_class, row.id))
    return reward_type(row, price_class, options)


def _query_identity(sort: SortKey, wanted: Wanted) -> str:
    """What a cursor must have been made by: this sort and this filter."""
    return f"rewards|{sort.value}|{wanted!r}"


def reward_cursor(
    key: list[Any], sort: SortKey = SortKey.RELEVANCE, wanted: Wanted | None = None
) -> str:
    """The cursor `rewards` gives the row with sort key ``key`` (benchmarks build them)."""
    return encode_cursor(key, _query_identity(sort, wanted or Wanted()))


def _wanted(filter: RewardFilter | None) -> Wanted:
    if filter is None:
        return Wanted()
    if filter.search is not None and len(filter.search) > MAX_SEARCH:
        raise bad_input(f"`search` is at most {MAX_SEARCH} characters", "filter.search")
    if filter.search is not None and any(ord(c) < 32 or ord(c) == 127 for c in filter.search):
        raise bad_input("`search` holds a control character", "filter.search")
    if filter.brand is not None and len(filter.brand) > MAX_BRAND:
        raise bad_input(f"`brand` is at most {MAX_BRAND} characters", "filter.brand")
    if filter.country is not None and not _letters(filter.country, 2):
        raise bad_input("`country` is an ISO 3166-1 alpha-2 code: two letters", "filter.country")
    if filter.currency is not None and not _letters(filter.currency, 3):
        raise bad_input("`currency` is an ISO 4217 code: three letters", "filter.currency")
    for name, value in (("minPoints", filter.min_points), ("maxPoints", filter.max_points)):
        if value is not None and value < 0:
            raise bad_input(f"`{name}` cannot be negative", f"filter.{name}")
    if (
        filter.min_points is not None
        and filter.max_points is not None
        and filter.min_points > filter.max_points
    ):
        raise bad_input(
            f"`minPoints` ({filter.min_points}) is above `maxPoints` ({filter.max_points})",
            "filter.minPoints",
        )
    return Wanted(
        # A set: the same kinds in another order are the same query (and the same cursors).
        kinds=tuple(sorted({kind.value for kind in filter.kinds or ()})),
        brand=filter.brand,
        search=filter.search,
        country=filter.country,
        currency=filter.currency,
        min_points=filter.min_points,
        max_points=filter.max_points,
    )


def _letters(code: str, length: int) -> bool:
    return len(code) == length and code.isascii() and code.isalpha()
