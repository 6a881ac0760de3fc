"""The README's GraphQL examples run as written, and show numbers rather than nulls."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from app.partners.demo import DemoSeed
from tests.graphql_schema.conftest import find_reward, gql, option_of
from tests.graphql_schema.test_points import alice

pytestmark = [pytest.mark.asyncio, pytest.mark.usefixtures("snapshot")]

README = (Path(__file__).parents[2] / "README.md").read_text()
BLOCK = README.split("```graphql\n", 1)[1].split("```", 1)[0]
EXAMPLES = [example.strip() for example in BLOCK.split("\n\n") if example.strip()]


async def test_every_example_runs(client: httpx.AsyncClient, demo: DemoSeed) -> None:
    assert len(EXAMPLES) == 3
    catalog, balance, earn = EXAMPLES
    for example, token in ((catalog, alice(demo)), (balance, alice(demo)), (earn, demo.api_key)):
        body = (await gql(client, example, token)).json()
        assert "errors" not in body, (example, body)
    options = [
        option
        for edge in (await gql(client, catalog, alice(demo))).json()["data"]["rewards"]["edges"]
        for option in edge["node"]["options"]
    ]
    asked = set(re.findall(r"\b(points|minPoints|minValue|maxValue|faceValue)\b", catalog))
    assert asked == {"points", "minPoints", "minValue", "maxValue", "faceValue"}
    for name in asked:
        assert any(option[name] is not None for option in options), f"{name}: null everywhere"


REDEEM = README.split("```graphql\n", 2)[2].split("```", 1)[0]


async def test_the_redeem_example_runs(client: httpx.AsyncClient, demo: DemoSeed) -> None:
    apple = await find_reward(client, alice(demo), brand="Apple", currency="USD")
    body = (
        await gql(client, REDEEM, alice(demo), reward=apple["id"], option=option_of(apple, "25"))
    ).json()
    assert "errors" not in body, body
    assert body["data"]["redeem"]["userErrors"] == []
    assert body["data"]["redeem"]["redemption"]["status"] == "COMPLETED"
