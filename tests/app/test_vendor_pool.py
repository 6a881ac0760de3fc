from __future__ import annotations

import httpx
import pytest

from app.vendor_pool import VendorPool
from vendors import OrderStatus, VendorAdapter
from vendors.registry import VENDORS, VendorsConfig

pytestmark = pytest.mark.asyncio


async def test_without_base_urls_every_vendor_is_its_in_process_sandbox() -> None:
    pool = VendorPool.open(VendorsConfig())
    try:
        assert set(pool.adapters) == {spec.name for spec in VENDORS}
        assert all(isinstance(a, VendorAdapter) for a in pool.adapters.values())
        assert pool.sandboxes is not None
        catalog = await pool.adapters["change"].fetch_catalog()
        assert catalog
        health = {entry["vendor"]: entry for entry in pool.health()}
        assert health["tango"] == {
            "vendor": "tango",
            "breaker": "closed",
            "healthy": True,
            "endpoint": "sandbox",
        }
    finally:
        await pool.aclose()


async def test_a_base_url_reaches_the_vendor_remotely_and_disabled_vendors_are_absent() -> None:
    config = VendorsConfig.model_validate(
        {
            "tango": {"base_url": "http://127.0.0.1:9/raas/v2"},
            "viator": {"enabled": False},
        }
    )
    pool = VendorPool.open(config)
    try:
        assert "viator" not in pool.adapters
        assert pool.sandboxes is not None
        assert "tango" not in pool.sandboxes.sandboxes
        health = {entry["vendor"]: entry["endpoint"] for entry in pool.health()}
        assert health["tango"] == "remote"
        assert health["tremendous"] == "sandbox"
    finally:
        await pool.aclose()


async def test_in_process_orders_complete() -> None:
    pool = VendorPool.open(VendorsConfig())
    try:
        from tests.vendors.conftest import order_for

        adapter = pool.adapters["tremendous"]
        product = (await adapter.fetch_catalog())[0]
        placed = await adapter.place_order(order_for(product, "poolOrder"))
        assert placed.status is OrderStatus.FULFILLED
    finally:
        await pool.aclose()


async def test_readyz_lists_vendor_circuits(client: httpx.AsyncClient) -> None:
    body = (await client.get("/readyz")).json()
    assert {entry["vendor"] for entry in body["vendors"]} == {spec.name for spec in VENDORS}
    assert all(entry["breaker"] == "closed" for entry in body["vendors"])


async def test_a_vendor_rate_set_in_settings_replaces_the_documented_one() -> None:
    config = VendorsConfig.model_validate({"tango": {"requests_per_second": 250}})
    pool = VendorPool.open(config)
    try:
        assert pool.adapters["tango"].http.policy.max_rate == 250  # type: ignore[attr-defined]
        assert pool.adapters["tremendous"].http.policy.max_rate == 9  # type: ignore[attr-defined]
    finally:
        await pool.aclose()
