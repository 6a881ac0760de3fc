"""Change adapter against documented responses (respx). Change is not idempotent: the adapter
looks up before it creates, and creates once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
import pytest_asyncio
import respx

from tests.vendors.conftest import fast_policy
from vendors import (
    AmbiguousOutcome,
    InvalidOrderRequest,
    Money,
    OrderRequest,
    OrderStatus,
    PermanentVendorError,
    RateLimited,
    TransientVendorError,
    VendorAuthError,
    VendorError,
)
from vendors.change import ChangeAdapter, ChangeConfig

BASE = "https://api.getchange.io/api/v1"
REQUEST = OrderRequest("don123", "n_redcross", Decimal("12.50"), "USD")

pytestmark = pytest.mark.asyncio


def donation(status: str = "pledged") -> dict[str, Any]:
    return {
        "id": "d_2b5f1c",
        "amount": 1250,
        "nonprofit_id": "n_redcross",
        "external_id": "don123",
        "metadata": {},
        "currency": "USD",
        "live_mode": False,
        "status": status,
    }


@pytest_asyncio.fixture
async def change() -> AsyncIterator[ChangeAdapter]:
    adapter = ChangeAdapter(
        ChangeConfig(base_url=BASE), base_url=BASE, policy=fast_policy("change")
    )
    yield adapter
    await adapter.aclose()


def _nothing_yet() -> respx.Route:
    return respx.get(f"{BASE}/donations", params={"page": 1}).respond(200, json={"donations": []})


@respx.mock
async def test_a_donation_is_created_in_cents_after_a_lookup(change: ChangeAdapter) -> None:
    lookup = _nothing_yet()
    create = respx.post(f"{BASE}/donations").respond(200, json=donation())
    result = await change.place_order(REQUEST)
    assert lookup.called
    sent = create.calls.last.request
    assert sent.headers["authorization"].startswith("Basic ")
    assert httpx.Response(200, content=sent.content).json() == {
        "amount": 1250,
        "nonprofit_id": "n_redcross",
        "funds_collected": True,
        "external_id": "don123",
        "metadata": {"source": "rewardgate"},
    }
    assert result.status is OrderStatus.FULFILLED
    assert result.raw_status == "pledged"
    assert result.charged == Money(Decimal("12.50"), "USD")


@respx.mock
async def test_an_existing_donation_is_returned_without_creating(change: ChangeAdapter) -> None:
    respx.get(f"{BASE}/donations").respond(200, json={"donations": [donation()]})
    create = respx.post(f"{BASE}/donations").respond(200, json=donation())
    result = await change.place_order(REQUEST)
    assert not create.called
    assert result.replayed


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (400, PermanentVendorError),
        (401, VendorAuthError),
        (404, PermanentVendorError),
        (422, PermanentVendorError),
        (429, RateLimited),
        (500, AmbiguousOutcome),
        (503, AmbiguousOutcome),
    ],
)
@respx.mock
async def test_the_create_is_sent_once_whatever_happens(
    change: ChangeAdapter, status: int, expected: type[VendorError]
) -> None:
    _nothing_yet()
    create = respx.post(f"{BASE}/donations").respond(status, json={"error": f"error {status}"})
    with pytest.raises(expected, match=f"error {status}"):
        await change.place_order(REQUEST)
    assert create.call_count == 1, "Change is not idempotent: never resend a create"


@pytest.mark.parametrize(
    "failure", [httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("connection reset")]
)
@respx.mock
async def test_a_lost_answer_is_ambiguous_and_not_retried(
    change: ChangeAdapter, failure: Exception
) -> None:
    _nothing_yet()
    create = respx.post(f"{BASE}/donations").mock(side_effect=failure)
    with pytest.raises(AmbiguousOutcome):
        await change.place_order(REQUEST)
    assert create.call_count == 1


@respx.mock
async def test_an_unreadable_answer_is_ambiguous(change: ChangeAdapter) -> None:
    _nothing_yet()
    respx.post(f"{BASE}/donations").respond(200, text="OK")
    with pytest.raises(AmbiguousOutcome):
        await change.place_order(REQUEST)


@respx.mock
async def test_a_failing_lookup_is_transient_and_creates_nothing(change: ChangeAdapter) -> None:
    respx.get(f"{BASE}/donations").respond(503, json={"error": "down"})
    create = respx.post(f"{BASE}/donations").respond(200, json=donation())
    with pytest.raises(TransientVendorError):
        await change.place_order(REQUEST)
    assert not create.called


async def test_usd_whole_cents_only(change: ChangeAdapter) -> None:
    with pytest.raises(InvalidOrderRequest, match="USD only"):
        await change.place_order(OrderRequest("don1", "n_x", Decimal(10), "EUR"))
    with pytest.raises(InvalidOrderRequest, match="whole number of cents"):
        await change.place_order(OrderRequest("don1", "n_x", Decimal("10.005"), "USD"))


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("pledged", OrderStatus.FULFILLED),
        ("invoice_sent", OrderStatus.FULFILLED),
        ("payout_scheduled", OrderStatus.FULFILLED),
        ("sent_via_ach", OrderStatus.FULFILLED),
        ("check_cashed", OrderStatus.FULFILLED),
        ("notified", OrderStatus.FULFILLED),
        ("canceled", OrderStatus.CANCELLED),
        ("blocked", OrderStatus.FAILED),
        ("mystery", OrderStatus.UNKNOWN),
    ],
)
@respx.mock
async def test_statuses_map_to_canonical(
    change: ChangeAdapter, raw: str, canonical: OrderStatus
) -> None:
    respx.get(f"{BASE}/donations/d_2b5f1c").respond(200, json=donation(raw))
    assert (await change.get_order("d_2b5f1c")).status is canonical


@respx.mock
async def test_nonprofits_page_until_empty(change: ChangeAdapter) -> None:
    respx.get(f"{BASE}/nonprofits").mock(
        side_effect=[
            httpx.Response(200, json={"nonprofits": [{"id": "n_a", "name": "A"}], "page": 1}),
            httpx.Response(200, json={"nonprofits": [], "page": 2}),
        ]
    )
    [product] = await change.fetch_catalog()
    assert (product.brand, product.currency, product.countries) == ("A", "USD", ("US",))
    assert product.value_range is not None


def _other(number: int, *, days_ago: float = 0) -> dict[str, Any]:
    made = datetime.now(UTC) - timedelta(days=days_ago)
    return {
        **donation(),
        "id": f"d_other{number}",
        "external_id": f"other{number}",
        "created_at": made.isoformat(),
    }


@respx.mock
async def test_a_lookup_pages_until_it_finds_the_key(change: ChangeAdapter) -> None:
    """Change has no external_id filter: the donation may sit on page 2."""
    pages = respx.get(f"{BASE}/donations").mock(
        side_effect=[
            httpx.Response(200, json={"donations": [_other(i) for i in range(10)]}),
            httpx.Response(200, json={"donations": [_other(10), donation()]}),
        ]
    )
    found = await change.lookup_order("don123")
    assert found is not None
    assert found.idempotency_key == "don123"
    assert [dict(call.request.url.params) for call in pages.calls] == [{"page": "1"}, {"page": "2"}]


@respx.mock
async def test_a_lookup_stops_at_donations_older_than_its_window(change: ChangeAdapter) -> None:
    pages = respx.get(f"{BASE}/donations").mock(
        side_effect=[
            httpx.Response(200, json={"donations": [_other(1, days_ago=31)]}),
            httpx.Response(200, json={"donations": [donation()]}),
        ]
    )
    assert await change.lookup_order("don123") is None
    assert pages.call_count == 1


@respx.mock
async def test_a_lookup_reads_at_most_its_pages() -> None:
    adapter = ChangeAdapter(
        ChangeConfig(base_url=BASE, lookup_pages=3), base_url=BASE, policy=fast_policy("change")
    )
    pages = respx.get(f"{BASE}/donations").respond(200, json={"donations": [_other(1)]})
    try:
        # It may sit further back: not "none", and place_order creates nothing on it.
        with pytest.raises(TransientVendorError, match="inconclusive"):
            await adapter.lookup_order("don123")
        create = respx.post(f"{BASE}/donations").respond(200, json=donation())
        with pytest.raises(TransientVendorError):
            await adapter.place_order(REQUEST)
        assert not create.called
    finally:
        await adapter.aclose()
    assert pages.call_count == 6


@respx.mock
async def test_a_lookup_since_the_redemption_began_stops_there(change: ChangeAdapter) -> None:
    """Newest first: a page older than `since` ends the scan, conclusively."""
    began = datetime.now(UTC) - timedelta(hours=1)
    pages = respx.get(f"{BASE}/donations").mock(
        side_effect=[
            httpx.Response(200, json={"donations": [_other(1, days_ago=0.01)]}),
            httpx.Response(200, json={"donations": [_other(2, days_ago=0.1)]}),
            httpx.Response(200, json={"donations": [donation()]}),
        ]
    )
    assert await change.lookup_order("don123", since=began) is None
    assert pages.call_count == 2


@respx.mock
async def test_times_without_an_offset_are_utc(change: ChangeAdapter) -> None:
    naive = {**_other(1, days_ago=40), "created_at": "2026-01-01T00:00:00"}
    respx.get(f"{BASE}/donations").respond(200, json={"donations": [naive]})
    assert await change.lookup_order("don123") is None


@respx.mock
async def test_a_create_answer_without_status_is_a_success(change: ChangeAdapter) -> None:
    _nothing_yet()
    made = {key: value for key, value in donation().items() if key != "status"}
    respx.post(f"{BASE}/donations").respond(200, json=made)
    result = await change.place_order(REQUEST)
    assert (result.status, result.raw_status) == (OrderStatus.FULFILLED, "created")


@respx.mock
async def test_the_catalog_is_the_configured_nonprofits() -> None:
    adapter = ChangeAdapter(
        ChangeConfig(base_url=BASE, nonprofit_ids=("n_a", "n_b")),
        base_url=BASE,
        policy=fast_policy("change"),
    )
    listing = respx.get(f"{BASE}/nonprofits")
    respx.get(f"{BASE}/nonprofits/n_a").respond(200, json={"id": "n_a", "name": "A"})
    respx.get(f"{BASE}/nonprofits/n_b").respond(200, json={"id": "n_b", "name": "B"})
    try:
        products = await adapter.fetch_catalog()
    finally:
        await adapter.aclose()
    assert [p.brand for p in products] == ["A", "B"]
    assert not listing.called, "never the whole network"


@respx.mock
async def test_the_catalog_reads_a_bounded_number_of_pages_in_its_categories() -> None:
    adapter = ChangeAdapter(
        ChangeConfig(base_url=BASE, catalog_pages=2, nonprofit_categories=("health",)),
        base_url=BASE,
        policy=fast_policy("change"),
    )
    listing = respx.get(f"{BASE}/nonprofits").respond(
        200,
        json={
            "nonprofits": [
                {"id": "n_a", "name": "A", "category": "health"},
                {"id": "n_b", "name": "B", "category": "arts"},
            ]
        },
    )
    try:
        products = await adapter.fetch_catalog()
    finally:
        await adapter.aclose()
    assert listing.call_count == 2
    assert [p.brand for p in products] == ["A", "A"]


@respx.mock
@pytest.mark.parametrize(
    "since",
    [
        datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=1),  # a driver's naive UTC
        datetime.now(UTC) + timedelta(days=3),  # cannot be: capped at now
    ],
)
async def test_since_is_utc_when_naive_and_never_later_than_now(
    change: ChangeAdapter, since: datetime
) -> None:
    respx.get(f"{BASE}/donations").mock(
        side_effect=[
            httpx.Response(200, json={"donations": [_other(1, days_ago=0.001)]}),
            httpx.Response(200, json={"donations": [donation()]}),
        ]
    )
    found = await change.lookup_order("don123", since=since)
    assert found is not None, "the donation on page 2 is found"
