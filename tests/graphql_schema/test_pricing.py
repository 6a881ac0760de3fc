"""Quotes over GraphQL: priced from the catalog's ids, by the offer the saga orders from first."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlmodel import col, select
from strawberry.relay import to_base64

from app.catalog.models import Reward
from app.db import Database
from app.partners.demo import DemoSeed
from app.pricing.models import Quote
from tests.graphql_schema.conftest import find_reward, gql, option_of

pytestmark = [pytest.mark.asyncio, pytest.mark.usefixtures("snapshot")]

QUOTE = """mutation($input: QuoteInput!) { quoteRedemption(input: $input) {
  quote { id points faceValue { amount currency } price { amount currency } rate rateSource
          markupPercent expiresAt }
  userErrors { code field message } } }"""


def alice(demo: DemoSeed) -> str:
    return str(demo.members[0]["token"])


async def _quote(client: httpx.AsyncClient, token: str, **quote_input: Any) -> dict[str, Any]:
    payload: dict[str, Any] = (await gql(client, QUOTE, token, input=quote_input)).json()
    result: dict[str, Any] = payload["data"]["quoteRedemption"]
    return result


async def test_a_quote_takes_the_ids_the_catalog_lists(
    client: httpx.AsyncClient, demo: DemoSeed, database: Database
) -> None:
    # Starbucks USD 25: Tango charges 25.63 (a 2.5 % fee), Tremendous 25.00 -> 2500 points.
    starbucks = await find_reward(client, alice(demo), brand="Starbucks", currency="USD")
    option = next(o for o in starbucks["options"] if o["faceValue"]["amount"] == "25.00")
    result = await _quote(client, alice(demo), rewardId=starbucks["id"], optionId=option["id"])
    assert result["userErrors"] == []
    quote = result["quote"]
    assert quote["faceValue"] == {"amount": "25.00", "currency": "USD"}
    assert quote["price"] == {"amount": "25.00", "currency": "USD"}
    assert quote["points"] == 2500 == option["points"], "the quote is the price the catalog shows"
    assert (quote["rate"], quote["rateSource"]) == ("1", "ecb-snapshot")
    expires = datetime.fromisoformat(quote["expiresAt"])
    assert timedelta(minutes=14) < expires - datetime.now(UTC) <= timedelta(minutes=15)
    async with database.session() as session:
        stored = await session.get(Quote, uuid.UUID(quote["id"]))
    assert stored is not None
    assert stored.offer_id is not None, "the quote records the offer it priced"
    assert stored.reward_ref == "tremendous:TRM002US"


async def test_a_range_is_priced_by_its_cheapest_healthy_offer(
    client: httpx.AsyncClient, demo: DemoSeed
) -> None:
    # Amazon EUR is sold by Tango and Tremendous; the quote is the cheaper one's cost.
    amazon = await find_reward(client, alice(demo), brand="Amazon", currency="EUR")
    result = await _quote(client, alice(demo), rewardId=amazon["id"], amount="40")
    quote = result["quote"]
    assert quote["faceValue"] == {"amount": "40.00", "currency": "EUR"}
    assert quote["points"] == -(
        -Decimal(quote["price"]["amount"]) * Decimal(quote["rate"]) // Decimal("0.01")
    )
    assert quote["points"] >= amazon["options"][0]["minPoints"]


@pytest.mark.parametrize(
    ("case", "code", "field"),
    [
        ("nonsense reward id", "NOT_FOUND", ["rewardId"]),
        ("unknown reward", "NOT_FOUND", ["rewardId"]),
        ("an option id of another reward", "NOT_FOUND", ["optionId"]),
        ("an option id that is not one", "NOT_FOUND", ["optionId"]),
        ("a range without an amount", "INVALID_AMOUNT", ["amount"]),
        ("an amount above the range", "INVALID_AMOUNT", ["amount"]),
        ("a fixed option with another amount", "INVALID_AMOUNT", ["amount"]),
        ("1.5 yen", "INVALID_AMOUNT", ["amount"]),
        ("10.005 dollars", "INVALID_AMOUNT", ["amount"]),
        ("several options, none chosen", "INVALID_AMOUNT", ["optionId"]),
        ("another member", "NOT_FOUND", ["memberId"]),
    ],
)
async def test_quotes_refuse_what_cannot_be_priced(
    client: httpx.AsyncClient, demo: DemoSeed, case: str, code: str, field: list[str]
) -> None:
    token = alice(demo)
    starbucks = await find_reward(client, token, brand="Starbucks", currency="USD")
    amazon = await find_reward(client, token, brand="Amazon", currency="USD")
    amazon_jp = await find_reward(client, token, brand="Amazon", currency="JPY")
    inputs: dict[str, dict[str, Any]] = {
        "nonsense reward id": {"rewardId": "nonsense"},
        "unknown reward": {"rewardId": to_base64("Reward", str(uuid.uuid4()))},
        "an option id of another reward": {
            "rewardId": starbucks["id"],
            "optionId": amazon["options"][0]["id"],
        },
        "an option id that is not one": {"rewardId": starbucks["id"], "optionId": "25"},
        "a range without an amount": {"rewardId": amazon["id"]},
        "an amount above the range": {"rewardId": amazon["id"], "amount": "100000"},
        "a fixed option with another amount": {
            "rewardId": starbucks["id"],
            "optionId": option_of(starbucks, "25"),
            "amount": "26",
        },
        "1.5 yen": {"rewardId": amazon_jp["id"], "amount": "1500.5"},
        "10.005 dollars": {"rewardId": amazon["id"], "amount": "10.005"},
        "several options, none chosen": {"rewardId": starbucks["id"]},
        "another member": {"rewardId": amazon["id"], "amount": "10", "memberId": "bob"},
    }
    result = await _quote(client, token, **inputs[case])
    assert result["quote"] is None
    [error] = result["userErrors"]
    assert (error["code"], error["field"]) == (code, field), error["message"]


async def test_amounts_finer_than_their_currency_say_so(
    client: httpx.AsyncClient, demo: DemoSeed
) -> None:
    amazon_jp = await find_reward(client, alice(demo), brand="Amazon", currency="JPY")
    result = await _quote(client, alice(demo), rewardId=amazon_jp["id"], amount="1500.5")
    assert result["userErrors"][0]["message"] == "JPY amounts have at most 0 decimals"


async def test_a_reward_gone_from_the_catalog_is_unavailable(
    client: httpx.AsyncClient, demo: DemoSeed, database: Database
) -> None:
    starbucks = await find_reward(client, alice(demo), brand="Starbucks", currency="USD")
    async with database.session() as session:
        [reward_id] = (
            await session.exec(
                select(Reward.id).where(Reward.brand == "Starbucks", Reward.currency == "USD")
            )
        ).all()
    await database.write(
        lambda session: session.exec(
            update(Reward).where(col(Reward.id) == reward_id).values(available=False)
        )
    )
    result = await _quote(
        client, alice(demo), rewardId=starbucks["id"], optionId=option_of(starbucks, "25")
    )
    assert result["userErrors"][0]["code"] == "REWARD_UNAVAILABLE"


async def test_a_partner_quotes_for_a_named_member(
    client: httpx.AsyncClient, demo: DemoSeed
) -> None:
    starbucks = await find_reward(client, demo.api_key, brand="Starbucks", currency="USD")
    base = {"rewardId": starbucks["id"], "optionId": option_of(starbucks, "25")}
    missing = await _quote(client, demo.api_key, **base)
    assert missing["userErrors"][0]["code"] == "MEMBER_REQUIRED"
    named = await _quote(client, demo.api_key, **base, memberId="bob")
    assert named["quote"]["points"] == 2500
