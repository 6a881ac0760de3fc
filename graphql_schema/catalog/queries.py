from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import strawberry
from sqlalchemy.engine import Connection
from strawberry.relay import from_base64
from strawberry.types.nodes import SelectedField, Selection

from app.catalog.listing import RewardFilter as Wanted
from app.catalog.listing import RewardPage, get_reward, list_rewards
from app.catalog.listing import RewardSort as SortKey
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
from graphql_schema.core.permissions import AnyPrincipal, OpsOnly
from graphql_schema.core.types import PageInfo
from graphql_schema.loaders import options_for

__all__ = ["CatalogQuery"]


def encode_cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, separators=(",", ":")).encode()).decode()


def decode_cursor(cursor: str) -> list[Any] | None:
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, UnicodeDecodeError):
        return None
    return values if isinstance(values, list) and values else None


def _global_uuid(global_id: str, kind: str) -> uuid.UUID | None:
    try:
        found_kind, raw = from_base64(global_id)
        return uuid.UUID(raw) if found_kind == kind else None
    except (ValueError, TypeError):
        return None


@strawberry.type
class CatalogQuery:
    @strawberry.field(
        description="The catalog, priced in the viewer's program: a Relay connection with "
        "cursors from the database (at most 100 per page).",
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
        price_class = await context.viewer_price_class()
        wanted = _wanted(filter)
        position = decode_cursor(after) if after else None
        selected = info.selected_fields
        with_options = _selects(selected, info.field_name, "edges", "node", "options")

        def read(connection: Connection) -> tuple[RewardPage, list[list[RewardOption]] | None]:
            page = list_rewards(
                connection,
                price_class,
                wanted=wanted,
                sort=SortKey((sort or RewardSort.RELEVANCE).value),
                first=first if first is not None else 20,
                after=position,
            )
            if not (with_options and page.items):
                return page, None
            # The page's options in the page's own transaction: one statement for all of them.
            return page, options_for(connection, [(price_class, item.id) for item in page.items])

        # A keyset page walks an index and stops; a substring search scans.
        page, options = await context.database.read(read, short=not wanted.search)
        # Counted once per snapshot by the catalog service, and only when asked for (the
        # value is never read otherwise).
        with_total = _selects(selected, info.field_name, "totalCount")
        total = await context.catalog.count(price_class, wanted) if with_total else 0
        edges = [
            RewardEdge(
                cursor=encode_cursor(cursor),
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

    @strawberry.field(permission_classes=[AnyPrincipal])
    async def reward(self, info: Info, id: strawberry.ID) -> Reward | None:
        reward_id = _global_uuid(str(id), "Reward")
        return await _reward(info, reward_id) if reward_id else None

    @strawberry.field(description="Any object with a global id.", permission_classes=[AnyPrincipal])
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        reward_id = _global_uuid(str(id), "Reward")
        return await _reward(info, reward_id) if reward_id else None

    @strawberry.field(
        description="Each vendor's circuit and catalog refreshes.", permission_classes=[OpsOnly]
    )
    async def vendor_health(self, info: Info) -> list[VendorHealth]:
        rows = await info.context.catalog.health()
        return [VendorHealth(**vars(row)) for row in rows]


async def _reward(info: Info, reward_id: uuid.UUID) -> Reward | None:
    price_class = await info.context.viewer_price_class()
    row = await info.context.database.read(
        lambda connection: get_reward(connection, price_class, reward_id), short=True
    )
    if row is None:
        return None
    options = None
    if _selects(info.selected_fields, info.field_name, "options"):
        options = await info.context.loaders.options_by_reward.load((price_class, row.id))
    return reward_type(row, price_class, options)


def _selects(selections: list[Selection], *path: str) -> bool:
    """Whether the selection asks for the fields along ``path`` (through any fragments)."""
    if not path:
        return True
    for selection in selections:
        if isinstance(selection, SelectedField):
            if selection.name == path[0] and _selects(selection.selections, *path[1:]):
                return True
        elif _selects(selection.selections, *path):
            return True
    return False


def _wanted(filter: RewardFilter | None) -> Wanted:
    if filter is None:
        return Wanted()
    return Wanted(
        kinds=tuple(kind.value for kind in filter.kinds or ()),
        brand=filter.brand,
        search=filter.search,
        country=filter.country,
        currency=filter.currency,
        min_points=filter.min_points,
        max_points=filter.max_points,
    )
