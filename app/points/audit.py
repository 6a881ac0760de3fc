"""The ledger's invariants, checked against what is stored: `check` lists every violation.

=====  =======================================================================================
I1     every entry's lines balance per phase (Σ debits = Σ credits), hence the whole journal
I1b    every entry has exactly the lines its kind and points call for (`_journal.lines_of`)
I2     a member account's balance columns equal the fold of its lines
I3     no member account is negative
I4     a hold resolves at most once: a pending hold has no resolving entry; a resolved one has
       exactly one, of the kind its status names (post / void / hold_expire), for the points
       its status says (posted amount / whole amount); every hold has one ``hold`` entry
L1     a lot is conserved: ``original = remaining + expired_amount + Σ allocations``
L2     a lot has one earn entry for its original points, and one activate entry if it was
       earned pending and is no longer; a pending lot is untouched, an expired one has nothing
       left; its expire entries add up to its expired amount
L3     active lots hold exactly the available points, pending lots the pending ones, pending
       holds the pending debits
A1     a hold draws from lots of its own account, as much as it holds (pending: its amount;
       posted: the posted amount; voided or expired: nothing)
T1     times agree with the story: an expired lot or hold had an expiry, and it has come (by
       ``now``); expire and hold_expire entries are not older than the expiry they record; a
       post is older than its hold's expiry; only a posted hold has a posted amount
P1     an account is what its key says (a member's, with kind ``member``; a system account of
       its kind), it belongs to its member's program, and its entries to that program
=====  =======================================================================================

It reads the whole program's journal (or everyone's), in a handful of statements: meant for
tests, for ops on a quiet ledger (``rewardgate points check``), and for the stateful test.
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select as core_select
from sqlalchemy import true
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app._types import utcnow
from app.points._journal import (
    CREDIT,
    DEBIT,
    PENDING,
    POSTED,
    RESOLUTIONS,
    EntryKind,
    LedgerError,
    SystemAccounts,
    lines_of,
    rows,
)
from app.points.models import (
    AccountKind,
    Hold,
    HoldStatus,
    JournalEntry,
    JournalLine,
    LedgerAccount,
    LotAllocation,
    LotState,
    Member,
    PointsLot,
)

__all__ = ["check"]


@dataclass
class _Entry:
    id: uuid.UUID
    program_id: uuid.UUID
    account_id: uuid.UUID
    kind: str
    points: int
    hold_id: uuid.UUID | None
    lot_id: uuid.UUID | None
    created_at: datetime
    lines: list[tuple[uuid.UUID, str, str, int]]


async def check(
    session: AsyncSession, program_id: uuid.UUID | None = None, *, now: datetime | None = None
) -> list[str]:
    """Every invariant above, for one program (default: all of them); the violations found.
    ``now``: the ledger's clock (tests move it), by default the wall clock."""
    moment = now or utcnow()
    scope: Any = LedgerAccount.program_id == program_id if program_id is not None else true()
    accounts = (
        await session.exec(
            select(LedgerAccount).where(scope).execution_options(populate_existing=True)
        )
    ).all()
    entries = await _entries(session, program_id)
    lots = (
        await session.exec(
            select(PointsLot)
            .join(LedgerAccount, col(LedgerAccount.id) == PointsLot.account_id)
            .where(scope)
            .execution_options(populate_existing=True)
        )
    ).all()
    holds = (
        await session.exec(
            select(Hold)
            .join(LedgerAccount, col(LedgerAccount.id) == Hold.account_id)
            .where(scope)
            .execution_options(populate_existing=True)
        )
    ).all()
    allocations = (
        await session.exec(
            select(
                col(LotAllocation.hold_id),
                col(LotAllocation.lot_id),
                col(LotAllocation.amount),
                col(PointsLot.account_id),
            )
            .join(PointsLot, col(PointsLot.id) == LotAllocation.lot_id)
            .join(Hold, col(Hold.id) == LotAllocation.hold_id)
            .join(LedgerAccount, col(LedgerAccount.id) == Hold.account_id)
            .where(scope)
        )
    ).all()
    members = dict(
        (
            await session.exec(
                select(Member.id, Member.program_id)
                .join(LedgerAccount, col(LedgerAccount.member_id) == col(Member.id))
                .where(scope)
            )
        ).all()
    )
    systems = _systems(accounts)
    holds_by_id = {hold.id: hold for hold in holds}
    problems: list[str] = []
    problems += _check_entries(entries, systems, holds_by_id)
    problems += _check_accounts(accounts, entries, lots, holds)
    problems += _check_holds(holds, entries, allocations, moment)
    problems += _check_lots(lots, entries, allocations, moment)
    problems += _check_programs(accounts, entries, members)
    return problems


