"""The saga against a model, driven by Hypothesis: redeem (with a vendor fault and a crash),
vendor replies, recovery by another process, the clock, ops replay and cancel, in any order.

After every step the invariants hold for the member and every redemption:

* no point is created or lost: available + held + spent = what the member earned, where
  spent is the sum of completed redemptions' posted points and held the points of those in
  flight or with ops;
* the balance never goes negative;
* a redemption has at most one vendor order, exactly one once completed; a compensated one
  has none that delivered;
* a terminal redemption stays as it ended.

Hypothesis runs rules synchronously; the saga runs on an event loop in a thread.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import AsyncExitStack
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlmodel import col, select

from app._types import utcnow
from app.db import Database
from app.ops.actions import OpsRefused, cancel, replay
from app.partners.demo import seed_demo
from app.points.models import Program
from app.points.service import EarnRequest, earn_points
from app.redemption.models import TERMINAL, Redemption, RedemptionStatus
from app.redemption.requests import RedeemRefused
from app.redemption.worker import Worker
from app.runtime import open_services
from app.settings import Settings
from tests.app.points.test_ledger_stateful import LoopThread
from tests.app.redemption.conftest import Clock, Harness, crash_at
from tests.app.redemption.test_saga import _reward
from tests.vendors.conftest import fast_policy
from vendors import OrderStatus
from vendors.registry import VENDORS

EARNED = 20_000
VENDORS_USED = ("tango", "change", "printful")
FAULTS = ("none", "5xx", "timeout after commit", "async", "refuse", "429")
CRASHES = (
    None,
    "committed:reserve",
    "before:place_order",
    "after:place_order",
    "before:commit",
    "after:commit",
    "committed:POINTS_RESERVED",
)


class SagaMachine(RuleBasedStateMachine):
    def __init__(self, loop: LoopThread, harness: Harness) -> None:
        super().__init__()
        self.loop = loop
        self.harness = harness
        self.member = f"m{uuid.uuid4().hex[:10]}"
        self.redemptions: list[uuid.UUID] = []
        self.ended: dict[uuid.UUID, str] = {}
        self.delivered_checked: set[uuid.UUID] = set()
        self.loop.run(self._earn())

    async def _earn(self) -> None:
        request = EarnRequest(self.member, EARNED, "stateful test", uuid.uuid4().hex)
        await earn_points(
            self.harness.database, self.harness.program, request, now=self.harness.clock()
        )

    # -- rules ------------------------------------------------------------------------------

    @rule(
        vendor=st.sampled_from(VENDORS_USED),
        fault=st.sampled_from(FAULTS),
        crash=st.sampled_from(CRASHES),
    )
    def redeem(self, vendor: str, fault: str, crash: str | None) -> None:
        self.loop.run(self._redeem(vendor, fault, crash))

    async def _redeem(self, vendor: str, fault: str, crash: str | None) -> None:
        harness = self.harness
        ids, details = await _reward(harness, vendor)
        sandbox = harness.sandbox(vendor)
        options: dict[str, dict[str, Any]] = {
            "none": {},
            "5xx": {"next_calls": ["server_error"] * 2},
            "timeout after commit": {"next_calls": ["drop_after_commit"], "hang_seconds": 1.5},
            "async": {"completion_delay_seconds": 3_600},
            "refuse": {"hidden_products": await harness.offers(ids[1])},
            "429": {"next_calls": ["rate_limit"]},
        }
        sandbox.set_faults(**options[fault])
        try:
            process = harness.process(crash_at(crash) if crash else None)
            row = await harness.redeem(process, ids, member=self.member, **details)
            self.redemptions.append(row.id)
        except RedeemRefused as refused:
            if refused.code != "INSUFFICIENT_POINTS":
                raise
        finally:
            sandbox.set_faults(
                next_calls=[], hidden_products=[], completion_delay_seconds=0, error_rate=0.0
            )

    @rule(seconds=st.sampled_from([5, 61, 3_600, 86_400]))
    def time_passes_and_a_process_recovers(self, seconds: int) -> None:
        async def recover() -> None:
            self.harness.advance(seconds)
            service = self.harness.process()
            await Worker(service).run_once()
            await service.drain(60)

        self.loop.run(recover())

    @rule(seconds=st.sampled_from([61, 3_600]))
    def the_vendor_finishes_its_pending_orders(self, seconds: int) -> None:
        hub = self.harness.services.vendors.sandboxes
        assert hub is not None
        for vendor in VENDORS_USED:
            hub[vendor].clock.advance(seconds)

    @precondition(lambda self: self.redemptions)
    @rule(index=st.integers(min_value=0), cancelling=st.booleans())
    def ops_act(self, index: int, cancelling: bool) -> None:
        redemption_id = self.redemptions[index % len(self.redemptions)]

        async def act() -> None:
            service = self.harness.process()
            try:
                if cancelling:
                    await cancel(service, redemption_id, actor="ops:model", reason="test")
                else:
                    await replay(service, redemption_id, actor="ops:model")
            except OpsRefused as refused:
                expected = ("IN_PROGRESS", "ALREADY_COMPLETED", "CANNOT_CANCEL", "OUTCOME_UNKNOWN")
                if refused.code not in expected:
                    raise

        self.loop.run(act())

    # -- invariants -------------------------------------------------------------------------

    @invariant()
    def no_point_is_created_or_lost(self) -> None:
        rows = self.loop.run(self._rows())
        balance = self.loop.run(self._balance())
        assert balance.available >= 0
        spent = sum(
            row.posted_points or 0 for row in rows if row.status == RedemptionStatus.COMPLETED
        )
        held = sum(row.points for row in rows if row.status not in TERMINAL)
        assert balance.held == held
        assert balance.available + balance.held + spent == EARNED

    @invariant()
    def one_order_at_most_and_terminal_states_stay(self) -> None:
        for row in self.loop.run(self._rows()):
            orders = self.harness.orders(row.vendor, row.id)
            assert orders <= 1, (row.id, row.status)
            if row.status == RedemptionStatus.COMPLETED:
                assert orders == 1
                assert row.posted_points == row.points
            if row.id in self.ended:
                assert row.status == self.ended[row.id], "a terminal redemption changed"
            elif row.status in TERMINAL:
                self.ended[row.id] = row.status
            if row.status == RedemptionStatus.COMPENSATED and row.id not in self.delivered_checked:
                found = self.loop.run(self._order(row))
                assert found is None or found not in (OrderStatus.FULFILLED, OrderStatus.PARTIAL)
                self.delivered_checked.add(row.id)

    async def _order(self, row: Redemption) -> OrderStatus | None:
        adapter = self.harness.services.vendors.adapters[row.vendor]
        for attempt in range(1, row.attempt + 1):
            key = f"rg{row.id.hex}a{attempt}"
            found = await adapter.lookup_order(key, since=row.created_at)
            if found is not None:
                return found.status
        return None

    async def _rows(self) -> list[Redemption]:
        async with self.harness.database.session() as session:
            return list(
                (
                    await session.exec(
                        select(Redemption).where(col(Redemption.id).in_(self.redemptions))
                    )
                ).all()
            )

    async def _balance(self) -> Any:
        return await self.harness.balance(self.member)


@pytest.fixture
def saga_world(settings: Settings, database: Database) -> Iterator[tuple[LoopThread, Harness]]:
    """The demo program, a refreshed catalog and the services, on an event loop in a thread."""
    loop = LoopThread()
    stack = AsyncExitStack()

    async def open_world() -> Harness:
        services = await stack.enter_async_context(
            open_services(
                settings,
                vendor_policies={spec.name: fast_policy(spec.name) for spec in VENDORS},
                sandbox_rate_limits=False,
            )
        )
        demo = await seed_demo(
            services.database,
            secret=settings.member_token_secret.get_secret_value(),
            now=utcnow(),
            token_lifetime=timedelta(hours=1),
        )
        assert all(result.ok for result in await services.catalog.refresh())
        async with services.database.session() as session:
            program = await session.get(Program, demo.program_id)
        assert program is not None
        return Harness(services, settings, program, Clock(), stack)

    harness = loop.run(open_world())
    yield loop, harness

    async def close() -> None:
        for process in harness.processes:
            await process.drain(5)
        await stack.aclose()

    loop.run(close())
    loop.close()


def test_the_saga_keeps_its_invariants_whatever_happens(
    saga_world: tuple[LoopThread, Harness],
) -> None:
    loop, harness = saga_world
    run = settings(
        max_examples=8,
        stateful_step_count=12,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    run_state_machine_as_test(lambda: SagaMachine(loop, harness), settings=run)  # type: ignore[arg-type]
