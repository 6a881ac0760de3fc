# mypy: disable-error-code="attr-defined, unused-ignore, assignment, type-var"
"""Review finding: a vendor body that does not fit its model is copied, delivery code and
all, into the redemption's history and failure reason (plaintext, shown to ops)."""

from __future__ import annotations

import httpx
import orjson
import pytest

from app.ops.actions import history
from app.redemption.models import RedemptionStatus
from tests.app.redemption.conftest import Harness
from tests.app.redemption.test_saga import _reward

pytestmark = pytest.mark.asyncio


async def test_a_malformed_vendor_answer_never_stores_the_code_in_plaintext(
    harness: Harness,
) -> None:
    ids, details = await _reward(harness, "tango")
    service = harness.process()
    adapter = service.vendors.adapters["tango"]
    request = adapter.http.request
    seen: list[str] = []

    async def malformed(method, path, **kwargs):  # type: ignore[no-untyped-def]
        response = await request(method, path, **kwargs)
        if method == "POST" and path == "/orders" and not seen:
            body = orjson.loads(response.content)
            seen.extend(c["value"] for c in body["reward"]["credentialList"])
            body.pop("status")  # one field the model requires is missing
            return httpx.Response(
                response.status_code,
                content=orjson.dumps(body),
                headers={"content-type": "application/json"},
                request=response.request,
            )
        return response

    adapter.http.request = malformed  # type: ignore[method-assign]
    try:
        row = await harness.redeem(service, ids, **details)
    finally:
        adapter.http.request = request  # type: ignore[method-assign]
    assert seen, "the vendor sent a code"
    stored = [row.failure_reason or ""] + [
        (e.detail or "") + (e.outcome or "") for e in (await history(service, row.id)).events
    ]
    leaked = [text for text in stored if any(code in text for code in seen)]
    assert row.status == RedemptionStatus.VENDOR_PENDING
    assert leaked == [], f"the delivery code stored in plaintext: {leaked[0][:300]}"
