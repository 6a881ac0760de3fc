"""Scratch tests for review of 7e1d948 (raced=False skips the in-transaction key lookup)."""

from __future__ import annotations

import asyncio
import contextlib
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import col, select

import app.redemption.service as service_module
from app.points import ledger
from app.points.models import LedgerAccount, Member
from app.redemption.models import Redemption
from app.redemption.requests import RedeemRefused, RedeemRequest
from tests._sql import recorded_deadlocks
from tests.app.redemption.conftest import ADA, Harness
from tests.app.redemption.test_saga import _reward

pytestmark = pytest.mark.asyncio


async def test_a_retry_that_loses_the_race_answers_the_redemption_not_insufficient_points(
    harness: Harness,
) -> None:
    """Client retries a redeem (same key, same input) while the first is in flight. The
    first commits between the retry's key lookup (read session) and its reserve transaction;
    meanwhile the member's remaining points are held elsewhere. The retry must answer the
    redemption its key made; it answers INSUFFICIENT_POINTS (before 7e1d948 the reserve
    transaction's own _find answered it)."""
    ids, _ = await _reward(harness, "tango")
    first, retry = harness.process(), harness.process()
    request = RedeemRequest(
        member_id="alice",
        reward_id=ids[0],
        option_id=ids[1],
        idempotency_key="retried",
        recipient=ADA,
    )
    looked_up, go = asyncio.Event(), asyncio.Event()
    checks = retry._vendor_checks

    async def slow_checks(*args: Any) -> None:  # the retry, after its key lookup
        looked_up.set()
        await go.wait()
        await checks(*args)

    retry._vendor_checks = slow_checks  # type: ignore[method-assign,assignment]
    second = asyncio.create_task(retry.redeem(harness.program, request))
    await looked_up.wait()
    made = await first.redeem(harness.program, request)
    await first.drain(30)

    # The member spends the rest of the points elsewhere (another hold).
    async def spend_rest(session: Any) -> None:
        account = (
            await session.exec(
                select(LedgerAccount)
                .join(Member, col(Member.id) == LedgerAccount.member_id)
                .where(Member.external_id == "alice")
            )
        ).one()
        rest = (await ledger.balance_of(session, account.id)).available
        await ledger.place_hold(session, account, rest, now=harness.clock())

    await harness.database.write(spend_rest)
    go.set()
    try:
        answered = await second
    except RedeemRefused as refused:
        pytest.fail(f"the retry was refused {refused.code}: {refused}")
    assert answered.redemption.id == made.redemption.id


async def test_a_key_reused_with_another_input_that_loses_the_race_says_so(
    harness: Harness,
) -> None:
    """Same window, different input under the key: the answer should be
    IDEMPOTENCY_KEY_REUSED; with the balance spent it is INSUFFICIENT_POINTS."""
    ids, _details = await _reward(harness, "change")
    first, other = harness.process(), harness.process()

    def request(amount: str) -> RedeemRequest:
        return RedeemRequest(
            member_id="alice",
            reward_id=ids[0],
            option_id=ids[1],
            idempotency_key="k",
            amount=Decimal(amount),
        )

    looked_up, go = asyncio.Event(), asyncio.Event()
    checks = other._vendor_checks

    async def slow_checks(*args: Any) -> None:
        looked_up.set()
        await go.wait()
        await checks(*args)

    other._vendor_checks = slow_checks  # type: ignore[method-assign,assignment]
    second = asyncio.create_task(other.redeem(harness.program, request("499")))
    await looked_up.wait()
    await first.redeem(harness.program, request("10"))
    await first.drain(30)
    go.set()
    with pytest.raises(RedeemRefused) as refused:
        await second
    assert refused.value.code == "IDEMPOTENCY_KEY_REUSED", refused.value.code


async def test_the_same_key_sent_at_once_by_a_member_who_can_afford_one(harness: Harness) -> None:
    """The 8-at-once test with a member (carol, 5,000 points) who can afford the reward once
    (2,538 points): every request must answer the one redemption."""
    ids, _ = await _reward(harness, "tango")
    process = harness.process()
    request = RedeemRequest(
        member_id="carol",
        reward_id=ids[0],
        option_id=ids[1],
        idempotency_key="same-key",
        recipient=ADA,
    )

    async def attempt() -> Any:
        try:
            return await process.redeem(harness.program, request)
        except RedeemRefused as refused:
            return refused.code

    made = await asyncio.gather(*(attempt() for _ in range(8)))
    await process.drain(30)
    async with harness.database.session() as session:
        rows = (await session.exec(select(Redemption))).all()
    assert len(rows) == 1
    assert [m for m in made if isinstance(m, str)] == []


async def _until_a_lock_is_waited_for(harness: Harness) -> None:
    """Until some PostgreSQL session of this database waits for a lock (3 s at most)."""
    for _ in range(300):
        async with harness.database.session() as session:
            waiting = await session.exec(  # type: ignore[call-overload]
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE wait_event_type = 'Lock' AND datname = current_database()"
                )
            )
            if waiting.scalar_one():
                return
        await asyncio.sleep(0.01)


