"""The saga against the sandboxes: each vendor's happy path, failures, and a crash at every
step boundary compared with the crash-free run."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest

from app.redemption.models import RedemptionStatus
from tests.app.redemption.conftest import ADDRESS, Harness, crash_at, experience, recorder

pytestmark = pytest.mark.asyncio

START = 50_000  # alice's demo points

# One reward per vendor, each sold by that vendor alone, and what its order needs.
CASES: dict[str, tuple[tuple[str, str, str | None, str | None], dict[str, Any]]] = {
    "tango": (("Apple", "USD", "25", None), {}),
    "tremendous": (("Apple", "USD", "25", None), {}),
    "printful": (
        ("Printful", "USD", "16", "Ceramic Mug 11oz / White"),
        {"shipping_address": ADDRESS},
    ),
    "viator": (("Viator", "USD", "25", "Amsterdam Canal Cruise"), {"experience": None}),
    "change": (("ASPCA", "USD", None, None), {"amount": Decimal(10)}),
}


async def _reward(
    harness: Harness, vendor: str
) -> tuple[tuple[uuid.UUID, uuid.UUID], dict[str, Any]]:
    (brand, currency, face, name), details = CASES[vendor]
    ids = await harness.option(brand, currency, face, name=name)
    await harness.only(ids[1], vendor)
    details = dict(details)
    if "experience" in details:
        details["experience"] = experience()
    return ids, details


@pytest.mark.parametrize("vendor", list(CASES))
async def test_a_redemption_completes_and_spends_its_points(harness: Harness, vendor: str) -> None:
    ids, details = await _reward(harness, vendor)
    row = await harness.redeem(harness.process(), ids, **details)
    if row.status == RedemptionStatus.VENDOR_PENDING:
        await harness.recover(step=harness.settings.redemption.retry_max_seconds)
        row = await harness.get(row.id)
    assert row.status == RedemptionStatus.COMPLETED, row.failure_reason
    assert row.vendor == vendor
    assert harness.orders(vendor) == 1
    balance = await harness.balance()
    assert (balance.available, balance.held) == (START - row.points, 0)
    assert row.posted_points == row.points


@pytest.mark.parametrize("vendor", ["tango", "printful", "viator", "change"])
async def test_a_crash_at_any_step_boundary_ends_as_the_crash_free_run(
    harness: Harness, vendor: str
) -> None:
    """Every hook point the crash-free run reaches, in turn: the process dies there, another
    resumes once the lease lapses. Same end state and points as the crash-free run, and
    exactly one vendor order for the redemption."""
    ids, details = await _reward(harness, vendor)
    trace: list[str] = []
    oracle = await harness.redeem(harness.process(recorder(trace)), ids, **details)
    await harness.recover(step=harness.settings.redemption.retry_max_seconds)
    oracle = await harness.get(oracle.id)
    assert oracle.status == RedemptionStatus.COMPLETED, oracle.failure_reason
    assert "committed:reserve" in trace
    assert any(point.startswith("before:") for point in trace)
    spent = oracle.points
    for point in dict.fromkeys(trace):  # each distinct point, first occurrence
        crashed = await harness.redeem(harness.process(crash_at(point)), ids, **details)
        await harness.recover(step=harness.settings.redemption.retry_max_seconds)
        crashed = await harness.get(crashed.id)
        assert (crashed.status, crashed.posted_points, crashed.vendor) == (
            oracle.status,
            oracle.posted_points,
            oracle.vendor,
        ), point
        assert harness.orders(vendor, crashed.id) == 1, point
        spent += crashed.points
    balance = await harness.balance()
    assert (balance.available, balance.held) == (START - spent, 0)
