"""Refreshing the catalog: every vendor fetched concurrently, each stored as it arrives.

Each vendor's fetch runs under its own deadline; a vendor that fails or times out keeps its
last good snapshot (its rows are untouched) and the failure is recorded in `VendorStatus`,
which ops read as `vendorHealth`. A vendor that succeeds replaces its part of the snapshot in one
transaction, which also reprices the rewards it touched in every price class and bumps the
catalog version. Stores run as fetches complete, so a slow vendor delays only its own rows.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app._types import utcnow
from app.catalog.models import PriceClass, VendorStatus
from app.catalog.prices import reprice
from app.catalog.snapshot import bump_version, store_vendor_catalog
from app.db import Database, insert_ignoring_conflicts
from app.log import get_logger
from app.pricing.fx import FxError
from app.pricing.rates import RateBook
from app.vendor_pool import VendorPool
from vendors import Product, VendorError

__all__ = ["CATALOG_DEADLINE", "CatalogRefresher", "VendorRefresh"]

# How long one vendor's whole catalog fetch may take (pages, rate limits and retries included).
CATALOG_DEADLINE = timedelta(minutes=5)

_logger = get_logger(__name__)


@dataclass(frozen=True)
class VendorRefresh:
    vendor: str
    ok: bool
    products: int
    seconds: float
    calls: int
    error: str | None = None


Progress = Callable[[VendorRefresh], None]


class CatalogRefresher:
    def __init__(
        self,
        database: Database,
        vendors: VendorPool,
        rates: RateBook,
        *,
        deadline: timedelta = CATALOG_DEADLINE,
    ) -> None:
        self.database = database
        self.vendors = vendors
        self.rates = rates
        self.deadline = deadline

    async def refresh(
        self, names: Sequence[str] | None = None, *, progress: Progress | None = None
    ) -> list[VendorRefresh]:
        """Refresh ``names`` (default: every vendor) concurrently; one result per vendor."""
        chosen = list(names) if names is not None else list(self.vendors.adapters)

        async def one(name: str) -> VendorRefresh:
            result = await self._refresh_one(name)
            if progress is not None:
                progress(result)
            return result

        return list(await asyncio.gather(*(one(name) for name in chosen)))

    async def reprice_all(self, now: datetime | None = None) -> int:
        """Reprice every class whose prices came from other rates than the current ones."""
        rates = await self.rates.current(now or utcnow())

        async def work(session: AsyncSession) -> int:
            stale = [
                c
                for c in (await session.exec(select(PriceClass))).all()
                if (c.rates_source, c.rates_as_of) != (rates.source, rates.as_of)
            ]
            if stale:
                await reprice(session, stale, rates)
                await bump_version(session, now=utcnow())
            return len(stale)

        return await self.database.write(work)

    async def _refresh_one(self, name: str) -> VendorRefresh:
        adapter = self.vendors.adapters[name]
        started = time.monotonic()
        calls_before = _calls(adapter)
        try:
            async with asyncio.timeout(self.deadline.total_seconds()):
                products = await adapter.fetch_catalog()
        except (VendorError, TimeoutError) as exc:
            error = str(exc) or f"no catalog within {self.deadline.total_seconds():.0f} s"
            result = VendorRefresh(
                name, False, 0, time.monotonic() - started, _calls(adapter) - calls_before, error
            )
            await self._record(result)
            _logger.warning("catalog.refresh_failed", vendor=name, error=error)
            return result
        await self.store(name, products)
        result = VendorRefresh(
            name, True, len(products), time.monotonic() - started, _calls(adapter) - calls_before
        )
        await self._record(result)
        _logger.info(
            "catalog.refreshed", vendor=name, products=len(products), seconds=result.seconds
        )
        return result

    async def store(self, name: str, products: Sequence[Product]) -> None:
        """Make ``name``'s part of the snapshot what ``products`` say, priced in every class."""
        now = utcnow()
        try:
            rates = await self.rates.current(now)
        except FxError as exc:
            rates = None
            _logger.warning("catalog.unpriced", vendor=name, error=str(exc))

        async def work(session: AsyncSession) -> None:
            touched = await store_vendor_catalog(session, name, products, now=now)
            classes = (await session.exec(select(PriceClass))).all()
            if rates is not None and classes:
                await reprice(session, classes, rates, touched)
            await bump_version(session, now=now)

        await self.database.write(work)

    async def _record(self, result: VendorRefresh) -> None:
        now = utcnow()

        async def work(session: AsyncSession) -> None:
            await insert_ignoring_conflicts(
                session,
                VendorStatus,
                [
                    {
                        "vendor": result.vendor,
                        "consecutive_failures": 0,
                        "products": 0,
                        "calls_last_refresh": 0,
                    }
                ],
            )
            status = await session.get(VendorStatus, result.vendor)
            assert status is not None
            status.last_attempt_at = now
            status.calls_last_refresh = result.calls
            if result.ok:
                status.last_success_at = now
                status.last_error = None
                status.consecutive_failures = 0
                status.products = result.products
            else:
                status.last_error = (result.error or "")[:1000]
                status.consecutive_failures += 1

        await self.database.write(work)


def _calls(adapter: object) -> int:
    http = getattr(adapter, "http", None)
    return int(getattr(http, "calls", 0))
