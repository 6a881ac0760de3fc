"""Ops' replay and cancel against the sandboxes: one order at most however often they act,
points back only when the order is proven undone, every action in the audit log."""

from __future__ import annotations

import pytest

from app.ops.actions import CancelOutcome, OpsRefused, cancel, history, replay
from app.redemption.models import Redemption, RedemptionStatus
from tests.app.redemption.conftest import Harness, crash_at
from tests.app.redemption.test_saga import START, _reward

pytestmark = pytest.mark.asyncio

OPS = "ops:test"


async def _stuck(harness: Harness, vendor: str, **faults: object) -> Redemption:
    """A redemption handed to ops: the vendor unreachable (or ``faults``) past its deadline."""
    ids, details = await _reward(harness, vendor)
    harness.sandbox(vendor).set_faults(**(faults or {"error_rate": 1.0}))
    row = await harness.redeem(harness.process(), ids, **details)
    await harness.recover(rounds=40, step=3_600 * 24)
    row = await harness.get(row.id)
    assert row.status == RedemptionStatus.NEEDS_OPS
    harness.sandbox(vendor).set_faults(error_rate=0.0, next_calls=[], completion_delay_seconds=0)
    harness.advance(16 * 60)  # no request of its can still arrive at the vendor
    return row


async def test_a_replay_resumes_a_stuck_redemption_under_its_own_key(harness: Harness) -> None:
    row = await _stuck(harness, "tango")
    ops = harness.process()
    for _ in range(3):  # replayed again and again: still one order, one settlement
        result = await replay(ops, row.id, actor=OPS)
    assert result.redemption.status == RedemptionStatus.COMPLETED
    assert result.redemption.vendor_key == row.vendor_key
    assert harness.orders("tango", row.id) == 1
    balance = await harness.balance()
    assert (balance.available, balance.held) == (START - row.points, 0)
    audited = [e for e in await harness.events(row.id) if e.kind == "ops"]
    assert [(e.action, e.actor) for e in audited][:1] == [("replay", OPS)]
    assert audited[0].status_before == RedemptionStatus.NEEDS_OPS


async def test_replaying_a_completed_redemption_calls_nothing(harness: Harness) -> None:
    ids, details = await _reward(harness, "tango")
    row = await harness.redeem(harness.process(), ids, **details)
    assert row.status == RedemptionStatus.COMPLETED
    calls = harness.sandbox("tango").calls
    result = await replay(harness.process(), row.id, actor=OPS)
    assert result.outcome == "UNCHANGED"
    assert result.redemption == row
    assert harness.sandbox("tango").calls == calls
    [audit] = [e for e in await harness.events(row.id) if e.kind == "ops"]
    assert (audit.action, audit.outcome) == ("replay", "nothing to do")


async def test_a_replay_after_a_lost_answer_finds_the_order_instead_of_making_another(
    harness: Harness,
) -> None:
    """The vendor stored the order, its answer was lost, and then it was down until the
    deadline: ops' replay looks the order up and settles it."""
    ids, details = await _reward(harness, "change")
    harness.sandbox("change").set_faults(next_calls=["drop_after_commit"], hang_seconds=3)
    row = await harness.redeem(harness.process(), ids, **details)
    harness.sandbox("change").set_faults(error_rate=1.0)
    await harness.recover(rounds=40, step=3_600 * 24)
    assert (await harness.get(row.id)).status == RedemptionStatus.NEEDS_OPS
    harness.sandbox("change").set_faults(error_rate=0.0)
    result = await replay(harness.process(), row.id, actor=OPS)
    assert result.redemption.status == RedemptionStatus.COMPLETED
    assert harness.orders("change", row.id) == 1


async def test_cancel_refunds_when_the_vendor_has_no_order(harness: Harness) -> None:
    row = await _stuck(harness, "tango")
    result = await cancel(harness.process(), row.id, actor=OPS, reason="member asked")
    assert result.outcome == CancelOutcome.REFUNDED_ORDER_ABSENT
    assert result.redemption.status == RedemptionStatus.COMPENSATED
    balance = await harness.balance()
    assert (balance.available, balance.held) == (START, 0)
    again = await cancel(harness.process(), row.id, actor=OPS, reason="twice")
    assert again.outcome == CancelOutcome.ALREADY_REFUNDED
    assert (await harness.balance()).available == START, "refunded once"


async def test_cancel_cancels_at_a_vendor_that_allows_it(harness: Harness) -> None:
    ids, details = await _reward(harness, "printful")
    harness.sandbox("printful").set_faults(completion_delay_seconds=86_400 * 5)
    row = await harness.redeem(harness.process(), ids, **details)
    assert row.status == RedemptionStatus.VENDOR_PENDING
    result = await cancel(harness.process(), row.id, actor=OPS, reason="out of stock")
    assert result.outcome == CancelOutcome.CANCELLED_AT_VENDOR
    assert result.redemption.status == RedemptionStatus.COMPENSATED
    assert (await harness.balance()).held == 0


async def test_cancel_refuses_to_refund_an_order_the_vendor_still_has(harness: Harness) -> None:
    ids, details = await _reward(harness, "tango")
    harness.sandbox("tango").set_faults(completion_delay_seconds=86_400)
    row = await harness.redeem(harness.process(), ids, **details)
    assert row.status == RedemptionStatus.VENDOR_PENDING
    with pytest.raises(OpsRefused) as refused:
        await cancel(harness.process(), row.id, actor=OPS, reason="member asked")
    assert refused.value.code == "CANNOT_CANCEL"
    after = await harness.get(row.id)
    assert after.status == RedemptionStatus.VENDOR_PENDING
    assert after.locked_by is None, "the lease is given back"
    assert (await harness.balance()).held == row.points, "nothing refunded"
    assert any(
        e.kind == "ops" and (e.outcome or "").startswith("refused")
        for e in await harness.events(row.id)
    )


async def test_cancel_of_a_delivered_reward_is_refused(harness: Harness) -> None:
    ids, details = await _reward(harness, "tango")
    row = await harness.redeem(harness.process(), ids, **details)
    with pytest.raises(OpsRefused) as refused:
        await cancel(harness.process(), row.id, actor=OPS, reason="oops")
    assert refused.value.code == "ALREADY_COMPLETED"


async def test_ops_wait_for_a_process_that_is_running_the_redemption(harness: Harness) -> None:
    ids, details = await _reward(harness, "tango")
    row = await harness.redeem(harness.process(crash_at("before:place_order")), ids, **details)
    for action in (
        replay(harness.process(), row.id, actor=OPS),
        cancel(harness.process(), row.id, actor=OPS, reason="r"),
    ):
        with pytest.raises(OpsRefused) as refused:
            await action
        assert refused.value.code == "IN_PROGRESS"
    assert harness.orders("tango", row.id) == 0


async def test_history_shows_states_vendor_calls_and_ledger_entries(harness: Harness) -> None:
    row = await _stuck(harness, "tango")
    await replay(harness.process(), row.id, actor=OPS)
    found = await history(harness.process(), row.id)
    kinds = {event.kind for event in found.events}
    assert kinds == {"state", "vendor", "ops"}
    assert [entry.kind for entry in found.ledger] == ["hold", "post"]
