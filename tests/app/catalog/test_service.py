"""Background refresh schedules: each vendor's interval, widened to fit a daily call budget."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.catalog.service import CatalogService
from tests.app.catalog.conftest import Catalog
from vendors.printful.config import PrintfulConfig
from vendors.registry import VendorsConfig

DAY = 86_400


def _service(catalog: Catalog | None = None, **printful: Any) -> CatalogService:
    config = VendorsConfig(printful=PrintfulConfig(**printful))
    if catalog is None:
        return CatalogService(None, None, None, config)  # type: ignore[arg-type]
    return CatalogService(catalog.database, catalog.vendors, catalog.rates, config)


def test_without_a_budget_the_vendors_own_interval_applies() -> None:
    service = _service(catalog_refresh_seconds=900)
    assert service.interval("printful", calls_last_refresh=25) == 900


def test_a_daily_budget_spaces_refreshes_by_what_the_last_one_cost() -> None:
    service = _service(catalog_refresh_seconds=3_600, daily_call_budget=500)
    # 25 calls a refresh, 500 a day: at most 20 refreshes, one every 72 minutes.
    assert service.interval("printful", calls_last_refresh=25) == 4_320
    # Cheap refreshes: the vendor's own interval is the longer one.
    assert service.interval("printful", calls_last_refresh=2) == 3_600


@given(
    calls=st.integers(min_value=0, max_value=5_000),
    budget=st.integers(min_value=1, max_value=100_000),
    every=st.integers(min_value=60, max_value=7 * DAY),
)
def test_a_day_of_refreshes_never_exceeds_the_budget(calls: int, budget: int, every: int) -> None:
    service = _service(catalog_refresh_seconds=every, daily_call_budget=budget)
    refreshes_a_day = DAY / service.interval("printful", calls_last_refresh=calls)
    assert refreshes_a_day * calls <= budget * (1 + 1e-9)


@pytest.mark.asyncio
async def test_a_vendor_is_due_at_once_then_after_its_interval(catalog: Catalog) -> None:
    service = _service(catalog, catalog_refresh_seconds=600, daily_call_budget=500)
    assert await service.due_in("printful") == 0, "never refreshed: due now"

    (result,) = await service.refresh(["printful"])

    due = await service.due_in("printful")
    interval = service.interval("printful", calls_last_refresh=result.calls)
    assert result.ok
    assert result.calls > 1
    assert interval == max(600, DAY * result.calls / 500)
    assert interval - 5 < due <= interval
