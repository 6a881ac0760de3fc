from __future__ import annotations

import uuid

import strawberry
from sqlmodel import col, select

from app.points.models import Member as MemberRow
from app.points.models import Program as ProgramRow
from app.redemption.models import Redemption as RedemptionRow
from app.redemption.models import RedemptionStatus as Status
from graphql_schema.context import Info
from graphql_schema.core.ids import global_uuid
from graphql_schema.core.permissions import AnyPrincipal, OpsOnly
from graphql_schema.redemption.types import (
    Redemption,
    RedemptionConnection,
    redemption_page,
    redemption_type,
)

__all__ = ["RedemptionQuery", "visible_redemption"]


@strawberry.type
class RedemptionQuery:
    @strawberry.field(
        description="One redemption: a member sees its own, a partner its members', ops any "
        "(without delivery codes). Null when there is none the caller may see.",
        permission_classes=[AnyPrincipal],
    )
    async def redemption(self, info: Info, id: strawberry.ID) -> Redemption | None:
        redemption_id = global_uuid(id, "Redemption")
        found = None if redemption_id is None else await visible_redemption(info, redemption_id)
        return None if found is None else redemption_type(*found)

    @strawberry.field(
        description="Redemptions waiting for ops (NEEDS_OPS), newest first.",
        permission_classes=[OpsOnly],
    )
    async def failed_redemptions(
        self, info: Info, first: int | None = 20, after: str | None = None
    ) -> RedemptionConnection:
        return await redemption_page(
            info,
            (col(RedemptionRow.status) == Status.NEEDS_OPS)
            & col(RedemptionRow.program_id).in_(
                select(ProgramRow.id).where(
                    ProgramRow.partner_id == info.context.caller().partner_id
                )
            ),
            first=first,
            after=after,
            query="failed",
        )


async def visible_redemption(
    info: Info, redemption_id: uuid.UUID
) -> tuple[RedemptionRow, str] | None:
    """The redemption and its member's id, if the caller may see it: a member its own, a
    partner its members', ops those of its partner's programs."""
    caller = info.context.caller()
    async with info.context.database.session() as session:
        found = (
            await session.exec(
                select(RedemptionRow, MemberRow.external_id, ProgramRow.partner_id)
                .join(MemberRow, col(MemberRow.id) == RedemptionRow.member_id)
                .join(ProgramRow, col(ProgramRow.id) == RedemptionRow.program_id)
                .where(RedemptionRow.id == redemption_id)
            )
        ).first()
    if found is None:
        return None
    row, external_id, partner_id = found
    if caller.role == "ops":
        return (row, external_id) if partner_id == caller.partner_id else None
    if caller.program_id != row.program_id:
        return None
    if caller.role == "member" and caller.member_id != external_id:
        return None
    return row, external_id
