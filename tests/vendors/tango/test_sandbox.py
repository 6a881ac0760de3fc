"""Tango behaviours the sandbox reproduces, seen through the adapter."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal

import pytest

from tests.vendors.conftest import AdapterFactory, first_product, order_for
from vendors import AmbiguousOutcome, OrderRequest, PermanentVendorError
from vendors.sandbox import SandboxHub
from vendors.tango import TangoConfig
from vendors.tango.sandbox import TangoSandbox

pytestmark = pytest.mark.asyncio


async def test_a_concurrent_repeat_waits_out_409_002(
    make_adapter: AdapterFactory, hub: SandboxHub
) -> None:
    adapter = make_adapter("tango", in_process_wait=0.4)
    request = order_for(await first_product(adapter), "sameKeyTwice")
    hub["tango"].set_faults(processing_ms=250)
    first, second = await asyncio.gather(adapter.place_order(request), adapter.place_order(request))
    assert first.vendor_reference == second.vendor_reference
    assert sorted([first.replayed, second.replayed]) == [False, True]
    assert len(hub["tango"].orders_summary()) == 1


async def test_an_order_in_process_past_the_retries_is_ambiguous_then_found(
    make_adapter: AdapterFactory, hub: SandboxHub
) -> None:
    """409.002 for longer than the retries wait: the order is being made, so the answer is
    ambiguous (never "did not act"), and a lookup finds it once it is made."""
    slow = make_adapter("tango")
    impatient = make_adapter("tango", in_process_wait=0.05, retry_attempts=2)
    request = order_for(await first_product(slow), "beingMade")
    hub["tango"].set_faults(processing_ms=600)
    first = asyncio.create_task(slow.place_order(request))
    await asyncio.sleep(0.1)
    with pytest.raises(AmbiguousOutcome) as caught:
        await impatient.place_order(request)
    assert caught.value.vendor_code == "409.002"
    placed = await first
    found = await impatient.lookup_order(request.idempotency_key)
    assert found is not None
    assert found.vendor_reference == placed.vendor_reference


async def test_the_rates_are_listed_for_every_account_currency(
    make_adapter: AdapterFactory,
) -> None:
    gbp = make_adapter("tango", vendor_config=TangoConfig(account_currency="GBP"))
    costs = {
        p.cost_of(p.denominations[0].face_value).currency
        for p in await gbp.fetch_catalog()
        if p.denominations
    }
    assert costs == {"GBP"}


async def test_a_key_past_the_replay_window_is_looked_up(
    make_adapter: AdapterFactory, hub: SandboxHub
) -> None:
    adapter = make_adapter("tango")
    request = order_for(await first_product(adapter), "oldKey")
    placed = await adapter.place_order(request)
    sandbox = hub["tango"]
    assert isinstance(sandbox, TangoSandbox)
    sandbox.replay_window = timedelta(seconds=10)
    sandbox.clock.advance(11)
    again = await adapter.place_order(request)
    assert again.replayed
    assert again.vendor_reference == placed.vendor_reference
    assert len(sandbox.orders_summary()) == 1


async def test_a_repeat_asking_for_something_else_gets_the_original(
    make_adapter: AdapterFactory, hub: SandboxHub
) -> None:
    """Tango returns the original order for a reused key, even for a different item."""
    adapter = make_adapter("tango")
    products = [p for p in await adapter.fetch_catalog() if p.denominations]
    placed = await adapter.place_order(order_for(products[0], "reusedKey"))
    other = await adapter.place_order(order_for(products[5], "reusedKey"))
    assert other.vendor_reference == placed.vendor_reference
    assert len(hub["tango"].orders_summary()) == 1


@pytest.mark.parametrize(
    ("pick", "amount", "key"),
    [
        ("fixed", Decimal("26"), "422.027"),
        ("variable", Decimal("100000"), "422.025"),
        ("whole", Decimal("1000.5"), "422.026"),
    ],
)
async def test_amount_rules(
    make_adapter: AdapterFactory, pick: str, amount: Decimal, key: str
) -> None:
    adapter = make_adapter("tango")
    predicates = {
        "fixed": lambda p: bool(p.denominations),
        "variable": lambda p: p.value_range is not None and p.currency == "USD",
        "whole": lambda p: p.value_range is not None and p.currency == "JPY",
    }
    product = await first_product(adapter, predicates[pick])
    with pytest.raises(PermanentVendorError) as caught:
        await adapter.place_order(
            order_for(product, f"amount{key.replace('.', '')}", amount=amount)
        )
    assert caught.value.vendor_code == key


async def test_insufficient_funds(make_adapter: AdapterFactory, hub: SandboxHub) -> None:
    adapter = make_adapter("tango")
    product = await first_product(adapter)
    sandbox = hub["tango"]
    assert isinstance(sandbox, TangoSandbox)
    sandbox.balance = Decimal("1.00")
    with pytest.raises(PermanentVendorError) as caught:
        await adapter.place_order(order_for(product, "broke"))
    assert caught.value.vendor_code == "402.001"


async def test_unknown_items_are_refused(make_adapter: AdapterFactory) -> None:
    adapter = make_adapter("tango")
    with pytest.raises(PermanentVendorError) as caught:
        await adapter.place_order(OrderRequest("noSuchItem", "U999999", Decimal(10), "USD"))
    assert caught.value.status_code == 400


async def test_a_failed_order_refunds_the_account(
    make_adapter: AdapterFactory, hub: SandboxHub
) -> None:
    adapter = make_adapter("tango")
    sandbox = hub["tango"]
    assert isinstance(sandbox, TangoSandbox)
    opening = sandbox.balance
    sandbox.set_faults(fail_later_rate=1.0, completion_delay_seconds=10)
    placed = await adapter.place_order(order_for(await first_product(adapter), "refundMe"))
    assert sandbox.balance < opening
    sandbox.clock.advance(11)
    await adapter.get_order(placed.vendor_reference)
    assert sandbox.balance == opening
