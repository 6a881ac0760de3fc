"""The catalog as the gateway process uses it: refreshes on each vendor's schedule, price classes
for programs, and the snapshot version that response caches key on."""

from __future__ import annotations

import asyncio
import time
import uuid
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app._types import utcnow
from app.background import run_until_exit
from app.catalog.listing import RewardFilter, count_rewards
from app.catalog.models import CatalogState, PriceClass, VendorStatus
from app.catalog.prices import price_class_for, reprice
from app.catalog.refresh import CatalogRefresher, Progress, VendorRefresh
from app.catalog.snapshot import bump_version
from app.db import Database
from app.log import get_logger
from app.points.models import Program
from app.pricing.fx import FxError
from app.pricing.rates import RateBook
from app.vendor_pool import VendorPool
from vendors.registry import VendorsConfig

__all__ = ["CatalogService", "VendorHealthRow"]

_logger = get_logger(__name__)
VERSION_TTL = 1.0  # seconds another process's refresh may take to show
PRICE_CLASS_TTL = 60.0
COUNT_CACHE_SIZE = 10_000


@dataclass(frozen=True)
class VendorHealthRow:
    """One vendor as `vendorHealth` and ``/readyz`` both report it (they must agree).

    ``filling``: no catalog from it yet, and no failure either (a fresh database, a first
    refresh under way). ``healthy``: its circuit is closed and its last refresh did not fail.
    """

    vendor: str
    healthy: bool
    filling: bool
    breaker: str
    last_catalog_refresh: datetime | None
    last_error: str | None
    consecutive_failures: int
    products: int

    def as_json(self) -> dict[str, object]:
        """For ``/readyz``, which anyone may read: the vendor's error text stays out of it (a
        vendor's or proxy's body may say where things run); ops read it in `vendorHealth`."""
        row = {name: getattr(self, name) for name in self.__dataclass_fields__}
        refreshed = self.last_catalog_refresh
        row["last_catalog_refresh"] = refreshed.isoformat() if refreshed else None
        row["last_error"] = "see vendorHealth" if self.last_error else None
        return row


