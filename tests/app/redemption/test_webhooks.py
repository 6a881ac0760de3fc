"""Vendor webhooks: verified where the vendor signs, recorded once, and only a wake-up: the
redemption they name becomes due now and the worker asks the vendor."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from datetime import timedelta
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import func, insert
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.redemption.models import Redemption, RedemptionStatus, VendorWebhook
from app.redemption.webhooks import PRUNE_BATCH, UnknownVendor, receive
from app.redemption.worker import Worker
from tests.app.redemption.conftest import Harness
from tests.app.redemption.test_saga import _reward
from vendors.printful.config import SANDBOX_WEBHOOK_SECRET
from vendors.tremendous.config import SANDBOX_WEBHOOK_KEY
from vendors.webhooks import WebhookRefused

pytestmark = pytest.mark.asyncio


def tremendous(
    body: dict[str, Any], key: str = SANDBOX_WEBHOOK_KEY
) -> tuple[dict[str, str], bytes]:
    raw = orjson.dumps(body)
    signature = hmac.new(key.encode(), raw, hashlib.sha256).hexdigest()
    return {"tremendous-webhook-signature": f"sha256={signature}"}, raw


def printful(body: dict[str, Any]) -> tuple[dict[str, str], bytes]:
    raw = orjson.dumps(body)
    key = bytes.fromhex(SANDBOX_WEBHOOK_SECRET)
    return {"x-pf-webhook-signature": hmac.new(key, raw, hashlib.sha256).hexdigest()}, raw


async def _pending(harness: Harness, vendor: str) -> Redemption:
    ids, details = await _reward(harness, vendor)
    harness.sandbox(vendor).set_faults(completion_delay_seconds=3_600)
    row = await harness.redeem(harness.process(), ids, **details)
    assert row.status == RedemptionStatus.VENDOR_PENDING
    assert row.next_run_at is not None
    assert row.next_run_at > harness.clock()
    return row


async def test_a_signed_webhook_makes_its_order_due_now_once(harness: Harness) -> None:
    row = await _pending(harness, "tremendous")
    service = harness.process()
    event = {
        "event": "REWARDS.DELIVERY.SUCCEEDED",
        "uuid": str(uuid.uuid4()),
        "payload": {"resource": {"id": row.vendor_reference, "type": "orders"}},
    }
    headers, body = tremendous(event)
    first = await receive(service, "tremendous", headers, body)
    assert (first.duplicate, first.woken) == (False, 1)
    assert (await harness.get(row.id)).next_run_at == harness.clock()
    again = await receive(service, "tremendous", headers, body)
    assert (again.duplicate, again.woken) == (True, 0)
    # The worker asks the vendor; the webhook's body decided nothing.
    harness.sandbox("tremendous").clock.advance(3_601)
    assert await Worker(service).run_once() == [row.id]
    await service.drain(30)
    assert (await harness.get(row.id)).status == RedemptionStatus.COMPLETED


async def test_a_webhook_that_is_not_the_vendors_changes_nothing(harness: Harness) -> None:
    row = await _pending(harness, "tremendous")
    event = {"uuid": "e1", "payload": {"resource": {"id": row.vendor_reference, "type": "orders"}}}
    for headers, body in (
        tremendous(event, key="not-the-key"),
        ({}, orjson.dumps(event)),
        (tremendous(event)[0], orjson.dumps({**event, "uuid": "e2"})),  # body changed
    ):
        with pytest.raises(WebhookRefused):
            await receive(harness.process(), "tremendous", headers, body)
    assert (await harness.get(row.id)).next_run_at == row.next_run_at


async def test_printful_webhooks_are_signed_with_the_hex_secret(harness: Harness) -> None:
    row = await _pending(harness, "printful")
    event = {
        "type": "package_shipped",
        "data": {"order": {"id": row.vendor_reference, "external_id": row.vendor_key}},
    }
    receipt = await receive(harness.process(), "printful", *printful(event))
    assert receipt.woken == 1
    with pytest.raises(WebhookRefused):
        await receive(harness.process(), "printful", *tremendous(event))


async def test_unsigned_tango_events_are_hints_by_our_key(harness: Harness) -> None:
    row = await _pending(harness, "tango")
    event = {
        "eventId": "ev-1",
        "eventType": "AsyncOrderStatus",
        "eventData": {"externalRefID": row.vendor_key, "status": "SUCCESSFUL"},
    }
    receipt = await receive(harness.process(), "tango", {}, orjson.dumps(event))
    assert receipt.woken == 1


async def test_a_webhook_naming_none_of_ours_wakes_that_vendors_orders_in_flight(
    harness: Harness,
) -> None:
    row = await _pending(harness, "tremendous")
    event = {"uuid": "r1", "payload": {"resource": {"id": "REWARD123", "type": "rewards"}}}
    assert (await receive(harness.process(), "tremendous", *tremendous(event))).woken == 1
    assert (await harness.get(row.id)).next_run_at == harness.clock()


async def test_vendors_without_webhooks_have_no_endpoint(harness: Harness) -> None:
    for vendor in ("viator", "change", "nobody"):
        with pytest.raises(UnknownVendor):
            await receive(harness.process(), vendor, {}, b"{}")


async def test_the_http_endpoint(client: httpx.AsyncClient) -> None:
    event = {"uuid": "h1", "payload": {"resource": {"id": "X", "type": "orders"}}}
    headers, body = tremendous(event)
    ok = await client.post("/webhooks/vendors/tremendous", content=body, headers=headers)
    assert ok.status_code == 200
    assert ok.json() == {"received": True, "duplicate": False}
    again = await client.post("/webhooks/vendors/tremendous", content=body, headers=headers)
    assert again.json() == {"received": True, "duplicate": True}
    forged = await client.post("/webhooks/vendors/tremendous", content=body)
    assert forged.status_code == 401
    assert (await client.post("/webhooks/vendors/viator", content=b"{}")).status_code == 404
    assert (await client.get("/webhooks/vendors/tremendous")).status_code == 405


async def test_the_worker_forgets_webhooks_past_their_retention_hourly(harness: Harness) -> None:
    service = harness.process()
    worker = Worker(service)
    retention = service.settings.redemption.webhook_retention_days * 86_400

    async def send(event_id: str) -> bool:
        headers, body = tremendous({"event": "REWARDS.DELIVERY.SUCCEEDED", "uuid": event_id})
        return (await receive(service, "tremendous", headers, body)).duplicate

    assert not await send("old")
    await worker.run_once()  # the first run prunes: nothing is old enough yet
    assert await send("old"), "still remembered"
    harness.advance(retention - 1800)
    assert not await send("recent")
    harness.advance(3600)
    await worker.run_once()
    assert not await send("old"), "forgotten after its retention"
    assert await send("recent"), "kept within its retention"
    harness.advance(retention - 4200)  # to 10 minutes before "recent" is old
    await worker.run_once()  # "recent" is not old yet
    harness.advance(1200)
    await worker.run_once()  # old now, but the last prune was 20 minutes ago
    assert await send("recent")
    harness.advance(3600)
    await worker.run_once()
    assert not await send("recent")


async def test_a_backlog_of_old_webhooks_goes_one_batch_per_worker_run(harness: Harness) -> None:
    service = harness.process()
    worker = Worker(service)
    old = harness.clock() - timedelta(days=service.settings.redemption.webhook_retention_days + 1)
    rows = [
        {"vendor": "tango", "event_id": f"e{n}", "received_at": old, "woken": 0}
        for n in range(PRUNE_BATCH + 5)
    ]

    async def fill(session: AsyncSession) -> None:
        await session.exec(insert(VendorWebhook), params=rows)

    async def left() -> int:
        async with harness.database.session() as session:
            return (await session.exec(select(func.count()).select_from(VendorWebhook))).one()

    await harness.database.write(fill)
    await worker.run_once()
    assert await left() == 5, "one batch, then the run claims what is due"
    await worker.run_once()  # at once: a full batch left more to do
    assert await left() == 0
