"""Redemptions through vendor faults and hard restarts: is every point and order accounted for?

``rewardgate serve`` runs against every vendor sandbox served over HTTP (so that orders
outlive the gateway), with seeded faults on the vendor the reward routes to: 5 % of orders
stored but their answer lost (timeout after commit), 5 % of calls answered 5xx, 5 % answered
429, and every order completing asynchronously, 5 % of them failing later. The gateway is
killed with SIGKILL every ``--kill-every`` seconds and started again. Clients send
``--redemptions`` redeem mutations and, like real clients, repeat one whose answer they did
not get under the same idempotency key. Then the gateway runs until nothing is in flight.

Printed at the end: points created or lost (must be 0), duplicate vendor orders (0),
redemptions neither terminal nor NEEDS_OPS (0), and redemptions per second.

    python -m bench.chaos [--redemptions 2000] [--clients 16] [--kill-every 10] [--seed 7]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import signal
import threading
import time
from collections import Counter
from typing import Any

import httpx
from sqlmodel import col, select

from app._types import utcnow
from app.db import Database
from app.points import audit, ledger
from app.points.models import LedgerAccount, Member
from app.redemption.models import TERMINAL, Redemption, RedemptionStatus
from bench._harness import GATEWAY, server, settings_for, workdir
from bench._redemptions import (
    POINTS_EACH,
    Target,
    outcome,
    prepare_members,
    redeem_body,
    sandbox_server,
    unlimited,
    vendor_urls,
)

FAULTS = {
    "timeout_after_commit_rate": 0.05,
    "error_rate": 0.05,
    "rate_limit_rate": 0.05,
    "completion_delay_seconds": 2.0,
    "fail_later_rate": 0.05,
    "hang_seconds": 4.0,
}


async def _send(url_of: Any, api_key: str, target: Target, count: int, clients: int) -> int:
    """Every redemption answered once (repeated under its key until it is); how many
    repeats it took."""
    repeats = 0
    next_n = iter(range(count))
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {api_key}"}

    async def one_client() -> None:
        nonlocal repeats
        async with httpx.AsyncClient(timeout=30, headers=headers) as client:
            for n in next_n:
                body = redeem_body(target, n, "c")
                while True:
                    try:
                        response = await client.post(f"{url_of()}/graphql", content=body)
                        if response.status_code == 200 and response.json()["data"]["redeem"]:
                            break
                    except (httpx.HTTPError, ValueError, KeyError, TypeError):
                        pass
                    repeats += 1
                    await asyncio.sleep(0.5)

    await asyncio.gather(*(one_client() for _ in range(clients)))
    return repeats


async def _accounts(env: dict[str, str]) -> dict[str, int]:
    """Points created or lost, ledger violations, and redemptions left in flight."""
    database = Database.from_settings(settings_for(env))
    try:
        async with database.session() as session:
            violations = await audit.check(session)
            rows = (await session.exec(select(Redemption))).all()
            members = (
                await session.exec(
                    select(Member.id, LedgerAccount.id)
                    .join(LedgerAccount, col(LedgerAccount.member_id) == Member.id)
                    .where(col(Member.external_id).startswith("bench"))
                )
            ).all()
            balances = await ledger.balances_at(
                session, [account for _, account in members], now=utcnow()
            )
        spent: Counter[Any] = Counter()
        held: Counter[Any] = Counter()
        for row in rows:
            if row.status == RedemptionStatus.COMPLETED:
                spent[row.member_id] += row.posted_points or 0
            elif row.status not in TERMINAL:
                held[row.member_id] += row.points
        off = 0
        for member_id, account_id in members:
            balance = balances[account_id]
            off += abs(POINTS_EACH - (balance.available + balance.held + spent[member_id])) + abs(
                balance.held - held[member_id]
            )
        stuck = sum(
            row.status in (RedemptionStatus.POINTS_RESERVED, RedemptionStatus.VENDOR_PENDING)
            for row in rows
        )
        return {"points_off": off, "violations": len(violations), "stuck": stuck}
    finally:
        await database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--redemptions", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--kill-every", type=float, default=10.0)
    parser.add_argument("--settle-seconds", type=float, default=300.0)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with workdir() as directory:
        prepared, target = asyncio.run(prepare_members(directory, **unlimited()))
        settings = settings_for(prepared.env)
        with sandbox_server(settings.vendors.sandbox_seed) as sandbox:
            httpx.patch(
                f"{sandbox}/_sandbox/{target.vendor}/faults", json={**FAULTS, "seed": args.seed}
            ).raise_for_status()
            env = {
                **prepared.env,
                **vendor_urls(sandbox),
                f"REWARDGATE_VENDORS__{target.vendor.upper()}__TIMEOUT_SECONDS": "2",
                "REWARDGATE_REDEMPTION__LEASE_SECONDS": "5",
                "REWARDGATE_REDEMPTION__RETRY_BASE_SECONDS": "0.5",
                "REWARDGATE_REDEMPTION__RETRY_MAX_SECONDS": "5",
            }
            kills, started = _run(env, prepared.demo.api_key, target, args)
            elapsed = time.perf_counter() - started
            orders = httpx.get(f"{sandbox}/_sandbox/{target.vendor}/orders").json()["orders"]
        keys = Counter(_redemption_of(order) for order in orders)
        keys.pop(None, None)
        duplicates = sum(count - 1 for count in keys.values() if count > 1)
        accounts = asyncio.run(_accounts(env))
        stored = asyncio.run(outcome(env))
    print(f"redemptions: {args.redemptions} ({stored}), {kills} SIGKILLs of the gateway")
    print(
        f"points created or lost: {accounts['points_off']}  (ledger violations: "
        f"{accounts['violations']})"
    )
    print(f"duplicate vendor orders: {duplicates}")
    print(f"neither terminal nor NEEDS_OPS: {accounts['stuck']}")
    print(
        f"redemptions/s: {args.redemptions / elapsed:.1f} ({elapsed:.0f} s until settled; "
        f"{os.cpu_count()} cores shared with the load generator and the sandbox)"
    )


def _redemption_of(order: dict[str, Any]) -> str | None:
    for key in ("externalRefID", "external_id", "partnerBookingRef"):
        value = order.get(key)
        if isinstance(value, str) and re.fullmatch(r"rg[0-9a-f]{32}a[0-9]+", value):
            return value[:34]  # the redemption, whatever the attempt
    return None


def _run(
    env: dict[str, str], api_key: str, target: Target, args: argparse.Namespace
) -> tuple[int, float]:
    """Send everything (in a thread) while the gateway is killed on schedule and started
    again; then let the last one settle. (SIGKILLs, start time)."""
    holder: dict[str, str] = {}
    kills = 0
    sender = threading.Thread(
        target=lambda: asyncio.run(
            _send(lambda: holder["url"], api_key, target, args.redemptions, args.clients)
        )
    )
    started = time.perf_counter()
    with contextlib.ExitStack() as stack:
        gateway = stack.enter_context(server(GATEWAY, env))
        holder["url"] = gateway.url
        sender.start()
        while True:
            sender.join(timeout=args.kill_every)
            if not sender.is_alive():
                break
            os.kill(gateway.pid, signal.SIGKILL)
            kills += 1
            stack.close()
            gateway = stack.enter_context(server(GATEWAY, env))
            holder["url"] = gateway.url
        deadline = time.monotonic() + args.settle_seconds
        while time.monotonic() < deadline:
            if not {"POINTS_RESERVED", "VENDOR_PENDING"} & set(asyncio.run(outcome(env))):
                break
            time.sleep(1)
    return kills, started


if __name__ == "__main__":
    main()
