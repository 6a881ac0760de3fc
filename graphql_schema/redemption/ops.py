"""Ops' mutations on redemptions: replay and cancel, each audited with the ops key's partner."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

import strawberry

from app.ops.actions import OpsRefused, OpsResult, cancel, replay
from app.redemption.models import Redemption as RedemptionRow
from app.redemption.service import RedemptionService
from graphql_schema.context import Info
from graphql_schema.core.errors import user_error
from graphql_schema.core.ids import global_uuid
from graphql_schema.core.permissions import OpsOnly
from graphql_schema.redemption.queries import visible_redemption
from graphql_schema.redemption.types import RedemptionPayload, redemption_type

__all__ = ["OpsMutation"]


def _refused(code: str, message: str, field: str | None = None) -> RedemptionPayload:
    return RedemptionPayload(redemption=None, user_errors=[user_error(code, message, field)])


@strawberry.type
class OpsMutation:
    @strawberry.mutation(
        description="Run a redemption's saga again under the same vendor key (a stuck one "
        "resumes, looking its order up first). A completed or compensated one is returned "
        "unchanged and no vendor is called. `outcome`: REPLAYED or UNCHANGED.",
        permission_classes=[OpsOnly],
    )
    async def replay_redemption(self, info: Info, id: strawberry.ID) -> RedemptionPayload:
        return await _act(
            info,
            id,
            lambda service, redemption_id, actor: replay(service, redemption_id, actor=actor),
        )

    @strawberry.mutation(
        description="Cancel a redemption: at the vendor where it allows, refunding the points "
        "only when the vendor order is proven absent, failed or cancelled. `outcome` says "
        "which (CANCELLED_AT_VENDOR, REFUNDED_ORDER_ABSENT, REFUNDED_ORDER_FAILED, "
        "ALREADY_REFUNDED); anything else is a userError and nothing is refunded.",
        permission_classes=[OpsOnly],
    )
    async def cancel_redemption(
        self, info: Info, id: strawberry.ID, reason: str
    ) -> RedemptionPayload:
        return await _act(
            info,
            id,
            lambda service, redemption_id, actor: cancel(
                service, redemption_id, actor=actor, reason=reason
            ),
        )


Action = Callable[[RedemptionService, uuid.UUID, str], Awaitable[OpsResult]]


async def _act(info: Info, id: strawberry.ID, action: Action) -> RedemptionPayload:
    """Run an ops action on a redemption of the ops key's partner, answered as a payload."""
    found = await _ops_redemption(info, id)
    if found is None:
        return _refused("NOT_FOUND", "no such redemption", "id")
    actor = f"ops-key:{info.context.caller().partner_id}"
    try:
        result = await action(info.context.redemptions, found[0].id, actor)
    except OpsRefused as refused:
        return _refused(refused.code, refused.message)
    return RedemptionPayload(
        redemption=redemption_type(result.redemption, found[1]),
        user_errors=[],
        outcome=result.outcome,
    )


async def _ops_redemption(info: Info, id: strawberry.ID) -> tuple[RedemptionRow, str] | None:
    redemption_id = global_uuid(id, "Redemption")
    return None if redemption_id is None else await visible_redemption(info, redemption_id)
