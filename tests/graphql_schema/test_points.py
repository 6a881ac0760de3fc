"""Members, balances, earning, tokens and quotes over GraphQL, with the demo partner."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from app._types import utcnow
from app.db import Database
from app.partners.auth import issue_member_token, new_api_key, store_api_key
from app.partners.demo import DemoSeed
from app.partners.models import ApiKeyRole, Partner
from app.points.programs import create_program
from app.settings import Settings
from tests.graphql_schema.conftest import gql

pytestmark = pytest.mark.asyncio

BALANCE = "{ me { id points { available pending held program { currency pointValue { amount currency } } } } }"  # noqa: E501


def alice(demo: DemoSeed) -> str:
    return str(demo.members[0]["token"])


async def test_a_member_reads_their_own_balance(client: httpx.AsyncClient, demo: DemoSeed) -> None:
    body = (await gql(client, BALANCE, alice(demo))).json()
    assert body == {
        "data": {
            "me": {
                "id": "alice",
                "points": {
                    "available": 50000,
                    "pending": 0,
                    "held": 0,
                    "program": {
                        "currency": "USD",
                        "pointValue": {"amount": "0.01", "currency": "USD"},
                    },
                },
            }
        }
    }


async def test_a_partner_reads_any_of_its_members(
    client: httpx.AsyncClient, demo: DemoSeed
) -> None:
    query = "query($id: ID!) { member(id: $id) { id points { available } } }"
    bob = (await gql(client, query, demo.api_key, id="bob")).json()
    assert bob["data"]["member"] == {"id": "bob", "points": {"available": 20000}}
    stranger = (await gql(client, query, demo.api_key, id="never-seen")).json()
    assert stranger["data"]["member"]["points"]["available"] == 0


EARN = """
mutation($input: EarnPointsInput!) {
  earnPoints(input: $input) {
    member { id points { available pending } }
    userErrors { code message field }
  }
}"""


async def test_earning_is_idempotent(client: httpx.AsyncClient, demo: DemoSeed) -> None:
    earn = {"memberId": "dave", "points": 700, "reason": "purchase #1", "idempotencyKey": "k1"}
    first = (await gql(client, EARN, demo.api_key, input=earn)).json()["data"]["earnPoints"]
    assert first == {
        "member": {"id": "dave", "points": {"available": 700, "pending": 0}},
        "userErrors": [],
    }
    again = (await gql(client, EARN, demo.api_key, input=earn)).json()["data"]["earnPoints"]
    assert again == first, "same key, same input: the same result, nothing new written"
    other = {**earn, "points": 701}
    reused = (await gql(client, EARN, demo.api_key, input=other)).json()["data"]["earnPoints"]
    assert reused["member"] is None
    assert reused["userErrors"] == [
        {
            "code": "IDEMPOTENCY_KEY_REUSED",
            "message": "this idempotency key was used with a different input",
            "field": ["idempotencyKey"],
        }
    ]


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"points": 0}, "INVALID_POINTS", "points"),
        ({"points": -5}, "INVALID_POINTS", "points"),
        ({"reason": " "}, "INVALID_REASON", "reason"),
        ({"memberId": "x" * 129}, "INVALID_MEMBER_ID", "memberId"),
        ({"expiresAt": "2020-01-01T00:00:00+00:00"}, "INVALID_DATES", "expiresAt"),
        ({"expiresAt": "9999-12-31T23:00:00-14:00"}, "INVALID_DATES", "expiresAt"),
        ({"activatesAt": "0001-01-01T00:00:00+14:00"}, "INVALID_DATES", "activatesAt"),
        (
            {"activatesAt": "2099-01-02T00:00:00+00:00", "expiresAt": "2099-01-01T00:00:00+00:00"},
            "INVALID_DATES",
            "expiresAt",
        ),
    ],
)
async def test_bad_earn_input_is_a_user_error(
    client: httpx.AsyncClient, demo: DemoSeed, change: dict[str, Any], code: str, field: str
) -> None:
    earn = {"memberId": "erin", "points": 10, "reason": "r", "idempotencyKey": f"bad-{code}"}
    result = (await gql(client, EARN, demo.api_key, input={**earn, **change})).json()
    payload = result["data"]["earnPoints"]
    assert payload["member"] is None
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [(code, [field])]


async def test_pending_points_show_as_pending(client: httpx.AsyncClient, demo: DemoSeed) -> None:
    later = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    earn = {
        "memberId": "fay",
        "points": 50,
        "reason": "r",
        "idempotencyKey": "p1",
        "activatesAt": later,
    }
    payload = (await gql(client, EARN, demo.api_key, input=earn)).json()["data"]["earnPoints"]
    assert payload["member"]["points"] == {"available": 0, "pending": 50}


HISTORY = """query($after: String) { me { history(first: 1, after: $after) {
  totalCount edges { cursor node { kind points reason } }
  pageInfo { hasNextPage endCursor } } } }"""


async def test_history_pages_newest_first(client: httpx.AsyncClient, demo: DemoSeed) -> None:
    earn = {"memberId": "alice", "points": 5, "reason": "bonus", "idempotencyKey": "h1"}
    await gql(client, EARN, demo.api_key, input=earn)
    first = (await gql(client, HISTORY, alice(demo))).json()["data"]["me"]["history"]
    assert first["totalCount"] == 2
    assert first["edges"][0]["node"] == {"kind": "EARN", "points": 5, "reason": "bonus"}
    assert first["pageInfo"]["hasNextPage"]
    cursor = first["pageInfo"]["endCursor"]
    second = (await gql(client, HISTORY, alice(demo), after=cursor)).json()["data"]["me"]
    assert second["history"]["edges"][0]["node"]["reason"] == "Demo welcome bonus"
    assert not second["history"]["pageInfo"]["hasNextPage"]


async def test_a_partner_issues_member_tokens(client: httpx.AsyncClient, demo: DemoSeed) -> None:
    issue = (
        'mutation { issueMemberToken(memberId: "carol") { token expiresAt userErrors { code } } }'
    )
    payload = (await gql(client, issue, demo.api_key)).json()["data"]["issueMemberToken"]
    assert payload["userErrors"] == []
    me = (await gql(client, BALANCE, payload["token"])).json()["data"]["me"]
    assert (me["id"], me["points"]["available"]) == ("carol", 5000)


@pytest.mark.parametrize(
    "token",
    [None, "rgp_not-a-real-key", "not.a.jwt", "Basic Zm9vOmJhcg=="],
)
async def test_missing_or_bad_credentials_answer_401(
    client: httpx.AsyncClient, demo: DemoSeed, token: str | None
) -> None:
    response = await gql(client, BALANCE, token)
    assert response.status_code == 401
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "UNAUTHENTICATED"


async def test_expired_and_forged_member_tokens_are_refused(
    client: httpx.AsyncClient, demo: DemoSeed, settings: Settings
) -> None:
    secret = settings.member_token_secret.get_secret_value()

    def mint(key: str, issued: datetime) -> str:
        return issue_member_token(
            key,
            partner_id=demo.program_id,
            program_id=demo.program_id,
            member_id="alice",
            now=issued,
            lifetime=timedelta(hours=1),
        )[0]

    expired = mint(secret, utcnow() - timedelta(hours=2))
    forged = mint("x" * 40, utcnow())
    for token in (expired, forged):
        response = await gql(client, BALANCE, token)
        assert response.status_code == 401


async def test_a_token_outliving_its_program_is_refused(
    client: httpx.AsyncClient, demo: DemoSeed, settings: Settings
) -> None:
    orphan, _ = issue_member_token(
        settings.member_token_secret.get_secret_value(),
        partner_id=demo.program_id,  # unchecked: the program decides
        program_id=uuid.uuid4(),
        member_id="alice",
        now=utcnow(),
        lifetime=timedelta(hours=1),
    )
    response = await gql(client, "query { rewards(first: 1) { totalCount } }", orphan)
    assert response.status_code == 401
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert "no program" in error["message"]


async def test_the_wrong_role_is_forbidden(client: httpx.AsyncClient, demo: DemoSeed) -> None:
    member = await gql(client, 'query { member(id: "bob") { id } }', alice(demo))
    assert member.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    earn = {"memberId": "a", "points": 1, "reason": "r", "idempotencyKey": "o"}
    ops = await gql(client, EARN, demo.ops_key, input=earn)
    assert ops.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    partner_me = await gql(client, BALANCE, demo.api_key)
    assert partner_me.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_no_partner_sees_another_partners_members(
    client: httpx.AsyncClient, demo: DemoSeed, database: Database
) -> None:
    async def other_partner(session: AsyncSession) -> str:
        partner = Partner(slug="other", name="Other")
        session.add(partner)
        await session.flush()
        program = await create_program(
            session,
            partner_id=partner.id,
            name="Other",
            currency="EUR",
            point_value=Decimal("0.005"),
        )
        key = new_api_key(ApiKeyRole.PARTNER)
        store_api_key(
            session, key, role=ApiKeyRole.PARTNER, partner_id=partner.id, program_id=program.id
        )
        return key

    other_key = await database.write(other_partner)
    earn = {"memberId": "alice", "points": 3, "reason": "r", "idempotencyKey": "iso"}
    await gql(client, EARN, other_key, input=earn)
    query = 'query { member(id: "alice") { points { available program { currency } } } }'
    theirs = (await gql(client, query, other_key)).json()["data"]["member"]["points"]
    ours = (await gql(client, query, demo.api_key)).json()["data"]["member"]["points"]
    assert theirs == {"available": 3, "program": {"currency": "EUR"}}
    assert ours == {"available": 50000, "program": {"currency": "USD"}}
