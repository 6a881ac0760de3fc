"""Redemptions as members, partners and ops see them."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import Enum

import strawberry
from sqlalchemy import ColumnElement, func
from sqlmodel import col, select

from app.points.models import Member as MemberRow
from app.redemption.delivery import UnreadableDelivery
from app.redemption.models import Redemption as RedemptionRow
from graphql_schema.catalog.types import Node, Reward
from graphql_schema.context import Info
from graphql_schema.core.errors import UserError
from graphql_schema.core.ids import global_id
from graphql_schema.core.paging import (
    encode_cursor,
    newest_first,
    older_than,
    page_size,
    time_position,
)
from graphql_schema.core.types import Money, PageInfo, page_info

__all__ = [
    "Delivery",
    "Redemption",
    "RedemptionConnection",
    "RedemptionPayload",
    "RedemptionStatus",
    "redemption_page",
    "redemption_type",
]


@strawberry.enum(description="Where a redemption stands.")
class RedemptionStatus(Enum):
    PENDING = strawberry.enum_value("PENDING", description="Being reserved (never stored).")
    POINTS_RESERVED = strawberry.enum_value(
        "POINTS_RESERVED", description="Points held; the vendor order is being placed."
    )
    VENDOR_PENDING = strawberry.enum_value(
        "VENDOR_PENDING",
        description="The vendor has the order (or is being asked whether it has): in progress.",
    )
    COMPLETED = strawberry.enum_value("COMPLETED", description="Delivered; the points are spent.")
    COMPENSATED = strawberry.enum_value(
        "COMPENSATED", description="The vendor order failed; the points are back."
    )
    NEEDS_OPS = strawberry.enum_value(
        "NEEDS_OPS", description="Stuck or unclear; ops will resolve it. The points stay held."
    )


@strawberry.type(description="What the member receives; only for the owning member or partner.")
class Delivery:
    code: str | None
    pin: str | None
    url: str | None


@strawberry.type(description="Points exchanged for a reward.")
class Redemption(Node):
    row: strawberry.Private[RedemptionRow]
    member_external_id: strawberry.Private[str]
    id: strawberry.ID
    status: RedemptionStatus
    points: int = strawberry.field(description="The points it costs (held until settled).")
    face_value: Money
    vendor: str = strawberry.field(description="The vendor ordered from (now or last).")
    vendor_reference: str | None = strawberry.field(description="The vendor's order id.")
    failure_reason: str | None
    attempts: int = strawberry.field(description="How many times the saga has run for it.")
    created_at: datetime
    updated_at: datetime

    @strawberry.field(
        description="What the vendor charged, when it said (it may differ from the quote's "
        "price; the member pays the quoted points)."
    )
    def charged(self) -> Money | None:
        if self.row.charged_amount is None or self.row.charged_currency is None:
            return None
        return Money.of(self.row.charged_amount, self.row.charged_currency)

    @strawberry.field(description="The reward redeemed, priced now; null once it left the catalog.")
    async def reward(self, info: Info) -> Reward | None:
        from graphql_schema.catalog.queries import reward_by_id

        return await reward_by_id(info, self.row.reward_id)

    @strawberry.field(description="Codes, pins and links: only for the owning member or partner.")
    def delivery(self, info: Info) -> Delivery | None:
        caller = info.context.caller()
        owner = caller.program_id == self.row.program_id and (
            caller.role == "partner"
            or (caller.role == "member" and caller.member_id == self.member_external_id)
        )
        if not owner:
            return None
        try:
            opened = info.context.redemptions.cipher.open(self.row.delivery)
        except UnreadableDelivery:
            raise  # an operator's mistake (a key removed too early): masked, logged
        if opened is None:
            return None
        return Delivery(code=opened.code, pin=opened.pin, url=opened.url)


def redemption_type(row: RedemptionRow, member_external_id: str) -> Redemption:
    return Redemption(
        row=row,
        member_external_id=member_external_id,
        id=global_id("Redemption", row.id),
        status=RedemptionStatus(row.status),
        points=row.points,
        face_value=Money.of(row.face_amount, row.face_currency),
        vendor=row.vendor,
        vendor_reference=row.vendor_reference,
        failure_reason=row.failure_reason,
        attempts=row.runs,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


@strawberry.type
class RedemptionEdge:
    cursor: str
    node: Redemption


@strawberry.type
class RedemptionConnection:
    edges: list[RedemptionEdge]
    page_info: PageInfo
    total_count: int


@strawberry.type
class RedemptionPayload:
    redemption: Redemption | None
    user_errors: list[UserError]
    outcome: str | None = strawberry.field(
        default=None, description="What an ops action did (see the mutation)."
    )


async def redemption_page(
    info: Info,
    condition: ColumnElement[bool],
    *,
    first: int | None,
    after: str | None,
    query: str,
) -> RedemptionConnection:
    """A newest-first page of the redemptions ``condition`` selects (joined to their member)."""
    size = page_size(first)
    position = time_position(after, query) if after is not None else None
    statement = (
        select(RedemptionRow, MemberRow.external_id)
        .join(MemberRow, col(MemberRow.id) == RedemptionRow.member_id)
        .where(condition)
    )
    async with info.context.database.session() as session:
        total = (
            await session.exec(
                select(func.count())
                .select_from(RedemptionRow)
                .join(MemberRow, col(MemberRow.id) == RedemptionRow.member_id)
                .where(condition)
            )
        ).one()
        created, row_id = col(RedemptionRow.created_at), col(RedemptionRow.id)
        if position is not None:
            statement = statement.where(older_than(created, row_id, position))
        rows = (
            await session.exec(statement.order_by(*newest_first(created, row_id)).limit(size + 1))
        ).all()
    page = rows[:size]
    edges = [
        RedemptionEdge(
            cursor=encode_cursor([row.created_at.isoformat(), str(row.id)], query),
            node=redemption_type(row, external_id),
        )
        for row, external_id in page
    ]
    return RedemptionConnection(
        edges=edges,
        page_info=page_info(
            [edge.cursor for edge in edges], more=len(rows) > size, after=position is not None
        ),
        total_count=int(total),
    )


def member_condition(program_id: uuid.UUID, external_id: str) -> ColumnElement[bool]:
    return (col(MemberRow.program_id) == program_id) & (col(MemberRow.external_id) == external_id)
