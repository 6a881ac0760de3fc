"""Every adapter against its own sandbox, in process: the same behaviour for all five vendors,
including every fault the sandboxes inject."""

from __future__ import annotations

import httpx
import pytest
from pydantic import SecretStr

from tests.vendors.conftest import (
    VENDOR_NAMES,
    AdapterFactory,
    fast_policy,
    first_product,
    order_for,
)
from vendors import (
    AmbiguousOutcome,
    OrderStatus,
    PermanentVendorError,
    RateLimited,
    TransientVendorError,
    VendorAuthError,
    VendorUnavailable,
)
from vendors.registry import VendorsConfig, spec
from vendors.sandbox import SandboxHub

pytestmark = pytest.mark.asyncio

vendor = pytest.mark.parametrize("name", VENDOR_NAMES)


def _count(hub: SandboxHub, name: str) -> int:
    return len(hub[name].orders_summary())


@vendor
async def test_catalog_is_neutral_and_valid(name: str, make_adapter: AdapterFactory) -> None:
    products = await make_adapter(name).fetch_catalog()
    assert products
    for product in products:
        assert product.vendor == name
        assert product.name
        assert product.brand
        assert product.denominations or product.value_range
        for denomination in product.denominations:
            assert denomination.face_value > 0
        assert all(len(country) == 2 and country.isupper() for country in product.countries)


@vendor
async def test_order_replay_and_lookup(
    name: str, make_adapter: AdapterFactory, hub: SandboxHub
) -> None:
    adapter = make_adapter(name)
    request = order_for(await first_product(adapter), f"{name}Order1")
    placed = await adapter.place_order(request)
    assert placed.status is OrderStatus.FULFILLED
    assert placed.vendor == name
    assert placed.idempotency_key == request.idempotency_key
    assert placed.charged is not None
    assert placed.charged.amount > 0
    assert not placed.replayed

    again = await adapter.place_order(request)
    assert again.replayed
    assert again.vendor_reference == placed.vendor_reference
    assert _count(hub, name) == 1, "the same key never creates a second order"

    found = await adapter.lookup_order(request.idempotency_key)
    assert found is not None
    assert found.vendor_reference == placed.vendor_reference
    fetched = await adapter.get_order(placed.vendor_reference)
    assert fetched.status is OrderStatus.FULFILLED
    assert await adapter.lookup_order("neverUsedKey") is None


@vendor
async def test_delivery_data_arrives_for_fulfilled_orders(
    name: str, make_adapter: AdapterFactory
) -> None:
    adapter = make_adapter(name)
    request = order_for(await first_product(adapter), "deliveryKey")
    placed = await adapter.place_order(request)
    if name == "change":
        assert placed.delivery is None, "a donation has nothing to deliver"
        return
    replayed = await adapter.place_order(request)
    found = await adapter.lookup_order(request.idempotency_key)
    fetched = await adapter.get_order(placed.vendor_reference)
    assert found is not None
    # Replays, lookups and reads deliver too (Tremendous shows the link only once).
    for result in (placed, replayed, found, fetched):
        assert result.delivery is not None
        assert result.delivery.code or result.delivery.url


@vendor
async def test_async_completion(name: str, make_adapter: AdapterFactory, hub: SandboxHub) -> None:
    hub[name].set_faults(completion_delay_seconds=120)
    adapter = make_adapter(name)
    placed = await adapter.place_order(order_for(await first_product(adapter), "slowKey"))
    expected_pending = OrderStatus.FULFILLED if name == "change" else OrderStatus.ACCEPTED_PENDING
    assert placed.status is expected_pending, "a pledged donation is done from our side"
    hub[name].clock.advance(121)
    settled = await adapter.get_order(placed.vendor_reference)
    assert settled.status is OrderStatus.FULFILLED


@vendor
async def test_orders_that_fail_later(
    name: str, make_adapter: AdapterFactory, hub: SandboxHub
) -> None:
    hub[name].set_faults(completion_delay_seconds=60, fail_later_rate=1.0)
    adapter = make_adapter(name)
    placed = await adapter.place_order(order_for(await first_product(adapter), "doomedKey"))
    assert not placed.status.is_final or name == "change"
    hub[name].clock.advance(61)
    assert (await adapter.get_order(placed.vendor_reference)).status is OrderStatus.FAILED


