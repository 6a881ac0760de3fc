from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from enum import Enum

import strawberry
from sqlmodel import col, func, select

from app.points.models import JournalEntry, LedgerAccount
from app.points.models import Member as MemberRow
from graphql_schema.context import Info
from graphql_schema.core.errors import UserError, not_authenticated
from graphql_schema.core.paging import (
    encode_cursor,
    newest_first,
    older_than,
    page_size,
    time_position,
)
from graphql_schema.core.types import EMPTY_PAGE, Money, PageInfo, page_info
from graphql_schema.redemption.types import (
    RedemptionConnection,
    member_condition,
    redemption_page,
)

__all__ = [
    "EarnPointsPayload",
    "Member",
    "MemberTokenPayload",
    "PointsActivity",
    "PointsActivityConnection",
    "PointsBalance",
    "Program",
]


@strawberry.type(description="A partner's points currency.")
class Program:
    id: strawberry.ID
    name: str
    currency: str = strawberry.field(description="The program's base currency (ISO 4217).")
    point_value: Money = strawberry.field(description="What one point is worth.")
    markup_percent: Decimal = strawberry.field(description="Added to every reward's cost.")


@strawberry.type(description="A member's points, as of now.")
class PointsBalance:
    available: int = strawberry.field(description="Spendable now.")
    pending: int = strawberry.field(description="Earned, spendable once they activate.")
    held: int = strawberry.field(description="Reserved by redemptions in progress.")
    program: Program


@strawberry.enum
class PointsActivityKind(Enum):
    EARN = "earn"
    ACTIVATE = "activate"
    HOLD = "hold"
    POST = "post"
    VOID = "void"
    HOLD_EXPIRE = "hold_expire"
    EXPIRE = "expire"


@strawberry.type(description="One movement of a member's points.")
class PointsActivity:
    id: strawberry.ID
    kind: PointsActivityKind
    points: int
    reason: str | None
    created_at: datetime


@strawberry.type
class PointsActivityEdge:
    cursor: str
    node: PointsActivity


@strawberry.type
class PointsActivityConnection:
    edges: list[PointsActivityEdge]
    page_info: PageInfo
    total_count: int


def program_type(row: object) -> Program:
    from app.points.models import Program as ProgramRow

    assert isinstance(row, ProgramRow)
    return Program(
        id=strawberry.ID(str(row.id)),
        name=row.name,
        currency=row.currency,
        point_value=Money.of(row.point_value, row.currency),
        markup_percent=row.markup_percent,
    )


@strawberry.type(description="A partner's member, known by the partner's own member id.")
class Member:
    program_id: strawberry.Private[uuid.UUID]
    external_id: strawberry.Private[str]

    @strawberry.field(description="The partner's own member id.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(self.external_id)

    @strawberry.field
    async def points(self, info: Info) -> PointsBalance:
        loaders = info.context.loaders
        balance = await loaders.balance_by_member.load((self.program_id, self.external_id))
        program = await loaders.program_by_id.load(self.program_id)
        if program is None:  # a signed credential outliving its program
            raise not_authenticated(
                f"no program {self.program_id} for this credential", info.context.response
            )
        return PointsBalance(
            available=balance.available,
            pending=balance.pending,
            held=balance.held,
            program=program_type(program),
        )

    @strawberry.field(
        description="Every movement of the member's points, newest first. `first`: 1 to 100 "
        "(default 20); `after`: a cursor of this connection."
    )
    async def history(
        self, info: Info, first: int | None = 20, after: str | None = None
    ) -> PointsActivityConnection:
        size = page_size(first)
        position = time_position(after, _HISTORY) if after is not None else None
        async with info.context.database.session() as session:
            account = (
                await session.exec(
                    select(LedgerAccount.id)
                    .join(MemberRow, col(MemberRow.id) == LedgerAccount.member_id)
                    .where(
                        MemberRow.program_id == self.program_id,
                        MemberRow.external_id == self.external_id,
                    )
                )
            ).first()
            if account is None:
                return PointsActivityConnection(edges=[], page_info=EMPTY_PAGE, total_count=0)
            query = select(JournalEntry).where(JournalEntry.account_id == account)
            total = (
                await session.exec(select(func.count()).where(JournalEntry.account_id == account))
            ).one()
            created, entry_id = col(JournalEntry.created_at), col(JournalEntry.id)
            if position is not None:
                query = query.where(older_than(created, entry_id, position))
            rows = (
                await session.exec(query.order_by(*newest_first(created, entry_id)).limit(size + 1))
            ).all()
        page = rows[:size]
        edges = [
            PointsActivityEdge(
                cursor=encode_cursor([entry.created_at.isoformat(), str(entry.id)], _HISTORY),
                node=PointsActivity(
                    id=strawberry.ID(str(entry.id)),
                    kind=PointsActivityKind(entry.kind),
                    points=entry.points,
                    reason=entry.reason,
                    created_at=entry.created_at,
                ),
            )
            for entry in page
        ]
        return PointsActivityConnection(
            edges=edges,
            page_info=page_info(
                [edge.cursor for edge in edges], more=len(rows) > size, after=position is not None
            ),
            total_count=int(total),
        )

    @strawberry.field(
        description="The member's redemptions, newest first. `first`: 1 to 100 (default 20); "
        "`after`: a cursor of this connection."
    )
    async def redemptions(
        self, info: Info, first: int | None = 20, after: str | None = None
    ) -> RedemptionConnection:
        return await redemption_page(
            info,
            member_condition(self.program_id, self.external_id),
            first=first,
            after=after,
            query="member-redemptions",
        )


_HISTORY = "history"


@strawberry.type
class EarnPointsPayload:
    member: Member | None
    user_errors: list[UserError]


@strawberry.type
class MemberTokenPayload:
    token: str | None = strawberry.field(description="Bearer token for the member's app.")
    expires_at: datetime | None
    user_errors: list[UserError]
