from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db import Database
from app.points.programs import member_account
from app.pricing.conversion import points_for
from app.pricing.fx import (
    CrossRate,
    EcbRateProvider,
    FxError,
    RatePolicy,
    RateTable,
    StaleRates,
)
from app.pricing.models import Quote
from app.pricing.quotes import (
    MAX_LIFETIME,
    InvalidAmount,
    PricedOption,
    QuoteError,
    QuoteExpired,
    QuoteNotFound,
    create_quote,
    usable_quote,
)
from app.pricing.rates import RateBook
from tests.app.points.conftest import new_books
from vendors.money import Money, minor_units

pytestmark = pytest.mark.asyncio

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)
TABLE = RateTable("test", date(2026, 11, 23), {"USD": Decimal("1.0866"), "GBP": Decimal("0.85")})
OPTION = PricedOption(
    reward_ref="tango:U1",
    option_ref="25",
    face_value=Money(Decimal(25), "EUR"),
    cost=Money(Decimal("25.00"), "EUR"),
)


POLICY = RatePolicy(max_age_days=4)


async def _quote(
    database: Database,
    member: str = "m1",
    *,
    option: PricedOption = OPTION,
    rates: RateTable = TABLE,
    now: datetime = NOW,
    lifetime: timedelta = timedelta(minutes=15),
    currency: str = "USD",
) -> tuple[Quote, uuid.UUID]:
    books = await new_books(database)

    async def work(session: AsyncSession) -> tuple[Quote, uuid.UUID]:
        program = await session.get(type(books.program), books.program.id)
        assert program is not None
        program.markup_percent = Decimal(2)
        program.currency = currency
        found, _ = await member_account(session, program.id, member, now=now)
        quote = await create_quote(
            session,
            program=program,
            member_id=found.id,
            option=option,
            rates=rates,
            policy=POLICY,
            now=now,
            lifetime=lifetime,
        )
        return quote, found.id

    return await database.write(work)


async def test_a_quote_locks_points_rate_and_terms(database: Database) -> None:
    quote, _ = await _quote(database)
    assert quote.points == 2771  # 25 EUR x 1.0866 x 1.02 / 0.01 = 2770.83
    assert (quote.rate, quote.rate_source, quote.rate_as_of) == (
        Decimal("1.0866"),
        "test",
        date(2026, 11, 23),
    )
    assert (quote.markup_percent, quote.point_value) == (Decimal(2), Decimal("0.01"))
    assert quote.expires_at == NOW + timedelta(minutes=15)
    async with database.session() as session:
        stored = await session.get(Quote, quote.id)
    assert stored is not None
    assert stored.points == 2771
    assert stored.rate == Decimal("1.0866")


async def test_quotes_expire_and_belong_to_their_member(database: Database) -> None:
    quote, member_id = await _quote(database)
    async with database.session() as session:
        assert (await usable_quote(session, quote.id, member_id=member_id, now=NOW)).id == quote.id
        with pytest.raises(QuoteExpired):
            await usable_quote(session, quote.id, member_id=member_id, now=quote.expires_at)
        with pytest.raises(QuoteNotFound):
            await usable_quote(session, quote.id, member_id=uuid.uuid4(), now=NOW)
        with pytest.raises(QuoteNotFound):
            await usable_quote(session, uuid.uuid4(), member_id=member_id, now=NOW)


class _Rates:
    name = "test"

    def __init__(self, table: RateTable | None) -> None:
        self.table = table
        self.fetches = 0

    async def fetch(self) -> RateTable:
        self.fetches += 1
        if self.table is None:
            raise FxError("offline")
        return self.table


async def test_the_rate_book_stores_rates_and_fails_closed_when_old(database: Database) -> None:
    provider = _Rates(TABLE)
    book = RateBook(database, provider, max_age_days=4, allow_stale_snapshot=False)
    assert (await book.current(NOW)).rate("EUR", "USD").shown == Decimal("1.0866")
    with pytest.raises(StaleRates):
        await book.current(NOW + timedelta(days=5))
    # A new process whose provider is down prices on the stored table.
    offline = RateBook(database, _Rates(None), max_age_days=4, allow_stale_snapshot=False)
    assert (await offline.current(NOW)).per_eur == TABLE.per_eur


async def test_without_any_rates_pricing_is_refused(database: Database) -> None:
    book = RateBook(database, _Rates(None), max_age_days=4, allow_stale_snapshot=False)
    with pytest.raises(FxError):
        await book.current(NOW)


async def test_the_snapshot_prices_in_development_but_not_in_production(
    database: Database,
) -> None:
    years_later = NOW + timedelta(days=900)
    development = RateBook(database, EcbRateProvider(), max_age_days=4, allow_stale_snapshot=True)
    assert (await development.current(years_later)).source == "ecb-snapshot"
    production = RateBook(database, EcbRateProvider(), max_age_days=4, allow_stale_snapshot=False)
    with pytest.raises(StaleRates):
        await production.current(years_later)


