"""Redeeming over GraphQL as a member, a partner and ops see it: catalog ids in, a redemption
out; refusals as userErrors with nothing reserved; delivery only for its owners."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import update
from sqlmodel import col, func, select

from app._types import utcnow
from app.db import Database
from app.partners.demo import DemoSeed
from app.pricing.models import Quote
from app.redemption.models import Redemption
from app.server import create_app
from app.settings import RedemptionSettings, Settings
from tests.graphql_schema.conftest import find_reward, gql, option_of
from tests.vendors.conftest import travel_date

pytestmark = [pytest.mark.asyncio, pytest.mark.usefixtures("snapshot")]

FIELDS = """id status points vendor vendorReference failureReason attempts
  faceValue { amount currency } delivery { code pin url } reward { id name }"""
REDEEM = f"""mutation($input: RedeemInput!) {{ redeem(input: $input) {{
  redemption {{ {FIELDS} }} userErrors {{ code message field }} }} }}"""
ONE = f"query($id: ID!) {{ redemption(id: $id) {{ {FIELDS} }} }}"
ADA = {"name": "Ada Lovelace", "email": "ada@example.com", "phone": "+44 20 7946 0000"}


def token(demo: DemoSeed, n: int = 0) -> str:
    return str(demo.members[n]["token"])


async def _redeem(client: httpx.AsyncClient, credential: str, **redeem: Any) -> dict[str, Any]:
    body = (await gql(client, REDEEM, credential, input=redeem)).json()
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["redeem"]
    return result


async def _available(client: httpx.AsyncClient, credential: str) -> tuple[int, int]:
    body = (await gql(client, "{ me { points { available held } } }", credential)).json()
    points = body["data"]["me"]["points"]
    return points["available"], points["held"]


async def _apple(client: httpx.AsyncClient, credential: str) -> dict[str, Any]:
    apple = await find_reward(client, credential, brand="Apple", currency="USD")
    return {"rewardId": apple["id"], "optionId": option_of(apple, "25"), "recipient": ADA}


async def test_a_member_redeems_what_the_catalog_lists(
    client: httpx.AsyncClient, demo: DemoSeed
) -> None:
    alice = token(demo)
    apple = await find_reward(client, alice, brand="Apple", currency="USD")
    option = next(o for o in apple["options"] if o["faceValue"]["amount"] == "25.00")
    before, _ = await _available(client, alice)
    result = await _redeem(
        client,
        alice,
        rewardId=apple["id"],
        optionId=option["id"],
        idempotencyKey="first",
        recipient=ADA,
    )
    assert result["userErrors"] == []
    redemption = result["redemption"]
    assert redemption["status"] == "COMPLETED"
    assert redemption["points"] == option["points"], "the price the catalog showed"
    assert redemption["faceValue"] == {"amount": "25.00", "currency": "USD"}
    assert redemption["reward"] == {"id": apple["id"], "name": apple["name"]}
    assert redemption["delivery"]["code"] or redemption["delivery"]["url"]
    assert redemption["vendorReference"]
    assert await _available(client, alice) == (before - redemption["points"], 0)
    listed = (
        await gql(client, "{ me { redemptions { totalCount edges { node { id } } } } }", alice)
    ).json()["data"]["me"]["redemptions"]
    assert listed["totalCount"] == 1
    assert listed["edges"][0]["node"]["id"] == redemption["id"]
    again = (await gql(client, ONE, alice, id=redemption["id"])).json()["data"]["redemption"]
    assert again == redemption


async def test_delivery_is_shown_to_its_member_and_partner_only(
    client: httpx.AsyncClient, demo: DemoSeed
) -> None:
    made = await _redeem(
        client, token(demo), idempotencyKey="d", **await _apple(client, token(demo))
    )
    redemption_id = made["redemption"]["id"]
    delivery = made["redemption"]["delivery"]
    assert delivery["code"] or delivery["url"]

    async def seen_by(credential: str) -> Any:
        return (await gql(client, ONE, credential, id=redemption_id)).json()["data"]["redemption"]

    assert (await seen_by(demo.api_key))["delivery"] == delivery
    ops = await seen_by(demo.ops_key)
    assert ops["status"] == "COMPLETED"
    assert ops["delivery"] is None, "ops see the redemption, never the code"
    assert await seen_by(token(demo, 1)) is None, "another member sees nothing"


async def test_the_same_key_answers_the_same_redemption(
    client: httpx.AsyncClient, demo: DemoSeed, database: Database
) -> None:
    alice = token(demo)
    order = await _apple(client, alice)
    first = await _redeem(client, alice, idempotencyKey="same", **order)
    second = await _redeem(client, alice, idempotencyKey="same", **order)
    assert second["redemption"]["id"] == first["redemption"]["id"]
    other = {**order, "recipient": {**ADA, "email": "someone@example.com"}}
    refused = await _redeem(client, alice, idempotencyKey="same", **other)
    assert refused["redemption"] is None
    assert [e["code"] for e in refused["userErrors"]] == ["IDEMPOTENCY_KEY_REUSED"]
    async with database.session() as session:
        assert (await session.exec(select(func.count()).select_from(Redemption))).one() == 1


async def test_a_partner_redeems_for_a_named_member(
    client: httpx.AsyncClient, demo: DemoSeed
) -> None:
    order = await _apple(client, demo.api_key)
    missing = await _redeem(client, demo.api_key, idempotencyKey="p", **order)
    assert missing["userErrors"][0]["code"] == "MEMBER_REQUIRED"
    made = await _redeem(client, demo.api_key, idempotencyKey="p", memberId="bob", **order)
    assert made["redemption"]["status"] == "COMPLETED"
    assert made["redemption"]["delivery"] is not None


async def test_a_quote_locks_the_points_the_redemption_costs(
    client: httpx.AsyncClient, demo: DemoSeed
) -> None:
    alice = token(demo)
    order = await _apple(client, alice)
    quote_input = {"rewardId": order["rewardId"], "optionId": order["optionId"]}
    quote = (
        await gql(
            client,
            "mutation($input: QuoteInput!) "
            "{ quoteRedemption(input: $input) { quote { id points } } }",
            alice,
            input=quote_input,
        )
    ).json()["data"]["quoteRedemption"]["quote"]
    made = await _redeem(client, alice, idempotencyKey="q", quoteId=quote["id"], **order)
    assert made["redemption"]["points"] == quote["points"]


async def _refusal(
    client: httpx.AsyncClient, demo: DemoSeed, database: Database, case: str
) -> list[dict[str, Any]]:
    alice = token(demo)
    apple = await _apple(client, alice)
    mug = await find_reward(client, alice, brand="Printful", currency="USD", search="mug")
    tour = await find_reward(client, alice, brand="Viator", search="canal cruise")
    amazon = await find_reward(client, alice, brand="Amazon", currency="USD")
    tour_input = {"rewardId": tour["id"], "recipient": ADA}
    cases: dict[str, dict[str, Any]] = {
        "gift card without recipient": {**apple, "recipient": None},
        "recipient without email": {**apple, "recipient": {**ADA, "email": "ada"}},
        "merchandise without address": {"rewardId": mug["id"], "recipient": ADA},
        "address without country": {
            "rewardId": mug["id"],
            "shippingAddress": {
                "name": "Ada",
                "line1": "12 Analytical Way",
                "city": "London",
                "postalCode": "N1",
                "country": "UK!",
            },
        },
        "experience without a date": tour_input,
        "experience in the past": {
            **tour_input,
            "experience": {"travelDate": "2020-01-01", "travelers": 1},
        },
        "experience for nobody": {
            **tour_input,
            "experience": {"travelDate": travel_date(), "travelers": 0},
        },
        "unanswered booking questions": {
            **tour_input,
            "experience": {"travelDate": travel_date(), "travelers": 2},
        },
        "more points than the member has": {
            "rewardId": amazon["id"],
            "amount": "500",
            "recipient": ADA,
        },
        "no such quote": {**apple, "quoteId": "00000000-0000-0000-0000-000000000000"},
        "an expired quote": {**apple, "quoteId": "expired"},
        "a quote for another reward": {**apple, "quoteId": "other"},
        "a blank key": {**apple},
    }
    redeem = cases[case]
    if redeem.get("quoteId") in ("expired", "other"):
        quoted = {"rewardId": apple["rewardId"], "optionId": apple["optionId"]}
        if redeem["quoteId"] == "other":
            quoted = {"rewardId": amazon["id"], "amount": "10"}
        quote = (
            await gql(
                client,
                "mutation($input: QuoteInput!) { quoteRedemption(input: $input) { quote { id } } }",
                alice,
                input=quoted,
            )
        ).json()["data"]["quoteRedemption"]["quote"]
        if redeem["quoteId"] == "expired":
            await database.write(
                lambda session: session.exec(
                    update(Quote)
                    .where(col(Quote.id) == uuid.UUID(quote["id"]))
                    .values(expires_at=utcnow() - timedelta(seconds=1))
                )
            )
        redeem = {**redeem, "quoteId": quote["id"]}
    member = token(demo, 2) if case == "more points than the member has" else alice
    key = " " if case == "a blank key" else f"key-{case}"
    result = await _redeem(client, member, idempotencyKey=key, **redeem)
    assert result["redemption"] is None
    errors: list[dict[str, Any]] = result["userErrors"]
    return errors


@pytest.mark.parametrize(
    ("case", "code", "field"),
    [
        ("gift card without recipient", "RECIPIENT_REQUIRED", ["recipient"]),
        ("recipient without email", "INVALID_RECIPIENT", ["recipient", "email"]),
        ("merchandise without address", "ADDRESS_REQUIRED", ["shippingAddress"]),
        ("address without country", "INVALID_ADDRESS", ["shippingAddress", "country"]),
        ("experience without a date", "EXPERIENCE_REQUIRED", ["experience"]),
        ("experience in the past", "INVALID_TRAVEL_DATE", ["experience", "travelDate"]),
        ("experience for nobody", "INVALID_TRAVELERS", ["experience", "travelers"]),
        ("unanswered booking questions", "BOOKING_QUESTIONS", None),
        ("more points than the member has", "INSUFFICIENT_POINTS", None),
        ("no such quote", "NOT_FOUND", ["quoteId"]),
        ("an expired quote", "QUOTE_EXPIRED", ["quoteId"]),
        ("a quote for another reward", "QUOTE_MISMATCH", ["quoteId"]),
        ("a blank key", "INVALID_IDEMPOTENCY_KEY", ["idempotencyKey"]),
    ],
)
async def test_what_cannot_be_redeemed_is_refused_before_a_point_is_held(
    client: httpx.AsyncClient,
    demo: DemoSeed,
    database: Database,
    case: str,
    code: str,
    field: list[str] | None,
) -> None:
    before = await _available(client, token(demo))
    errors = await _refusal(client, demo, database, case)
    assert {e["code"] for e in errors} == {code}, errors
    if field is not None:
        assert errors[0]["field"] == field
    if code == "BOOKING_QUESTIONS":
        # One error per question to answer, each naming it (the second traveller's names).
        assert len(errors) >= 2
        assert all(e["field"][:2] == ["experience", "answers"] for e in errors)
    assert await _available(client, token(demo)) == before
    async with database.session() as session:
        assert (await session.exec(select(func.count()).select_from(Redemption))).one() == 0


@asynccontextmanager
async def _gateway(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, Any]]]:
    """A gateway and its lifespan state (its in-process sandboxes, to set their faults)."""
    app = create_app(settings)
    async with (
        LifespanManager(app) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app), base_url="http://gateway.test"
        ) as client,
    ):
        yield client, manager._state


async def test_redeem_answers_within_its_wait_budget_and_the_saga_goes_on(
    settings: Settings, database: Database, demo: DemoSeed
) -> None:
    quick = settings.model_copy(
        update={"redemption": RedemptionSettings(wait_seconds=0.2, worker_interval_seconds=0.2)}
    )
    async with _gateway(quick) as (client, state):
        hub = state["vendors"].sandboxes
        for name in ("tango", "tremendous"):
            hub[name].set_faults(latency_ms=800)
        made = await _redeem(
            client, token(demo), idempotencyKey="slow", **await _apple(client, token(demo))
        )
        redemption = made["redemption"]
        assert redemption["status"] == "POINTS_RESERVED", "answered before the vendor did"
        assert redemption["delivery"] is None
        for _ in range(100):
            seen = (await gql(client, ONE, token(demo), id=redemption["id"])).json()
            if seen["data"]["redemption"]["status"] == "COMPLETED":
                break
            await asyncio.sleep(0.1)
        assert seen["data"]["redemption"]["status"] == "COMPLETED"
        assert seen["data"]["redemption"]["delivery"] is not None


OPS_FIELDS = "redemption { id status } outcome userErrors { code message }"
REPLAY = f"mutation($id: ID!) {{ replayRedemption(id: $id) {{ {OPS_FIELDS} }} }}"
CANCEL = (
    "mutation($id: ID!, $r: String!) "
    f"{{ cancelRedemption(id: $id, reason: $r) {{ {OPS_FIELDS} }} }}"
)
FAILED = "{ failedRedemptions { totalCount edges { node { id status failureReason } } } }"


async def test_ops_list_replay_and_cancel_stuck_redemptions(
    settings: Settings, database: Database, demo: DemoSeed
) -> None:
    async with _gateway(settings) as (client, state):
        hub = state["vendors"].sandboxes
        order = await _apple(client, token(demo))

        async def stuck(key: str) -> dict[str, Any]:
            """A redemption made while its vendors fail, then past its deadline."""
            for name in ("tango", "tremendous"):
                hub[name].set_faults(error_rate=1.0)
            made: dict[str, Any] = (
                await _redeem(client, token(demo), idempotencyKey=key, **order)
            )["redemption"]
            await database.write(
                lambda session: session.exec(
                    update(Redemption)
                    .where(col(Redemption.idempotency_key) == key)
                    .values(
                        status="NEEDS_OPS",
                        next_run_at=None,
                        locked_by=None,
                        locked_until=None,
                        updated_at=utcnow() - timedelta(hours=1),
                    )
                )
            )
            for name in ("tango", "tremendous"):
                hub[name].set_faults(error_rate=0.0)
            return made

        first = await stuck("stuck1")
        failed = (await gql(client, FAILED, demo.ops_key)).json()["data"]["failedRedemptions"]
        assert failed["totalCount"] == 1
        assert failed["edges"][0]["node"]["id"] == first["id"]
        forbidden = (await gql(client, FAILED, token(demo))).json()
        assert forbidden["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        member = (await gql(client, REPLAY, token(demo), id=first["id"])).json()
        assert member["errors"][0]["extensions"]["code"] == "FORBIDDEN"

        replayed = (await gql(client, REPLAY, demo.ops_key, id=first["id"])).json()
        assert replayed["data"]["replayRedemption"]["redemption"]["status"] == "COMPLETED"
        assert replayed["data"]["replayRedemption"]["outcome"] == "REPLAYED"

        second = await stuck("stuck2")
        cancelled = (await gql(client, CANCEL, demo.ops_key, id=second["id"], r="ask")).json()
        payload = cancelled["data"]["cancelRedemption"]
        assert payload["redemption"]["status"] == "COMPENSATED"
        assert payload["outcome"] == "REFUNDED_ORDER_ABSENT"
        late = (await gql(client, CANCEL, demo.ops_key, id=first["id"], r="late")).json()
        assert late["data"]["cancelRedemption"]["userErrors"][0]["code"] == "ALREADY_COMPLETED"
        unknown = (await gql(client, REPLAY, demo.ops_key, id="nope")).json()
        assert unknown["data"]["replayRedemption"]["userErrors"][0]["code"] == "NOT_FOUND"
        failed = (await gql(client, FAILED, demo.ops_key)).json()["data"]["failedRedemptions"]
        assert failed["totalCount"] == 0


async def test_node_resolves_a_redemption_for_who_may_see_it(
    client: httpx.AsyncClient, demo: DemoSeed
) -> None:
    made = await _redeem(
        client, token(demo), idempotencyKey="node", **await _apple(client, token(demo))
    )
    query = "query($id: ID!) { node(id: $id) { id ... on Redemption { status points } } }"
    redemption_id = made["redemption"]["id"]
    mine = (await gql(client, query, token(demo), id=redemption_id)).json()["data"]["node"]
    assert mine == {
        "id": redemption_id,
        "status": "COMPLETED",
        "points": made["redemption"]["points"],
    }
    assert (await gql(client, query, token(demo, 1), id=redemption_id)).json()["data"][
        "node"
    ] is None
