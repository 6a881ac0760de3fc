"""The points ledger: a two-phase, double-entry journal over integer points.

Every movement is a `JournalEntry` whose `JournalLine`s balance per phase (Σ debits = Σ credits
for pending lines, and for posted lines). A member account's balance columns change only by
deltas in the same transaction that writes those lines:

=============  ==========================================================================
earn           issuance → member, posted (or pending until ``activates_at``); one lot
activate       a pending earn becomes posted when its lot activates
hold           a pending debit member → redemption (points drawn from lots, earliest
               expiry first)
post           the hold's pending debit is released and ``n ≤ amount`` posted; the rest
               goes back to the lots it came from (latest expiry first)
void           the hold's pending debit is released; every point goes back to its lot
hold_expire    like void, when a hold reaches its ``expires_at``
expire         member → expiry, posted: only the unspent remainder of an expired lot
=============  ==========================================================================

``available = posted credits - posted debits - pending debits`` never goes below zero: the hold
is a conditional ``UPDATE … WHERE posted_credits - posted_debits - pending_debits >= :amount``,
never a read-compute-write in Python, and a CHECK constraint refuses a negative member balance.

Every function here runs inside one write transaction (`app.db.Database.write`) and first
locks the member account (PostgreSQL ``SELECT … FOR UPDATE``; SQLite's ``BEGIN IMMEDIATE``
already serializes writers), so lots and holds of one account change in one order and
transactions touching one account never deadlock. Lots that have expired or activated are
settled at the start of every transaction on their account, so a spend never draws on an
expired lot even before the sweep has run.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, true, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.points.models import (
    AccountKind,
    Hold,
    HoldStatus,
    JournalEntry,
    JournalLine,
    LedgerAccount,
    LotAllocation,
    LotState,
    PointsLot,
)

__all__ = [
    "Balance",
    "ExceedsHold",
    "HoldNotPending",
    "InsufficientPoints",
    "LedgerError",
    "balance_at",
    "balance_of",
    "balances_at",
    "check",
    "earn",
    "expire_due_holds",
    "lock_account",
    "place_hold",
    "post_hold",
    "settle_lots",
    "sweep",
    "system_account",
    "void_hold",
]

DEBIT, CREDIT = "debit", "credit"
PENDING, POSTED = "pending", "posted"


class LedgerError(Exception):
    """A ledger operation that cannot be done as asked; nothing was written."""


class InsufficientPoints(LedgerError):
    def __init__(self, available: int, requested: int) -> None:
        super().__init__(f"{requested} points requested, {available} available")
        self.available = available
        self.requested = requested


class HoldNotPending(LedgerError):
    """The hold was already posted, voided or expired: a hold resolves exactly once."""

    def __init__(self, hold: Hold) -> None:
        super().__init__(f"hold {hold.id} is {hold.status}, not pending")
        self.status = hold.status


class ExceedsHold(LedgerError):
    """More points were to be posted than the hold reserved."""


@dataclass(frozen=True)
class Balance:
    available: int
    pending: int  # earned, not active yet
    held: int  # reserved by pending holds

    @classmethod
    def of(cls, account: LedgerAccount) -> Balance:
        return cls(account.available, account.pending_credits, account.pending_debits)


async def lock_account(session: AsyncSession, account_id: uuid.UUID) -> LedgerAccount:
    """The member account, locked for the rest of the transaction, with fresh columns."""
    statement = (
        select(LedgerAccount)
        .where(LedgerAccount.id == account_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.exec(statement)).one()


async def system_account(session: AsyncSession, program_id: uuid.UUID, kind: str) -> uuid.UUID:
    """The id of one of a program's system accounts (created with the program)."""
    account_id = (
        await session.exec(
            select(LedgerAccount.id).where(
                LedgerAccount.program_id == program_id, LedgerAccount.key == kind
            )
        )
    ).first()
    if account_id is None:
        raise LedgerError(f"program {program_id} has no {kind} account")
    return account_id


async def balance_of(session: AsyncSession, account_id: uuid.UUID) -> Balance:
    """The balance columns as stored (settled up to the last write on the account)."""
    account = (
        await session.exec(
            select(LedgerAccount)
            .where(LedgerAccount.id == account_id)
            .execution_options(populate_existing=True)
        )
    ).one()
    return Balance.of(account)


async def balance_at(session: AsyncSession, account_id: uuid.UUID, *, now: datetime) -> Balance:
    """The balance as of ``now``, read only: lots that expired or activated since the last
    write on the account count as if they had been settled."""
    return (await balances_at(session, [account_id], now=now))[account_id]


