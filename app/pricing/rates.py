"""The rates the gateway prices with: fetched from a provider, stored with their source and
date, and refused when too old (fail closed)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app._types import utcnow
from app.db import Database, insert_ignoring_conflicts
from app.pricing.fx import SNAPSHOT_SOURCE, FxError, RatePolicy, RateProvider, RateTable
from app.pricing.models import FxRate

__all__ = ["SNAPSHOT_SOURCE", "RateBook"]


class RateBook:
    def __init__(
        self,
        database: Database,
        provider: RateProvider,
        *,
        max_age_days: int,
        allow_stale_snapshot: bool,
    ) -> None:
        self.database = database
        self.provider = provider
        self.policy = RatePolicy(max_age_days, allow_stale_snapshot)
        self._table: RateTable | None = None

    async def refresh(self) -> RateTable:
        """Fetch the provider's rates and store them (a day's rates are stored once); a table
        dated in the future is refused, never stored (it would never grow stale)."""
        table = await self.provider.fetch()
        if table.as_of > utcnow().date() + timedelta(days=1):
            raise FxError(f"{table.source} rates are dated {table.as_of}, in the future")
        rows = [
            {"source": table.source, "as_of": table.as_of, "currency": c, "per_eur": rate}
            for c, rate in table.per_eur.items()
        ]

        async def store(session: AsyncSession) -> None:
            await insert_ignoring_conflicts(session, FxRate, rows)

        await self.database.write(store)
        self._table = table
        return table

    @property
    def last(self) -> RateTable | None:
        """The table priced with last (None before the first), without asking anyone."""
        return self._table

    def describe(self, now: datetime) -> dict[str, object]:
        """The rates as ``/readyz`` shows them: source, date, age, and whether they price."""
        table = self._table
        if table is None:
            return {"status": "missing"}
        reason: str | None = None
        try:
            self.policy.check(table, now)
        except FxError as exc:
            reason = str(exc)
        described: dict[str, object] = {
            "status": "ok" if reason is None else "stale",
            "source": table.source,
            "as_of": table.as_of.isoformat(),
            "age_days": table.age_days(now.date()),
            "max_age_days": self.policy.max_age_days,
        }
        if reason:
            described["reason"] = reason
        return described

    async def current(self, now: datetime) -> RateTable:
        """The table to price with now; `app.pricing.fx.StaleRates` when it is too old."""
        table = self._table or await self._latest()
        self.policy.check(table, now)
        return table

    async def _latest(self) -> RateTable:
        """Fresh from the provider, or else the newest stored table of any source."""
        try:
            return await self.refresh()
        except FxError:
            async with self.database.session() as session:
                newest = (
                    await session.exec(select(FxRate).order_by(col(FxRate.as_of).desc()).limit(1))
                ).first()
                if newest is None:
                    raise
                rows = (
                    await session.exec(
                        select(FxRate).where(
                            FxRate.source == newest.source, FxRate.as_of == newest.as_of
                        )
                    )
                ).all()
            self._table = RateTable(
                newest.source, newest.as_of, {row.currency: row.per_eur for row in rows}
            )
            return self._table
