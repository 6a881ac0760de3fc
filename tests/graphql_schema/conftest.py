"""GraphQL tests: a small client helper and catalog lookups (the demo partner and the
refreshed catalog are fixtures of the whole suite, in tests/conftest.py)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx


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