async def balances_at(
    session: AsyncSession, account_ids: list[uuid.UUID], *, now: datetime
) -> dict[uuid.UUID, Balance]:
    """`balance_at` for many accounts in two queries."""
    accounts = (
        await session.exec(
            select(LedgerAccount)
            .where(col(LedgerAccount.id).in_(account_ids))
            .execution_options(populate_existing=True)
        )
    ).all()
    lots = (
        await session.exec(
            select(PointsLot).where(
                col(PointsLot.account_id).in_(account_ids),
                col(PointsLot.state).in_((LotState.ACTIVE, LotState.PENDING)),
            )
        )
    ).all()
    totals = {a.id: [a.available, a.pending_credits, a.pending_debits] for a in accounts}
    for lot in lots:
        activated = lot.state == LotState.ACTIVE or lot.activates_at <= now
        expired = lot.expires_at is not None and lot.expires_at <= now
        available_pending = totals[lot.account_id]
        if lot.state == LotState.PENDING and activated:
            available_pending[1] -= lot.remaining
            available_pending[0] += 0 if expired else lot.remaining
        elif lot.state == LotState.ACTIVE and expired:
            available_pending[0] -= lot.remaining
    return {account_id: Balance(*values) for account_id, values in totals.items()}


async def earn(
    session: AsyncSession,
    account: LedgerAccount,
    points: int,
    *,
    now: datetime,
    reason: str,
    activates_at: datetime | None = None,
    expires_at: datetime | None = None,
) -> PointsLot:
    """Credit ``points`` to the member as a new lot (pending until ``activates_at``)."""
    if points <= 0:
        raise LedgerError("points must be a positive integer")
    activates = activates_at if activates_at is not None and activates_at > now else now
    if expires_at is not None and expires_at <= activates:
        raise LedgerError("points must expire after they activate")
    await lock_account(session, account.id)
    issuance = await system_account(session, account.program_id, AccountKind.ISSUANCE)
    phase = PENDING if activates > now else POSTED
    lot = PointsLot(
        account_id=account.id,
        original=points,
        remaining=points,
        state=LotState.PENDING if phase == PENDING else LotState.ACTIVE,
        activates_at=activates,
        expires_at=expires_at,
        created_at=now,
    )
    session.add(lot)
    await session.flush()
    await _entry(
        session,
        account,
        "earn",
        points,
        now,
        [(issuance, DEBIT, phase, points), (account.id, CREDIT, phase, points)],
        reason=reason,
        lot_id=lot.id,
    )
    column = "pending_credits" if phase == PENDING else "posted_credits"
    await _shift(session, account.id, **{column: points})
    return lot


async def place_hold(
    session: AsyncSession,
    account: LedgerAccount,
    amount: int,
    *,
    now: datetime,
    reference: str | None = None,
    expires_at: datetime | None = None,
) -> Hold:
    """Reserve ``amount`` points, or raise `InsufficientPoints` having written nothing."""
    if amount <= 0:
        raise LedgerError("a hold must be for a positive number of points")
    await settle_lots(session, account.id, now=now)
    available = (
        col(LedgerAccount.posted_credits)
        - col(LedgerAccount.posted_debits)
        - col(LedgerAccount.pending_debits)
    )
    reserved = await session.exec(
        update(LedgerAccount)
        .where(col(LedgerAccount.id) == account.id, available >= amount)
        .values(pending_debits=col(LedgerAccount.pending_debits) + amount)
        .returning(col(LedgerAccount.id))
    )
    if reserved.first() is None:
        current = await balance_of(session, account.id)
        raise InsufficientPoints(current.available, amount)
    hold = Hold(
        account_id=account.id,
        amount=amount,
        status=HoldStatus.PENDING,
        reference=reference,
        expires_at=expires_at,
        created_at=now,
    )
    session.add(hold)
    await session.flush()
    await _allocate(session, account.id, hold, amount, now)
    redemption = await system_account(session, account.program_id, AccountKind.REDEMPTION)
    await _entry(
        session,
        account,
        "hold",
        amount,
        now,
        [(account.id, DEBIT, PENDING, amount), (redemption, CREDIT, PENDING, amount)],
        hold_id=hold.id,
    )
    return hold


