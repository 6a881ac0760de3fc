from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import respx

from app.pricing.fx import (
    ECB_DAILY_URL,
    CrossRate,
    EcbRateProvider,
    FxError,
    RateTable,
    StaleRates,
    UnknownCurrency,
    cross_rate,
    parse_ecb,
)

DOCUMENT = b"""<?xml version="1.0" encoding="UTF-8"?>
<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01"
  xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">
  <gesmes:subject>Reference rates</gesmes:subject>
  <Cube><Cube time='2024-06-28'>
    <Cube currency='USD' rate='1.0705'/><Cube currency='JPY' rate='171.94'/>
    <Cube currency='GBP' rate='0.84638'/><Cube currency='XXX' rate='1'/>
  </Cube></Cube>
</gesmes:Envelope>"""


def test_the_ecb_format_parses() -> None:
    table = parse_ecb(DOCUMENT)
    assert (table.source, table.as_of) == ("ecb", date(2024, 6, 28))
    assert table.per_eur == {
        "USD": Decimal("1.0705"),
        "JPY": Decimal("171.94"),
        "GBP": Decimal("0.84638"),
    }, "currencies we have no minor units for are left out"


def test_cross_rates_go_through_eur_and_stay_exact() -> None:
    table = parse_ecb(DOCUMENT)
    assert table.rate("EUR", "USD") == CrossRate(Decimal(1), Decimal("1.0705"))
    assert table.rate("USD", "USD").shown == 1
    usd_to_gbp = table.rate("USD", "GBP")
    assert usd_to_gbp == CrossRate(Decimal("1.0705"), Decimal("0.84638")), "no rounding"
    # Shown to people with 12 significant digits, rounded up: 0.7906398879028...
    assert usd_to_gbp.shown == Decimal("0.790639887903")
    with pytest.raises(UnknownCurrency):
        table.rate("USD", "KWD")
    assert cross_rate({"USD": Decimal(2)}, "USD", "EUR").shown == Decimal("0.5")


@pytest.mark.parametrize(
    ("today", "fresh"),
    [(date(2024, 6, 28), True), (date(2024, 7, 2), True), (date(2024, 7, 3), False)],
)
def test_rates_older_than_the_limit_fail_closed(today: date, fresh: bool) -> None:
    """Friday's rates are still good on Tuesday (weekend, a holiday), not on Wednesday."""
    table = parse_ecb(DOCUMENT)
    now = datetime(today.year, today.month, today.day, 12, tzinfo=UTC)
    if fresh:
        table.check_fresh(now, max_age_days=4)
    else:
        with pytest.raises(StaleRates, match="5 days old"):
            table.check_fresh(now, max_age_days=4)


@pytest.mark.parametrize(
    "document", [b"not xml", b"<Envelope/>", DOCUMENT.replace(b"1.0705", b"one")]
)
def test_broken_documents_are_refused(document: bytes) -> None:
    with pytest.raises(FxError):
        parse_ecb(document)


@pytest.mark.asyncio
async def test_the_packaged_snapshot_works_offline() -> None:
    provider = EcbRateProvider()
    assert provider.is_snapshot
    table = await provider.fetch()
    assert table.source == "ecb-snapshot"
    assert {"USD", "GBP", "JPY", "CAD", "INR", "AUD"} <= set(table.per_eur)
    assert isinstance(table, RateTable)


@pytest.mark.asyncio
async def test_rates_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "rates.xml"
    path.write_bytes(DOCUMENT)
    assert (await EcbRateProvider(str(path)).fetch()).as_of == date(2024, 6, 28)
    with pytest.raises(FxError, match="cannot read"):
        await EcbRateProvider(str(tmp_path / "missing.xml")).fetch()


@pytest.mark.asyncio
@respx.mock
async def test_rates_from_a_url() -> None:
    respx.get(ECB_DAILY_URL).respond(200, content=DOCUMENT)
    assert (await EcbRateProvider(ECB_DAILY_URL).fetch()).per_eur["USD"] == Decimal("1.0705")
    respx.get(ECB_DAILY_URL).respond(503)
    with pytest.raises(FxError, match="cannot fetch"):
        await EcbRateProvider(ECB_DAILY_URL).fetch()


def _document(rate: str, time: str = "2026-11-23") -> bytes:
    return (
        '<?xml version="1.0"?><gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01"'
        ' xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref"><Cube>'
        f'<Cube time="{time}"><Cube currency="USD" rate="{rate}"/></Cube></Cube></gesmes:Envelope>'
    ).encode()


@pytest.mark.parametrize(
    "rate", ["NaN", "sNaN", "Infinity", "1E+400", "0", "-1.2", "1.08660000001", "abc"]
)
def test_a_feed_with_an_unusable_rate_is_refused_whole(rate: str) -> None:
    with pytest.raises(FxError):
        parse_ecb(_document(rate))


@pytest.mark.parametrize("time", ["2026-13-40", "2026-02-30", "yesterday"])
def test_a_feed_with_an_impossible_date_is_refused(time: str) -> None:
    with pytest.raises(FxError):
        parse_ecb(_document("1.1", time=time))


def test_rates_dated_in_the_future_are_stale_at_once() -> None:
    table = RateTable("ecb", date(2099, 1, 1), {"USD": Decimal("1.1")})
    with pytest.raises(StaleRates, match="in the future"):
        table.check_fresh(datetime(2026, 11, 23, tzinfo=UTC), 4)
    tomorrow = RateTable("ecb", date(2026, 11, 24), {"USD": Decimal("1.1")})
    tomorrow.check_fresh(datetime(2026, 11, 23, 23, tzinfo=UTC), 4)  # a time zone ahead: fine