def _is_member(account: LedgerAccount) -> bool:
    """A member's account by what it is (its member, its key), not by its ``kind`` column."""
    return account.member_id is not None or account.key.startswith("member:")


def _check_programs(
    accounts: Any, entries: list[_Entry], members: dict[uuid.UUID, uuid.UUID]
) -> list[str]:
    problems = []
    programs = {account.id: account.program_id for account in accounts}
    for account in accounts:
        member = _is_member(account)
        if member and account.kind != AccountKind.MEMBER:
            problems.append(f"account {account.id} is a member's but has kind {account.kind!r}")
        if not member and (account.kind != account.key or account.key not in AccountKind.SYSTEM):
            problems.append(
                f"account {account.id} has key {account.key!r} and kind {account.kind!r}"
            )
        owner = members.get(account.member_id) if account.member_id is not None else None
        if owner is not None and owner != account.program_id:
            problems.append(
                f"account {account.id} is in program {account.program_id}, its member in {owner}"
            )
    for entry in entries:
        program = programs.get(entry.account_id)
        if program != entry.program_id:
            problems.append(
                f"entry {entry.id} of program {entry.program_id} is about account "
                f"{entry.account_id} of program {program}"
            )
    return problems


async def _entries(session: AsyncSession, program_id: uuid.UUID | None) -> list[_Entry]:
    scope: Any = JournalEntry.program_id == program_id if program_id is not None else true()
    found = await rows(
        session,
        core_select(
            col(JournalEntry.id),
            col(JournalEntry.program_id),
            col(JournalEntry.account_id),
            col(JournalEntry.kind),
            col(JournalEntry.points),
            col(JournalEntry.hold_id),
            col(JournalEntry.lot_id),
            col(JournalEntry.created_at),
        ).where(scope),
    )
    entries = {
        row[0]: _Entry(*row, lines=[])  # type: ignore[misc]
        for row in found
    }
    lines = await rows(
        session,
        core_select(
            col(JournalLine.entry_id),
            col(JournalLine.account_id),
            col(JournalLine.side),
            col(JournalLine.phase),
            col(JournalLine.amount),
        )
        .join(JournalEntry, col(JournalEntry.id) == col(JournalLine.entry_id))
        .where(scope)
        .order_by(col(JournalLine.id)),
    )
    for entry_id, account_id, side, phase, amount in lines:
        entries[entry_id].lines.append((account_id, side, phase, amount))
    return list(entries.values())


def _systems(accounts: Any) -> dict[uuid.UUID, SystemAccounts]:
    keys: dict[uuid.UUID, dict[str, uuid.UUID]] = defaultdict(dict)
    for account in accounts:
        if account.kind != AccountKind.MEMBER:
            keys[account.program_id][account.key] = account.id
    return {
        program: SystemAccounts(
            issuance=ids.get(AccountKind.ISSUANCE, uuid.UUID(int=0)),
            redemption=ids.get(AccountKind.REDEMPTION, uuid.UUID(int=0)),
            expiry=ids.get(AccountKind.EXPIRY, uuid.UUID(int=0)),
        )
        for program, ids in keys.items()
    }


def _check_entries(
    entries: list[_Entry], systems: dict[uuid.UUID, SystemAccounts], holds: dict[uuid.UUID, Hold]
) -> list[str]:
    problems = []
    for entry in entries:
        sides: dict[str, dict[str, int]] = defaultdict(lambda: {DEBIT: 0, CREDIT: 0})
        for _, side, phase, amount in entry.lines:
            sides[phase][side] += amount
        for phase, total in sorted(sides.items()):
            if total[DEBIT] != total[CREDIT]:
                problems.append(f"entry {entry.id} {phase} lines do not balance: {total}")
        phase = entry.lines[0][2] if entry.lines else POSTED
        hold = holds.get(entry.hold_id) if entry.hold_id is not None else None
        try:
            expected = lines_of(
                entry.kind,
                entry.points,
                member=entry.account_id,
                system=systems[entry.program_id],
                phase=phase,
                held=hold.amount if hold is not None else 0,
            )
        except (LedgerError, KeyError):
            problems.append(f"entry {entry.id} is of unknown kind {entry.kind!r}")
            continue
        if Counter(entry.lines) != Counter(expected):
            problems.append(
                f"entry {entry.id} ({entry.kind}, {entry.points} points) has lines "
                f"{sorted(entry.lines)}, not {sorted(expected)}"
            )
    return problems