async def post_hold(
    session: AsyncSession, hold_id: uuid.UUID, *, now: datetime, amount: int | None = None
) -> Hold:
    """Settle the hold for ``amount`` (default: all of it); the rest returns to the member."""
    hold, account = await _pending_hold(session, hold_id, now)
    posted = hold.amount if amount is None else amount
    if not 0 < posted <= hold.amount:
        raise ExceedsHold(f"cannot post {posted} of a {hold.amount}-point hold")
    redemption = await system_account(session, account.program_id, AccountKind.REDEMPTION)
    await _resolve(session, hold, HoldStatus.POSTED, now, posted)
    await _entry(
        session,
        account,
        "post",
        posted,
        now,
        [
            (account.id, DEBIT, PENDING, -hold.amount),
            (redemption, CREDIT, PENDING, -hold.amount),
            (account.id, DEBIT, POSTED, posted),
            (redemption, CREDIT, POSTED, posted),
        ],
        hold_id=hold.id,
    )
    await _shift(session, account.id, pending_debits=-hold.amount, posted_debits=posted)
    await _release(session, account, hold, hold.amount - posted, now)
    return hold


async def void_hold(
    session: AsyncSession, hold_id: uuid.UUID, *, now: datetime, expired: bool = False
) -> Hold:
    """Release the whole hold back to the member."""
    hold, account = await _pending_hold(session, hold_id, now)
    await _void(session, hold, account, now, expired=expired)
    return hold


async def settle_lots(session: AsyncSession, account_id: uuid.UUID, *, now: datetime) -> None:
    """Activate the account's lots whose time has come, then expire the overdue ones."""
    account = await lock_account(session, account_id)
    due = await session.exec(
        select(PointsLot).where(
            PointsLot.account_id == account_id,
            PointsLot.state == LotState.PENDING,
            col(PointsLot.activates_at) <= now,
        )
    )
    issuance: uuid.UUID | None = None
    for lot in due.all():
        issuance = issuance or await system_account(
            session, account.program_id, AccountKind.ISSUANCE
        )
        lot.state = LotState.ACTIVE
        await _entry(
            session,
            account,
            "activate",
            lot.original,
            now,
            [
                (issuance, DEBIT, PENDING, -lot.original),
                (account.id, CREDIT, PENDING, -lot.original),
                (issuance, DEBIT, POSTED, lot.original),
                (account.id, CREDIT, POSTED, lot.original),
            ],
            lot_id=lot.id,
        )
        await _shift(
            session, account.id, pending_credits=-lot.original, posted_credits=lot.original
        )
    overdue = await session.exec(
        select(PointsLot).where(
            PointsLot.account_id == account_id,
            PointsLot.state == LotState.ACTIVE,
            col(PointsLot.expires_at) <= now,
        )
    )
    for lot in overdue.all():
        lot.state = LotState.EXPIRED
        if lot.remaining:
            await _expire_points(session, account, lot, lot.remaining, now)
            lot.remaining = 0
    await session.flush()


async def expire_due_holds(session: AsyncSession, *, now: datetime, limit: int = 500) -> int:
    """Expire pending holds past their ``expires_at``; the number expired."""
    due = await session.exec(
        select(Hold.id)
        .where(Hold.status == HoldStatus.PENDING, col(Hold.expires_at) <= now)
        .limit(limit)
    )
    count = 0
    for hold_id in due.all():
        try:
            await void_hold(session, hold_id, now=now, expired=True)
        except HoldNotPending:
            continue
        count += 1
    return count


async def sweep(session: AsyncSession, *, now: datetime, limit: int = 500) -> dict[str, int]:
    """The expiry sweep: settle accounts with lots due (activation or expiry), expire holds."""
    accounts = await session.exec(
        select(PointsLot.account_id)
        .where(
            ((col(PointsLot.state) == LotState.ACTIVE) & (col(PointsLot.expires_at) <= now))
            | ((col(PointsLot.state) == LotState.PENDING) & (col(PointsLot.activates_at) <= now))
        )
        .distinct()
        .limit(limit)
    )
    settled = 0
    for account_id in accounts.all():
        await settle_lots(session, account_id, now=now)
        settled += 1
    return {"accounts_settled": settled, "holds_expired": await expire_due_holds(session, now=now)}


