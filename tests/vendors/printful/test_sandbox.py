"""Printful behaviours the sandbox reproduces, seen through the adapter."""

from __future__ import annotations

import dataclasses

import httpx
import pytest

from tests.vendors.conftest import AdapterFactory, first_product, order_for
from vendors import InvalidOrderRequest, OrderStatus, PermanentVendorError, TwoPhaseAdapter
from vendors.sandbox import SandboxHub

pytestmark = pytest.mark.asyncio


async def test_draft_then_confirm(make_adapter: AdapterFactory, hub: SandboxHub) -> None:
    adapter = make_adapter("printful")
    assert isinstance(adapter, TwoPhaseAdapter)
    request = order_for(await first_product(adapter), "twoPhase")
    hold = await adapter.prepare(request)
    assert hold.raw_status == "draft"
    assert hub["printful"].orders_summary()[0]["status"] == "draft"
    again = await adapter.prepare(request)
    assert again.reference == hold.reference
    assert again.reused
    result = await adapter.commit(request, hold)
    assert result.status is OrderStatus.FULFILLED  # no completion delay
    assert len(hub["printful"].orders_summary()) == 1


async def test_the_sandbox_requires_an_address(hub: SandboxHub) -> None:
    async with httpx.AsyncClient(transport=hub.transport("printful"), base_url="http://p") as c:
        response = await c.post(
            "/orders",
            headers={"Authorization": "Bearer sandbox-printful-token"},
            json={"external_id": "x", "items": [{"sync_variant_id": 1001, "quantity": 1}]},
        )
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("Recipient address is required")


async def test_the_adapter_refuses_an_order_without_address(make_adapter: AdapterFactory) -> None:
    adapter = make_adapter("printful")
    request = order_for(await first_product(adapter), "noAddress")
    with pytest.raises(InvalidOrderRequest):
        await adapter.place_order(dataclasses.replace(request, shipping_address=None))


async def test_cancel_while_pending_but_not_once_fulfilled(
    make_adapter: AdapterFactory, hub: SandboxHub
) -> None:
    adapter = make_adapter("printful")
    product = await first_product(adapter)
    hub["printful"].set_faults(completion_delay_seconds=3600)
    pending = await adapter.place_order(order_for(product, "cancelMe"))
    assert pending.raw_status == "pending"
    cancelled = await adapter.cancel_order(pending.vendor_reference, "member asked")
    assert cancelled.status is OrderStatus.CANCELLED
    hub["printful"].set_faults(completion_delay_seconds=0)
    shipped = await adapter.place_order(order_for(product, "tooLate"))
    assert shipped.status is OrderStatus.FULFILLED
    assert shipped.delivery is not None
    with pytest.raises(PermanentVendorError, match="cannot cancel"):
        await adapter.cancel_order(shipped.vendor_reference, "member asked")


async def test_costs_differ_from_retail(make_adapter: AdapterFactory) -> None:
    product = await first_product(make_adapter("printful"))
    [denomination] = product.denominations
    assert denomination.cost is not None
    assert denomination.cost.amount < denomination.face_value