@vendor
async def test_injected_server_errors(
    name: str, make_adapter: AdapterFactory, hub: SandboxHub
) -> None:
    adapter = make_adapter(name)
    product = await first_product(adapter)
    hub[name].set_faults(error_rate=1.0)
    with pytest.raises(TransientVendorError):
        await adapter.fetch_catalog()
    with pytest.raises((AmbiguousOutcome, TransientVendorError)):
        await adapter.place_order(order_for(product, "errKey"))
    assert _count(hub, name) == 0, "a 5xx before processing stores nothing"
    hub[name].set_faults(error_rate=0.0)
    assert (await adapter.place_order(order_for(product, "errKey"))).status.is_final


@vendor
async def test_injected_rate_limits(
    name: str, make_adapter: AdapterFactory, hub: SandboxHub
) -> None:
    hub[name].set_faults(rate_limit_rate=1.0)
    adapter = make_adapter(name, max_pause=0.5)
    with pytest.raises(RateLimited):
        await adapter.fetch_catalog()


@vendor
async def test_latency_beyond_the_timeout(
    name: str, make_adapter: AdapterFactory, hub: SandboxHub
) -> None:
    adapter = make_adapter(name, timeout=0.05, connect_timeout=0.05, retry_attempts=1)
    hub[name].set_faults(latency_ms=500)
    with pytest.raises(TransientVendorError, match="no complete answer"):
        await adapter.fetch_catalog()


@vendor
async def test_the_ambiguous_case_resolves_by_lookup_without_a_second_order(
    name: str, make_adapter: AdapterFactory, hub: SandboxHub
) -> None:
    """The sandbox stores the order and drops the response: the adapter says ambiguous, a
    lookup finds exactly one order, and a retry with the same key creates no second one."""
    adapter = make_adapter(name, timeout=0.2, connect_timeout=0.2, retry_attempts=1)
    request = order_for(await first_product(adapter), "lostKey")
    hub[name].set_faults(timeout_after_commit_rate=1.0, hang_seconds=30)
    if name == "viator":
        # Viator's adapter asks /bookings/status before it would book again: found.
        made = await adapter.place_order(request)
        assert made.idempotency_key == request.idempotency_key
    else:
        with pytest.raises(AmbiguousOutcome):
            await adapter.place_order(request)
    hub[name].set_faults(timeout_after_commit_rate=0.0)
    assert _count(hub, name) == 1
    found = await adapter.lookup_order(request.idempotency_key)
    assert found is not None
    retried = await adapter.place_order(request)
    assert retried.vendor_reference == found.vendor_reference
    assert retried.replayed
    assert _count(hub, name) == 1


@vendor
async def test_an_order_that_may_exist_stays_ambiguous_through_later_refusals(
    name: str, make_adapter: AdapterFactory, hub: SandboxHub
) -> None:
    """Stored, its answer lost, then 429s: the order may exist (it does), so the adapter says
    ambiguous, never "did not act" (which would let the saga refund a delivered reward)."""
    adapter = make_adapter(name, timeout=0.2, connect_timeout=0.2, retry_attempts=3, max_pause=0.5)
    request = order_for(await first_product(adapter), "thenLimited")
    hub[name].set_faults(
        next_calls=["drop_after_commit", "rate_limit", "rate_limit"], hang_seconds=30
    )
    with pytest.raises(AmbiguousOutcome):
        await adapter.place_order(request)
    assert _count(hub, name) == 1
    # Another process (this one waits out the vendor's Retry-After) finds it by its key.
    found = await make_adapter(name).lookup_order(request.idempotency_key)
    assert found is not None


@vendor
async def test_disappeared_products(
    name: str, make_adapter: AdapterFactory, hub: SandboxHub
) -> None:
    adapter = make_adapter(name)
    products = await adapter.fetch_catalog()
    gone = products[0]
    hub[name].set_faults(hidden_products=[gone.vendor_product_id])
    remaining = await adapter.fetch_catalog()
    assert gone.vendor_product_id not in {p.vendor_product_id for p in remaining}
    with pytest.raises(PermanentVendorError):
        await adapter.place_order(order_for(gone, "goneKey"))
    assert _count(hub, name) == 0


