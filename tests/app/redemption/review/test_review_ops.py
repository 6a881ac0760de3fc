# mypy: disable-error-code="attr-defined, unused-ignore, assignment, type-var"
"""Review findings: ops cancel and saga races (each failed before its fix)."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from app.ops.actions import OpsRefused, cancel
from app.redemption.models import RedemptionStatus
from app.redemption.worker import Worker
from tests.app.redemption.conftest import Harness
from tests.app.redemption.test_saga import START, _reward

pytestmark = pytest.mark.asyncio
OPS = "ops:review"


async def test_cancel_never_refunds_a_viator_booking_in_a_status_it_does_not_know(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Viator maps any booking status it does not list to UNKNOWN; cancel treats UNKNOWN of
    every two-phase vendor as 'a Printful draft', i.e. absent, and refunds."""
    ids, details = await _reward(harness, "viator")
    sandbox = harness.sandbox("viator")
    sandbox.set_faults(completion_delay_seconds=86_400 * 5)
    row = await harness.redeem(harness.process(), ids, **details)
    assert row.status == RedemptionStatus.VENDOR_PENDING, row.failure_reason
    assert row.vendor_reference
    # Viator reports a status the adapter's table does not have (e.g. a new one, "AMENDED").
    monkeypatch.setattr(type(sandbox), "_state", lambda self, booking: "AMENDED")
    try:
        result = await cancel(harness.process(), row.id, actor=OPS, reason="member asked")
    except OpsRefused:
        result = None
    assert harness.orders("viator", row.id) == 1, "the booking is still at Viator"
    balance = await harness.balance()
    assert result is None, f"refunded ({result.outcome}) while the Viator booking exists"
    assert balance.held == row.points


async def test_a_cancel_whose_lease_was_taken_refunds_nothing(harness: Harness) -> None:
    """A vendor slower than the lease (time moves faster here than the renewals): a worker
    claims the redemption in the middle of the cancel; the cancel is then fenced off and
    refunds nothing."""
    ids, details = await _reward(harness, "tango")
    harness.sandbox("tango").set_faults(completion_delay_seconds=86_400)
    row = await harness.redeem(harness.process(), ids, **details)
    assert row.status == RedemptionStatus.VENDOR_PENDING
    ops = harness.process()
    adapter = ops.vendors.adapters["tango"]
    original = adapter.get_order
    entered = asyncio.Event()
    release = asyncio.Event()

    async def slow_get_order(reference: str):  # type: ignore[no-untyped-def]
        if not entered.is_set():
            entered.set()
            await release.wait()
        return await original(reference)

    adapter.get_order = slow_get_order  # type: ignore[method-assign]
    try:
        task = asyncio.create_task(cancel(ops, row.id, actor=OPS, reason="r"))
        await entered.wait()
        # The vendor call takes longer than the lease (and the poll is due).
        harness.advance(harness.settings.redemption.lease_seconds + 600)
        claimed = await Worker(harness.process()).run_once()
        release.set()
        with contextlib.suppress(OpsRefused):
            await task
    finally:
        adapter.get_order = original  # type: ignore[method-assign]
    assert row.id in claimed
    after = await harness.get(row.id)
    assert after.status == RedemptionStatus.VENDOR_PENDING
    assert (await harness.balance()).held == row.points, "nothing refunded"


