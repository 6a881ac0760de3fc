"""How long the expiry sweep holds the embedded SQLite's write lock at a time.

SQLite has one writer: while a sweep transaction runs, every earn, hold and settlement of the
gateway waits. ``--accounts`` members (default 500) each have a lot and a hold that expired
an hour ago; one sweep pass settles them all, in batches of the default size and, for
comparison, in one transaction for everything (how the sweep worked before it went in
batches). Printed: transactions, the longest write-lock hold (BEGIN IMMEDIATE to COMMIT), the
median, and the pass's total time. Target: the longest hold stays near 100 ms or under.
Each account costs some fifteen statements; on this machine aiosqlite takes 1-2 ms a statement
inside a write transaction, so a 40 ms transaction settles two or three accounts.

    python -m bench.sweep [--accounts 500]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import event
from sqlmodel.ext.asyncio.session import AsyncSession

from app import migrations
from app._types import utcnow
from app.db import Database
from app.partners.models import Partner
from app.points import audit, expiry, ledger
from app.points.programs import create_program, member_account
from bench._harness import workdir


async def _due(database: Database, accounts: int) -> None:
    now = utcnow() - timedelta(hours=2)

    async def program(session: AsyncSession) -> uuid.UUID:
        partner = Partner(slug=f"bench-{uuid.uuid4().hex[:8]}", name="bench")
        session.add(partner)
        await session.flush()
        made = await create_program(
            session, partner_id=partner.id, name="P", currency="USD", point_value=Decimal("0.01")
        )
        return made.id

    program_id = await database.write(program)

    for number in range(accounts):

        async def member(session: AsyncSession, number: int = number) -> None:
            _, account = await member_account(session, program_id, f"m{number}", now=now)
            soon = now + timedelta(hours=1)
            await ledger.earn(session, account, 100, now=now, reason="bench", expires_at=soon)
            await ledger.place_hold(session, account, 40, now=now, expires_at=soon)

        await database.write(member)


async def _pass(accounts: int, batch: int, budget: timedelta | None) -> dict[str, Any]:
    with workdir() as directory:
        database = Database(f"sqlite+aiosqlite:///{directory}/sweep.db")
        try:
            await migrations.upgrade(database)
            await _due(database, accounts)
            holds: list[float] = []
            started: list[float] = []

            def begin(connection: Any) -> None:
                if connection.get_execution_options().get("rewardgate_write"):
                    started.append(time.perf_counter())

            def end(connection: Any) -> None:
                if started:
                    holds.append(time.perf_counter() - started.pop())

            engine = database.engine.sync_engine
            event.listen(engine, "begin", begin)
            event.listen(engine, "commit", end)
            event.listen(engine, "rollback", end)
            began = time.perf_counter()
            report = await expiry.sweep(database, batch=batch, budget=budget)
            total = time.perf_counter() - began
            for name, hook in (("begin", begin), ("commit", end), ("rollback", end)):
                event.remove(engine, name, hook)
            async with database.session() as session:
                assert await audit.check(session) == []
            assert report.accounts_settled == accounts
            return {
                "transactions": report.transactions,
                "longest_ms": max(holds) * 1000,
                "median_ms": statistics.median(holds) * 1000,
                "total_s": total,
            }
        finally:
            await database.dispose()


async def main(accounts: int) -> None:
    batched = await _pass(accounts, expiry.BATCH, expiry.BUDGET)
    whole = await _pass(accounts, accounts, None)
    steps = f"batches of {expiry.BATCH} within {expiry.BUDGET.total_seconds() * 1000:.0f} ms"
    for name, result in ((steps, batched), ("one transaction", whole)):
        print(
            f"{accounts} due accounts, {name}: {result['transactions']} write transactions, "
            f"longest lock {result['longest_ms']:.0f} ms, median {result['median_ms']:.0f} ms, "
            f"pass {result['total_s']:.2f} s"
        )
    ratio = batched["longest_ms"] / whole["longest_ms"]
    print(f"longest write lock, batched / one transaction: {ratio:.2f} (target: near 100 ms)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=500)
    asyncio.run(main(parser.parse_args().accounts))
