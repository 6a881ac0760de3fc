"""A harness for the saga: the demo program, the seeded catalog, the in-process sandboxes, a
clock tests move, and processes that crash and recover."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest_asyncio
from sqlalchemy import delete
from sqlmodel import col, func, select

from app.catalog.models import Offer, Reward, RewardOption
from app.catalog.routing import offers_by_preference
from app.db import Database
from app.partners.demo import DemoSeed
from app.points import ledger
from app.points.models import LedgerAccount, Member, Program
from app.redemption.models import Redemption, RedemptionEvent
from app.redemption.requests import RedeemRequest
from app.redemption.service import RedemptionService
from app.redemption.worker import Worker
from app.runtime import Services, open_services
from app.settings import Settings
from tests.vendors.conftest import experience_answers, fast_policy, travel_date
from vendors import Address, ExperienceDetails, Recipient
from vendors.registry import VENDORS

Hook = Callable[[str], Awaitable[None]]
ADA = Recipient("Ada Lovelace", "ada@example.com", phone="+44 20 7946 0000")
ADDRESS = Address("Ada Lovelace", "12 Analytical Way", "London", "N1 9GU", "GB")


class Crash(BaseException):
    """The process dies here: nothing after this point runs, nothing is cleaned up."""


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def recorder(trace: list[str]) -> Hook:
    async def hook(reached: str) -> None:
        trace.append(reached)

    return hook


def crash_at(point: str, *, times: int = 1) -> Hook:
    """A hook that kills the runner the first ``times`` it reaches ``point``."""
    left = [times]

    async def hook(reached: str) -> None:
        if reached == point and left[0] > 0:
            left[0] -= 1
            raise Crash(point)

    return hook


@dataclass
class Harness:
    services: Services
    settings: Settings
    program: Program
    clock: Clock
    stack: AsyncExitStack
    processes: list[RedemptionService] = field(default_factory=list)

    @property
    def database(self) -> Database:
        return self.services.database

    def process(self, hook: Hook | None = None) -> RedemptionService:
        """A new gateway process (its own lease owner) on the same database and vendors."""
        service = RedemptionService(
            self.database,
            self.services.vendors,
            self.services.rates,
            self.settings,
            clock=self.clock,
            hook=hook,
        )
        self.processes.append(service)
        return service

    def sandbox(self, vendor: str) -> Any:
        hub = self.services.vendors.sandboxes
        assert hub is not None
        return hub[vendor]

    def orders(self, vendor: str, redemption_id: uuid.UUID | None = None) -> int:
        """Orders the vendor's sandbox holds (under any of the redemption's keys)."""
        summary = self.sandbox(vendor).orders_summary()
        if redemption_id is None:
            return len(summary)
        prefix = f"rg{redemption_id.hex}a"
        keys = ("external_id", "externalRefID", "partnerBookingRef")
        return sum(
            1 for order in summary if any(str(order.get(k) or "").startswith(prefix) for k in keys)
        )

    def advance(self, seconds: float) -> None:
        """Move our clock and every sandbox's clock forward."""
        self.clock.now += timedelta(seconds=seconds)
        hub = self.services.vendors.sandboxes
        assert hub is not None
        for name in hub.sandboxes:
            hub[name].clock.advance(seconds)

    async def option(
        self, brand: str, currency: str, face_value: str | None = None, *, name: str | None = None
    ) -> tuple[uuid.UUID, uuid.UUID]:
        """(reward id, option id) of the catalog's reward of ``brand`` (named ``name``)."""
        query_reward = select(Reward).where(Reward.brand == brand, Reward.currency == currency)
        if name is not None:
            query_reward = query_reward.where(Reward.name == name)
        async with self.database.session() as session:
            reward = (await session.exec(query_reward)).first()
            assert reward is not None, (brand, currency)
            query = select(RewardOption).where(RewardOption.reward_id == reward.id)
            if face_value is not None:
                query = query.where(RewardOption.face_value == Decimal(face_value))
            option = (await session.exec(query)).first()
            assert option is not None
            return reward.id, option.id

    async def offers(self, option_id: uuid.UUID) -> list[str]:
        """The vendor product ids of the option's offers."""
        async with self.database.session() as session:
            return list(
                (
                    await session.exec(
                        select(Offer.vendor_product_id).where(Offer.option_id == option_id)
                    )
                ).all()
            )

    async def ranked(self, option_id: uuid.UUID, amount: Decimal | None = None) -> list[Offer]:
        """The option's offers in the order the saga tries them."""
        rates = await self.services.rates.current(self.clock())
        async with self.database.session() as session:
            ranked = await offers_by_preference(
                session, option_id, rates=rates, breaker_states={}, amount=amount
            )
        return [r.offer for r in ranked]

    async def only(self, option_id: uuid.UUID, *vendors: str) -> None:
        """Leave the option only the offers of ``vendors`` (in the order they rank)."""
        await self.database.write(
            lambda session: session.exec(
                delete(Offer).where(
                    col(Offer.option_id) == option_id, col(Offer.vendor).not_in(vendors)
                )
            )
        )

    async def redeem(
        self,
        service: RedemptionService,
        reward: tuple[uuid.UUID, uuid.UUID],
        *,
        member: str = "alice",
        key: str | None = None,
        **details: Any,
    ) -> Redemption:
        """Redeem and let the saga's first run end (or crash): the redemption as stored."""
        request = RedeemRequest(
            member_id=member,
            reward_id=reward[0],
            option_id=reward[1],
            idempotency_key=key or uuid.uuid4().hex,
            recipient=details.pop("recipient", ADA),
            **details,
        )
        try:
            redeemed = await service.redeem(self.program, request)
        except Crash:
            return await self.by_key(request.idempotency_key)
        if redeemed.task is not None:
            await asyncio.wait({redeemed.task})
            if redeemed.task.exception() is not None:
                error = redeemed.task.exception()
                assert isinstance(error, Crash), error
        return await self.get(redeemed.redemption.id)

    async def by_key(self, key: str) -> Redemption:
        async with self.database.session() as session:
            return (
                await session.exec(select(Redemption).where(Redemption.idempotency_key == key))
            ).one()

    async def get(self, redemption_id: uuid.UUID) -> Redemption:
        async with self.database.session() as session:
            row = await session.get(Redemption, redemption_id)
        assert row is not None
        return row

    async def recover(self, *, rounds: int = 20, step: float | None = None) -> None:
        """A fresh process runs whatever is due, time moving on, until nothing is left to do."""
        service = self.process()
        worker = Worker(service)
        for _ in range(rounds):
            self.advance(step or self.settings.redemption.lease_seconds + 1)
            claimed = await worker.run_once()
            await service.drain(30)
            if not claimed and not await self.due():
                return

    async def due(self) -> int:
        async with self.database.session() as session:
            return int(
                (
                    await session.exec(
                        select(func.count())
                        .select_from(Redemption)
                        .where(col(Redemption.next_run_at).is_not(None))
                    )
                ).one()
            )

    async def balance(self, member: str = "alice") -> ledger.Balance:
        async with self.database.session() as session:
            account = (
                await session.exec(
                    select(LedgerAccount.id)
                    .join(Member, col(Member.id) == LedgerAccount.member_id)
                    .where(Member.program_id == self.program.id, Member.external_id == member)
                )
            ).one()
            return await ledger.balance_at(session, account, now=self.clock())

    async def events(self, redemption_id: uuid.UUID) -> list[RedemptionEvent]:
        async with self.database.session() as session:
            return list(
                (
                    await session.exec(
                        select(RedemptionEvent)
                        .where(RedemptionEvent.redemption_id == redemption_id)
                        .order_by(col(RedemptionEvent.id))
                    )
                ).all()
            )


def experience() -> ExperienceDetails:
    return ExperienceDetails(travel_date(), 1, answers=experience_answers(1))


@pytest_asyncio.fixture
async def harness(
    settings: Settings, database: Database, demo: DemoSeed, snapshot: None
) -> AsyncIterator[Harness]:
    async with AsyncExitStack() as stack:
        services = await stack.enter_async_context(
            open_services(
                settings,
                vendor_policies={spec.name: fast_policy(spec.name) for spec in VENDORS},
                sandbox_rate_limits=False,
            )
        )
        async with services.database.session() as session:
            program = await session.get(Program, demo.program_id)
        assert program is not None
        harness = Harness(services, settings, program, Clock(), stack)
        yield harness
        for process in harness.processes:
            await process.drain(5)
