"""The worker: finds redemptions that are due (a retry, a vendor poll, one whose process died)
and runs them under a lease, in every gateway process at once.

A redemption is due when ``next_run_at`` has passed and nobody's lease is current. Claiming is
one ``UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED)`` that re-checks the lease on the
row it updates: on PostgreSQL two processes claiming at once skip each other's rows, and a row
claimed meanwhile fails the re-check; SQLite has one writer at a time (``BEGIN IMMEDIATE``).
Terminal and NEEDS_OPS redemptions have no ``next_run_at`` and are never picked.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from contextlib import AsyncExitStack
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import migrations
from app.background import run_until_exit
from app.db import Database
from app.log import get_logger
from app.redemption.models import Redemption
from app.redemption.saga import new_lease
from app.redemption.webhooks import PRUNE_BATCH, prune_webhooks

if TYPE_CHECKING:
    from app.redemption.service import RedemptionService

__all__ = ["Worker", "claim_due", "claim_statement"]

_logger = get_logger(__name__)
_PRUNE_EVERY = timedelta(hours=1)


def claim_statement(*, lease: str, now: datetime, period: timedelta, limit: int) -> Any:
    """``UPDATE … RETURNING id``: claim up to ``limit`` due redemptions under the token
    ``lease`` for ``period``, oldest due first. Rows another transaction is claiming are
    skipped, not waited for (``SKIP LOCKED``), and the row updated is checked again (a claim
    that committed meanwhile wins)."""
    free = or_(col(Redemption.locked_until).is_(None), col(Redemption.locked_until) < now)
    due = col(Redemption.next_run_at) <= now
    candidates = (
        select(Redemption.id)
        .where(due, free)
        .order_by(col(Redemption.next_run_at))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return (
        update(Redemption)
        .where(col(Redemption.id).in_(candidates.scalar_subquery()), due, free)
        .values(locked_by=lease, locked_until=now + period, runs=col(Redemption.runs) + 1)
        .returning(col(Redemption.id))
    )


async def claim_due(
    database: Database, *, lease: str, now: datetime, period: timedelta, limit: int
) -> list[uuid.UUID]:
    """Claim up to ``limit`` due redemptions for ``period`` under the token ``lease``
    (`claim_statement`), in one write."""
    statement = claim_statement(lease=lease, now=now, period=period, limit=limit)

    async def work(session: AsyncSession) -> list[uuid.UUID]:
        return [row[0] for row in (await session.exec(statement)).all()]

    return await database.write(work)


class Worker:
    """One process's worker loop over the service's saga."""

    def __init__(self, service: RedemptionService, *, wake: asyncio.Event | None = None) -> None:
        self.service = service
        self.settings = service.settings.redemption
        self.wake = wake or asyncio.Event()
        self._running: set[asyncio.Task[object]] = set()
        self._pruned_at: datetime | None = None

    async def start(self, stack: AsyncExitStack) -> None:
        run_until_exit(stack, self._loop(), name="redemption-worker")

    async def run_once(self) -> list[uuid.UUID]:
        """Claim what is due now and start running it; the ids claimed. Once an hour (and on
        every run while a backlog remains), also forget a batch of the webhooks older than
        their retention."""
        await self._prune_webhooks()
        room = self.settings.worker_concurrency - len(self._running)
        if room <= 0:
            return []
        service = self.service
        lease = new_lease(service.owner)
        claimed = await claim_due(
            service.database,
            lease=lease,
            now=service.clock(),
            period=service.policy.lease,
            limit=room,
        )
        for redemption_id in claimed:
            task = service.start(redemption_id, fresh=False, lease=lease)
            self._running.add(task)
            task.add_done_callback(self._running.discard)
        return claimed

    async def _prune_webhooks(self) -> None:
        now = self.service.clock()
        if self._pruned_at is not None and now - self._pruned_at < _PRUNE_EVERY:
            return
        retention = timedelta(days=self.settings.webhook_retention_days)
        pruned = await prune_webhooks(self.service.database, before=now - retention)
        # A full batch leaves the rest of the backlog to the next run, not an hour later.
        self._pruned_at = None if pruned == PRUNE_BATCH else now
        if pruned:
            _logger.info("redemption.webhooks_pruned", count=pruned)

    async def _loop(self) -> None:
        await self._migrated()
        failures = 0
        while True:
            pause = self.settings.worker_interval_seconds
            try:
                await self.run_once()
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the database went away: say so, back off, go on
                failures += 1
                pause = min(60.0, pause * 2**failures)
                _logger.warning("redemption.worker_failed", error=repr(error), retry_in=pause)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), pause)
            self.wake.clear()

    async def _migrated(self) -> None:
        """Wait for the database to be at the code's migrations (a gateway may start before
        ``rewardgate db upgrade`` has run; /readyz says so meanwhile)."""
        said = False
        while True:
            try:
                if (await migrations.status(self.service.database)).at_head:
                    return
            except Exception as error:
                reason = repr(error)
            else:
                reason = "the database is not migrated"
            if not said:
                _logger.warning("redemption.worker_waiting", reason=reason)
                said = True
            await asyncio.sleep(max(5.0, self.settings.worker_interval_seconds))
