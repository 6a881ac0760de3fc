# mypy: disable-error-code="attr-defined, unused-ignore, assignment, type-var"
"""Review finding: an order placed whose answer cannot be stored loops forever, never NEEDS_OPS."""

from __future__ import annotations

import httpx
import orjson
import pytest

from app.redemption.models import RedemptionStatus
from tests.app.redemption.conftest import Harness
from tests.app.redemption.test_saga import _reward

pytestmark = pytest.mark.asyncio


async def test_an_answer_that_cannot_be_stored_ends_in_needs_ops(harness: Harness) -> None:
    """Tango charges 25.1234567 (7 decimals: exchange-rate arithmetic). charged_amount is
    NUMERIC(20, 6): the commit after the order raises ValueError, the runner logs and
    drops the lease, and every later run finds the order and fails the same way. The
    deadline is only checked in _later, so it never reaches NEEDS_OPS; the hold stays."""
    ids, details = await _reward(harness, "tango")
    adapter = harness.services.vendors.adapters["tango"]
    request = adapter.http.request

    async def seven_decimals(method, path, **kwargs):  # type: ignore[no-untyped-def]
        response = await request(method, path, **kwargs)
        if path.startswith("/orders") and response.is_success:
            body = orjson.loads(response.content)
            for order in body.get("orders", [body]):
                if order.get("amountCharged"):
                    order["amountCharged"]["total"] = "25.1234567"
            return httpx.Response(
                response.status_code,
                content=orjson.dumps(body),
                headers={"content-type": "application/json"},
                request=response.request,
            )
        return response

    adapter.http.request = seven_decimals  # type: ignore[method-assign]
    try:
        row = await harness.redeem(harness.process(), ids, **details)
        await harness.recover(rounds=30, step=3_600 * 6)  # well past the 72 h deadline
    finally:
        adapter.http.request = request  # type: ignore[method-assign]
    row = await harness.get(row.id)
    assert harness.orders("tango", row.id) == 1
    assert row.status in (RedemptionStatus.COMPLETED, RedemptionStatus.NEEDS_OPS), (
        f"{row.status} after {row.runs} runs, {row.deadline_at} deadline, "
        f"next_run_at {row.next_run_at}: retried forever, invisible to ops"
    )