async def test_create_quote_itself_refuses_stale_rates(database: Database) -> None:
    with pytest.raises(StaleRates):
        await _quote(database, now=NOW + timedelta(days=5))


@pytest.mark.parametrize(
    "lifetime", [timedelta(0), timedelta(seconds=-1), MAX_LIFETIME + timedelta(seconds=1)]
)
async def test_create_quote_refuses_lifetimes_outside_its_bounds(
    database: Database, lifetime: timedelta
) -> None:
    with pytest.raises(QuoteError, match="lives"):
        await _quote(database, lifetime=lifetime)


@pytest.mark.parametrize(
    ("face", "cost"),
    [
        (Money(Decimal("1.5"), "JPY"), Money(Decimal(2), "JPY")),
        (Money(Decimal("10.005"), "USD"), Money(Decimal(10), "USD")),
        (Money(Decimal(10), "USD"), Money(Decimal("9.999"), "USD")),
    ],
)
async def test_create_quote_refuses_amounts_finer_than_their_currency(
    database: Database, face: Money, cost: Money
) -> None:
    option = PricedOption(reward_ref="x:1", option_ref=None, face_value=face, cost=cost)
    with pytest.raises(InvalidAmount, match="more decimals"):
        await _quote(database, option=option)


async def test_every_pair_of_the_snapshot_is_quoted_and_stored_exactly(
    database: Database,
) -> None:
    """Cross rates between every two currencies of the packaged ECB snapshot (IDR and KWD
    included) are stored, and the stored legs reproduce the points exactly."""
    snapshot = await EcbRateProvider().fetch()
    currencies = sorted({"EUR", *snapshot.per_eur})
    books = await new_books(database)
    stored: list[tuple[str, str, Quote]] = []

    async def work(session: AsyncSession) -> None:
        program = await session.get(type(books.program), books.program.id)
        assert program is not None
        found, _ = await member_account(session, program.id, "m1", now=NOW)
        for target in currencies:
            program.currency = target
            for source in currencies:
                price = Money(Decimal(12345).scaleb(-minor_units(source)), source)
                option = PricedOption("x:1", None, price, price)
                quote = await create_quote(
                    session,
                    program=program,
                    member_id=found.id,
                    option=option,
                    rates=snapshot,
                    policy=RatePolicy(max_age_days=4, allow_stale_snapshot=True),
                    now=NOW,
                    lifetime=timedelta(minutes=15),
                )
                stored.append((source, target, quote))

    await database.write(work)
    assert len(stored) == len(currencies) ** 2
    async with database.session() as session:
        for source, target, quote in stored:
            row = await session.get(Quote, quote.id, populate_existing=True)
            assert row is not None
            assert row.rate == quote.rate, (source, target)
            again = points_for(
                Money(row.price_amount, row.price_currency),
                rate=CrossRate(row.price_currency_per_eur, row.program_currency_per_eur),
                point_value=row.point_value,
                markup_percent=row.markup_percent,
            )
            assert again == row.points, (source, target)


async def test_a_broken_feed_falls_back_to_the_stored_rates(
    database: Database, tmp_path: Path
) -> None:
    """A feed with a NaN, an impossible date, a rate finer than we store, or a date in the
    future is an `FxError`: the book prices on what it stored last, never on that."""
    good = tmp_path / "good.xml"
    good.write_bytes(_feed("1.0866", date.today().isoformat()))  # noqa: DTZ011
    await RateBook(
        database, EcbRateProvider(str(good)), max_age_days=4, allow_stale_snapshot=False
    ).refresh()
    for name, document in {
        "nan": _feed("NaN"),
        "bad-date": _feed("1.1", "2026-02-30"),
        "too-fine": _feed("1.08660000001"),
        "future": _feed("1.5", "2099-01-01"),
    }.items():
        feed = tmp_path / f"{name}.xml"
        feed.write_bytes(document)
        book = RateBook(
            database, EcbRateProvider(str(feed)), max_age_days=4, allow_stale_snapshot=False
        )
        table = await book.current(datetime.now(UTC))
        assert table.per_eur["USD"] == Decimal("1.0866"), name


def _feed(rate: str, time: str = "2026-11-23") -> bytes:
    return (
        '<?xml version="1.0"?><gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01"'
        ' xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref"><Cube>'
        f'<Cube time="{time}"><Cube currency="USD" rate="{rate}"/></Cube></Cube></gesmes:Envelope>'
    ).encode()


@pytest.mark.parametrize("amount", ["0", "-0", "0E+5", "1E+20", "123456789012345"])
async def test_create_quote_refuses_prices_it_cannot_store_or_charge(
    database: Database, amount: str
) -> None:
    price = Money(Decimal(amount), "USD")
    option = PricedOption(reward_ref="x:1", option_ref=None, face_value=price, cost=price)
    with pytest.raises(InvalidAmount, match="not a price"):
        await _quote(database, option=option)