async def test_a_twin_that_missed_the_key_never_deadlocks_with_the_first_ones_settle(
    harness: Harness, postgresql_only: None
) -> None:
    """The retry's key lookup ran before the first request committed. Its reserve must find
    the redemption inside its transaction before it takes the account's lock: otherwise it
    holds that lock while its insert waits on the redemption row the first one's settle has
    updated, and that settle waits for the lock, a deadlock (what the clean-clone CI once hit,
    retried until the attempts ran out). Fails without the look-up in `reserve` (86ea38c)."""
    ids, _ = await _reward(harness, "tango")
    request = RedeemRequest(
        member_id="alice",
        reward_id=ids[0],
        option_id=ids[1],
        idempotency_key="twin",
        recipient=ADA,
    )
    twin_locked, first_reserved = asyncio.Event(), asyncio.Event()

    async def first_hook(point: str) -> None:  # settle only once the twin holds the lock
        if point == "after:place_order":
            await asyncio.wait_for(twin_locked.wait(), 30)

    first, twin = harness.process(first_hook), harness.process()
    checks = twin._vendor_checks

    async def late_checks(*args: Any) -> None:  # the twin, after its key lookup missed
        await first_reserved.wait()
        await checks(*args)

    twin._vendor_checks = late_checks  # type: ignore[method-assign,assignment]
    place_hold = ledger.place_hold

    async def waits_for_the_settle(*args: Any, **kwargs: Any) -> Any:
        held = await place_hold(*args, **kwargs)
        twin_locked.set()
        await _until_a_lock_is_waited_for(harness)  # the first one's settle, for the account
        return held

    with recorded_deadlocks(harness.database) as deadlocks:
        retried = asyncio.create_task(twin.redeem(harness.program, request))
        await asyncio.sleep(0.1)  # the twin has looked the key up and missed
        made = await first.redeem(harness.program, request)
        ledger.place_hold = waits_for_the_settle
        try:
            first_reserved.set()
            answered = await retried
        finally:
            ledger.place_hold = place_hold
            twin_locked.set()
        await first.drain(30)
    assert answered.redemption.id == made.redemption.id
    assert deadlocks == []
    async with harness.database.session() as session:
        stored = (await session.exec(select(Redemption))).all()
    assert [row.status for row in stored] == ["COMPLETED"]


async def test_a_twin_whose_in_transaction_look_up_missed_never_deadlocks(
    harness: Harness, postgresql_only: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The look-up inside reserve can miss too, if it runs before the account's lock: the twin
    then waits for the lock the uncommitted first request holds, and inserts once it has it,
    while the first one's saga has updated the row and waits for that lock, a deadlock (about
    1 run in 3 of test_one_key_many_inputs_at_once, helper-9). Fails without the lock taken
    before the look-up."""
    ids, _ = await _reward(harness, "tango")
    request = RedeemRequest(
        member_id="alice",
        reward_id=ids[0],
        option_id=ids[1],
        idempotency_key="twin",
        recipient=ADA,
    )
    twin_missed, twin_locked = asyncio.Event(), asyncio.Event()
    tasks: dict[str, asyncio.Task[Any]] = {}

    async def first_hook(point: str) -> None:  # the saga settles once the twin holds the lock
        if point == "after:place_order":
            await asyncio.wait_for(twin_locked.wait(), 30)

    first, twin = harness.process(first_hook), harness.process()
    real_find, real_hold = service_module._find, ledger.place_hold

    async def find(*args: Any) -> Any:
        found = await real_find(*args)
        if asyncio.current_task() is tasks.get("twin") and found is None:
            twin_missed.set()
        return found

    async def place_hold(*args: Any, **kwargs: Any) -> Any:
        me = asyncio.current_task()
        held = await real_hold(*args, **kwargs)
        if me is tasks.get("first"):
            # The first holds the account lock, uncommitted, until the twin's look-up ran.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(twin_missed.wait(), 3)
        elif me is tasks.get("twin"):
            twin_locked.set()
            await _until_a_lock_is_waited_for(harness)  # the first one's settle, for the account
        return held

    monkeypatch.setattr(service_module, "_find", find)
    monkeypatch.setattr(ledger, "place_hold", place_hold)
    with recorded_deadlocks(harness.database) as deadlocks:
        tasks["first"] = asyncio.create_task(first.redeem(harness.program, request))
        await asyncio.sleep(0.3)  # the first holds the lock, its row not committed
        tasks["twin"] = asyncio.create_task(twin.redeem(harness.program, request))
        made = await tasks["first"]
        try:
            answered = await asyncio.wait_for(tasks["twin"], 60)
        finally:
            twin_locked.set()
        await first.drain(30)
        await twin.drain(30)
    assert answered.redemption.id == made.redemption.id
    assert deadlocks == [], deadlocks