def _check_accounts(accounts: Any, entries: list[_Entry], lots: Any, holds: Any) -> list[str]:
    folded: dict[uuid.UUID, Counter[str]] = defaultdict(Counter)
    for entry in entries:
        for account_id, side, phase, amount in entry.lines:
            folded[account_id][f"{phase}_{side}s"] += amount
    active: Counter[uuid.UUID] = Counter()
    pending: Counter[uuid.UUID] = Counter()
    for lot in lots:
        if lot.state == LotState.ACTIVE:
            active[lot.account_id] += lot.remaining
        elif lot.state == LotState.PENDING:
            pending[lot.account_id] += lot.remaining
    held: Counter[uuid.UUID] = Counter()
    for hold in holds:
        if hold.status == HoldStatus.PENDING:
            held[hold.account_id] += hold.amount
    problems = []
    for account in accounts:
        if not _is_member(account):
            continue
        fold = folded[account.id]
        for column in ("posted_credits", "posted_debits", "pending_credits", "pending_debits"):
            if getattr(account, column) != fold[column]:
                problems.append(
                    f"account {account.id} {column}={getattr(account, column)} but the journal "
                    f"folds to {fold[column]}"
                )
        if account.available < 0:
            problems.append(f"account {account.id} is negative: {account.available}")
        if active[account.id] != account.available:
            problems.append(
                f"account {account.id}: active lots hold {active[account.id]}, "
                f"available is {account.available}"
            )
        if pending[account.id] != account.pending_credits:
            problems.append(
                f"account {account.id}: pending lots hold {pending[account.id]}, pending "
                f"credits are {account.pending_credits}"
            )
        if held[account.id] != account.pending_debits:
            problems.append(
                f"account {account.id}: pending holds {held[account.id]}, pending debits "
                f"{account.pending_debits}"
            )
    return problems


def _check_holds(holds: Any, entries: list[_Entry], allocations: Any, now: datetime) -> list[str]:
    by_hold: dict[uuid.UUID, list[_Entry]] = defaultdict(list)
    for entry in entries:
        if entry.hold_id is not None:
            by_hold[entry.hold_id].append(entry)
    drawn: Counter[uuid.UUID] = Counter()
    for hold_id, _, amount, _ in allocations:
        drawn[hold_id] += amount
    problems = []
    for hold in holds:
        placed = [e for e in by_hold[hold.id] if e.kind == EntryKind.HOLD]
        if [e.points for e in placed] != [hold.amount]:
            problems.append(
                f"hold {hold.id} of {hold.amount} has hold entries for {[e.points for e in placed]}"
            )
        resolving = [e for e in by_hold[hold.id] if e.kind in RESOLUTIONS.values()]
        if hold.status == HoldStatus.PENDING:
            expected: list[tuple[str, int]] = []
        elif hold.status == HoldStatus.POSTED:
            expected = [(EntryKind.POST, hold.posted_amount)]
        elif hold.status in RESOLUTIONS:
            expected = [(RESOLUTIONS[hold.status], hold.amount)]
        else:
            problems.append(f"hold {hold.id} has unknown status {hold.status!r}")
            continue
        found = [(e.kind, e.points) for e in resolving]
        if found != expected:
            problems.append(
                f"hold {hold.id} ({hold.status}) is resolved by {found or 'nothing'}, "
                f"expected {expected or 'nothing'}"
            )
        problems += _hold_times(hold, resolving, now)
        owed = {HoldStatus.PENDING: hold.amount, HoldStatus.POSTED: hold.posted_amount}
        if drawn[hold.id] != owed.get(hold.status, 0):
            problems.append(
                f"hold {hold.id} ({hold.status}) draws {drawn[hold.id]} from lots, "
                f"expected {owed.get(hold.status, 0)}"
            )
    accounts = {hold.id: hold.account_id for hold in holds}
    for hold_id, lot_id, _, lot_account in allocations:
        if accounts.get(hold_id) != lot_account:
            problems.append(
                f"hold {hold_id} of account {accounts.get(hold_id)} draws from lot {lot_id} "
                f"of account {lot_account}"
            )
    return problems


