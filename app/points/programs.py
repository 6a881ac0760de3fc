"""Programs and members: a program is created with its system accounts; a member, with its
account, on first use (safely when two first uses race)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Final, TypeGuard

from sqlalchemy import bindparam, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db import execute, insert_ignoring_conflicts, model_of
from app.points.models import AccountKind, LedgerAccount, Member, Program
from vendors.money import minor_units

__all__ = [
    "MEMBER_ID_MAX_LENGTH",
    "MEMBER_ID_RULE",
    "create_program",
    "is_member_id",
    "member_account",
]

MEMBER_ID_MAX_LENGTH = 128
MEMBER_ID_RULE = "a member id is 1 to 128 characters, with no space at either end"


def is_member_id(text: str | None) -> TypeGuard[str]:
    """A partner's member id: 1 to 128 characters, not blank, no space at either end (an id
    of spaces, or "bob " beside "bob", is a mistake, not a member)."""
    return text is not None and 0 < len(text) <= MEMBER_ID_MAX_LENGTH and text == text.strip()


async def create_program(
    session: AsyncSession,
    *,
    partner_id: uuid.UUID,
    name: str,
    currency: str,
    point_value: Decimal,
    markup_percent: Decimal = Decimal(0),
    points_lifetime_days: int | None = None,
) -> Program:
    minor_units(currency)  # refuses a currency we cannot do arithmetic in
    if point_value <= 0:
        raise ValueError("a point must be worth something")
    if not Decimal(0) <= markup_percent <= Decimal(100):
        raise ValueError("markup must be between 0 and 100 %")
    program = Program(
        partner_id=partner_id,
        name=name,
        currency=currency,
        point_value=point_value,
        markup_percent=markup_percent,
        points_lifetime_days=points_lifetime_days,
    )
    session.add(program)
    await session.flush()
    session.add_all(
        LedgerAccount(program_id=program.id, key=kind, kind=kind) for kind in AccountKind.SYSTEM
    )
    await session.flush()
    return program


async def member_account(
    session: AsyncSession, program_id: uuid.UUID, external_id: str, *, now: datetime
) -> tuple[Member, LedgerAccount]:
    """The member known to the partner as ``external_id``, and its account; created if new.

    One statement when both exist; creation is an insert that ignores a concurrent twin.
    """
    if not is_member_id(external_id):
        raise ValueError(f"a member id is 1 to {MEMBER_ID_MAX_LENGTH} characters, not blank")
    member, account = await _find(session, program_id, external_id)
    if member is None:
        row = Member(
            id=uuid.uuid4(), program_id=program_id, external_id=external_id, created_at=now
        )
        await insert_ignoring_conflicts(session, Member, [row.model_dump()])
        member, account = await _find(session, program_id, external_id)
        assert member is not None
    if account is None:
        new = LedgerAccount(
            id=uuid.uuid4(),
            program_id=program_id,
            key=f"member:{member.id}",
            kind=AccountKind.MEMBER,
            member_id=member.id,
            created_at=now,
        )
        await insert_ignoring_conflicts(session, LedgerAccount, [new.model_dump()])
        member, account = await _find(session, program_id, external_id)
        assert member is not None
        assert account is not None
    return member, account


_MEMBERS: Final = Member.__table__  # type: ignore[attr-defined]
_ACCOUNTS: Final = LedgerAccount.__table__  # type: ignore[attr-defined]
_FIND: Final = (
    select(*_MEMBERS.c, *_ACCOUNTS.c)
    .select_from(_MEMBERS.outerjoin(_ACCOUNTS, _ACCOUNTS.c.member_id == _MEMBERS.c.id))
    .where(
        _MEMBERS.c.program_id == bindparam("program"),
        _MEMBERS.c.external_id == bindparam("external"),
    )
)


async def _find(
    session: AsyncSession, program_id: uuid.UUID, external_id: str
) -> tuple[Member | None, LedgerAccount | None]:
    found = (
        await execute(session, _FIND, {"program": program_id, "external": external_id})
    ).first()
    if found is None:
        return None, None
    width = len(_MEMBERS.c)
    member = model_of(Member, found[:width])
    if found[width] is None:
        return member, None
    return member, model_of(LedgerAccount, found[width:])
