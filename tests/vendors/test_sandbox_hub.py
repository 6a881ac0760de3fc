"""All sandboxes in one app: over real HTTP an adapter behaves exactly as in process."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn

from tests.vendors.conftest import fast_policy, order_for
from vendors import OrderStatus
from vendors.registry import VENDORS, VendorsConfig, spec
from vendors.sandbox import SandboxHub


@pytest.fixture
def served_hub() -> Iterator[tuple[SandboxHub, str]]:
    hub = SandboxHub(seed=5, rate_limits=False)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(hub.app, host="127.0.0.1", port=port, log_config=None, lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "the sandbox server did not start"
    yield hub, f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.mark.asyncio
@pytest.mark.parametrize("name", [s.name for s in VENDORS])
async def test_adapters_work_against_the_served_hub(
    served_hub: tuple[SandboxHub, str], name: str
) -> None:
    hub, root = served_hub
    vendor = spec(name)
    adapter = vendor.adapter(
        VendorsConfig().of(name),
        base_url=f"{root}{vendor.sandbox_root}",
        policy=fast_policy(name, timeout=5, connect_timeout=5),
    )
    twin = SandboxHub(seed=5, rate_limits=False)
    in_process = vendor.adapter(
        VendorsConfig().of(name),
        base_url="http://sandbox",
        transport=twin.transport(name),
        policy=fast_policy(name),
    )
    try:
        products = await adapter.fetch_catalog()
        assert products == await in_process.fetch_catalog(), "the same catalog both ways"
        placed = await adapter.place_order(order_for(products[0], f"http{name}"))
        assert placed.status is OrderStatus.FULFILLED
        assert (await adapter.place_order(order_for(products[0], f"http{name}"))).replayed
    finally:
        await adapter.aclose()
        await in_process.aclose()
    assert len(hub[name].orders_summary()) == 1


@pytest.mark.asyncio
async def test_fault_controls_under_sandbox(served_hub: tuple[SandboxHub, str]) -> None:
    hub, root = served_hub
    async with httpx.AsyncClient(base_url=root) as client:
        index = (await client.get("/_sandbox")).json()
        assert {name: info["root"] for name, info in index.items()} == {
            s.name: s.sandbox_root for s in VENDORS
        }
        put = await client.put("/_sandbox/tango/faults", json={"error_rate": 1.0})
        assert put.json()["error_rate"] == 1.0
        assert hub["tango"].faults.error_rate == 1.0
        also = await client.get("/tango/raas/v2/_sandbox/faults")
        assert also.json()["error_rate"] == 1.0
        auth = ("rewardgate-sandbox", "sandbox-platform-key")
        failing = await client.get("/tango/raas/v2/catalogs", auth=auth)
        assert failing.status_code == 503
        assert failing.json()["i18nKey"] == "503.501"
        assert (await client.post("/_sandbox/reset")).json() == {
            "reset": sorted(s.name for s in VENDORS)
        }
        assert (await client.get("/tango/raas/v2/catalogs", auth=auth)).status_code == 200
