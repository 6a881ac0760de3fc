"""Change behaviours the sandbox reproduces: no idempotency at the vendor, safety in the adapter."""

from __future__ import annotations

import httpx
import pytest

from tests.vendors.conftest import AdapterFactory, first_product, order_for
from vendors.change import ChangeAdapter
from vendors.sandbox import SandboxHub

pytestmark = pytest.mark.asyncio

AUTH = httpx.BasicAuth("pk_test_sandbox", "sk_test_sandbox")


async def test_the_vendor_itself_creates_a_second_donation_for_a_repeat(hub: SandboxHub) -> None:
    body = {
        "amount": 500,
        "nonprofit_id": hub["change"].product_ids()[0],
        "funds_collected": True,
        "external_id": "same",
    }
    async with httpx.AsyncClient(
        transport=hub.transport("change"), base_url="http://c", auth=AUTH
    ) as client:
        first = await client.post("/donations", json=body)
        second = await client.post("/donations", json=body)
    assert first.json()["id"] != second.json()["id"]
    assert len(hub["change"].orders_summary()) == 2


async def test_the_adapter_makes_repeats_safe(
    make_adapter: AdapterFactory, hub: SandboxHub
) -> None:
    adapter = make_adapter("change")
    request = order_for(await first_product(adapter), "oneDonation")
    first = await adapter.place_order(request)
    second = await adapter.place_order(request)
    assert second.vendor_reference == first.vendor_reference
    assert len(hub["change"].orders_summary()) == 1


async def test_amounts_are_cents(hub: SandboxHub) -> None:
    async with httpx.AsyncClient(
        transport=hub.transport("change"), base_url="http://c", auth=AUTH
    ) as client:
        response = await client.post(
            "/donations",
            json={
                "amount": 12.5,
                "nonprofit_id": hub["change"].product_ids()[0],
                "funds_collected": True,
            },
        )
    assert response.status_code == 400


async def test_nonprofit_search(make_adapter: AdapterFactory) -> None:
    adapter = make_adapter("change")
    assert isinstance(adapter, ChangeAdapter)
    found = await adapter.search_nonprofits("water")
    assert [p.brand for p in found] == ["charity: water"]
    assert len(await adapter.search_nonprofits()) == 20
