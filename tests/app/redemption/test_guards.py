"""The guards that keep one order per redemption and every point where it belongs. Each test
here fails when its guard is taken out (docs/redemption.md lists them)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlmodel import col, select

from app.points import expiry
from app.points.models import Hold, HoldStatus
from app.redemption.models import Redemption, RedemptionStatus
from app.redemption.requests import RedeemRefused, RedeemRequest
from app.redemption.saga import new_lease
from app.redemption.worker import Worker, claim_due, claim_statement
from tests.app.redemption.conftest import ADA, Harness, crash_at
from tests.app.redemption.test_saga import START, _reward
from vendors import OrderRequest, OrderResult
from vendors.change.adapter import ChangeAdapter

pytestmark = pytest.mark.asyncio


async def test_a_key_that_may_have_been_sent_is_looked_up_before_it_is_sent_again(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A vendor that creates whatever it is sent (Change without the adapter's own check):
    after a crash between its answer and our commit, only the saga's lookup stops a second
    donation."""
    adapter = harness.services.vendors.adapters["change"]
    assert isinstance(adapter, ChangeAdapter)

    async def blind(request: OrderRequest) -> OrderResult:
        body = {
            "amount": int(request.amount * 100),
            "nonprofit_id": request.product_id,
            "funds_collected": True,
            "external_id": request.idempotency_key,
        }
        response = await adapter.http.request(
            "POST", "/donations", idempotent=False, creates=True, json=body
        )
        from vendors.change import models

        return adapter._result(adapter.parse(response, models.Donation, creates=True))

    monkeypatch.setattr(adapter, "place_order", blind)
    ids, details = await _reward(harness, "change")
    row = await harness.redeem(harness.process(crash_at("after:place_order")), ids, **details)
    assert row.status == RedemptionStatus.POINTS_RESERVED
    await harness.recover()
    row = await harness.get(row.id)
    assert row.status == RedemptionStatus.COMPLETED
    assert harness.orders("change", row.id) == 1


async def test_only_the_lease_holder_runs_a_redemption(harness: Harness) -> None:
    ids, details = await _reward(harness, "tango")
    first = harness.process(crash_at("before:place_order"))
    row = await harness.redeem(first, ids, **details)
    assert row.locked_by is not None
    assert row.locked_by.startswith(first.owner)
    other = harness.process()
    # The lease is current: nobody else may claim or run it, nor another claim of its own.
    claimed = await claim_due(
        harness.database,
        lease=new_lease(other.owner),
        now=harness.clock(),
        period=other.policy.lease,
        limit=10,
    )
    assert claimed == []
    assert await other.saga.drive(row.id, fresh=False, lease=new_lease(other.owner)) is None
    assert await first.saga.drive(row.id, fresh=False, lease=new_lease(first.owner)) is None
    assert harness.orders("tango", row.id) == 0
    # Once it lapses, exactly one of two claimers gets it.
    harness.advance(harness.settings.redemption.lease_seconds + 1)
    third = harness.process()
    won = await asyncio.gather(
        *(
            claim_due(
                harness.database,
                lease=new_lease(process.owner),
                now=harness.clock(),
                period=process.policy.lease,
                limit=10,
            )
            for process in (other, third)
        )
    )
    assert sorted(len(ids) for ids in won) == [0, 1]


@pytest.mark.parametrize("same_process", [False, True])
async def test_a_runner_whose_lease_was_taken_writes_nothing(
    harness: Harness, same_process: bool
) -> None:
    """A run whose lease lapsed while it worked, and another claim took it (another process,
    or this process's own worker or ops): the old run's commits are fenced off."""
    ids, details = await _reward(harness, "tango")
    stale = harness.process(crash_at("before:place_order"))
    row = await harness.redeem(stale, ids, **details)
    old_lease = row.locked_by
    assert old_lease is not None
    harness.advance(harness.settings.redemption.lease_seconds + 1)
    taker = stale if same_process else harness.process()
    [claimed] = await claim_due(
        harness.database,
        lease=new_lease(taker.owner),
        now=harness.clock(),
        period=taker.policy.lease,
        limit=1,
    )
    assert claimed == row.id
    stale.saga.hook = None
    assert await stale.saga.drive(row.id, fresh=True, lease=old_lease) is None
    assert (await harness.get(row.id)).status == RedemptionStatus.POINTS_RESERVED
    assert (await harness.balance()).held == row.points


