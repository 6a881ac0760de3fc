# mypy: disable-error-code="attr-defined, unused-ignore, assignment, type-var, method-assign"
"""Second review's findings (each failed before its fix)."""

from __future__ import annotations

import asyncio

import pytest

from app.ops.actions import OpsRefused, cancel, replay
from tests.app.redemption.conftest import Harness, crash_at
from tests.app.redemption.test_saga import START, _reward

pytestmark = pytest.mark.asyncio
OPS = "ops:review2"


@pytest.mark.parametrize("reason", ["member\x00asked", "member \ud800 asked"])
async def test_a_cancel_reason_the_database_cannot_store_is_refused_as_input(
    harness: Harness, reason: str
) -> None:
    """cancel() checks only the reason's length: a NUL (PostgreSQL) or a lone surrogate
    (both databases, a JSON escape \\ud800 in GraphQL) fails in the audit insert and
    cancelRedemption answers INTERNAL_SERVER_ERROR to ops' input."""
    ids, details = await _reward(harness, "tango")
    row = await harness.redeem(harness.process(crash_at("before:place_order")), ids, **details)
    harness.advance(harness.settings.redemption.lease_seconds + 1)
    # Any other exception fails the test: a server error for client input.
    with pytest.raises(OpsRefused) as refused:
        await cancel(harness.process(), row.id, actor=OPS, reason=reason)
    assert refused.value.code == "INVALID_REASON"


async def test_a_cancel_after_the_previous_runner_lapsed_mid_call_never_refunds_an_order(
    harness: Harness,
) -> None:
    """The saga's runner is inside place_order when its lease lapses (a stalled process, or
    renewals failing for a lease's length). Cancel takes the lapsed lease, looks the key up
    while the runner's request is still on its way, finds nothing and refunds; the request
    then lands and the order is made: a reward delivered and the points given back."""
    ids, details = await _reward(harness, "tango")
    runner = harness.process()
    adapter = runner.vendors.adapters["tango"]
    place = adapter.place_order
    in_place, go = asyncio.Event(), asyncio.Event()

    async def slow_place(request):  # type: ignore[no-untyped-def]
        in_place.set()
        await go.wait()
        return await place(request)

    adapter.place_order = slow_place
    try:
        from app.redemption.requests import RedeemRequest
        from tests.app.redemption.conftest import ADA

        redeemed = await runner.redeem(
            harness.program,
            RedeemRequest(
                member_id="alice",
                reward_id=ids[0],
                option_id=ids[1],
                idempotency_key="stale",
                recipient=ADA,
                **details,
            ),
        )
        await in_place.wait()
        harness.advance(harness.settings.redemption.lease_seconds + 1)  # the lease lapses
        adapter.place_order = place  # the ops process's own calls are not slowed
        try:
            outcome = (
                await cancel(
                    harness.process(), redeemed.redemption.id, actor=OPS, reason="member asked"
                )
            ).outcome
        except OpsRefused as refused:
            outcome = refused.code
        go.set()
        assert redeemed.task is not None
        await asyncio.wait({redeemed.task}, timeout=10)
    finally:
        adapter.place_order = place
        go.set()
    orders = harness.orders("tango", redeemed.redemption.id)
    balance = await harness.balance()
    assert not (orders == 1 and balance.available == START), (
        f"cancel said {outcome}; Tango has {orders} order(s) and the points were given back"
    )


async def test_a_replay_whose_run_fails_on_our_side_is_given_up_like_a_worker_run(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """replay() calls saga.drive directly: an error of ours escapes to the caller
    (replayRedemption answers INTERNAL_SERVER_ERROR) and the run is not handed to
    give_up_run: no run_failed event, the lease is left to lapse."""
    ids, details = await _reward(harness, "tango")
    row = await harness.redeem(harness.process(crash_at("before:place_order")), ids, **details)
    harness.advance(harness.settings.redemption.lease_seconds + 1)
    ops = harness.process()

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("a bug of ours")

    monkeypatch.setattr(type(ops.saga), "_result", broken)
    raised = None
    try:
        await replay(ops, row.id, actor=OPS)
    except OpsRefused:
        pass
    except Exception as error:
        raised = error
    after = await harness.get(row.id)
    events = [e.action for e in await harness.events(row.id)]
    assert raised is None, raised
    assert after.locked_by is None
    assert "run_failed" in events, (events,)
