"""What ops do to redemptions: list the stuck ones, replay one, cancel one, read its history.

Each action takes the redemption's lease first (nobody else runs it meanwhile) and writes an
audit entry (a `RedemptionEvent` of kind ``ops``: actor, action, state before and after,
reason, outcome) in the transaction that changes it.

* **Replay** runs the same state machine again under the same vendor key: a stuck redemption
  (NEEDS_OPS) is resumed from where it stands, looking the order up before anything is sent;
  a terminal one is returned as it is and nothing is called.
* **Cancel** undoes what it can: the vendor order is cancelled where the vendor allows it,
  and the points are given back only when the order is proven absent, failed or cancelled.
  Anything else is refused, saying why; a delivered reward is never refunded here.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.points import ledger
from app.points.models import JournalEntry
from app.redemption.models import TERMINAL, Redemption, RedemptionEvent, RedemptionStatus
from app.redemption.saga import LeaseLost, event_row, fenced_update, insert_events, new_lease
from app.redemption.service import RedemptionService
from vendors import OrderResult, OrderStatus, VendorError

__all__ = [
    "CancelOutcome",
    "History",
    "OpsRefused",
    "OpsResult",
    "cancel",
    "history",
    "replay",
]

IN_FLIGHT = (RedemptionStatus.POINTS_RESERVED, RedemptionStatus.VENDOR_PENDING)
_STUCK_OR_IN_FLIGHT = (*IN_FLIGHT, RedemptionStatus.NEEDS_OPS)


class CancelOutcome(StrEnum):
    CANCELLED_AT_VENDOR = "CANCELLED_AT_VENDOR"  # the vendor undid it; points back
    REFUNDED_ORDER_ABSENT = "REFUNDED_ORDER_ABSENT"  # the vendor has no order; points back
    REFUNDED_ORDER_FAILED = "REFUNDED_ORDER_FAILED"  # the order failed at the vendor
    ALREADY_REFUNDED = "ALREADY_REFUNDED"  # it was compensated before: nothing done


class OpsRefused(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class OpsResult:
    redemption: Redemption
    outcome: str | None = None


async def replay(service: RedemptionService, redemption_id: uuid.UUID, *, actor: str) -> OpsResult:
    """Run the redemption's saga again, now, under its own vendor key."""
    now = service.clock()
    row = await _get(service, redemption_id)
    if row.status in TERMINAL:
        await service.database.write(
            lambda session: _audit(session, row, actor, "replay", row.status, "nothing to do", now)
        )
        return OpsResult(row, "UNCHANGED")
    # Resume where it stands: a known vendor order is polled; anything else is looked up by
    # its key before it may be sent again (the run is not fresh).
    resume = (
        RedemptionStatus.VENDOR_PENDING
        if row.vendor_reference or row.status == RedemptionStatus.VENDOR_PENDING
        else RedemptionStatus.POINTS_RESERVED
    )
    values = {
        "status": resume,
        "deadline_at": now + service.policy.deadline(row.vendor),
        "runs": col(Redemption.runs) + 1,
        "next_run_at": now + service.policy.lease,
    }
    taken, lease = await _take(service, row, actor, "replay", values, now, reason=None)
    try:
        finished = await service.saga.drive(taken.id, fresh=False, lease=lease)
    except Exception as error:  # a run that fails on our side, as the worker treats it
        await service.saga.give_up_run(taken.id, lease, error)
        raise OpsRefused(
            "RUN_FAILED", f"the replay failed ({type(error).__name__}); it will be retried"
        ) from error
    return OpsResult(finished or await _get(service, redemption_id), "REPLAYED")