async def test_the_same_key_sent_at_once_makes_one_redemption(harness: Harness) -> None:
    ids, _details = await _reward(harness, "tango")
    process = harness.process()
    request = RedeemRequest(
        member_id="alice",
        reward_id=ids[0],
        option_id=ids[1],
        idempotency_key="same-key",
        recipient=ADA,
    )
    made = await asyncio.gather(*(process.redeem(harness.program, request) for _ in range(8)))
    assert len({redeemed.redemption.id for redeemed in made}) == 1
    assert sum(redeemed.task is not None for redeemed in made) == 1
    await process.drain(30)
    async with harness.database.session() as session:
        rows = (await session.exec(select(Redemption))).all()
    assert len(rows) == 1
    assert harness.orders("tango") == 1
    assert (await harness.balance()).available == START - rows[0].points


async def test_the_same_key_with_another_input_is_refused(harness: Harness) -> None:
    ids, details = await _reward(harness, "change")
    await harness.redeem(harness.process(), ids, key="k", **details)
    with pytest.raises(RedeemRefused) as refused:
        await harness.redeem(harness.process(), ids, key="k", amount=Decimal(11))
    assert refused.value.code == "IDEMPOTENCY_KEY_REUSED"
    again = await harness.redeem(harness.process(), ids, key="k", amount=Decimal("10.00"))
    assert again.status == RedemptionStatus.COMPLETED, "10 and 10.00 are one input"


