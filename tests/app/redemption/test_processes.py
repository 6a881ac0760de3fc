"""Two gateway processes on one database never run the same redemption: each due redemption
is claimed by exactly one of them, and the vendor sees one order for each."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import orjson
import pytest
from sqlalchemy import update
from sqlmodel import col, select

from app.redemption.models import Redemption, RedemptionStatus
from tests.app.redemption.conftest import Harness, crash_at
from tests.app.redemption.test_saga import _reward

pytestmark = pytest.mark.asyncio

ROOT = Path(__file__).parents[3]
COUNT = 30


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _sandbox_server(port: int, seed: int) -> subprocess.Popen[bytes]:
    code = (
        "import uvicorn; from vendors.sandbox import SandboxHub; "
        f"uvicorn.run(SandboxHub(seed={seed}, rate_limits=False).app, host='127.0.0.1', "
        f"port={port}, log_level='warning')"
    )
    return subprocess.Popen([sys.executable, "-c", code], cwd=ROOT)


async def _wait_for(url: str) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(100):
            try:
                if (await client.get(url)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"{url} never answered")


async def test_two_processes_never_run_the_same_redemption(harness: Harness) -> None:
    ids, details = await _reward(harness, "change")
    made = [
        await harness.redeem(harness.process(crash_at("committed:reserve")), ids, **details)
        for _ in range(COUNT)
    ]
    # Their process died before ordering anything: every one is due, nobody holds it.
    await harness.database.write(
        lambda session: session.exec(
            update(Redemption).values(
                locked_by=None, locked_until=None, next_run_at=harness.clock()
            )
        )
    )
    port = _free_port()
    sandbox = _sandbox_server(port, harness.settings.vendors.sandbox_seed)
    try:
        await _wait_for(f"http://127.0.0.1:{port}/_sandbox")
        environment = {
            **{k: v for k, v in os.environ.items() if not k.startswith("REWARDGATE_")},
            "REWARDGATE_DATABASE_URL": harness.settings.database_url,
            "REWARDGATE_VENDORS__CHANGE__BASE_URL": f"http://127.0.0.1:{port}/change/api/v1",
            "REWARDGATE_LOG_LEVEL": "WARNING",
            # Small claims, so that the two interleave instead of one taking everything.
            "REWARDGATE_REDEMPTION__WORKER_CONCURRENCY": "2",
            "START_AT": str(time.time() + 3),
        }
        if harness.settings.database_schema:
            environment["REWARDGATE_DATABASE_SCHEMA"] = harness.settings.database_schema
        workers = [
            await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "tests.app.redemption._worker_process",
                cwd=ROOT,
                env=environment,
                stdout=asyncio.subprocess.PIPE,
            )
            for _ in range(2)
        ]
        async with asyncio.timeout(120):
            outputs = await asyncio.gather(*(w.communicate() for w in workers))
        assert [w.returncode for w in workers] == [0, 0]
        claimed = [
            [i for line in out.decode().splitlines() for i in orjson.loads(line)]
            for out, _ in outputs
        ]
        async with httpx.AsyncClient() as client:
            orders = (await client.get(f"http://127.0.0.1:{port}/_sandbox/change/orders")).json()[
                "orders"
            ]
    finally:
        sandbox.terminate()
        sandbox.wait(10)
    everyone = {str(row.id) for row in made}
    assert set(claimed[0]) | set(claimed[1]) == everyone
    assert set(claimed[0]) & set(claimed[1]) == set(), "a redemption claimed by both"
    assert len(claimed[0]) + len(claimed[1]) == COUNT
    assert all(claimed), "both processes took part"
    keys = [order["external_id"] for order in orders]
    assert len(keys) == len(set(keys)) == COUNT, "one order per redemption"
    async with harness.database.session() as session:
        statuses = (
            await session.exec(
                select(Redemption.status).where(col(Redemption.id).in_([r.id for r in made]))
            )
        ).all()
    assert set(statuses) == {RedemptionStatus.COMPLETED}
