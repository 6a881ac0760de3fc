"""The points ledger: a two-phase, double-entry journal over integer points.

Every movement is a journal entry whose lines balance per phase (Σ debits = Σ credits for
pending lines, and for posted lines); the shapes are in `app.points._journal`. A member
account's balance columns change only by deltas in the same transaction that writes those
lines:

=============  ==========================================================================
earn           issuance → member, posted (or pending until ``activates_at``); one lot
activate       a pending earn becomes posted when its lot activates
hold           a pending debit member → redemption (points drawn from lots, earliest
               expiry first), until ``expires_at``
post           the hold's pending debit is released and ``n ≤ amount`` posted; the rest
               goes back to the lots it came from (latest expiry first)
void           the hold's pending debit is released; every point goes back to its lot
hold_expire    like void, when a hold reaches its ``expires_at``
expire         member → expiry, posted: only the unspent remainder of an expired lot
=============  ==========================================================================

``available = posted credits - posted debits - pending debits`` never goes below zero.

**The guards** (each has a test that fails without it; docs/points.md lists them):

* Every operation that reads lots or holds first locks the member account (PostgreSQL
  ``SELECT … FOR UPDATE``; SQLite's ``BEGIN IMMEDIATE`` already serializes writers), and reads
  lots and allocations as plain rows *after* the lock: never an object the session loaded
  earlier. Every balance-like column (account balances, a lot's ``remaining`` and
  ``expired_amount``, an allocation's amount) changes by an SQL delta, never by writing back a
  number computed from an earlier read.
* A hold is the conditional ``UPDATE … WHERE posted_credits - posted_debits - pending_debits
  >= :amount``; CHECK constraints refuse a negative balance, lot or hold below that.
* A hold resolves once: its status changes by ``UPDATE … WHERE status = 'pending'`` with the
  row count checked, and the same statement enforces its expiry (a post after ``expires_at`` is
  refused, an expiry before it does nothing) whether or not the sweep has run.

Lock order: an account before its lots, holds and allocations; several accounts (the sweep)
in ascending id order. Earning takes no lock: it only inserts and adds.

Lots that have expired or activated are settled whenever a hold is placed on their account,
so a spend never draws on an expired lot even before the sweep (`app.points.expiry`) has run;
reads (`balances_at`) discount them, and overdue holds, as if settled.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import and_, bindparam, case, exists, insert, or_, update
from sqlalchemy import select as core_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db import execute, model_of
from app.points._journal import (
    PENDING,
    POSTED,
    EntryKind,
    LedgerError,
    lines_of,
    rows,
    shift,
    system_accounts,
    write_entry,
)
from app.points.models import (
    Hold,
    HoldStatus,
    LedgerAccount,
    LotAllocation,
    LotState,
    PointsLot,
)

__all__ = [
    "MAX_BALANCE",
    "Balance",
    "BalanceLimit",
    "ExceedsHold",
    "HoldExpired",
    "HoldNotDue",
    "HoldNotPending",
    "InsufficientPoints",
    "LedgerError",
    "balance_at",
    "balance_of",
    "balances_at",
    "earn",
    "expire_hold",
    "extend_hold",
    "lock_account",
    "lots_due",
    "place_hold",
    "post_hold",
    "settle_lots",
    "void_hold",
]


# GraphQL's Int is 32 bits: a balance larger than this could not be read back.
MAX_BALANCE = 2**31 - 1


class BalanceLimit(LedgerError):
    """An earn that would take the member's points past `MAX_BALANCE`."""


class InsufficientPoints(LedgerError):
    def __init__(self, available: int, requested: int) -> None:
        super().__init__(f"{requested} points requested, {available} available")
        self.available = available
        self.requested = requested


class HoldNotPending(LedgerError):
    """The hold was already posted, voided or expired: a hold resolves exactly once."""

    def __init__(self, hold_id: uuid.UUID, status: str) -> None:
        super().__init__(f"hold {hold_id} is {status}, not pending")
        self.status = status


