from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy.exc import IntegrityError, StatementError
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db import Database
from app.partners.models import Partner
from app.points.models import Program
from app.points.programs import member_account
from app.pricing.models import FxRate, Quote
from tests.app.points.conftest import new_books

pytestmark = pytest.mark.asyncio
_NOW = datetime(2026, 12, 1, tzinfo=UTC)


async def test_decimals_round_trip_exactly_beyond_float_precision(database: Database) -> None:
    """Twenty significant digits: a float would keep about sixteen."""
    rate = Decimal("12345678901234.1234567890")

    async def write(session: AsyncSession) -> int:
        row = FxRate(source="t", as_of=datetime.now(UTC).date(), currency="USD", per_eur=rate)
        session.add(row)
        await session.flush()
        assert row.id is not None
        return row.id

    row_id = await database.write(write)
    async with database.session() as session:
        stored = await session.get(FxRate, row_id)
    assert stored is not None
    assert stored.per_eur == rate
    assert str(stored.per_eur) == "12345678901234.1234567890"


async def test_decimals_refuse_floats_and_extra_places(database: Database) -> None:
    async def write(value: object) -> None:
        async def insert(session: AsyncSession) -> None:
            session.add(
                FxRate(source="t", as_of=datetime.now(UTC).date(), currency="X", per_eur=value)  # type: ignore[arg-type]
            )
            await session.flush()

        await database.write(insert)

    with pytest.raises(StatementError, match="not a Decimal"):
        await write(1.5)
    with pytest.raises(StatementError, match="decimal places"):
        await write(Decimal("1.12345678901"))
    # NUMERIC(24, 10) has 14 integer digits: PostgreSQL would refuse more, so SQLite does too.
    with pytest.raises(StatementError, match="does not fit"):
        await write(Decimal("123456789012345.5"))


async def test_decimals_wider_than_the_ambient_context_round_trip(database: Database) -> None:
    """A NUMERIC(40, 24) value has more digits than Python's default decimal context (28)."""
    books = await new_books(database)
    wide = Decimal("17123.123456789012345678901234")

    async def write(session: AsyncSession) -> uuid.UUID:
        member, _ = await member_account(session, books.program.id, "m1", now=_NOW)
        quote = Quote(
            program_id=books.program.id,
            member_id=member.id,
            reward_ref="x:1",
            face_amount=Decimal(1),
            face_currency="USD",
            price_amount=Decimal(1),
            price_currency="USD",
            rate=wide,
            price_currency_per_eur=Decimal(1),
            program_currency_per_eur=wide,
            rate_source="t",
            rate_as_of=_NOW.date(),
            markup_percent=Decimal(0),
            point_value=Decimal("0.01"),
            points=1,
            expires_at=_NOW,
        )
        session.add(quote)
        await session.flush()
        return quote.id

    quote_id = await database.write(write)
    async with database.session() as session:
        stored = await session.get(Quote, quote_id)
    assert stored is not None
    assert (stored.rate, stored.program_currency_per_eur) == (wide, wide)


async def test_numeric_check_constraints_compare_numbers(database: Database) -> None:
    """The program checks compare numbers on SQLite too, where decimals are stored as text."""

    async def program(markup: str) -> Program:
        async def create(session: AsyncSession) -> Program:
            partner = Partner(slug=uuid.uuid4().hex[:10], name="p")
            session.add(partner)
            await session.flush()
            created = Program(
                partner_id=partner.id,
                name="p",
                currency="USD",
                point_value=Decimal("0.01"),
                markup_percent=Decimal(markup),
            )
            session.add(created)
            await session.flush()
            return created

        return await database.write(create)

    assert (await program("5")).markup_percent == Decimal("5.0000")
    assert (await program("100")).markup_percent == Decimal(100)
    with pytest.raises(IntegrityError):
        await program("100.5")


async def test_datetimes_come_back_aware_in_utc(database: Database) -> None:
    paris = timezone(timedelta(hours=1))

    async def write(session: AsyncSession) -> uuid.UUID:
        partner = Partner(
            slug=uuid.uuid4().hex[:10], name="p", created_at=datetime(2026, 1, 1, 13, tzinfo=paris)
        )
        session.add(partner)
        await session.flush()
        return partner.id

    partner_id = await database.write(write)
    async with database.session() as session:
        stored = await session.get(Partner, partner_id)
    assert stored is not None
    assert stored.created_at == datetime(2026, 1, 1, 12, tzinfo=UTC)
    assert stored.created_at.tzinfo is not None

    async def naive(session: AsyncSession) -> None:
        session.add(Partner(slug="naive", name="p", created_at=datetime(2026, 1, 1)))  # noqa: DTZ001
        await session.flush()

    with pytest.raises(StatementError, match="naive datetime"):
        await database.write(naive)
