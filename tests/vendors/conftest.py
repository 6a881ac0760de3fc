"""Fixtures for vendor tests: seeded sandboxes and adapters wired to them in process."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from typing import Any

import pytest
import pytest_asyncio

from vendors import (
    Address,
    BookingAnswer,
    ExperienceDetails,
    OrderRequest,
    Product,
    Recipient,
    RewardKind,
    VendorAdapter,
)
from vendors._http import HttpPolicy
from vendors.registry import VENDORS, VendorsConfig, spec
from vendors.sandbox import SandboxHub

VENDOR_NAMES = [s.name for s in VENDORS]
AdapterFactory = Callable[..., VendorAdapter]


def fast_policy(name: str, **changes: Any) -> HttpPolicy:
    """The vendor's policy with test-sized timeouts and waits (the logic is unchanged)."""
    base: HttpPolicy = spec(name).adapter.default_policy  # type: ignore[attr-defined]
    settings: dict[str, Any] = {
        "timeout": 1.0,
        "connect_timeout": 1.0,
        "max_rate": 1000,
        "rate_period": 1.0,
        "retry_base_wait": 0.001,
        "retry_max_wait": 0.01,
        "breaker_threshold": 1000,
    }
    return base.replace(**{**settings, **changes})


@pytest.fixture
def hub() -> SandboxHub:
    """Every sandbox, seeded, without the vendors' rate limits (tests of those enable them)."""
    return SandboxHub(seed=7, rate_limits=False)


@pytest_asyncio.fixture
async def make_adapter(hub: SandboxHub) -> AsyncIterator[AdapterFactory]:
    made: list[VendorAdapter] = []
    config = VendorsConfig()

    def make(name: str, *, vendor_config: Any = None, **policy: Any) -> VendorAdapter:
        extra: dict[str, Any] = {}
        if name == "tango":
            extra["in_process_wait"] = policy.pop("in_process_wait", 0.01)
        adapter = spec(name).adapter(
            vendor_config or config.of(name),
            base_url=f"http://{name}.sandbox.invalid",
            transport=hub.transport(name),
            policy=fast_policy(name, **policy),
            **extra,
        )
        made.append(adapter)
        return adapter

    yield make
    for adapter in made:
        await adapter.aclose()


def travel_date(days: int = 30) -> str:
    return (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=days)).isoformat()


def experience_answers(travelers: int) -> tuple[BookingAnswer, ...]:
    """Answers to the sandbox's booking questions a party of ``travelers`` must give itself
    (the lead traveller's names and age bands come from the request)."""
    names = [
        BookingAnswer(question, answer, traveler)
        for traveler in range(2, travelers + 1)
        for question, answer in (
            ("FULL_NAMES_FIRST", f"Guest{traveler}"),
            ("FULL_NAMES_LAST", "Byron"),
        )
    ]
    return (*names, BookingAnswer("PICKUP_POINT", "Hotel lobby, 8 am"))


def order_for(product: Product, key: str, *, amount: Decimal | None = None) -> OrderRequest:
    """A valid order for ``product`` under ``key``, with what its kind requires."""
    if amount is None:
        if product.denominations:
            amount = product.denominations[0].face_value
        else:
            assert product.value_range is not None
            amount = max(product.value_range.min_value, Decimal(10))
    return OrderRequest(
        idempotency_key=key,
        product_id=product.vendor_product_id,
        amount=amount,
        currency=product.currency,
        recipient=Recipient("Ada Lovelace", "ada@example.com", phone="+44 20 7946 0000"),
        shipping_address=(
            Address("Ada Lovelace", "12 Analytical Way", "London", "N1 9GU", "GB")
            if product.kind is RewardKind.MERCHANDISE
            else None
        ),
        experience=(
            ExperienceDetails(travel_date(), 1, answers=experience_answers(1))
            if product.kind is RewardKind.EXPERIENCE
            else None
        ),
    )


async def first_product(
    adapter: VendorAdapter, predicate: Callable[[Product], bool] | None = None
) -> Product:
    for product in await adapter.fetch_catalog():
        if predicate is None or predicate(product):
            return product
    raise AssertionError("no product matches")


Await = Callable[[], Awaitable[Any]]
