"""Tremendous behaviours the sandbox reproduces, seen through the adapter."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from tests.vendors.conftest import AdapterFactory, first_product, order_for
from vendors import AmbiguousOutcome, OrderStatus, PermanentVendorError, RewardKind
from vendors.sandbox import SandboxHub
from vendors.tremendous.sandbox import TremendousSandbox

pytestmark = pytest.mark.asyncio


def _sandbox(hub: SandboxHub) -> TremendousSandbox:
    sandbox = hub["tremendous"]
    assert isinstance(sandbox, TremendousSandbox)
    return sandbox


async def test_same_key_with_another_payload_is_refused(
    make_adapter: AdapterFactory, hub: SandboxHub
) -> None:
    adapter = make_adapter("tremendous")
    product = await first_product(adapter, lambda p: p.value_range is not None)
    request = order_for(product, "mismatch", amount=Decimal(20))
    await adapter.place_order(request)
    with pytest.raises(AmbiguousOutcome) as caught:
        await adapter.place_order(dataclasses.replace(request, amount=Decimal(30)))
    assert caught.value.vendor_code == "external_id_conflict"
    assert len(hub["tremendous"].orders_summary()) == 1


async def test_orders_over_the_threshold_wait_for_approval(
    make_adapter: AdapterFactory, hub: SandboxHub
) -> None:
    sandbox = _sandbox(hub)
    sandbox.approval_threshold = Decimal(10)
    adapter = make_adapter("tremendous")
    product = await first_product(adapter, lambda p: p.value_range is not None)
    placed = await adapter.place_order(order_for(product, "bigOrder", amount=Decimal(50)))
    assert placed.status is OrderStatus.ACCEPTED_PENDING
    assert placed.raw_status.startswith("PENDING APPROVAL")
    order_id = placed.vendor_reference
    import httpx

    async with httpx.AsyncClient(transport=hub.transport("tremendous"), base_url="http://t") as c:
        approved = await c.post(
            f"/order_approvals/{order_id}/approve",
            headers={"Authorization": "Bearer TEST_sandbox-api-key"},
        )
    assert approved.status_code == 200
    assert (await adapter.get_order(order_id)).status is OrderStatus.FULFILLED


async def test_a_failed_delivery_can_be_cancelled_and_refunds(
    make_adapter: AdapterFactory, hub: SandboxHub
) -> None:
    sandbox = _sandbox(hub)
    sandbox.set_faults(fail_later_rate=1.0)
    adapter = make_adapter("tremendous")
    opening = sandbox.balance
    placed = await adapter.place_order(order_for(await first_product(adapter), "failedLink"))
    assert placed.status is OrderStatus.FAILED
    cancelled = await adapter.cancel_order(placed.vendor_reference, "delivery failed")
    assert cancelled.status is OrderStatus.CANCELLED
    assert sandbox.balance == opening


async def test_the_funding_source_runs_dry(make_adapter: AdapterFactory, hub: SandboxHub) -> None:
    _sandbox(hub).balance = Decimal("1.00")
    adapter = make_adapter("tremendous")
    with pytest.raises(PermanentVendorError) as caught:
        await adapter.place_order(order_for(await first_product(adapter), "noFunds"))
    assert caught.value.status_code == 402


async def test_charities_are_products_too(make_adapter: AdapterFactory) -> None:
    adapter = make_adapter("tremendous")
    charity = await first_product(adapter, lambda p: p.kind is RewardKind.CHARITY)
    placed = await adapter.place_order(order_for(charity, "donate"))
    assert placed.status is OrderStatus.FULFILLED