class CatalogService:
    def __init__(
        self,
        database: Database,
        vendors: VendorPool,
        rates: RateBook,
        config: VendorsConfig,
    ) -> None:
        self.database = database
        self.vendors = vendors
        self.rates = rates
        self.config = config
        self.refresher = CatalogRefresher(database, vendors, rates)
        self._version: tuple[float, int] = (0.0, 0)
        self._classes: dict[uuid.UUID, tuple[float, uuid.UUID]] = {}
        self._counts: dict[tuple[int, uuid.UUID, RewardFilter], int] = {}

    async def version(self) -> int:
        """The snapshot version, read from the database at most once a second."""
        checked, version = self._version
        if time.monotonic() - checked < VERSION_TTL:
            return version
        # Requests arriving while this one reads keep the version they had: one read, not a
        # stampede of them, each time the second runs out.
        self._version = (time.monotonic(), version)
        async with self.database.session() as session:
            state = await session.get(CatalogState, 1)
        self._version = (time.monotonic(), state.version if state else 0)
        return self._version[1]

    def forget_version(self) -> None:
        self._version = (0.0, 0)

    async def count(self, price_class_id: uuid.UUID, wanted: RewardFilter) -> int:
        """How many rewards a filter matches, counted once per snapshot version."""
        key = (await self.version(), price_class_id, wanted)
        if key not in self._counts:
            counted = await self.database.read(
                lambda connection: count_rewards(connection, price_class_id, wanted=wanted)
            )
            if len(self._counts) >= COUNT_CACHE_SIZE:
                self._counts.clear()
            self._counts[key] = counted
        return self._counts[key]

    async def first_program(self, partner_id: uuid.UUID) -> uuid.UUID:
        """The partner's oldest program: what an ops key sees the catalog priced in."""
        async with self.database.session() as session:
            program_id = (
                await session.exec(
                    select(Program.id)
                    .where(Program.partner_id == partner_id)
                    .order_by(col(Program.created_at))
                    .limit(1)
                )
            ).first()
        if program_id is None:
            raise LookupError(f"partner {partner_id} has no program")
        return program_id

    async def price_class_id(self, program_id: uuid.UUID) -> uuid.UUID:
        """The price class of a program, priced over the whole catalog the first time."""
        cached = self._classes.get(program_id)
        if cached and time.monotonic() - cached[0] < PRICE_CLASS_TTL:
            return cached[1]

        async def find(session: AsyncSession) -> tuple[PriceClass, bool]:
            program = await session.get(Program, program_id)
            if program is None:
                raise LookupError(f"no program {program_id}")
            price_class = await price_class_for(session, program)
            return price_class, price_class.rates_as_of is None

        price_class, unpriced = await self.database.write(find)
        if unpriced:
            await self._price_everything(price_class.id)
        self._classes[program_id] = (time.monotonic(), price_class.id)
        return price_class.id

    async def refresh(
        self, names: list[str] | None = None, *, progress: Progress | None = None
    ) -> list[VendorRefresh]:
        results = await self.refresher.refresh(names, progress=progress)
        self.forget_version()
        return results

    async def health(self) -> list[VendorHealthRow]:
        async with self.database.session() as session:
            statuses = {s.vendor: s for s in (await session.exec(select(VendorStatus))).all()}
        rows = []
        for entry in self.vendors.health():
            status = statuses.get(entry["vendor"])
            failing = bool(status and status.consecutive_failures)
            rows.append(
                VendorHealthRow(
                    vendor=entry["vendor"],
                    healthy=entry["healthy"] and not failing,
                    filling=not failing and (status is None or status.last_success_at is None),
                    breaker=entry["breaker"],
                    last_catalog_refresh=status.last_success_at if status else None,
                    last_error=status.last_error if status else None,
                    consecutive_failures=status.consecutive_failures if status else 0,
                    products=status.products if status else 0,
                )
            )
        return rows

    async def start(self, stack: AsyncExitStack) -> None:
        """Refresh each vendor on its own schedule while the process runs."""
        for name in self.vendors.adapters:
            run_until_exit(stack, self._schedule(name), name=f"catalog:{name}")
        run_until_exit(stack, self._follow_rates(), name="catalog:rates")

    def interval(self, name: str, calls_last_refresh: int) -> float:
        """Seconds between refreshes: the vendor's setting, widened to fit its daily budget."""
        config = self.config.of(name)
        seconds = float(config.catalog_refresh_seconds)
        if config.daily_call_budget:
            seconds = max(seconds, 86_400 * max(calls_last_refresh, 1) / config.daily_call_budget)
        return seconds

    async def due_in(self, name: str) -> float:
        async with self.database.session() as session:
            status = await session.get(VendorStatus, name)
        if status is None or status.last_attempt_at is None:
            return 0.0
        interval = self.interval(name, status.calls_last_refresh)
        elapsed = (utcnow() - status.last_attempt_at).total_seconds()
        return max(0.0, interval - elapsed)

    async def _schedule(self, name: str) -> None:
        while True:
            await asyncio.sleep(await self.due_in(name))
            try:
                await self.refresh([name])
            except Exception:
                _logger.exception("catalog.schedule_failed", vendor=name)
                await asyncio.sleep(60)

    async def _follow_rates(self) -> None:
        """Reprice when the rates change (the rate book refreshes on its own schedule)."""
        while True:
            await asyncio.sleep(60)
            try:
                if await self.refresher.reprice_all():
                    self.forget_version()
            except FxError as exc:
                _logger.warning("catalog.reprice_failed", error=str(exc))
            except Exception:
                _logger.exception("catalog.reprice_failed")

    async def _price_everything(self, price_class_id: uuid.UUID) -> None:
        try:
            rates = await self.rates.current(utcnow())
        except FxError as exc:
            _logger.warning("catalog.unpriced_class", error=str(exc))
            return

        async def work(session: AsyncSession) -> None:
            price_class = (
                await session.exec(select(PriceClass).where(col(PriceClass.id) == price_class_id))
            ).one()
            if price_class.rates_as_of is None:
                await reprice(session, [price_class], rates)
                await bump_version(session, now=utcnow())

        await self.database.write(work)
        self.forget_version()
