"""Redemptions through GraphQL: completed per second, SQL write transactions per completed
redemption, and 2,000 in flight against a slow vendor.

1. **Throughput**: ``rewardgate serve`` as started by default (one worker, JSON logs on, the
   in-process sandboxes) with the vendors' rate limits lifted (zero-latency sandboxes), loaded
   by ``--clients`` concurrent clients in this process until ``--redemptions`` completed;
   on SQLite and, with ``--postgres``, on PostgreSQL. Target: >= 200/s on PostgreSQL.
2. **Write transactions per completed redemption**, counted (every `Database.write` is one)
   in process over 200 redemptions. Target: <= 3.
3. **In flight**: a sandbox served over HTTP answering every call after 1 s; ``--inflight``
   redeem mutations sent at once from this process. Reports the mutation's p99 (target
   <= 2.5 s: it answers within its 2 s wait budget), that all complete, and the gateway's peak
   RSS.

    python -m bench.redeem [--redemptions 2000] [--clients 32] [--inflight 2000]
                           [--postgres postgresql+asyncpg://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from typing import Any

import httpx
import orjson

from app.db import Database
from app.redemption.models import RedemptionStatus
from app.redemption.requests import RedeemRequest
from app.runtime import open_services
from bench._harness import GATEWAY, Served, server, settings_for, workdir
from bench._redemptions import (
    MEMBERS,
    Target,
    database_env,
    outcome,
    prepare_members,
    redeem_body,
    sandbox_server,
    the_reward,
    unlimited,
    vendor_urls,
)
from vendors import Recipient

FLOOR_REQUESTS = 2000


def _headers(api_key: str) -> dict[str, str]:
    return {"Content-Type": "application/json", "Authorization": f"Bearer {api_key}"}


async def _throughput(url: str, api_key: str, target: Target, count: int, clients: int) -> Any:
    """Send ``count`` redemptions over ``clients`` connections; (per second, statuses)."""
    statuses: dict[str, int] = {}
    next_n = iter(range(count))
    async with httpx.AsyncClient(base_url=url, timeout=60, headers=_headers(api_key)) as client:

        async def one_client() -> None:
            for n in next_n:
                response = await client.post("/graphql", content=redeem_body(target, n))
                payload = response.json()["data"]["redeem"]
                status = payload["redemption"]["status"] if payload["redemption"] else "REFUSED"
                statuses[status] = statuses.get(status, 0) + 1

        started = time.perf_counter()
        await asyncio.gather(*(one_client() for _ in range(clients)))
        elapsed = time.perf_counter() - started
    return statuses.get("COMPLETED", 0) / elapsed, statuses


async def _floor(url: str, api_key: str, count: int, clients: int) -> None:
    """The simplest authenticated request (``{ __typename }``), ``count`` times: what HTTP,
    the middleware, GraphQL and the access log cost the gateway with no work behind them."""
    body = orjson.dumps({"query": "{ __typename }"})
    next_n = iter(range(count))
    async with httpx.AsyncClient(base_url=url, timeout=60, headers=_headers(api_key)) as client:

        async def one_client() -> None:
            for _ in next_n:
                (await client.post("/graphql", content=body)).raise_for_status()

        await asyncio.gather(*(one_client() for _ in range(clients)))


def _cpu_ms_each(gateway: Served, count: int, run: Any) -> tuple[float, float, Any]:
    """Run ``run()``; CPU milliseconds per item of the gateway and of this load generator."""
    gateway_before, here_before = gateway.cpu_seconds(), time.process_time()
    result = asyncio.run(run())
    gateway_ms = 1000 * (gateway.cpu_seconds() - gateway_before) / count
    return gateway_ms, 1000 * (time.process_time() - here_before) / count, result


async def _writes_per_redemption(env: dict[str, str], count: int) -> float:
    """Redemptions through the service itself, every write transaction counted."""
    async with open_services(settings_for(env)) as services:
        async with services.database.session() as session:
            reward, option, program = await the_reward(session)
        writes = 0
        original = Database.write

        async def counted(self: Database, work: Any, **options: Any) -> Any:
            nonlocal writes
            writes += 1
            return await original(self, work, **options)

        completed = 0
        Database.write = counted  # type: ignore[method-assign]
        try:
            for n in range(count):
                request = RedeemRequest(
                    member_id=f"bench{n % MEMBERS}",
                    reward_id=reward.id,
                    option_id=option.id,
                    idempotency_key=f"w{n}",
                    recipient=Recipient("Bench Mark", "bench@example.com"),
                )
                redeemed = await services.redemptions.redeem(program, request)
                row = await services.redemptions.wait(redeemed, 30)
                completed += row.status == RedemptionStatus.COMPLETED
        finally:
            Database.write = original  # type: ignore[method-assign]
        return writes / max(completed, 1)


async def _in_flight(url: str, api_key: str, target: Target, count: int) -> Any:
    """``count`` redeem mutations at once; each is sent again under its key after a 503
    ``BUSY`` (what a partner's client does with ``Retry-After``). The seconds from the first
    send to the answer, per redemption, and how many sends were refused as busy."""
    # Idle connections dropped well before the server's keep-alive timeout (uvicorn: 5 s),
    # or a retry may go out on one the server is closing.
    limits = httpx.Limits(
        max_connections=count, max_keepalive_connections=count, keepalive_expiry=2
    )
    busy = 0
    async with httpx.AsyncClient(
        base_url=url, timeout=120, limits=limits, headers=_headers(api_key)
    ) as client:

        async def one(n: int) -> float:
            nonlocal busy
            started = time.perf_counter()
            while True:
                response = await client.post("/graphql", content=redeem_body(target, n, "f"))
                if response.status_code != 503:
                    break
                busy += 1
                await asyncio.sleep(float(response.headers.get("retry-after", "1")))
            if response.status_code != 200 or '"redemption":{' not in response.text:
                raise RuntimeError(f"answer {response.status_code}: {response.text[:300]}")
            return time.perf_counter() - started

        latencies = list(await asyncio.gather(*(one(n) for n in range(count))))
    return latencies, busy


def _run_backend(name: str, postgres: str | None, args: argparse.Namespace) -> None:
    with workdir() as directory, database_env(postgres) as db_env:
        prepared, target = asyncio.run(prepare_members(directory, **db_env, **unlimited()))
        env = prepared.env
        key, count = prepared.demo.api_key, args.redemptions
        with server(GATEWAY, env) as gateway:
            gateway_ms, client_ms, (rate, statuses) = _cpu_ms_each(
                gateway, count, lambda: _throughput(gateway.url, key, target, count, args.clients)
            )
            floor_ms, floor_client_ms, _ = _cpu_ms_each(
                gateway, FLOOR_REQUESTS, lambda: _floor(gateway.url, key, FLOOR_REQUESTS, 32)
            )
        stored = asyncio.run(outcome(env))
        print(
            f"{name:<11} throughput: {rate:7.1f} completed redemptions/s "
            f"({count} over {args.clients} clients in this process; answers "
            f"{statuses}; stored {stored})"
        )
        print(
            f"{name:<11} CPU per redemption: gateway {gateway_ms:.1f} ms, load generator "
            f"{client_ms:.1f} ms; per `{{ __typename }}` request: gateway {floor_ms:.2f} ms, "
            f"load generator {floor_client_ms:.2f} ms (one worker: 200/s needs <= 5 ms)"
        )
        writes = asyncio.run(_writes_per_redemption(env, 200))
        print(f"{name:<11} write transactions per completed redemption: {writes:.2f} (target <= 3)")
        if args.inflight:
            _in_flight_run(name, prepared.env, prepared.demo.api_key, target, args.inflight)


def _in_flight_run(
    name: str, env: dict[str, str], api_key: str, target: Target, count: int
) -> None:
    settings = settings_for(env)
    with sandbox_server(settings.vendors.sandbox_seed) as sandbox:
        httpx.patch(
            f"{sandbox}/_sandbox/{target.vendor}/faults", json={"latency_ms": 1000}
        ).raise_for_status()
        slow = {**env, **vendor_urls(sandbox)}
        with server(GATEWAY, slow) as gateway:
            started = time.perf_counter()
            latencies, busy = asyncio.run(_in_flight(gateway.url, api_key, target, count))
            answered = time.perf_counter() - started
            while True:
                stored = asyncio.run(outcome(slow))
                if not {"POINTS_RESERVED", "VENDOR_PENDING"} & set(stored):
                    break
                time.sleep(0.5)
            done = time.perf_counter() - started
            rss = gateway.peak_rss_mb()
    p99 = statistics.quantiles(latencies, n=100)[98]
    print(
        f"{name:<11} in flight: {count} at once, vendor answering in 1 s: redeem p99 {p99:.2f} s "
        f"(target <= 2.5; from the first send, {busy} sends refused BUSY and sent again), "
        f"all answered in {answered:.1f} s, all settled in {done:.1f} s "
        f"({stored}), gateway peak RSS {rss:.0f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--redemptions", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--inflight", type=int, default=2000, help="0: skip")
    parser.add_argument("--postgres", default=None, help="a PostgreSQL URL: also run there")
    args = parser.parse_args()
    _run_backend("sqlite", None, args)
    if args.postgres:
        _run_backend("postgresql", args.postgres, args)
    print(f"this machine: {os.cpu_count()} cores, shared by the gateway and the load generator")


if __name__ == "__main__":
    main()
