"""GraphQL tests: the demo partner, a refreshed catalog, and a small client helper."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest_asyncio

from app._types import utcnow
from app.db import Database
from app.partners.demo import DemoSeed, seed_demo
from app.runtime import open_services
from app.settings import Settings
from tests.vendors.conftest import fast_policy
from vendors.registry import VENDORS


@pytest_asyncio.fixture
async def demo(database: Database, settings: Settings) -> DemoSeed:
    return await seed_demo(
        database,
        secret=settings.member_token_secret.get_secret_value(),
        now=utcnow(),
        token_lifetime=timedelta(hours=1),
    )


@pytest_asyncio.fixture
async def snapshot(database: Database, settings: Settings) -> None:
    """Every vendor's catalog in the snapshot (the sandboxes are seeded: same every time)."""
    async with open_services(
        settings,
        vendor_policies={spec.name: fast_policy(spec.name) for spec in VENDORS},
        sandbox_rate_limits=False,
    ) as services:
        results = await services.catalog.refresh()
    assert all(result.ok for result in results)


async def gql(
    client: httpx.AsyncClient, query: str, token: str | None = None, **variables: Any
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return await client.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )


REWARDS = """query($filter: RewardFilter) { rewards(first: 100, filter: $filter) { edges { node {
  id kind name brand currency
  options { id faceValue { amount } minValue { amount } maxValue { amount } points minPoints }
} } } }"""


async def find_reward(
    client: httpx.AsyncClient, token: str, *, brand: str, currency: str | None = None, **more: Any
) -> dict[str, Any]:
    """The first reward of ``brand`` (in ``currency``) as `rewards` lists it, with its options."""
    wanted: dict[str, Any] = {"brand": brand, **more}
    if currency is not None:
        wanted["currency"] = currency
    body = (await gql(client, REWARDS, token, filter=wanted)).json()
    edges = body["data"]["rewards"]["edges"]
    assert edges, f"no {brand} reward in the snapshot"
    node: dict[str, Any] = edges[0]["node"]
    return node


def option_of(reward: dict[str, Any], face_value: str | None = None) -> str:
    """The id of the reward's option of ``face_value`` (default: its first option)."""
    for option in reward["options"]:
        value = option["faceValue"]
        if face_value is None or (value and Decimal(value["amount"]) == Decimal(face_value)):
            return str(option["id"])
    raise AssertionError(f"{reward['name']} has no {face_value} option")
