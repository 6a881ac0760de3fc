from __future__ import annotations

import strawberry
from sqlmodel import col, select

from app.points.models import Member as MemberRow
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

__all__ = ["RedemptionQuery"]


@strawberry.type
class RedemptionQuery:
    @strawberry.field(
        description="One redemption: a member sees its own, a partner its members', ops any "
        "(without delivery codes). Null when there is none the caller may see.",
        permission_classes=[AnyPrincipal],
    )
    async def redemption(self, info: Info, id: strawberry.ID) -> Redemption | None:
        redemption_id = global_uuid(id, "Redemption")
        if redemption_id is None:
            return None
        async with info.context.database.session() as session:
            found = (
                await session.exec(
                    select(RedemptionRow, MemberRow.external_id)
                    .join(MemberRow, col(MemberRow.id) == RedemptionRow.member_id)
                    .where(RedemptionRow.id == redemption_id)
                )
            ).first()
        if found is None:
            return None
        row, external_id = found
        caller = info.context.caller()
        if caller.role != "ops" and (
            caller.program_id != row.program_id
            or (caller.role == "member" and caller.member_id != external_id)
        ):
            return None
        return redemption_type(row, external_id)

    @strawberry.field(
        description="Redemptions waiting for ops (NEEDS_OPS), newest first.",
        permission_classes=[OpsOnly],
    )
    async def failed_redemptions(
        self, info: Info, first: int | None = 20, after: str | None = None
    ) -> RedemptionConnection:
        return await redemption_page(
            info,
            col(RedemptionRow.status) == Status.NEEDS_OPS,
            first=first,
            after=after,
            query="failed",
        )