async def cancel(
    service: RedemptionService, redemption_id: uuid.UUID, *, actor: str, reason: str
) -> OpsResult:
    """Cancel at the vendor where allowed, refund only what is proven undone."""
    _check_reason(reason)
    now = service.clock()
    row = await _get(service, redemption_id)
    if row.status == RedemptionStatus.COMPENSATED:
        await service.database.write(
            lambda session: _audit(
                session, row, actor, "cancel", row.status, "already refunded", now, reason
            )
        )
        return OpsResult(row, CancelOutcome.ALREADY_REFUNDED)
    if row.status == RedemptionStatus.COMPLETED:
        raise OpsRefused(
            "ALREADY_COMPLETED",
            "the reward was delivered; its points are spent (credit the member with "
            "earnPoints if a goodwill refund is due)",
        )
    taken, lease = await _take(service, row, actor, "cancel_started", {}, now, reason=reason)
    try:
        async with service.saga.lease_kept(taken.id, lease):
            outcome, found = await _undo_at_vendor(service, taken, reason)
        if outcome is CancelOutcome.REFUNDED_ORDER_ABSENT and not _quiet(row, now):
            raise OpsRefused(
                "OUTCOME_UNKNOWN",
                f"{row.vendor} has no order yet, but a request sent to it may still arrive; "
                f"cancel again after {(_quiet_from(row)).isoformat(timespec='minutes')}",
            )
    except OpsRefused as refused:
        await _release(service, taken, lease, actor, refused.message, reason)
        raise
    refunded = await _refund(service, taken, lease, actor, outcome, found, reason)
    return OpsResult(refunded, outcome)


# How late a request sent to a vendor may still arrive and be acted on (timeouts, retries and
# the vendor's own queue, with a wide margin): "no order" is proof only after this.
LATE_ARRIVAL = timedelta(minutes=15)


def _quiet_from(row: Redemption) -> datetime:
    """When no request for this redemption can still reach its vendor: after the last state
    change, and after the lease of a run that never gave it back."""
    since = row.updated_at
    if row.locked_by is not None and row.locked_until is not None:
        since = max(since, row.locked_until)
    return since + LATE_ARRIVAL


def _quiet(row: Redemption, now: datetime) -> bool:
    return now >= _quiet_from(row)


def _check_reason(reason: str) -> None:
    try:
        reason.encode("utf-8")
    except UnicodeEncodeError:
        raise OpsRefused("INVALID_REASON", "the reason is not valid text") from None
    if not reason.strip() or len(reason) > 500 or "\x00" in reason:
        raise OpsRefused("INVALID_REASON", "a reason of 1 to 500 characters, no NUL")


async def _undo_at_vendor(
    service: RedemptionService, row: Redemption, reason: str
) -> tuple[CancelOutcome, OrderResult | None]:
    adapter = service.vendors.adapters.get(row.vendor)
    if adapter is None:
        raise OpsRefused("VENDOR_UNAVAILABLE", f"{row.vendor} is not enabled here")
    try:
        found = (
            await adapter.get_order(row.vendor_reference)
            if row.vendor_reference
            else await adapter.lookup_order(row.vendor_key, since=row.created_at)
        )
    except VendorError as error:
        raise OpsRefused(
            "OUTCOME_UNKNOWN",
            f"{row.vendor} cannot say whether the order exists ({error.message}); nothing refunded",
        ) from error
    if found is None or found.draft:
        return CancelOutcome.REFUNDED_ORDER_ABSENT, found
    if found.status in (OrderStatus.FAILED, OrderStatus.CANCELLED):
        return CancelOutcome.REFUNDED_ORDER_FAILED, found
    if found.status is OrderStatus.UNKNOWN:
        raise OpsRefused(
            "OUTCOME_UNKNOWN",
            f"{row.vendor} has the order in a state it does not explain ({found.raw_status}); "
            "nothing refunded",
        )
    if not adapter.capabilities.cancel:
        raise OpsRefused(
            "CANNOT_CANCEL",
            f"{row.vendor} has the order ({found.raw_status}) and cancels none; nothing refunded",
        )
    try:
        cancelled = await adapter.cancel_order(found.vendor_reference, reason)
    except VendorError as error:
        raise OpsRefused(
            "CANNOT_CANCEL",
            f"{row.vendor} would not cancel the order ({error.message}); nothing refunded",
        ) from error
    if cancelled.status not in (OrderStatus.CANCELLED, OrderStatus.FAILED):
        raise OpsRefused(
            "CANNOT_CANCEL",
            f"{row.vendor} answered {cancelled.raw_status} to the cancellation; nothing refunded",
        )
    return CancelOutcome.CANCELLED_AT_VENDOR, cancelled


