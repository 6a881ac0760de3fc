"""The adapter base's bounded fan-out for detail pages."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from functools import partial

import pytest
from starlette.types import Receive, Scope, Send

from tests.vendors.conftest import AdapterFactory
from vendors._adapter import FETCH_CONCURRENCY, HttpAdapter
from vendors.errors import TransientVendorError
from vendors.sandbox import SandboxHub

pytestmark = pytest.mark.asyncio


class _Probe:
    def __init__(self) -> None:
        self.in_flight = 0
        self.most = 0
        self.cancelled = 0

    async def call(self, value: int, *, fail: bool = False) -> int:
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        try:
            await asyncio.sleep(0.05 if fail else 0.01 * (value % 3))
            if fail:
                raise TransientVendorError("probe", f"call {value} failed")
            await asyncio.sleep(0.2 if value > FETCH_CONCURRENCY else 0)
            return value * 10
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        finally:
            self.in_flight -= 1


def _adapter(make_adapter: AdapterFactory) -> HttpAdapter[object]:  # type: ignore[type-var]
    adapter = make_adapter("printful")
    assert isinstance(adapter, HttpAdapter)
    return adapter


async def test_results_come_back_in_order_with_bounded_concurrency(
    make_adapter: AdapterFactory,
) -> None:
    probe = _Probe()
    calls: list[Callable[[], Awaitable[int]]] = [partial(probe.call, n) for n in range(30)]

    results = await _adapter(make_adapter).fetch_each(calls)

    assert results == [n * 10 for n in range(30)]
    assert probe.most == FETCH_CONCURRENCY


async def test_the_first_failure_is_raised_as_itself_and_the_rest_cancelled(
    make_adapter: AdapterFactory,
) -> None:
    probe = _Probe()
    calls: list[Callable[[], Awaitable[int]]] = [
        partial(probe.call, n, fail=n == 2) for n in range(FETCH_CONCURRENCY + 4)
    ]

    with pytest.raises(TransientVendorError, match="call 2 failed"):
        await _adapter(make_adapter).fetch_each(calls)

    assert probe.in_flight == 0
    assert probe.cancelled > 0


async def test_printful_fetches_its_detail_pages_concurrently(
    make_adapter: AdapterFactory, hub: SandboxHub
) -> None:
    sandbox = hub["printful"]
    sandbox.faults.latency_ms = 20
    inner, seen = sandbox.app, _Probe()

    async def counting(scope: Scope, receive: Receive, send: Send) -> None:
        seen.in_flight += 1
        seen.most = max(seen.most, seen.in_flight)
        try:
            await inner(scope, receive, send)
        finally:
            seen.in_flight -= 1

    sandbox.app = counting  # type: ignore[assignment]
    products = await make_adapter("printful").fetch_catalog()

    assert products
    assert seen.most == FETCH_CONCURRENCY