def _hold_times(hold: Hold, resolving: list[_Entry], now: datetime) -> list[str]:
    problems = []
    if hold.status != HoldStatus.POSTED and hold.posted_amount:
        problems.append(f"hold {hold.id} ({hold.status}) says {hold.posted_amount} were posted")
    if hold.status == HoldStatus.EXPIRED and (hold.expires_at is None or hold.expires_at > now):
        problems.append(f"hold {hold.id} is expired, but its expiry is {hold.expires_at}")
    for entry in resolving:
        if hold.expires_at is None:
            continue
        if entry.kind == EntryKind.HOLD_EXPIRE and entry.created_at < hold.expires_at:
            problems.append(f"hold {hold.id} expired at {entry.created_at}, before its expiry")
        if entry.kind == EntryKind.POST and entry.created_at >= hold.expires_at:
            problems.append(f"hold {hold.id} was posted at {entry.created_at}, after its expiry")
    return problems


def _check_lots(lots: Any, entries: list[_Entry], allocations: Any, now: datetime) -> list[str]:
    drawn: Counter[uuid.UUID] = Counter()
    for _, lot_id, amount, _ in allocations:
        drawn[lot_id] += amount
    earned: dict[uuid.UUID, list[int]] = defaultdict(list)
    earned_pending: dict[uuid.UUID, bool] = defaultdict(bool)
    activated: dict[uuid.UUID, list[int]] = defaultdict(list)
    expired: Counter[uuid.UUID] = Counter()
    expiries: dict[uuid.UUID, list[datetime]] = defaultdict(list)
    for entry in entries:
        if entry.lot_id is None:
            continue
        if entry.kind == EntryKind.EARN:
            earned[entry.lot_id].append(entry.points)
            earned_pending[entry.lot_id] = any(line[2] == PENDING for line in entry.lines)
        elif entry.kind == EntryKind.ACTIVATE:
            activated[entry.lot_id].append(entry.points)
        elif entry.kind == EntryKind.EXPIRE:
            expired[entry.lot_id] += entry.points
            expiries[entry.lot_id].append(entry.created_at)
    problems = []
    for lot in lots:
        if lot.original != lot.remaining + lot.expired_amount + drawn[lot.id]:
            problems.append(
                f"lot {lot.id}: original {lot.original} is not remaining {lot.remaining} + "
                f"expired {lot.expired_amount} + drawn {drawn[lot.id]}"
            )
        if earned[lot.id] != [lot.original]:
            problems.append(f"lot {lot.id} of {lot.original} points was earned by {earned[lot.id]}")
        if expired[lot.id] != lot.expired_amount:
            problems.append(
                f"lot {lot.id}: expire entries for {expired[lot.id]}, expired amount "
                f"{lot.expired_amount}"
            )
        if lot.state == LotState.PENDING and lot.remaining != lot.original:
            problems.append(f"pending lot {lot.id} was drawn on: {lot.remaining}/{lot.original}")
        if lot.state == LotState.EXPIRED and lot.remaining:
            problems.append(f"expired lot {lot.id} still holds {lot.remaining}")
        if lot.state not in (LotState.PENDING, LotState.ACTIVE, LotState.EXPIRED):
            problems.append(f"lot {lot.id} has unknown state {lot.state!r}")
        gone = lot.state == LotState.EXPIRED or lot.expired_amount or expiries[lot.id]
        if gone and lot.expires_at is None:
            problems.append(f"lot {lot.id} never expires, yet {lot.expired_amount} expired")
        elif lot.expires_at is not None:
            if lot.state == LotState.EXPIRED and lot.expires_at > now:
                problems.append(f"lot {lot.id} is expired before its expiry {lot.expires_at}")
            if any(moment < lot.expires_at for moment in expiries[lot.id]):
                problems.append(f"lot {lot.id} has points expired before {lot.expires_at}")
        activations = activated[lot.id]
        due = [lot.original] if earned_pending[lot.id] and lot.state != LotState.PENDING else []
        if activations != due:
            problems.append(f"lot {lot.id} ({lot.state}) activated by {activations}, not {due}")
    return problems