@vendor
async def test_catalog_churn_is_seeded(
    name: str, make_adapter: AdapterFactory, hub: SandboxHub
) -> None:
    adapter = make_adapter(name)
    full = {p.vendor_product_id for p in await adapter.fetch_catalog()}
    hub[name].set_faults(product_churn=0.5)
    first = {p.vendor_product_id for p in await adapter.fetch_catalog()}
    hub[name].set_faults(product_churn=0.5)
    second = {p.vendor_product_id for p in await adapter.fetch_catalog()}
    assert first == second, "the same seed loses the same products"
    assert first < full
    assert len(first) <= len(full) * 0.75


@vendor
async def test_wrong_credentials_make_the_adapter_unhealthy(
    name: str, make_adapter: AdapterFactory
) -> None:
    config = VendorsConfig().of(name)
    secret_field = next(
        name for name, field in type(config).model_fields.items() if field.annotation is SecretStr
    )
    wrong = config.model_copy(update={secret_field: SecretStr("wrong")})
    with pytest.raises(VendorAuthError):
        await make_adapter(name, vendor_config=wrong, breaker_threshold=5).fetch_catalog()


@vendor
async def test_an_open_circuit_stops_calling_the_vendor(
    name: str, make_adapter: AdapterFactory, hub: SandboxHub
) -> None:
    adapter = make_adapter(name, breaker_threshold=2, retry_attempts=1)
    hub[name].set_faults(error_rate=1.0)
    for _ in range(2):
        with pytest.raises(TransientVendorError):
            await adapter.fetch_catalog()
    assert adapter.breaker_state() == "opened"
    calls = hub[name].calls
    with pytest.raises(VendorUnavailable):
        await adapter.fetch_catalog()
    assert hub[name].calls == calls


@vendor
async def test_fault_controls_over_http(name: str, hub: SandboxHub) -> None:
    async with httpx.AsyncClient(
        transport=hub.transport(name), base_url="http://sandbox"
    ) as client:
        put = await client.put("/_sandbox/faults", json={"error_rate": 0.25, "latency_ms": 5})
        assert put.status_code == 200
        read = (await client.get("/_sandbox/faults")).json()
        assert (read["error_rate"], read["latency_ms"]) == (0.25, 5)
        patch = await client.patch("/_sandbox/faults", json={"latency_ms": 0})
        assert (patch.json()["error_rate"], patch.json()["latency_ms"]) == (0.25, 0)
        bad = await client.put("/_sandbox/faults", json={"error_rate": 2})
        assert bad.status_code == 422
        unknown = await client.put("/_sandbox/faults", json={"chaos": True})
        assert unknown.status_code == 422
        assert (await client.post("/_sandbox/clock", json={"advance_seconds": 5})).is_success
        assert (await client.get("/_sandbox/orders")).json() == {"count": 0, "orders": []}
        assert (await client.post("/_sandbox/reset")).is_success
        assert (await client.get("/_sandbox/faults")).json()["error_rate"] == 0


@vendor
async def test_runs_are_reproducible(name: str) -> None:
    """Two hubs with one seed give the same catalog and inject the same faults in order."""
    runs = []
    for _ in range(2):
        hub = SandboxHub(seed=11, rate_limits=False)
        hub[name].set_faults(error_rate=0.5)
        adapter = spec(name).adapter(
            VendorsConfig().of(name),
            base_url="http://sandbox",
            transport=hub.transport(name),
            policy=fast_policy(name, retry_attempts=1),
        )
        outcomes = []
        for _ in range(12):
            try:
                outcomes.append(await adapter.lookup_order("neverUsed") is None)
            except TransientVendorError:
                outcomes.append(False)
        await adapter.aclose()
        runs.append((sorted(hub[name].product_ids()), outcomes))
    assert runs[0] == runs[1]
    assert True in runs[0][1]
    assert False in runs[0][1]