async def check(session: AsyncSession, program_id: uuid.UUID | None = None) -> list[str]:
    """Every invariant of the ledger, checked against the journal; the violations found.

    I1 entries balance per phase, and so does the whole journal; I2 member balance columns equal
    the fold of their lines; I3 no member account is negative; lots and holds agree with the
    balances (active lots hold exactly the available points, pending lots the pending ones,
    pending holds are fully allocated); I4 every resolved hold has exactly one resolving entry.
    """
    problems: list[str] = []
    line = (col(JournalLine.phase), col(JournalLine.side))
    total = func.sum(JournalLine.amount)
    in_scope = (
        col(JournalLine.entry_id).in_(
            select(JournalEntry.id).where(JournalEntry.program_id == program_id)
        )
        if program_id is not None
        else true()
    )
    sums = await session.exec(
        select(col(JournalLine.entry_id), *line, total)
        .where(in_scope)
        .group_by(col(JournalLine.entry_id), *line)
    )
    per_entry: dict[tuple[Any, str], dict[str, int]] = {}
    for entry_id, phase, side, amount in sums.all():
        per_entry.setdefault((entry_id, phase), {DEBIT: 0, CREDIT: 0})[side] = int(amount)
    for (entry_id, phase), sides in per_entry.items():
        if sides[DEBIT] != sides[CREDIT]:
            problems.append(f"entry {entry_id} {phase} lines do not balance: {sides}")
    folds = await session.exec(
        select(col(JournalLine.account_id), *line, total)
        .where(in_scope)
        .group_by(col(JournalLine.account_id), *line)
    )
    folded: dict[Any, dict[str, int]] = {}
    for account_id, phase, side, amount in folds.all():
        folded.setdefault(account_id, {})[f"{phase}_{side}s"] = int(amount)
    members = select(LedgerAccount).where(LedgerAccount.kind == AccountKind.MEMBER)
    if program_id is not None:
        members = members.where(LedgerAccount.program_id == program_id)
    accounts = (await session.exec(members.execution_options(populate_existing=True))).all()
    for account in accounts:
        fold = folded.get(account.id, {})
        for column in ("posted_credits", "posted_debits", "pending_credits", "pending_debits"):
            if getattr(account, column) != fold.get(column, 0):
                problems.append(
                    f"account {account.id} {column}={getattr(account, column)} but the journal "
                    f"folds to {fold.get(column, 0)}"
                )
        if account.available < 0:
            problems.append(f"account {account.id} is negative: {account.available}")
        problems.extend(await _check_lots_and_holds(session, account))
    return problems


async def _check_lots_and_holds(session: AsyncSession, account: LedgerAccount) -> list[str]:
    problems = []
    lots = (await session.exec(select(PointsLot).where(PointsLot.account_id == account.id))).all()
    active = sum(lot.remaining for lot in lots if lot.state == LotState.ACTIVE)
    pending = sum(lot.remaining for lot in lots if lot.state == LotState.PENDING)
    if active != account.available:
        problems.append(
            f"account {account.id}: active lots hold {active}, available is {account.available}"
        )
    if pending != account.pending_credits:
        problems.append(
            f"account {account.id}: pending lots hold {pending}, pending credits "
            f"are {account.pending_credits}"
        )
    holds = (await session.exec(select(Hold).where(Hold.account_id == account.id))).all()
    held = sum(hold.amount for hold in holds if hold.status == HoldStatus.PENDING)
    if held != account.pending_debits:
        problems.append(
            f"account {account.id}: pending holds {held}, pending debits {account.pending_debits}"
        )
    for hold in holds:
        allocated = (
            await session.exec(
                select(func.coalesce(func.sum(LotAllocation.amount), 0)).where(
                    LotAllocation.hold_id == hold.id
                )
            )
        ).one()
        expected = hold.amount if hold.status == HoldStatus.PENDING else hold.posted_amount
        if allocated != expected:
            problems.append(
                f"hold {hold.id} ({hold.status}) draws {allocated} from lots, expected {expected}"
            )
        resolutions = (
            await session.exec(
                select(func.count()).where(
                    JournalEntry.hold_id == hold.id,
                    col(JournalEntry.kind).in_(("post", "void", "hold_expire")),
                )
            )
        ).one()
        if resolutions != (0 if hold.status == HoldStatus.PENDING else 1):
            problems.append(f"hold {hold.id} ({hold.status}) resolved {resolutions} times")
    return problems


async def _pending_hold(
    session: AsyncSession, hold_id: uuid.UUID, now: datetime
) -> tuple[Hold, LedgerAccount]:
    account_id = (await session.exec(select(Hold.account_id).where(Hold.id == hold_id))).one()
    await settle_lots(session, account_id, now=now)  # also locks the account
    account = await lock_account(session, account_id)
    hold = (
        await session.exec(
            select(Hold).where(Hold.id == hold_id).execution_options(populate_existing=True)
        )
    ).one()
    if hold.status != HoldStatus.PENDING:
        raise HoldNotPending(hold)
    return hold, account


