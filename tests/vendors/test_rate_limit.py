"""Rate limits against the sandboxes' documented limits (Tango: 1 transaction per second)."""

from __future__ import annotations

import asyncio

import pytest

from tests.vendors.conftest import fast_policy
from vendors.registry import VendorsConfig
from vendors.sandbox import SandboxHub
from vendors.tango import TangoAdapter

pytestmark = pytest.mark.asyncio


async def test_a_burst_never_exceeds_tangos_limit_and_all_calls_succeed() -> None:
    hub = SandboxHub(seed=3, names=("tango",))  # enforces Tango's documented 1 TPS
    adapter = TangoAdapter(
        VendorsConfig().tango,
        base_url="http://tango.sandbox",
        transport=hub.transport("tango"),
        # The adapter's own Tango policy, with short timeouts: its limiter is the one under test.
        policy=TangoAdapter.default_policy.replace(timeout=5, connect_timeout=5),
    )
    try:
        results = await asyncio.gather(*(adapter.lookup_order(f"burst{i}") for i in range(4)))
    finally:
        await adapter.aclose()
    assert results == [None] * 4, "every call succeeded"
    assert hub["tango"].over_limit == 0, "the sandbox never had to refuse a call"
    assert hub["tango"].calls == 4, "no call needed a retry"


async def test_an_adapter_faster_than_the_vendor_honours_retry_after() -> None:
    hub = SandboxHub(seed=3, names=("tango",))
    adapter = TangoAdapter(
        VendorsConfig().tango,
        base_url="http://tango.sandbox",
        transport=hub.transport("tango"),
        policy=fast_policy("tango", retry_attempts=5),
    )
    try:
        results = await asyncio.gather(*(adapter.lookup_order(f"fast{i}") for i in range(3)))
    finally:
        await adapter.aclose()
    assert results == [None] * 3
    assert hub["tango"].over_limit >= 1, "the burst did hit the vendor's limit"
    assert hub["tango"].calls - hub["tango"].over_limit == 3
