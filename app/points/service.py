"""What partners do with points, as transactions: earn (idempotently), read balances."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db import Database
from app.idempotency import MAX_KEY_LENGTH, IdempotencyKeyReused, recall, remember
from app.points import ledger
from app.points.models import LedgerAccount, Member, Program
from app.points.programs import MEMBER_ID_RULE, is_member_id, member_account

__all__ = ["MAX_EARN", "EarnRefused", "EarnRequest", "earn_points", "member_balances"]

MAX_EARN = 1_000_000_000
MAX_REASON_LENGTH = 500
# Dates a loyalty program can mean: also far enough from the calendar's ends that a lifetime
# added to them, or another offset, stays a date.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)


class EarnRefused(Exception):
    """A business refusal: ``code`` and ``field`` are what the API returns as a user error."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


@dataclass(frozen=True)
class EarnRequest:
    member_id: str
    points: int
    reason: str
    idempotency_key: str
    activates_at: datetime | None = None
    expires_at: datetime | None = None

    def fingerprint(self) -> dict[str, Any]:
        """What makes two requests the same: one instant is one input in any UTC offset."""
        return {
            "memberId": self.member_id,
            "points": self.points,
            "reason": self.reason,
            "activatesAt": _instant(self.activates_at),
            "expiresAt": _instant(self.expires_at),
        }


def _instant(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat()


async def earn_points(
    database: Database, program: Program, request: EarnRequest, *, now: datetime
) -> None:
    """Credit the member; the same idempotency key with the same input does nothing more,
    even once the times it named have passed (a replay answers what the first call did)."""
    _validate(request)
    expires_at = request.expires_at
    if expires_at is None and program.points_lifetime_days:
        start = max(request.activates_at or now, now)
        try:
            expires_at = start + timedelta(days=program.points_lifetime_days)
        except OverflowError:
            raise EarnRefused(
                "INVALID_DATES",
                "the program's points lifetime ends after the calendar does",
                "activatesAt",
            ) from None
    scope = f"earn:{program.id}"

    async def work(session: AsyncSession) -> None:
        if await recall(session, scope, request.idempotency_key, request.fingerprint()):
            return
        _validate_times(request, now)
        _, account = await member_account(session, program.id, request.member_id, now=now)
        lot = await ledger.earn(
            session,
            account,
            request.points,
            now=now,
            reason=request.reason,
            activates_at=request.activates_at,
            expires_at=expires_at,
        )
        remember(
            session, scope, request.idempotency_key, request.fingerprint(), {"lot": str(lot.id)}
        )

    try:
        await _once(database, work)
    except IdempotencyKeyReused as exc:
        raise EarnRefused(
            "IDEMPOTENCY_KEY_REUSED",
            "this idempotency key was used with a different input",
            "idempotencyKey",
        ) from exc
    except ledger.BalanceLimit as exc:
        raise EarnRefused("INVALID_POINTS", str(exc), "points") from exc
    except ledger.LedgerError as exc:
        raise EarnRefused("INVALID_DATES", str(exc), "expiresAt") from exc


async def _once(database: Database, work: Any) -> None:
    """Run ``work``; when a concurrent request with the same key won the race (unique
    violation on the idempotency record), run it again to read the winner's record."""
    try:
        await database.write(work)
    except IntegrityError:
        await database.write(work)


def _validate(request: EarnRequest) -> None:
    if not 0 < request.points <= MAX_EARN:
        raise EarnRefused("INVALID_POINTS", f"points must be 1 to {MAX_EARN}", "points")
    if not request.reason.strip() or len(request.reason) > MAX_REASON_LENGTH:
        raise EarnRefused("INVALID_REASON", "a reason of 1 to 500 characters", "reason")
    if not is_member_id(request.member_id):
        raise EarnRefused("INVALID_MEMBER_ID", MEMBER_ID_RULE, "memberId")
    if not request.idempotency_key or len(request.idempotency_key) > MAX_KEY_LENGTH:
        raise EarnRefused(
            "INVALID_IDEMPOTENCY_KEY",
            "an idempotency key is 1 to 255 characters",
            "idempotencyKey",
        )
    for name, moment in (("activatesAt", request.activates_at), ("expiresAt", request.expires_at)):
        if moment is None:
            continue
        if moment.utcoffset() is None:
            raise EarnRefused("INVALID_DATES", f"{name} needs a time zone offset", name)
        try:
            in_utc = moment.astimezone(UTC)
        except OverflowError:
            in_utc = None
        if in_utc is None or not EARLIEST <= in_utc <= LATEST:
            raise EarnRefused(
                "INVALID_DATES",
                f"{name} must be between {EARLIEST.date()} and {LATEST.date()} (UTC)",
                name,
            )


def _validate_times(request: EarnRequest, now: datetime) -> None:
    start = max(request.activates_at or now, now)
    if request.expires_at is not None and request.expires_at <= start:
        raise EarnRefused("INVALID_DATES", "points must expire after they activate", "expiresAt")


async def member_balances(
    session: AsyncSession, members: list[tuple[uuid.UUID, str]], *, now: datetime
) -> dict[tuple[uuid.UUID, str], ledger.Balance]:
    """Balances of (program id, partner's member id) pairs; a member never seen has nothing."""
    programs = {program_id for program_id, _ in members}
    external_ids = {external_id for _, external_id in members}
    rows = (
        await session.exec(
            select(Member.program_id, Member.external_id, LedgerAccount.id)
            .join(LedgerAccount, col(LedgerAccount.member_id) == Member.id)
            .where(col(Member.program_id).in_(programs), col(Member.external_id).in_(external_ids))
        )
    ).all()
    accounts = {
        (program_id, external_id): account_id for program_id, external_id, account_id in rows
    }
    found = await ledger.balances_at(session, list(accounts.values()), now=now)
    empty = ledger.Balance(0, 0, 0)
    return {key: found.get(accounts[key], empty) if key in accounts else empty for key in members}
