"""The services one gateway process runs with, opened and closed together: the database, the
vendor adapters, the rate book, the catalog. The server's lifespan and the CLI both use this."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

from app import background
from app.catalog.service import CatalogService
from app.db import Database
from app.pricing.fx import EcbRateProvider
from app.pricing.rates import RateBook
from app.redemption.service import RedemptionService
from app.settings import Settings
from app.vendor_pool import VendorPool
from vendors._http import HttpPolicy

__all__ = ["Services", "open_services"]


@dataclass(frozen=True)
class Services:
    database: Database
    vendors: VendorPool
    rates: RateBook
    redemptions: RedemptionService
    catalog: CatalogService


@asynccontextmanager
async def open_services(
    settings: Settings,
    *,
    jobs: bool = False,
    vendor_policies: dict[str, HttpPolicy] | None = None,
    sandbox_rate_limits: bool = True,
) -> AsyncIterator[Services]:
    """Everything opened; with ``jobs``, the background jobs (expiry, rates, catalog, the
    redemption worker) run too."""
    async with AsyncExitStack() as stack:
        database = Database.from_settings(settings)
        stack.push_async_callback(database.dispose)
        vendors = VendorPool.open(
            settings.vendors,
            policies=vendor_policies,
            sandbox_rate_limits=sandbox_rate_limits and settings.vendors.sandbox_rate_limits,
        )
        stack.push_async_callback(vendors.aclose)
        rates = RateBook(
            database,
            EcbRateProvider(settings.rates_location),
            max_age_days=settings.fx.max_age_days,
            allow_stale_snapshot=settings.allow_stale_snapshot,
        )
        catalog = CatalogService(database, vendors, rates, settings.vendors)
        redemptions = RedemptionService(database, vendors, rates, settings)
        await redemptions.open(stack, worker=jobs and settings.redemption.worker)
        if jobs:
            await background.start(
                stack,
                database=database,
                rates=rates,
                sweep_seconds=settings.expiry_sweep_seconds,
                rates_seconds=settings.fx.refresh_seconds,
            )
            if settings.catalog_schedule:
                await catalog.start(stack)
        yield Services(database, vendors, rates, redemptions, catalog)
