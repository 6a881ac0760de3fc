"""Journal entries and their lines: written by the ledger, re-derived by the audit.

Each kind of entry has one shape of lines, a function of its points (and, for a post, of the
hold it settles). `lines_of` is that shape; the ledger writes it and `app.points.audit.check`
compares every stored entry with it, so an entry whose lines do not say what its kind and
points say is found.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Row, Select, Update, bindparam, insert, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db import execute
from app.points.models import AccountKind, JournalEntry, JournalLine, LedgerAccount

__all__ = [
    "CREDIT",
    "DEBIT",
    "PENDING",
    "POSTED",
    "RESOLUTIONS",
    "EntryKind",
    "LedgerError",
    "Line",
    "SystemAccounts",
    "lines_of",
    "rows",
    "shift",
    "system_accounts",
    "write_entry",
]

DEBIT: Final = "debit"
CREDIT: Final = "credit"
PENDING: Final = "pending"
POSTED: Final = "posted"

Line = tuple[uuid.UUID, str, str, int]  # account, side, phase, amount


class EntryKind:
    EARN = "earn"
    ACTIVATE = "activate"
    HOLD = "hold"
    POST = "post"
    VOID = "void"
    HOLD_EXPIRE = "hold_expire"
    EXPIRE = "expire"


# The entries that resolve a hold, by the status they leave it in.
RESOLUTIONS: Final = {
    "posted": EntryKind.POST,
    "voided": EntryKind.VOID,
    "expired": EntryKind.HOLD_EXPIRE,
}


class LedgerError(Exception):
    """A ledger operation that cannot be done as asked; nothing was written."""


@dataclass(frozen=True)
class SystemAccounts:
    """A program's system accounts: the other side of every entry."""

    issuance: uuid.UUID
    redemption: uuid.UUID
    expiry: uuid.UUID


# A program's system accounts are created with it and never change: looked up once per process.
_system_accounts: dict[uuid.UUID, SystemAccounts] = {}
_SYSTEM_ACCOUNTS_KEPT: Final = 10_000


async def system_accounts(session: AsyncSession, program_id: uuid.UUID) -> SystemAccounts:
    known = _system_accounts.get(program_id)
    if known is not None:
        return known
    rows = await session.exec(
        select(LedgerAccount.key, LedgerAccount.id).where(
            LedgerAccount.program_id == program_id,
            col(LedgerAccount.key).in_(AccountKind.SYSTEM),
        )
    )
    ids = dict(rows.all())
    if set(ids) != set(AccountKind.SYSTEM):
        raise LedgerError(f"program {program_id} lacks system accounts: it has {sorted(ids)}")
    found = SystemAccounts(
        issuance=ids[AccountKind.ISSUANCE],
        redemption=ids[AccountKind.REDEMPTION],
        expiry=ids[AccountKind.EXPIRY],
    )
    if len(_system_accounts) >= _SYSTEM_ACCOUNTS_KEPT:
        _system_accounts.clear()
    _system_accounts[program_id] = found
    return found


def lines_of(
    kind: str,
    points: int,
    *,
    member: uuid.UUID,
    system: SystemAccounts,
    phase: str = POSTED,
    held: int = 0,
) -> list[Line]:
    """The lines of an entry of ``kind`` for ``points``; ``phase`` is an earn's (pending until
    its lot activates), ``held`` the amount of the hold a post settles."""
    if kind == EntryKind.EARN:
        return [(system.issuance, DEBIT, phase, points), (member, CREDIT, phase, points)]
    if kind == EntryKind.ACTIVATE:
        return [
            (system.issuance, DEBIT, PENDING, -points),
            (member, CREDIT, PENDING, -points),
            (system.issuance, DEBIT, POSTED, points),
            (member, CREDIT, POSTED, points),
        ]
    if kind == EntryKind.HOLD:
        return [(member, DEBIT, PENDING, points), (system.redemption, CREDIT, PENDING, points)]
    if kind == EntryKind.POST:
        return [
            (member, DEBIT, PENDING, -held),
            (system.redemption, CREDIT, PENDING, -held),
            (member, DEBIT, POSTED, points),
            (system.redemption, CREDIT, POSTED, points),
        ]
    if kind in (EntryKind.VOID, EntryKind.HOLD_EXPIRE):
        return [(member, DEBIT, PENDING, -points), (system.redemption, CREDIT, PENDING, -points)]
    if kind == EntryKind.EXPIRE:
        return [(member, DEBIT, POSTED, points), (system.expiry, CREDIT, POSTED, points)]
    raise LedgerError(f"no such kind of entry: {kind!r}")


_ENTRIES: Final = JournalEntry.__table__  # type: ignore[attr-defined]
_LINES: Final = JournalLine.__table__  # type: ignore[attr-defined]
_ACCOUNTS: Final = LedgerAccount.__table__  # type: ignore[attr-defined]
_INSERT_ENTRY: Final = insert(_ENTRIES)
_INSERT_LINES: Final = insert(_LINES)
# One UPDATE per set of balance columns a movement changes, built on first use.
_SHIFTS: dict[tuple[str, ...], Update] = {}


async def write_entry(
    session: AsyncSession,
    *,
    program_id: uuid.UUID,
    account_id: uuid.UUID,
    kind: str,
    points: int,
    lines: list[Line],
    now: datetime,
    reason: str | None = None,
    hold_id: uuid.UUID | None = None,
    lot_id: uuid.UUID | None = None,
) -> uuid.UUID:
    """Insert the entry and its lines: two statements."""
    entry_id = uuid.uuid4()
    await execute(
        session,
        _INSERT_ENTRY,
        {
            "id": entry_id,
            "program_id": program_id,
            "account_id": account_id,
            "kind": kind,
            "points": points,
            "reason": reason,
            "hold_id": hold_id,
            "lot_id": lot_id,
            "created_at": now,
        },
    )
    await execute(
        session,
        _INSERT_LINES,
        [
            {"entry_id": entry_id, "account_id": line_account, "side": side, "phase": phase,
             "amount": amount}
            for line_account, side, phase, amount in lines
        ],
    )  # fmt: skip
    return entry_id


async def shift(session: AsyncSession, account_id: uuid.UUID, **deltas: int) -> None:
    """Change a member account's balance columns by deltas, in SQL (never a value computed
    in Python from an earlier read); the CHECK constraints refuse a negative result."""
    names = tuple(sorted(deltas))
    statement = _SHIFTS.get(names)
    if statement is None:
        statement = _SHIFTS[names] = (
            update(_ACCOUNTS)
            .where(_ACCOUNTS.c.id == bindparam("shifted_account"))
            .values({name: _ACCOUNTS.c[name] + bindparam(f"delta_{name}") for name in names})
        )
    params: dict[str, Any] = {f"delta_{name}": delta for name, delta in deltas.items()}
    params["shifted_account"] = account_id
    changed = await execute(session, statement, params)
    if changed.rowcount != 1:
        raise LedgerError(f"no account {account_id}")


async def rows(
    session: AsyncSession, statement: Select[Any], params: dict[str, Any] | None = None
) -> Sequence[Row[Any]]:
    """Plain rows of a Core select, in the session's transaction: never objects of the
    session's identity map, which may hold values read before a lock."""
    return (await execute(session, statement, params)).all()
