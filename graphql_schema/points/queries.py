from __future__ import annotations

import strawberry

from app.points.programs import is_member_id
from graphql_schema.context import Info
from graphql_schema.core.permissions import MemberOnly, PartnerOnly
from graphql_schema.points.types import Member

__all__ = ["PointsQuery"]


@strawberry.type
class PointsQuery:
    @strawberry.field(
        description="The member whose token this is.", permission_classes=[MemberOnly]
    )
    def me(self, info: Info) -> Member | None:
        member_id = info.context.caller().member_id
        if member_id is None:
            return None
        return Member(program_id=info.context.program_id(), external_id=member_id)

    @strawberry.field(
        description="One of the partner's members, by the partner's own member id; a member "
        "never seen before has no points yet.",
        permission_classes=[PartnerOnly],
    )
    def member(self, info: Info, id: strawberry.ID) -> Member | None:
        if not is_member_id(str(id)):
            return None
        return Member(program_id=info.context.program_id(), external_id=str(id))
