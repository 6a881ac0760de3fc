from __future__ import annotations

from contextlib import suppress
from datetime import datetime, timedelta

import strawberry

from app.partners.auth import issue_member_token
from app.points.programs import MEMBER_ID_RULE, is_member_id
from app.points.service import EarnRefused, EarnRequest, earn_points
from graphql_schema.context import Info
from graphql_schema.core.errors import user_error
from graphql_schema.core.permissions import PartnerOnly
from graphql_schema.points.types import EarnPointsPayload, Member, MemberTokenPayload

__all__ = ["EarnPointsInput", "PointsMutation"]


@strawberry.input
class EarnPointsInput:
    member_id: strawberry.ID = strawberry.field(description="The partner's own member id.")
    points: int = strawberry.field(description="A positive whole number.")
    reason: str
    idempotency_key: str = strawberry.field(
        description="The same key with the same input earns once; with another input it is "
        "refused (IDEMPOTENCY_KEY_REUSED)."
    )
    activates_at: datetime | None = strawberry.field(
        default=None, description="Pending until then."
    )
    expires_at: datetime | None = strawberry.field(
        default=None, description="Default: the program's points lifetime."
    )


@strawberry.type
class PointsMutation:
    @strawberry.mutation(
        description="Credit points to a member (created on first use).",
        permission_classes=[PartnerOnly],
    )
    async def earn_points(self, info: Info, input: EarnPointsInput) -> EarnPointsPayload:
        context = info.context
        program = await context.loaders.program_by_id.load(context.program_id())
        assert program is not None, "a partner key's program exists (foreign key)"
        request = EarnRequest(
            member_id=str(input.member_id),
            points=input.points,
            reason=input.reason,
            idempotency_key=input.idempotency_key,
            activates_at=input.activates_at,
            expires_at=input.expires_at,
        )
        try:
            await earn_points(context.database, program, request, now=context.now())
        except EarnRefused as refused:
            return EarnPointsPayload(
                member=None, user_errors=[user_error(refused.code, refused.message, refused.field)]
            )
        with suppress(KeyError):  # an earlier field of this request may have read the balance
            context.loaders.balance_by_member.clear((program.id, request.member_id))
        return EarnPointsPayload(
            member=Member(program_id=program.id, external_id=request.member_id), user_errors=[]
        )

    @strawberry.mutation(
        description="A short-lived bearer token for one member's browser or mobile app.",
        permission_classes=[PartnerOnly],
    )
    def issue_member_token(self, info: Info, member_id: strawberry.ID) -> MemberTokenPayload:
        context = info.context
        if not is_member_id(str(member_id)):
            return MemberTokenPayload(
                token=None,
                expires_at=None,
                user_errors=[user_error("INVALID_MEMBER_ID", MEMBER_ID_RULE, "memberId")],
            )
        token, expires_at = issue_member_token(
            context.settings.member_token_secret.get_secret_value(),
            partner_id=context.caller().partner_id,
            program_id=context.program_id(),
            member_id=str(member_id),
            now=context.now(),
            lifetime=timedelta(seconds=context.settings.member_token_lifetime_seconds),
        )
        return MemberTokenPayload(token=token, expires_at=expires_at, user_errors=[])