async def test_many_redemptions_on_one_balance_never_overspend(harness: Harness) -> None:
    """200 at once against one balance: exactly balance // cost succeed, the rest are refused
    with INSUFFICIENT_POINTS, and the balance never goes below zero."""
    ids, _details = await _reward(harness, "change")
    process = harness.process()

    async def attempt(n: int) -> Any:
        request = RedeemRequest(
            member_id="carol",  # the demo's third member: 5,000 points
            reward_id=ids[0],
            option_id=ids[1],
            idempotency_key=f"k{n}",
            amount=Decimal(1),
        )
        try:
            return await process.redeem(harness.program, request)
        except RedeemRefused as refused:
            return refused.code

    results = await asyncio.gather(*(attempt(n) for n in range(200)))
    await process.drain(60)
    made = [r for r in results if not isinstance(r, str)]
    cost = made[0].redemption.points
    start = 5_000
    assert len(made) == min(200, start // cost)
    assert {r for r in results if isinstance(r, str)} <= {"INSUFFICIENT_POINTS"}
    balance = await harness.balance("carol")
    assert balance.available == start - len(made) * cost >= 0


async def test_failover_goes_to_the_next_offer_when_the_first_vendor_refuses(
    harness: Harness,
) -> None:
    reward, option = await harness.option("Amazon", "USD")
    first, second = await harness.ranked(option, Decimal(20))
    harness.sandbox(first.vendor).set_faults(hidden_products=[first.vendor_product_id])
    row = await harness.redeem(harness.process(), (reward, option), amount=Decimal(20))
    assert row.status == RedemptionStatus.COMPLETED, row.failure_reason
    assert (row.vendor, row.attempt) == (second.vendor, 2)
    assert harness.orders(first.vendor, row.id) == 0
    assert harness.orders(second.vendor, row.id) == 1
    assert any(event.action == "failover" for event in await harness.events(row.id))


async def test_no_failover_once_the_first_vendor_may_have_the_order(harness: Harness) -> None:
    """The first vendor's answer was lost after it stored the order: the saga asks it, and
    never orders the same reward from the second."""
    reward, option = await harness.option("Amazon", "USD")
    first, second = await harness.ranked(option, Decimal(20))
    harness.sandbox(first.vendor).set_faults(next_calls=["drop_after_commit"], hang_seconds=3)
    row = await harness.redeem(harness.process(), (reward, option), amount=Decimal(20))
    await harness.recover()  # the adapter may have found it already, by repeating its call
    row = await harness.get(row.id)
    assert (row.status, row.vendor, row.attempt) == (RedemptionStatus.COMPLETED, first.vendor, 1)
    assert harness.orders(first.vendor, row.id) == 1
    assert harness.orders(second.vendor, row.id) == 0


async def test_the_hold_of_a_redemption_in_flight_never_expires(harness: Harness) -> None:
    ids, details = await _reward(harness, "tango")
    harness.sandbox("tango").set_faults(error_rate=1.0)
    row = await harness.redeem(harness.process(), ids, **details)
    assert row.status in (RedemptionStatus.POINTS_RESERVED, RedemptionStatus.VENDOR_PENDING)
    harness.advance(86_400 * 30)
    await expiry.sweep(harness.database, now=harness.clock(), budget=None)
    async with harness.database.session() as session:
        hold = await session.get(Hold, row.hold_id)
    assert hold is not None
    assert hold.status == HoldStatus.PENDING


async def test_a_charge_that_differs_from_the_quote_is_recorded_and_costs_nothing_more(
    harness: Harness,
) -> None:
    """Tango's GBP cards are charged in USD at Tango's own rate, a cent off our estimate."""
    reward, option = await harness.option("Apple", "GBP", "10")
    await harness.only(option, "tango")
    row = await harness.redeem(harness.process(), (reward, option))
    assert row.status == RedemptionStatus.COMPLETED
    assert row.charged_amount is not None
    assert (row.charged_amount, row.charged_currency) != (row.quoted_amount, row.quoted_currency)
    assert row.posted_points == row.points
    assert any(event.action == "charge_differs" for event in await harness.events(row.id))


async def test_a_worker_resumes_what_was_in_flight_when_its_process_died(
    harness: Harness,
) -> None:
    ids, details = await _reward(harness, "tango")
    rows = [
        await harness.redeem(harness.process(crash_at("before:place_order")), ids, **details)
        for _ in range(3)
    ]
    harness.advance(harness.settings.redemption.lease_seconds + 1)
    restarted = harness.process()
    assert sorted(await Worker(restarted).run_once()) == sorted(row.id for row in rows)
    await restarted.drain(30)
    async with harness.database.session() as session:
        statuses = (
            await session.exec(
                select(Redemption.status).where(col(Redemption.id).in_([r.id for r in rows]))
            )
        ).all()
    assert set(statuses) == {RedemptionStatus.COMPLETED}


async def test_concurrent_claims_skip_each_others_rows_on_postgresql(
    harness: Harness, postgresql_only: None
) -> None:
    """Two claims in flight at once, the first not yet committed: the second neither waits
    for it (SKIP LOCKED) nor takes what it holds; after the first commits, nothing is left."""
    ids, details = await _reward(harness, "change")
    for _ in range(4):
        await harness.redeem(harness.process(crash_at("committed:reserve")), ids, **details)
    now = harness.clock() + timedelta(seconds=harness.settings.redemption.lease_seconds + 1)
    lease = timedelta(seconds=30)
    engine = harness.database.engine
    async with engine.connect() as first, engine.connect() as second:
        await first.begin()
        taken = (
            await first.execute(claim_statement(lease="a", now=now, period=lease, limit=2))
        ).all()
        assert len(taken) == 2
        await second.begin()
        async with asyncio.timeout(5):  # a claim that waited for the first would hang here
            rest = (
                await second.execute(claim_statement(lease="b", now=now, period=lease, limit=10))
            ).all()
        assert {r[0] for r in rest}.isdisjoint({r[0] for r in taken})
        assert len(rest) == 2
        await first.commit()
        await second.commit()
    assert await claim_due(harness.database, lease="c", now=now, period=lease, limit=10) == []
