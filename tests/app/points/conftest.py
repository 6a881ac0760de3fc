"""A program with a member, on the test database, and a clock the tests move."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import pytest_asyncio
from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db import Database
from app.partners.models import Partner
from app.points import audit, expiry, ledger
from app.points.models import LedgerAccount, Program
from app.points.programs import create_program, member_account

T = TypeVar("T")
START = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@dataclass
class Books:
    """One program on the test database, with helpers that run ledger calls in transactions."""

    database: Database
    program: Program
    now: datetime = START

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)

    async def run(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        return await self.database.write(work)

    async def account(self, member: str) -> LedgerAccount:
        async def find(session: AsyncSession) -> LedgerAccount:
            return (await member_account(session, self.program.id, member, now=self.now))[1]

        return await self.run(find)

    async def call(self, operation: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        async def work(session: AsyncSession) -> T:
            return await operation(session, *args, now=self.now, **kwargs)

        return await self.run(work)

    async def balance(self, account: LedgerAccount) -> ledger.Balance:
        async with self.database.session() as session:
            return await ledger.balance_of(session, account.id)

    async def problems(self) -> list[str]:
        async with self.database.session() as session:
            return await audit.check(session, self.program.id, now=self.now)

    async def tamper(self, sql: str, **params: Any) -> None:
        """Write behind the ledger's back, as a bug or a hand edit would (ids as stored)."""
        if self.database.is_sqlite:
            params = {k: v.hex if isinstance(v, uuid.UUID) else v for k, v in params.items()}

        async def write(session: AsyncSession) -> None:
            await session.exec(text(sql), params=params)  # type: ignore[call-overload]

        await self.run(write)

    async def sweep(self, **options: Any) -> expiry.SweepReport:
        return await expiry.sweep(self.database, now=self.now, **options)


async def new_books(database: Database, *, lifetime_days: int | None = None) -> Books:
    async def setup(session: AsyncSession) -> Program:
        partner = Partner(slug=f"p{uuid.uuid4().hex[:12]}", name="Test partner")
        session.add(partner)
        await session.flush()
        return await create_program(
            session,
            partner_id=partner.id,
            name="Points",
            currency="USD",
            point_value=Decimal("0.01"),
            points_lifetime_days=lifetime_days,
        )

    return Books(database, await database.write(setup))


@pytest_asyncio.fixture
async def books(database: Database) -> Books:
    return await new_books(database)