async def _void(
    session: AsyncSession, hold: Hold, account: LedgerAccount, now: datetime, *, expired: bool
) -> None:
    redemption = await system_account(session, account.program_id, AccountKind.REDEMPTION)
    await _resolve(session, hold, HoldStatus.EXPIRED if expired else HoldStatus.VOIDED, now, 0)
    await _entry(
        session,
        account,
        "hold_expire" if expired else "void",
        hold.amount,
        now,
        [(account.id, DEBIT, PENDING, -hold.amount), (redemption, CREDIT, PENDING, -hold.amount)],
        hold_id=hold.id,
    )
    await _shift(session, account.id, pending_debits=-hold.amount)
    await _release(session, account, hold, hold.amount, now)


async def _resolve(
    session: AsyncSession, hold: Hold, status: str, now: datetime, posted: int
) -> None:
    """Mark the hold resolved, once: a concurrent resolution finds it no longer pending."""
    resolved = await session.exec(
        update(Hold)
        .where(col(Hold.id) == hold.id, col(Hold.status) == HoldStatus.PENDING)
        .values(status=status, posted_amount=posted, resolved_at=now)
        .returning(col(Hold.id))
    )
    if resolved.first() is None:
        raise HoldNotPending(hold)
    hold.status, hold.posted_amount, hold.resolved_at = status, posted, now


async def _allocate(
    session: AsyncSession, account_id: uuid.UUID, hold: Hold, amount: int, now: datetime
) -> None:
    lots = await session.exec(
        select(PointsLot)
        .where(
            PointsLot.account_id == account_id,
            PointsLot.state == LotState.ACTIVE,
            col(PointsLot.remaining) > 0,
        )
        .order_by(
            col(PointsLot.expires_at).asc().nulls_last(),
            col(PointsLot.created_at),
            col(PointsLot.id),
        )
    )
    needed = amount
    for lot in lots.all():
        take = min(lot.remaining, needed)
        lot.remaining -= take
        session.add(LotAllocation(hold_id=hold.id, lot_id=lot.id, amount=take))
        needed -= take
        if not needed:
            break
    if needed:
        raise LedgerError(f"lots hold {amount - needed} of the {amount} available points")
    await session.flush()


async def _release(
    session: AsyncSession, account: LedgerAccount, hold: Hold, amount: int, now: datetime
) -> None:
    """Return ``amount`` of the hold's points to its lots, latest expiry first; points whose
    lot has expired meanwhile expire at once."""
    if not amount:
        return
    rows = await session.exec(
        select(LotAllocation, PointsLot)
        .join(PointsLot, col(PointsLot.id) == LotAllocation.lot_id)
        .where(LotAllocation.hold_id == hold.id, col(LotAllocation.amount) > 0)
        .order_by(col(PointsLot.expires_at).desc().nulls_first(), col(PointsLot.created_at).desc())
    )
    remaining = amount
    for allocation, lot in rows.all():
        back = min(allocation.amount, remaining)
        allocation.amount -= back
        remaining -= back
        if lot.state == LotState.EXPIRED:
            await _expire_points(session, account, lot, back, now)
        else:
            lot.remaining += back
        if not remaining:
            break
    await session.flush()


async def _expire_points(
    session: AsyncSession, account: LedgerAccount, lot: PointsLot, points: int, now: datetime
) -> None:
    expiry = await system_account(session, account.program_id, AccountKind.EXPIRY)
    lot.expired_amount += points
    await _entry(
        session,
        account,
        "expire",
        points,
        now,
        [(account.id, DEBIT, POSTED, points), (expiry, CREDIT, POSTED, points)],
        lot_id=lot.id,
    )
    await _shift(session, account.id, posted_debits=points)


async def _shift(session: AsyncSession, account_id: uuid.UUID, **deltas: int) -> None:
    """Change balance columns by deltas, in SQL."""
    values = {name: getattr(LedgerAccount, name) + delta for name, delta in deltas.items()}
    await session.exec(
        update(LedgerAccount).where(col(LedgerAccount.id) == account_id).values(**values)
    )


async def _entry(
    session: AsyncSession,
    account: LedgerAccount,
    kind: str,
    points: int,
    now: datetime,
    lines: list[tuple[uuid.UUID, str, str, int]],
    *,
    reason: str | None = None,
    hold_id: uuid.UUID | None = None,
    lot_id: uuid.UUID | None = None,
) -> JournalEntry:
    entry = JournalEntry(
        program_id=account.program_id,
        account_id=account.id,
        kind=kind,
        points=points,
        reason=reason,
        hold_id=hold_id,
        lot_id=lot_id,
        created_at=now,
    )
    session.add(entry)
    await session.flush()
    session.add_all(
        JournalLine(entry_id=entry.id, account_id=account_id, side=side, phase=phase, amount=amount)
        for account_id, side, phase, amount in lines
    )
    return entry
