"""``POST /webhooks/vendors/{vendor}``: a vendor says something changed; the reconciler asks.

The webhook is verified by the vendor's adapter where the vendor signs (a bad signature is a
401 and changes nothing), recorded once per event (a redelivery is acknowledged and ignored),
and then only makes the redemptions it names due now and wakes this process's worker, which
asks the vendor for the order's real state. Nothing in a webhook's body is trusted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, or_, select, true, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse

from app.db import Database, execute
from app.log import get_logger
from app.redemption.models import Redemption, RedemptionStatus, VendorWebhook
from app.redemption.service import RedemptionService
from vendors.webhooks import WebhookHint, WebhookRefused

__all__ = ["PRUNE_BATCH", "Receipt", "prune_webhooks", "receive", "webhook_endpoint"]

_logger = get_logger(__name__)
_IN_FLIGHT = (RedemptionStatus.POINTS_RESERVED, RedemptionStatus.VENDOR_PENDING)
MAX_EVENT_ID = 200
PRUNE_BATCH = 1_000


@dataclass(frozen=True)
class Receipt:
    duplicate: bool
    woken: int


class UnknownVendor(Exception):
    pass


async def receive(
    service: RedemptionService, vendor: str, headers: dict[str, str], body: bytes
) -> Receipt:
    """Verify, deduplicate and act on one webhook; `WebhookRefused`, `UnknownVendor`."""
    adapter = service.vendors.adapters.get(vendor)
    if adapter is None:
        raise UnknownVendor(vendor)
    try:
        hint = adapter.read_webhook(headers, body)
    except NotImplementedError:
        raise UnknownVendor(vendor) from None
    now = service.clock()

    async def work(session: AsyncSession) -> Receipt:
        dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
        insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
        first = (
            await session.exec(
                insert(VendorWebhook)
                .values(vendor=vendor, event_id=hint.event_id[:MAX_EVENT_ID], received_at=now)
                .on_conflict_do_nothing()
                .returning(col(VendorWebhook.id))
            )
        ).first()
        if first is None:
            return Receipt(duplicate=True, woken=0)
        woken = await _make_due(session, vendor, hint, now)
        await session.exec(
            update(VendorWebhook).where(col(VendorWebhook.id) == first[0]).values(woken=woken)
        )
        return Receipt(duplicate=False, woken=woken)

    receipt = await service.database.write(work)
    if receipt.woken:
        service.wake()
    return receipt


async def _make_due(session: AsyncSession, vendor: str, hint: WebhookHint, now: object) -> int:
    if not hint.names_orders and not hint.signed:
        return 0
    named = []
    if hint.keys:
        named.append(col(Redemption.vendor_key).in_(hint.keys))
    if hint.references:
        named.append(col(Redemption.vendor_reference).in_(hint.references))
    result = await session.exec(
        update(Redemption)
        .where(
            col(Redemption.vendor) == vendor,
            col(Redemption.status).in_(_IN_FLIGHT),
            col(Redemption.next_run_at) > now,
            or_(*named) if named else true(),
        )
        .values(next_run_at=now)
    )
    return int(result.rowcount or 0)


async def prune_webhooks(database: Database, *, before: datetime) -> int:
    """Forget up to `PRUNE_BATCH` of the webhooks received before ``before``, in one short
    write (SQLite's one writer is never held long); how many were forgotten."""
    table = VendorWebhook.__table__  # type: ignore[attr-defined]
    oldest = (
        select(table.c.id)
        .where(table.c.received_at < before)
        .order_by(table.c.id)
        .limit(PRUNE_BATCH)
        .scalar_subquery()
    )
    statement = delete(table).where(table.c.id.in_(oldest))

    async def work(session: AsyncSession) -> int:
        return int((await execute(session, statement)).rowcount or 0)

    return await database.write(work)


async def webhook_endpoint(request: Request) -> JSONResponse:
    vendor = request.path_params["vendor"]
    body = await request.body()
    try:
        receipt = await receive(request.state.redemptions, vendor, dict(request.headers), body)
    except UnknownVendor:
        return JSONResponse({"error": f"no webhooks from {vendor!r} here"}, status_code=404)
    except WebhookRefused as refused:
        _logger.warning("webhook.refused", vendor=vendor, reason=str(refused))
        return JSONResponse({"error": str(refused)}, status_code=401)
    _logger.info(
        "webhook.received", vendor=vendor, duplicate=receipt.duplicate, woken=receipt.woken
    )
    return JSONResponse({"received": True, "duplicate": receipt.duplicate})