class HoldExpired(HoldNotPending):
    """The hold's ``expires_at`` has passed: it can no longer be posted or extended, whether
    or not the sweep has recorded its expiry yet."""

    def __init__(self, hold_id: uuid.UUID, expires_at: datetime) -> None:
        LedgerError.__init__(self, f"hold {hold_id} expired at {expires_at.isoformat()}")
        self.status = HoldStatus.EXPIRED
        self.expires_at = expires_at


class HoldNotDue(LedgerError):
    """The hold was to expire, but its ``expires_at`` is still ahead (it was extended)."""


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


@dataclass
class _Lot:
    """A lot as read under the account's lock."""

    id: uuid.UUID
    remaining: int
    state: str
    activates_at: datetime
    expires_at: datetime | None

    def expired_by(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now


_LOT_COLUMNS = (
    col(PointsLot.id),
    col(PointsLot.remaining),
    col(PointsLot.state),
    col(PointsLot.activates_at),
    col(PointsLot.expires_at),
)


async def lock_account(session: AsyncSession, account_id: uuid.UUID) -> LedgerAccount:
    """The member account, locked for the rest of the transaction, with fresh columns."""
    statement = (
        select(LedgerAccount)
        .where(LedgerAccount.id == account_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.exec(statement)).one()


async def _lock_noting_overdue(
    session: AsyncSession, account_id: uuid.UUID, now: datetime
) -> tuple[LedgerAccount, bool]:
    """`lock_account`, and in the same statement whether the account has a pending hold
    past its ``expires_at`` (rare: the sweep expires them; a hold must not wait for it)."""
    row = (await execute(session, _LOCK_NOTING_OVERDUE, {"account": account_id, "now": now})).one()
    *columns, overdue = row
    return model_of(LedgerAccount, columns), bool(overdue)


_ACCOUNTS: Final = LedgerAccount.__table__  # type: ignore[attr-defined]
_HOLDS: Final = Hold.__table__  # type: ignore[attr-defined]
_LOTS: Final = PointsLot.__table__  # type: ignore[attr-defined]
_ALLOCATIONS: Final = LotAllocation.__table__  # type: ignore[attr-defined]
_ACCOUNT_COLUMNS: Final = tuple(_ACCOUNTS.c)
_LOCK_NOTING_OVERDUE: Final = (
    core_select(
        *_ACCOUNT_COLUMNS,
        exists()
        .where(
            _HOLDS.c.account_id == _ACCOUNTS.c.id,
            _HOLDS.c.status == HoldStatus.PENDING,
            _HOLDS.c.expires_at <= bindparam("now"),
        )
        .label("overdue"),
    )
    .where(_ACCOUNTS.c.id == bindparam("account"))
    .with_for_update(of=_ACCOUNTS)
)


def _aware(**moments: datetime | None) -> None:
    """Refuse naive datetimes: a time without an offset means a different instant on every
    server."""
    for name, moment in moments.items():
        if moment is not None and moment.utcoffset() is None:
            raise LedgerError(f"{name} needs a time zone offset")


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
    """The balance as of ``now``, read only: lots that expired or activated, and holds that
    expired, since the last write on the account count as if they had been settled."""
    return (await balances_at(session, [account_id], now=now))[account_id]


async def balances_at(
    session: AsyncSession, account_ids: list[uuid.UUID], *, now: datetime
) -> dict[uuid.UUID, Balance]:
    """`balance_at` for many accounts in three queries."""
    accounts = await rows(
        session,
        core_select(
            col(LedgerAccount.id),
            col(LedgerAccount.posted_credits),
            col(LedgerAccount.posted_debits),
            col(LedgerAccount.pending_credits),
            col(LedgerAccount.pending_debits),
        ).where(col(LedgerAccount.id).in_(account_ids)),
    )
    totals = {
        account_id: [credits - debits - held, pending, held]
        for account_id, credits, debits, pending, held in accounts
    }
    lots = await rows(
        session,
        core_select(col(PointsLot.account_id), *_LOT_COLUMNS).where(
            col(PointsLot.account_id).in_(account_ids), lots_due(now)
        ),
    )
    for account_id, *row in lots:
        lot = _Lot(*row)
        available_pending_held = totals[account_id]
        if lot.state == LotState.PENDING and lot.activates_at <= now:
            available_pending_held[1] -= lot.remaining
            available_pending_held[0] += 0 if lot.expired_by(now) else lot.remaining
        elif lot.state == LotState.ACTIVE and lot.expired_by(now):
            available_pending_held[0] -= lot.remaining
    # An overdue hold gives back what it drew; points whose lot has expired meanwhile expire.
    overdue = await session.exec(
        select(
            col(Hold.account_id),
            col(LotAllocation.amount),
            col(PointsLot.expires_at),
            col(PointsLot.state),
        )
        .join(LotAllocation, col(LotAllocation.hold_id) == col(Hold.id))
        .join(PointsLot, col(PointsLot.id) == col(LotAllocation.lot_id))
        .where(
            col(Hold.account_id).in_(account_ids),
            col(Hold.status) == HoldStatus.PENDING,
            col(Hold.expires_at) <= now,
        )
    )
    for account_id, drawn, lot_expires_at, lot_state in overdue.all():
        available_pending_held = totals[account_id]
        available_pending_held[2] -= drawn
        lot_gone = lot_state == LotState.EXPIRED or (
            lot_expires_at is not None and lot_expires_at <= now
        )
        available_pending_held[0] += 0 if lot_gone else drawn
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
    """Credit ``points`` to the member as a new lot (pending until ``activates_at``).

    Only ``account.id`` and ``account.program_id`` are read from ``account``. No lock: an
    earn only inserts rows and adds to the balance in SQL, refusing (`BalanceLimit`) to take
    the member's points (available, held and pending) past `MAX_BALANCE`.
    """
    _aware(now=now, activates_at=activates_at, expires_at=expires_at)
    if points <= 0:
        raise LedgerError("points must be a positive integer")
    activates = activates_at if activates_at is not None and activates_at > now else now
    if expires_at is not None and expires_at <= activates:
        raise LedgerError("points must expire after they activate")
    phase = PENDING if activates > now else POSTED
    lot = PointsLot(
        id=uuid.uuid4(),
        account_id=account.id,
        original=points,
        remaining=points,
        expired_amount=0,
        state=LotState.PENDING if phase == PENDING else LotState.ACTIVE,
        activates_at=activates,
        expires_at=expires_at,
        created_at=now,
    )
    total = (
        col(LedgerAccount.posted_credits)
        - col(LedgerAccount.posted_debits)
        + col(LedgerAccount.pending_credits)
    )
    column = getattr(LedgerAccount, f"{phase}_credits")
    credited = await session.exec(
        update(LedgerAccount)
        .where(col(LedgerAccount.id) == account.id, total + points <= MAX_BALANCE)
        .values({column: column + points})
    )
    if credited.rowcount != 1:
        raise BalanceLimit(f"a member holds at most {MAX_BALANCE} points; {points} more is over")
    await session.exec(insert(PointsLot).values(**lot.model_dump()))
    await _record(
        session, account, EntryKind.EARN, points, now, phase=phase, reason=reason, lot_id=lot.id
    )
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
    """Reserve ``amount`` points until ``expires_at`` (None: until resolved), or raise
    `InsufficientPoints` having written nothing.

    The account's holds past their expiry are expired first, and its due lots settled: what
    a read shows as available (`balances_at`) can be held, swept or not.
    """
    _aware(now=now, expires_at=expires_at)
    if amount <= 0:
        raise LedgerError("a hold must be for a positive number of points")
    if expires_at is not None and expires_at <= now:
        raise LedgerError("a hold must expire in the future")
    locked, overdue = await _lock_noting_overdue(session, account.id, now)
    if overdue:
        await _expire_overdue_holds(session, locked, now)
    lots = await _settle(session, locked, now)
    reserved = await execute(session, _RESERVE, {"account": account.id, "amount": amount})
    if reserved.rowcount != 1:
        raise InsufficientPoints((await balance_of(session, account.id)).available, amount)
    hold = Hold(
        id=uuid.uuid4(),
        account_id=account.id,
        amount=amount,
        posted_amount=0,
        status=HoldStatus.PENDING,
        reference=reference,
        expires_at=expires_at,
        created_at=now,
    )
    await execute(session, _INSERT_HOLD, hold.model_dump())
    await _allocate(session, hold, lots)
    await _record(session, locked, EntryKind.HOLD, amount, now, hold_id=hold.id)
    return hold


_RESERVE: Final = (
    update(_ACCOUNTS)
    .where(
        _ACCOUNTS.c.id == bindparam("account"),
        _ACCOUNTS.c.posted_credits - _ACCOUNTS.c.posted_debits - _ACCOUNTS.c.pending_debits
        >= bindparam("amount"),
    )
    .values(pending_debits=_ACCOUNTS.c.pending_debits + bindparam("amount"))
)
_INSERT_HOLD: Final = insert(_HOLDS)


async def _expire_overdue_holds(
    session: AsyncSession, account: LedgerAccount, now: datetime
) -> None:
    overdue = await session.exec(
        select(Hold.id).where(
            Hold.account_id == account.id,
            Hold.status == HoldStatus.PENDING,
            col(Hold.expires_at) <= now,
        )
    )
    for hold_id in overdue.all():
        await expire_hold(session, hold_id, now=now, locked=account)


async def post_hold(
    session: AsyncSession, hold_id: uuid.UUID, *, now: datetime, amount: int | None = None
) -> Hold:
    """Settle the hold for ``amount`` (default: all of it); the rest returns to the member.

    Refused with `HoldExpired` once the hold's ``expires_at`` has passed, swept or not.
    """
    _aware(now=now)
    held, account = await _lock_for_hold(session, hold_id)
    posted = held if amount is None else amount
    if not 0 < posted <= held:
        raise ExceedsHold(f"cannot post {posted} of a {held}-point hold")
    hold = await _resolve(session, _POST, hold_id, now, posted=posted)
    await _record(session, account, EntryKind.POST, posted, now, held=held, hold_id=hold_id)
    await shift(session, account.id, pending_debits=-held, posted_debits=posted)
    await _release(session, account, hold_id, held - posted, now)
    return hold


async def void_hold(session: AsyncSession, hold_id: uuid.UUID, *, now: datetime) -> Hold:
    """Release the whole hold back to the member. A hold past its ``expires_at`` is recorded
    as expired (the status returned says which); `HoldNotPending` if already resolved."""
    _aware(now=now)
    _, account = await _lock_for_hold(session, hold_id)
    hold = await _resolve(session, _VOID, hold_id, now)
    await _give_back(session, account, hold, now)
    return hold


async def expire_hold(
    session: AsyncSession,
    hold_id: uuid.UUID,
    *,
    now: datetime,
    locked: LedgerAccount | None = None,
) -> Hold:
    """Record the expiry of a hold whose ``expires_at`` has passed. `HoldNotPending` if it
    was resolved meanwhile, `HoldNotDue` if it was extended past ``now``. ``locked``: the
    hold's account, already locked by the caller (the sweep)."""
    _aware(now=now)
    if locked is None:
        _, locked = await _lock_for_hold(session, hold_id)
    hold = await _resolve(session, _EXPIRE, hold_id, now, account=locked.id)
    account = locked
    await _give_back(session, account, hold, now)
    return hold


async def extend_hold(
    session: AsyncSession, hold_id: uuid.UUID, *, now: datetime, expires_at: datetime
) -> Hold:
    """Move a pending hold's expiry later, to ``expires_at``; a hold that never expires is
    returned as it is. Refused for a resolved hold (`HoldNotPending`), an expiry that has
    already passed (`HoldExpired`: an expired hold is not revived) and an earlier expiry.

    The account is locked first, as by every other change to a hold: a unit of work that
    extends one hold and settles another must take its locks in the order settlements do.
    """
    _aware(now=now, expires_at=expires_at)
    if expires_at <= now:
        raise LedgerError("a hold must expire in the future")
    await _lock_for_hold(session, hold_id)
    extended = await session.exec(
        update(Hold)
        .where(
            col(Hold.id) == hold_id,
            col(Hold.status) == HoldStatus.PENDING,
            col(Hold.expires_at) > now,
            col(Hold.expires_at) <= expires_at,
        )
        .values(expires_at=expires_at)
        .returning(*Hold.__table__.columns)  # type: ignore[attr-defined]
    )
    row = extended.first()
    if row is not None:
        return Hold.model_validate(dict(row._mapping))
    hold = await _hold(session, hold_id)
    if hold.status != HoldStatus.PENDING:
        raise HoldNotPending(hold_id, hold.status)
    if hold.expires_at is None:
        return hold
    if hold.expires_at <= now:
        raise HoldExpired(hold_id, hold.expires_at)
    raise LedgerError(
        f"hold {hold_id} expires at {hold.expires_at.isoformat()}; "
        f"extending it to {expires_at.isoformat()} would shorten it"
    )


async def settle_lots(
    session: AsyncSession, account_id: uuid.UUID, *, now: datetime, limit: int | None = None
) -> tuple[LedgerAccount, bool]:
    """Lock the account, activate its lots whose time has come, expire the overdue ones: at
    most ``limit`` of them (the sweep works in small steps). The account, locked, and whether
    nothing is left due."""
    _aware(now=now)
    account = await lock_account(session, account_id)
    if limit is None:
        await _settle(session, account, now)
        return account, True
    due = await rows(
        session,
        core_select(*_LOT_COLUMNS)
        .where(col(PointsLot.account_id) == account.id, lots_due(now))
        .order_by(col(PointsLot.activates_at), col(PointsLot.id))
        .limit(limit + 1),
    )
    for row in due[:limit]:
        await _settle_lot(session, account, _Lot(*row), now)
    return account, len(due) <= limit


def lots_due(now: datetime) -> Any:
    """Lots whose activation or expiry has come (the sweep's and the reads' condition)."""
    return or_(
        and_(col(PointsLot.state) == LotState.PENDING, col(PointsLot.activates_at) <= now),
        and_(col(PointsLot.state) == LotState.ACTIVE, col(PointsLot.expires_at) <= now),
    )


async def _settle(session: AsyncSession, account: LedgerAccount, now: datetime) -> list[_Lot]:
    """Settle the locked account's due lots; its spendable lots, in spending order."""
    live = await rows(session, _LIVE_LOTS, {"account": account.id})
    spendable = []
    for row in live:
        lot = _Lot(*row)
        await _settle_lot(session, account, lot, now)
        if lot.state == LotState.ACTIVE and lot.remaining:
            spendable.append(lot)
    return spendable


_LIVE_LOTS: Final = (
    core_select(*_LOT_COLUMNS)
    .where(
        col(PointsLot.account_id) == bindparam("account"),
        col(PointsLot.state).in_((LotState.PENDING, LotState.ACTIVE)),
    )
    .order_by(
        col(PointsLot.expires_at).asc().nulls_last(), col(PointsLot.created_at), col(PointsLot.id)
    )
)


async def _settle_lot(
    session: AsyncSession, account: LedgerAccount, lot: _Lot, now: datetime
) -> None:
    if lot.state == LotState.PENDING and lot.activates_at <= now:
        await _activate(session, account, lot, now)
    if lot.state == LotState.ACTIVE and lot.expired_by(now):
        await _expire_lot(session, account, lot, now)


async def _activate(
    session: AsyncSession, account: LedgerAccount, lot: _Lot, now: datetime
) -> None:
    await session.exec(
        update(PointsLot).where(col(PointsLot.id) == lot.id).values(state=LotState.ACTIVE)
    )
    lot.state = LotState.ACTIVE
    await _record(session, account, EntryKind.ACTIVATE, lot.remaining, now, lot_id=lot.id)
    await shift(session, account.id, pending_credits=-lot.remaining, posted_credits=lot.remaining)


async def _expire_lot(
    session: AsyncSession, account: LedgerAccount, lot: _Lot, now: datetime
) -> None:
    unspent = lot.remaining
    await session.exec(
        update(PointsLot)
        .where(col(PointsLot.id) == lot.id)
        .values(
            state=LotState.EXPIRED,
            remaining=col(PointsLot.remaining) - unspent,
            expired_amount=col(PointsLot.expired_amount) + unspent,
        )
    )
    lot.state, lot.remaining = LotState.EXPIRED, 0
    if unspent:
        await _record(session, account, EntryKind.EXPIRE, unspent, now, lot_id=lot.id)
        await shift(session, account.id, posted_debits=unspent)


async def _allocate(session: AsyncSession, hold: Hold, lots: list[_Lot]) -> None:
    """Draw the hold's points from ``lots`` (in spending order, read under the lock)."""
    needed = hold.amount
    drawn: list[dict[str, Any]] = []
    for lot in lots:
        take = min(lot.remaining, needed)
        await execute(session, _DRAW, {"lot": lot.id, "taken": take})
        drawn.append({"hold_id": hold.id, "lot_id": lot.id, "amount": take})
        needed -= take
        if not needed:
            break
    if needed:
        raise LedgerError(f"lots hold {hold.amount - needed} of the {hold.amount} reserved points")
    await execute(session, _INSERT_ALLOCATIONS, drawn)


_DRAW: Final = (
    update(_LOTS)
    .where(_LOTS.c.id == bindparam("lot"))
    .values(remaining=_LOTS.c.remaining - bindparam("taken"))
)
_INSERT_ALLOCATIONS: Final = insert(_ALLOCATIONS)


async def _release(
    session: AsyncSession, account: LedgerAccount, hold_id: uuid.UUID, amount: int, now: datetime
) -> None:
    """Return ``amount`` of the hold's points to its lots, latest expiry first; points whose
    lot has expired (swept or not) expire at once."""
    if not amount:
        return
    allocations = await rows(
        session,
        core_select(col(LotAllocation.lot_id), col(LotAllocation.amount), *_LOT_COLUMNS[1:])
        .join(PointsLot, col(PointsLot.id) == col(LotAllocation.lot_id))
        .where(col(LotAllocation.hold_id) == hold_id, col(LotAllocation.amount) > 0)
        .order_by(
            col(PointsLot.expires_at).desc().nulls_first(),
            col(PointsLot.created_at).desc(),
            col(PointsLot.id).desc(),
        ),
    )
    remaining = amount
    for lot_id, drawn, *lot_row in allocations:
        lot = _Lot(lot_id, *lot_row)
        back = min(drawn, remaining)
        await session.exec(
            update(LotAllocation)
            .where(col(LotAllocation.hold_id) == hold_id, col(LotAllocation.lot_id) == lot_id)
            .values(amount=col(LotAllocation.amount) - back)
        )
        if lot.state == LotState.EXPIRED or lot.expired_by(now):
            await session.exec(
                update(PointsLot)
                .where(col(PointsLot.id) == lot_id)
                .values(expired_amount=col(PointsLot.expired_amount) + back)
            )
            # A clock read before the lock can be older than the sweep's that expired the lot;
            # the points expired at the lot's expiry, never before it.
            expired_at = now if lot.expires_at is None else max(now, lot.expires_at)
            await _record(session, account, EntryKind.EXPIRE, back, expired_at, lot_id=lot_id)
            await shift(session, account.id, posted_debits=back)
        else:
            await session.exec(
                update(PointsLot)
                .where(col(PointsLot.id) == lot_id)
                .values(remaining=col(PointsLot.remaining) + back)
            )
        remaining -= back
        if not remaining:
            break
    if remaining:
        raise LedgerError(f"hold {hold_id} drew {amount - remaining} points, not {amount}")


async def _give_back(
    session: AsyncSession, account: LedgerAccount, hold: Hold, now: datetime
) -> None:
    """The rest of a void or an expiry: its entry, the balance, the points back to lots."""
    kind = EntryKind.HOLD_EXPIRE if hold.status == HoldStatus.EXPIRED else EntryKind.VOID
    await _record(session, account, kind, hold.amount, now, hold_id=hold.id)
    await shift(session, account.id, pending_debits=-hold.amount)
    await _release(session, account, hold.id, hold.amount, now)


async def _lock_for_hold(session: AsyncSession, hold_id: uuid.UUID) -> tuple[int, LedgerAccount]:
    """The hold's amount and its account, locked: one statement (the amount never changes)."""
    row = (await execute(session, _LOCK_FOR_HOLD, {"hold": hold_id})).first()
    if row is None:
        raise LedgerError(f"no hold {hold_id}")
    *columns, amount = row
    return amount, model_of(LedgerAccount, columns)


_LOCK_FOR_HOLD: Final = (
    core_select(*_ACCOUNT_COLUMNS, _HOLDS.c.amount)
    .join(_HOLDS, _HOLDS.c.account_id == _ACCOUNTS.c.id)
    .where(_HOLDS.c.id == bindparam("hold"))
    .with_for_update(of=_ACCOUNTS)
)


def _resolution(status: Any, condition: Any = None) -> Any:
    """``UPDATE hold … WHERE status = 'pending'`` (and ``condition``), returning the hold."""
    conditions = [_HOLDS.c.id == bindparam("hold"), _HOLDS.c.status == HoldStatus.PENDING]
    if condition is not None:
        conditions.append(condition)
    return (
        update(_HOLDS)
        .where(*conditions)
        .values(status=status, posted_amount=bindparam("posted"), resolved_at=bindparam("now"))
        .returning(*_HOLDS.c)
    )


_NOW: Final[Any] = bindparam("now")
_POST: Final = _resolution(
    HoldStatus.POSTED, or_(_HOLDS.c.expires_at.is_(None), _HOLDS.c.expires_at > _NOW)
)
_VOID: Final = _resolution(
    case(
        (and_(_HOLDS.c.expires_at.is_not(None), _HOLDS.c.expires_at <= _NOW), HoldStatus.EXPIRED),
        else_=HoldStatus.VOIDED,
    )
)
_EXPIRE: Final = _resolution(
    HoldStatus.EXPIRED,
    and_(_HOLDS.c.expires_at <= _NOW, _HOLDS.c.account_id == bindparam("account")),
)


async def _resolve(
    session: AsyncSession,
    resolution: Any,
    hold_id: uuid.UUID,
    now: datetime,
    *,
    posted: int = 0,
    account: uuid.UUID | None = None,
) -> Hold:
    """Resolve the hold, once, by one of the resolutions above (row counted). A hold that
    cannot be resolved so raises, having written nothing."""
    params: dict[str, Any] = {"hold": hold_id, "now": now, "posted": posted}
    if account is not None:
        params["account"] = account
    row = (await execute(session, resolution, params)).first()
    if row is not None:
        return Hold.model_validate(dict(row._mapping))
    hold = await _hold(session, hold_id)
    if hold.status != HoldStatus.PENDING:
        raise HoldNotPending(hold_id, hold.status)
    if hold.expires_at is not None and hold.expires_at <= now:
        raise HoldExpired(hold_id, hold.expires_at)
    raise HoldNotDue(f"hold {hold_id} is not due to expire before {hold.expires_at}")


async def _hold(session: AsyncSession, hold_id: uuid.UUID) -> Hold:
    hold = (
        await session.exec(
            select(Hold).where(Hold.id == hold_id).execution_options(populate_existing=True)
        )
    ).first()
    if hold is None:
        raise LedgerError(f"no hold {hold_id}")
    return hold


async def _record(
    session: AsyncSession,
    account: LedgerAccount,
    kind: str,
    points: int,
    now: datetime,
    *,
    phase: str = POSTED,
    held: int = 0,
    reason: str | None = None,
    hold_id: uuid.UUID | None = None,
    lot_id: uuid.UUID | None = None,
) -> None:
    """Write an entry of ``kind`` about the member ``account``, with its lines."""
    system = await system_accounts(session, account.program_id)
    await write_entry(
        session,
        program_id=account.program_id,
        account_id=account.id,
        kind=kind,
        points=points,
        lines=lines_of(kind, points, member=account.id, system=system, phase=phase, held=held),
        now=now,
        reason=reason,
        hold_id=hold_id,
        lot_id=lot_id,
    )