async def _refund(
    service: RedemptionService,
    row: Redemption,
    lease: str,
    actor: str,
    outcome: CancelOutcome,
    found: OrderResult | None,
    reason: str,
) -> Redemption:
    now = service.clock()

    async def work(session: AsyncSession) -> Redemption:
        values: dict[str, Any] = {
            "status": RedemptionStatus.COMPENSATED,
            "failure_reason": f"cancelled by ops: {reason}"[:1000],
            "completed_at": now,
            "updated_at": now,
            "locked_by": None,
            "locked_until": None,
            "next_run_at": None,
        }
        if found is not None:
            values.update(
                vendor_reference=found.vendor_reference,
                vendor_status=found.status.value,
                vendor_raw_status=found.raw_status[:64],
            )
        # Still this claim's, still in the state the vendor was asked about.
        changed = await _fenced(session, row, lease, values, same_status=True)
        await ledger.void_hold(session, row.hold_id, now=now)
        await _audit(
            session, row, actor, "cancel", RedemptionStatus.COMPENSATED, outcome, now, reason
        )
        return changed

    return await service.database.write(work)


async def _take(
    service: RedemptionService,
    row: Redemption,
    actor: str,
    action: str,
    values: dict[str, Any],
    now: datetime,
    *,
    reason: str | None,
) -> tuple[Redemption, str]:
    """A claim of the redemption for this ops action (its token), with ``values`` set;
    refused while a process runs it."""
    lease = new_lease(service.owner)

    async def work(session: AsyncSession) -> Redemption:
        changed = (
            await session.exec(
                update(Redemption)
                .where(
                    col(Redemption.id) == row.id,
                    col(Redemption.status).in_(_STUCK_OR_IN_FLIGHT),
                    or_(
                        col(Redemption.locked_until).is_(None),
                        col(Redemption.locked_until) < now,
                    ),
                )
                .values(
                    locked_by=lease,
                    locked_until=now + service.policy.lease,
                    updated_at=now,
                    **values,
                )
                .returning(*Redemption.__table__.columns)  # type: ignore[attr-defined]
            )
        ).first()
        if changed is None:
            raise OpsRefused(
                "IN_PROGRESS", "a gateway process is working on it now; try again in a moment"
            )
        taken = Redemption.model_validate(dict(changed._mapping))
        await _audit(session, row, actor, action, RedemptionStatus(taken.status), None, now, reason)
        return taken

    return await service.database.write(work), lease


async def _release(
    service: RedemptionService, row: Redemption, lease: str, actor: str, why: str, reason: str
) -> None:
    now = service.clock()

    async def work(session: AsyncSession) -> None:
        await _fenced(session, row, lease, {"locked_by": None, "locked_until": None})
        await _audit(
            session,
            row,
            actor,
            "cancel",
            RedemptionStatus(row.status),
            f"refused: {why}",
            now,
            reason,
        )

    await service.database.write(work)


async def _fenced(
    session: AsyncSession,
    row: Redemption,
    lease: str,
    values: dict[str, Any],
    *,
    same_status: bool = False,
) -> Redemption:
    try:
        return await fenced_update(session, row, lease, values, same_status=same_status)
    except LeaseLost:
        raise OpsRefused("IN_PROGRESS", "another process took the redemption meanwhile") from None


async def _audit(
    session: AsyncSession,
    row: Redemption,
    actor: str,
    action: str,
    after: str,
    outcome: str | None,
    now: datetime,
    reason: str | None = None,
) -> None:
    await insert_events(
        session,
        [
            event_row(
                row.id,
                now,
                "ops",
                action,
                before=row.status,
                after=str(after),
                outcome=str(outcome) if outcome else None,
                detail=reason,
                actor=actor[:100],
            )
        ],
    )


async def _get(service: RedemptionService, redemption_id: uuid.UUID) -> Redemption:
    row = await service.get(redemption_id)
    if row is None:
        raise OpsRefused("NOT_FOUND", "no such redemption")
    return row


@dataclass(frozen=True)
class History:
    redemption: Redemption
    events: list[RedemptionEvent]
    ledger: list[JournalEntry]


async def history(service: RedemptionService, redemption_id: uuid.UUID) -> History:
    """Everything that happened to one redemption: its states, vendor calls and their
    outcomes, ops actions, and the ledger entries of its hold."""
    row = await _get(service, redemption_id)
    async with service.database.session() as session:
        events = (
            await session.exec(
                select(RedemptionEvent)
                .where(RedemptionEvent.redemption_id == redemption_id)
                .order_by(col(RedemptionEvent.id))
            )
        ).all()
        entries = (
            await session.exec(
                select(JournalEntry)
                .where(JournalEntry.hold_id == row.hold_id)
                .order_by(col(JournalEntry.created_at), col(JournalEntry.id))
            )
        ).all()
    return History(row, list(events), list(entries))