async def test_cancel_and_the_worker_of_one_process_never_refund_an_order_made(
    harness: Harness,
) -> None:
    """GraphQL's cancelRedemption runs on the gateway's own RedemptionService, whose owner is
    the same as its worker's. The lease fence (locked_by == owner) cannot tell them apart:
    the cancel's refund lands while the worker's saga is placing the order."""
    from tests.app.redemption.conftest import crash_at

    ids, details = await _reward(harness, "tango")
    row = await harness.redeem(harness.process(crash_at("before:place_order")), ids, **details)
    assert row.status == RedemptionStatus.POINTS_RESERVED
    harness.advance(harness.settings.redemption.lease_seconds + 1)
    gateway = harness.process()  # one gateway process: its GraphQL ops and its worker
    adapter = gateway.vendors.adapters["tango"]
    lookup, place = adapter.lookup_order, adapter.place_order
    in_lookup, go_lookup = asyncio.Event(), asyncio.Event()
    in_place, go_place = asyncio.Event(), asyncio.Event()
    calls = {"lookup": 0}

    async def slow_lookup(key, *, since=None):  # type: ignore[no-untyped-def]
        calls["lookup"] += 1
        answer = await lookup(key, since=since)
        if calls["lookup"] == 1:  # the cancel's lookup: the vendor is slow
            in_lookup.set()
            await go_lookup.wait()
        return answer

    async def slow_place(request):  # type: ignore[no-untyped-def]
        in_place.set()
        await go_place.wait()
        return await place(request)

    adapter.lookup_order, adapter.place_order = slow_lookup, slow_place  # type: ignore[method-assign]
    try:
        cancelling = asyncio.create_task(cancel(gateway, row.id, actor=OPS, reason="member"))
        await in_lookup.wait()
        harness.advance(harness.settings.redemption.lease_seconds + 1)
        assert await Worker(gateway).run_once() == [row.id]
        await in_place.wait()  # the worker's saga is sending the order
        go_lookup.set()
        try:
            outcome = (await cancelling).outcome
        except OpsRefused as refused:
            outcome = refused.code
        go_place.set()
        await gateway.drain(10)
    finally:
        adapter.lookup_order, adapter.place_order = lookup, place  # type: ignore[method-assign]
    final = await harness.get(row.id)
    balance = await harness.balance()
    assert harness.orders("tango", row.id) == 1
    assert balance.available == START - row.points, (
        f"cancel said {outcome}, redemption {final.status}: the order was made and the "
        f"points were given back (available {balance.available}, held {balance.held})"
    )


async def test_one_failed_lease_renewal_does_not_end_the_renewals(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Saga._lease_kept's renew loop dies on the first failed write (a database blip), so the
    rest of a long vendor call runs without a lease: another process claims the redemption
    and sends it again. Change does not dedupe on our key: two donations."""
    import dataclasses
    from datetime import timedelta

    import app.redemption.saga as saga_module

    ids, details = await _reward(harness, "change")
    first = harness.process()
    first.saga.policy = dataclasses.replace(first.saga.policy, lease=timedelta(seconds=3))
    adapter = first.vendors.adapters["change"]
    request_http = adapter.http.request
    in_call, go, second = asyncio.Event(), asyncio.Event(), asyncio.Event()
    calls = {"place": 0, "renew": 0}

    async def slow_request(method, path, **kwargs):  # type: ignore[no-untyped-def]
        if method == "POST" and path == "/donations":
            calls["place"] += 1
            if calls["place"] == 1:  # the first runner's donation is slow to send
                in_call.set()
                await go.wait()
            else:
                second.set()
        return await request_http(method, path, **kwargs)

    renew = saga_module._renew

    async def flaky_renew(*args):  # type: ignore[no-untyped-def]
        calls["renew"] += 1
        if calls["renew"] == 1:
            raise ConnectionError("the database blinked")
        return await renew(*args)

    monkeypatch.setattr(saga_module, "_renew", flaky_renew)
    adapter.http.request = slow_request  # type: ignore[method-assign]
    try:
        from app.redemption.requests import RedeemRequest
        from tests.app.redemption.conftest import ADA

        redeemed = await first.redeem(
            harness.program,
            RedeemRequest(
                member_id="alice",
                reward_id=ids[0],
                option_id=ids[1],
                idempotency_key="renew",
                recipient=ADA,
                **details,
            ),
        )
        await in_call.wait()
        await asyncio.sleep(1.2)  # the first renewal fails
        harness.advance(31)  # the vendor is slow: the first lease would lapse...
        await asyncio.sleep(1.5)  # ...were it not renewed every second
        claimed = await Worker(harness.process()).run_once()
        if claimed:
            await asyncio.wait_for(second.wait(), 10)  # the second runner sends it too
            await asyncio.sleep(0.5)
        go.set()
        await asyncio.wait({redeemed.task}, timeout=10)
        for process in harness.processes:
            await process.drain(10)
    finally:
        adapter.http.request = request_http  # type: ignore[method-assign]
    orders = harness.orders("change", redeemed.redemption.id)
    assert (calls["renew"] >= 2, claimed, orders) == (True, [], 1), (
        f"renewals {calls['renew']}, claimed by another process {claimed}, donations {orders}"
    )
