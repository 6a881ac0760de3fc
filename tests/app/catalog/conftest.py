"""A catalog wired to seeded in-process sandboxes, with two programs pricing it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal

import pytest_asyncio
from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.catalog.models import PriceClass
from app.catalog.prices import price_class_for
from app.catalog.refresh import CatalogRefresher
from app.db import Database
from app.partners.models import Partner
from app.points.models import Program
from app.points.programs import create_program
from app.pricing.fx import EcbRateProvider
from app.pricing.rates import RateBook
from app.vendor_pool import VendorPool
from tests.vendors.conftest import fast_policy
from vendors.registry import VENDORS, VendorsConfig


@dataclass
class Catalog:
    database: Database
    vendors: VendorPool
    rates: RateBook
    refresher: CatalogRefresher
    usd: Program  # 1 point = 0.01 USD, no markup
    eur: Program  # 1 point = 0.005 EUR, 10 % markup

    async def price_class(self, program: Program) -> PriceClass:
        return await self.database.write(lambda session: price_class_for(session, program))

    async def count(self, model: type, *where: object) -> int:
        """Rows of ``model`` matching every condition in ``where``."""
        async with self.database.session() as session:
            statement = select(func.count()).select_from(model)
            for condition in where:
                statement = statement.where(condition)  # type: ignore[arg-type]
            return int((await session.exec(statement)).one())


async def _program(session: AsyncSession, currency: str, point_value: str, markup: str) -> Program:
    partner = Partner(slug=uuid.uuid4().hex[:12], name=f"{currency} partner")
    session.add(partner)
    await session.flush()
    return await create_program(
        session,
        partner_id=partner.id,
        name="Points",
        currency=currency,
        point_value=Decimal(point_value),
        markup_percent=Decimal(markup),
    )


@pytest_asyncio.fixture
async def catalog(database: Database) -> AsyncIterator[Catalog]:
    vendors = VendorPool.open(
        VendorsConfig(),
        policies={spec.name: fast_policy(spec.name) for spec in VENDORS},
        sandbox_rate_limits=False,  # the vendors' own rate limits are tested elsewhere
    )
    rates = RateBook(database, EcbRateProvider(), max_age_days=4, allow_stale_snapshot=True)
    usd = await database.write(lambda s: _program(s, "USD", "0.01", "0"))
    eur = await database.write(lambda s: _program(s, "EUR", "0.005", "10"))
    catalog = Catalog(
        database, vendors, rates, CatalogRefresher(database, vendors, rates), usd, eur
    )
    for program in (usd, eur):
        await catalog.price_class(program)
    yield catalog
    await vendors.aclose()
