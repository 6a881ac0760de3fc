"""What the redemption benchmarks share: a prepared database with members who have points, a
vendor sandbox served over HTTP (so that its orders outlive a gateway process), the redeem
mutation, and a look at how every redemption ended."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
from sqlalchemy.engine import make_url
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession
from strawberry.relay import to_base64

from app.catalog.models import Reward, RewardOption
from app.catalog.offers import choose_option
from app.db import Database
from app.points.models import Program
from app.points.service import EarnRequest, earn_points
from app.redemption.models import Redemption
from app.runtime import Services
from bench._harness import ROOT, Prepared, free_port, prepare, refresh_every_vendor, settings_for
from vendors.registry import VENDORS

__all__ = [
    "REDEEM",
    "Target",
    "database_env",
    "outcome",
    "prepare_members",
    "redeem_body",
    "sandbox_server",
    "the_reward",
    "unlimited",
    "vendor_urls",
]

MEMBERS = 100
POINTS_EACH = 900_000_000
REDEEM = """mutation($input: RedeemInput!) { redeem(input: $input) {
  redemption { id status } userErrors { code message } } }"""


@dataclass(frozen=True)
class Target:
    """The reward redeemed: its ids as the catalog lists them, and the vendor it routes to."""

    reward_id: str
    option_id: str
    vendor: str
    points: int


def unlimited() -> dict[str, str]:
    """Settings that lift the vendors' rate limits (sandboxes' and the adapters'): a load test
    of the gateway, not of the vendors' quotas."""
    env = {"REWARDGATE_VENDORS__SANDBOX_RATE_LIMITS": "false"}
    for spec in VENDORS:
        env[f"REWARDGATE_VENDORS__{spec.name.upper()}__REQUESTS_PER_SECOND"] = "100000"
    return env


@contextlib.contextmanager
def database_env(postgres_url: str | None) -> Iterator[dict[str, str]]:
    """Settings for a fresh database: a schema of its own on PostgreSQL (dropped after), or
    the work directory's SQLite file (the default of `bench_env`)."""
    if postgres_url is None:
        yield {}
        return
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    yield {"REWARDGATE_DATABASE_URL": postgres_url, "REWARDGATE_DATABASE_SCHEMA": schema}
    dsn = make_url(postgres_url).set(drivername="postgresql").render_as_string(hide_password=False)

    async def drop() -> None:
        connection = await asyncpg.connect(dsn)
        try:
            await connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        finally:
            await connection.close()

    asyncio.run(drop())


async def the_reward(session: AsyncSession) -> tuple[Reward, RewardOption, Program]:
    """What the benchmarks redeem (an Apple USD 25 card), and the demo program."""
    program = (await session.exec(select(Program))).first()
    reward = (
        await session.exec(select(Reward).where(Reward.brand == "Apple", Reward.currency == "USD"))
    ).one()
    option = (
        await session.exec(
            select(RewardOption).where(
                RewardOption.reward_id == reward.id, col(RewardOption.face_value) == Decimal(25)
            )
        )
    ).one()
    assert program is not None
    return reward, option, program


async def _fill(services: Services, holder: dict[str, Any]) -> None:
    await refresh_every_vendor(services)
    async with services.database.session() as session:
        reward, option, program = await the_reward(session)
        rates = await services.rates.current(services.redemptions.clock())
        chosen = await choose_option(
            session, reward.id, option.id, None, rates=rates, breaker_states={}
        )
    now = services.redemptions.clock()
    for n in range(MEMBERS):
        await earn_points(
            services.database,
            program,
            EarnRequest(f"bench{n}", POINTS_EACH, "benchmark", f"bench-earn-{n}"),
            now=now,
        )
    holder["target"] = Target(
        to_base64("Reward", str(reward.id)),
        to_base64("RewardOption", str(option.id)),
        chosen.best.offer.vendor,
        0,
    )


async def prepare_members(directory: Path, **extra: str) -> tuple[Prepared, Target]:
    """The demo partner, the catalog, `MEMBERS` members with points, and the reward to redeem."""
    holder: dict[str, Any] = {}
    prepared = await prepare(directory, lambda services: _fill(services, holder), **extra)
    return prepared, holder["target"]


def redeem_body(target: Target, n: int, prefix: str = "r") -> bytes:
    return orjson.dumps(
        {
            "query": REDEEM,
            "variables": {
                "input": {
                    "rewardId": target.reward_id,
                    "optionId": target.option_id,
                    "memberId": f"bench{n % MEMBERS}",
                    "idempotencyKey": f"{prefix}{n}",
                    "recipient": {"name": "Bench Mark", "email": "bench@example.com"},
                }
            },
        }
    )


@contextlib.contextmanager
def sandbox_server(seed: int) -> Iterator[str]:
    """Every vendor sandbox over HTTP on a free port, rate limits off; its base URL."""
    port = free_port()
    code = (
        "import uvicorn; from vendors.sandbox import SandboxHub; "
        f"uvicorn.run(SandboxHub(seed={seed}, rate_limits=False).app, host='127.0.0.1', "
        f"port={port}, log_level='warning')"
    )
    process = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=dict(os.environ))
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                httpx.get(f"{url}/_sandbox", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(15)


ROOTS = {
    "tango": "/tango/raas/v2",
    "tremendous": "/tremendous/api/v2",
    "printful": "/printful",
    "viator": "/viator/partner",
    "change": "/change/api/v1",
}


def vendor_urls(sandbox: str) -> dict[str, str]:
    return {
        f"REWARDGATE_VENDORS__{name.upper()}__BASE_URL": sandbox + root
        for name, root in ROOTS.items()
    }


async def outcome(env: dict[str, str]) -> dict[str, int]:
    """How many redemptions stand in each status."""
    database = Database.from_settings(settings_for(env))
    try:
        async with database.session() as session:
            rows = (
                await session.exec(
                    select(Redemption.status, func.count()).group_by(col(Redemption.status))
                )
            ).all()
        return {status: int(count) for status, count in rows}
    finally:
        await database.dispose()
