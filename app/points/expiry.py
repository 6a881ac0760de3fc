"""The expiry sweep: settle due lots and expire overdue holds, in small steps.

Reads find the next few accounts with something due (keyset on the account id); each batch of
accounts is then settled in a transaction of its own, of at most `BATCH` accounts and about
`BUDGET` of work (a transaction commits once its time is up, after at least one account; the
rest of its batch goes to the next one), locking its accounts in ascending id order, the same
order as every other transaction that locks more than one account, so
sweepers and settlements never deadlock, and no transaction holds the write lock for long (the
embedded SQLite has one writer at a time). A batch that fails is retried one account per
transaction; an account that still fails is logged and skipped, and the sweep goes on with
everyone else's.

Holds found due in a read may be extended before their batch runs: the ledger's conditional
expiry (`ledger.expire_hold`) leaves those alone.

Reads between batches are safe with concurrent sweepers: both would lock the same account in
turn, and the second finds nothing left to do.
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import Select, select, union
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app._types import utcnow
from app.db import Database
from app.log import get_logger
from app.points import ledger
from app.points.models import Hold, HoldStatus, PointsLot

__all__ = [
    "BATCH",
    "BUDGET",
    "HOLDS_PER_STEP",
    "LOTS_PER_STEP",
    "Due",
    "Settled",
    "SweepReport",
    "due_accounts",
    "settle_due",
    "sweep",
]

BATCH: Final = 25
# How long one sweep transaction may keep at it: the embedded SQLite's write lock is held that
# long (each account costs a few milliseconds there: some fifteen statements).
BUDGET: Final = timedelta(milliseconds=40)
# What one transaction settles of one account at most: an account with hundreds of due lots
# or holds is settled over several transactions, not in one long one.
LOTS_PER_STEP: Final = 10
HOLDS_PER_STEP: Final = 5
_logger = get_logger(__name__)


@dataclass(frozen=True)
class Due:
    """An account with lots to settle or holds to expire, as a read found it."""

    account_id: uuid.UUID
    hold_ids: tuple[uuid.UUID, ...]


@dataclass(frozen=True)
class Settled:
    """What one transaction of the sweep did: the accounts settled, in order, and the one it
    left part-settled (the next transaction resumes it)."""

    accounts: tuple[uuid.UUID, ...]
    holds_expired: int
    unfinished: uuid.UUID | None = None


@dataclass
class SweepReport:
    accounts_settled: int = 0
    holds_expired: int = 0
    accounts_failed: int = 0
    transactions: int = 0


async def sweep(
    database: Database,
    *,
    now: datetime | None = None,
    batch: int = BATCH,
    budget: timedelta | None = BUDGET,
    clock: Callable[[], datetime] = utcnow,
) -> SweepReport:
    """One pass over everything due at ``now`` (default: the clock when the pass starts);
    ``budget`` None: every batch in one transaction, however long it takes."""
    moment = now or clock()
    report = SweepReport()
    after: uuid.UUID | None = None
    while True:
        async with database.session() as session:
            due = await due_accounts(session, now=moment, after=after, limit=batch)
        if not due:
            return report

        async def settle(session: AsyncSession, due: list[Due] = due) -> Settled:
            return await settle_due(session, due, now=moment, budget=budget)

        try:
            settled = await database.write(settle)
        except Exception:
            _logger.warning("points.sweep.batch_failed", accounts=len(due), exc_info=True)
            await _one_by_one(database, due, moment, report)
            after = due[-1].account_id
        else:
            if settled.accounts:
                after = settled.accounts[-1]
            report.transactions += 1
            report.accounts_settled += len(settled.accounts)
            report.holds_expired += settled.holds_expired


async def _one_by_one(
    database: Database, due: list[Due], now: datetime, report: SweepReport
) -> None:
    for account in due:

        async def settle(session: AsyncSession, account: Due = account) -> Settled:
            return await settle_due(session, [account], now=now)

        while True:  # every step makes progress: what it settled is no longer due
            try:
                settled = await database.write(settle)
            except Exception:
                report.accounts_failed += 1
                _logger.exception("points.sweep.account_failed", account_id=str(account.account_id))
                break
            report.transactions += 1
            report.holds_expired += settled.holds_expired
            if settled.unfinished is None:
                report.accounts_settled += 1
                break
            async with database.session() as session:
                again = await due_accounts(session, now=now, after=None, only=account.account_id)
            if not again:
                report.accounts_settled += 1
                break
            account = again[0]


async def due_accounts(
    session: AsyncSession,
    *,
    now: datetime,
    after: uuid.UUID | None = None,
    limit: int = BATCH,
    only: uuid.UUID | None = None,
) -> list[Due]:
    """The next ``limit`` accounts (by id, after ``after``; or just ``only``) with anything
    due at ``now``."""
    lot_filters = [ledger.lots_due(now)]
    hold_filters = [col(Hold.status) == HoldStatus.PENDING, col(Hold.expires_at) <= now]
    if after is not None:
        lot_filters.append(col(PointsLot.account_id) > after)
        hold_filters.append(col(Hold.account_id) > after)
    if only is not None:
        lot_filters.append(col(PointsLot.account_id) == only)
        hold_filters.append(col(Hold.account_id) == only)
    lots_due: Select[tuple[uuid.UUID]] = select(col(PointsLot.account_id)).where(*lot_filters)
    holds_due: Select[tuple[uuid.UUID]] = select(col(Hold.account_id)).where(*hold_filters)
    accounts = union(lots_due, holds_due).subquery("due")
    connection = await session.connection()
    ids = (
        (
            await connection.execute(
                select(accounts.c.account_id).order_by(accounts.c.account_id).limit(limit)
            )
        )
        .scalars()
        .all()
    )
    if not ids:
        return []
    holds = await connection.execute(
        select(col(Hold.account_id), col(Hold.id))
        .where(
            col(Hold.account_id).in_(ids),
            col(Hold.status) == HoldStatus.PENDING,
            col(Hold.expires_at) <= now,
        )
        .order_by(col(Hold.expires_at), col(Hold.id))
    )
    by_account: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    for account_id, hold_id in holds.all():
        by_account[account_id].append(hold_id)
    return [Due(account_id, tuple(by_account[account_id])) for account_id in ids]


async def settle_due(
    session: AsyncSession, due: list[Due], *, now: datetime, budget: timedelta | None = None
) -> Settled:
    """Settle each account's lots and expire its holds, accounts in ascending id order, until
    ``budget`` has passed (after one account at least); of one account at most
    `LOTS_PER_STEP` lots and `HOLDS_PER_STEP` holds, leaving it unfinished if it has more."""
    deadline = None if budget is None else time.monotonic() + budget.total_seconds()
    settled: list[uuid.UUID] = []
    expired = 0
    for account in sorted(due, key=lambda d: d.account_id):
        if settled and deadline is not None and time.monotonic() >= deadline:
            break
        locked, lots_done = await ledger.settle_lots(
            session, account.account_id, now=now, limit=LOTS_PER_STEP
        )
        for hold_id in account.hold_ids[:HOLDS_PER_STEP]:
            try:
                await ledger.expire_hold(session, hold_id, now=now, locked=locked)
            except (ledger.HoldNotPending, ledger.HoldNotDue):
                continue  # resolved or extended since the read: nothing to do
            expired += 1
        if not lots_done or len(account.hold_ids) > HOLDS_PER_STEP:
            return Settled(tuple(settled), expired, unfinished=account.account_id)
        settled.append(account.account_id)
    return Settled(tuple(settled), expired)
