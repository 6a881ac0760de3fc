"""Bad client input is a client error: a clear message and code, nothing logged as an error,
nothing written; and what production shows and refuses."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator, MutableMapping
from datetime import timedelta
from typing import Any

import httpx
import orjson
import pytest
from structlog.testing import capture_logs

from app._types import utcnow
from app.db import Database
from app.partners.auth import issue_member_token
from app.partners.demo import DemoSeed
from app.points.ledger import MAX_BALANCE
from app.settings import DEVELOPMENT_MEMBER_TOKEN_SECRET, Settings, load_settings
from tests.conftest import gateway_client
from tests.graphql_schema.conftest import gql
from tests.graphql_schema.test_points import BALANCE, alice

pytestmark = pytest.mark.asyncio

EARN = """mutation($input: EarnPointsInput!) { earnPoints(input: $input) {
  member { points { available } } userErrors { code message field } } }"""
PAGE = """query($first: Int, $after: String, $filter: RewardFilter, $sort: RewardSort) {
  rewards(first: $first, after: $after, filter: $filter, sort: $sort) {
    edges { cursor node { ... on Reward { name } } } } }"""
HISTORY = """query($first: Int, $after: String) { member(id: "alice") {
  history(first: $first, after: $after) { edges { cursor } } } }"""


@pytest.fixture
def errors_logged() -> Iterator[list[MutableMapping[str, Any]]]:
    with capture_logs() as logs:
        yield logs


def _error_events(logs: list[MutableMapping[str, Any]]) -> list[MutableMapping[str, Any]]:
    return [log for log in logs if log.get("log_level") in ("error", "critical")]


def _only_error(body: dict[str, Any]) -> dict[str, Any]:
    assert body.get("data") in (None, {}) or all(v is None for v in body["data"].values()), body
    [error] = body["errors"]
    return dict(error)


async def test_a_balance_never_outgrows_a_graphql_int(
    client: httpx.AsyncClient, demo: DemoSeed
) -> None:
    """Int is 32 bits: points stop at 2147483647 (earns past it are refused, reads work)."""
    codes = []
    for number in range(3):
        earn = {
            "memberId": "whale",
            "points": 1_000_000_000,
            "reason": "r",
            "idempotencyKey": f"w{number}",
        }
        body = (await gql(client, EARN, demo.api_key, input=earn)).json()
        codes.append([e["code"] for e in body["data"]["earnPoints"]["userErrors"]])
    assert codes == [[], [], ["INVALID_POINTS"]]
    read = (await gql(client, 'query { member(id: "whale") { points { available } } }',
                      demo.api_key)).json()  # fmt: skip
    assert read == {"data": {"member": {"points": {"available": 2_000_000_000}}}}
    assert MAX_BALANCE == 2**31 - 1


def _b64(value: object) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(value)).decode()


@pytest.mark.usefixtures("snapshot")
@pytest.mark.parametrize(
    "cursor",
    [
        "!!!not base64!!!",
        _b64([1, 2]),  # valid base64 of the wrong shape
        _b64({"q": "x", "k": []}),
        _b64("a string"),
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
        "A" * 600,
    ],
)
async def test_a_malformed_cursor_is_a_client_error(
    client: httpx.AsyncClient, demo: DemoSeed, cursor: str, errors_logged: list[Any]
) -> None:
    body = (await gql(client, PAGE, demo.api_key, first=2, after=cursor)).json()
    error = _only_error(body)
    assert error["message"] == "`after` is not a cursor this API made"
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": "after"}
    assert _error_events(errors_logged) == []


@pytest.mark.usefixtures("snapshot")
async def test_a_cursor_belongs_to_its_query(client: httpx.AsyncClient, demo: DemoSeed) -> None:
    first = (await gql(client, PAGE, demo.api_key, first=2, sort="NAME_ASC")).json()
    cursor = first["data"]["rewards"]["edges"][-1]["cursor"]
    same = (await gql(client, PAGE, demo.api_key, first=2, sort="NAME_ASC", after=cursor)).json()
    assert len(same["data"]["rewards"]["edges"]) == 2
    for other in ({"sort": "POINTS_ASC"}, {"sort": "NAME_ASC", "filter": {"kinds": ["CHARITY"]}}):
        body = (await gql(client, PAGE, demo.api_key, first=2, after=cursor, **other)).json()
        error = _only_error(body)
        assert "a cursor of another query" in error["message"]
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
    # Right query, forged key: the types of the sort key are checked too.
    forged = _b64({"q": orjson.loads(base64.urlsafe_b64decode(cursor))["q"], "k": [1, "x"]})
    body = (await gql(client, PAGE, demo.api_key, first=2, sort="NAME_ASC", after=forged)).json()
    assert _only_error(body)["extensions"]["code"] == "BAD_USER_INPUT"


@pytest.mark.usefixtures("snapshot")
@pytest.mark.parametrize(
    ("filter", "message"),
    [
        ({"search": "x" * 101}, "`search` is at most 100 characters"),
        ({"minPoints": 500, "maxPoints": 100}, "`minPoints` (500) is above `maxPoints` (100)"),
        ({"minPoints": -1}, "`minPoints` cannot be negative"),
        ({"country": "USA"}, "`country` is an ISO 3166-1 alpha-2 code: two letters"),
        ({"currency": "dollars"}, "`currency` is an ISO 4217 code: three letters"),
        ({"brand": "b" * 201}, "`brand` is at most 200 characters"),
    ],
)
async def test_filters_that_cannot_match_say_so(
    client: httpx.AsyncClient, demo: DemoSeed, filter: dict[str, Any], message: str
) -> None:
    body = (await gql(client, PAGE, demo.api_key, filter=filter)).json()
    error = _only_error(body)
    assert error["message"] == message
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


@pytest.mark.parametrize(
    ("variables", "code"),
    [
        ({"input": {"memberId": "bob\x00", "points": 1, "reason": "r", "idempotencyKey": "k"}},
         "BAD_USER_INPUT"),
        ({"input": {"memberId": "bob", "points": 1, "reason": "r\x00", "idempotencyKey": "k"}},
         "BAD_USER_INPUT"),
    ],
)  # fmt: skip
async def test_nul_characters_are_refused_before_anything_runs(
    client: httpx.AsyncClient,
    demo: DemoSeed,
    database: Database,
    variables: dict[str, Any],
    code: str,
    errors_logged: list[Any],
) -> None:
    body = (await gql(client, EARN, demo.api_key, **variables)).json()
    error = _only_error(body)
    assert "NUL characters" in error["message"]
    assert error["extensions"]["code"] == code
    literal = EARN.replace("($input: EarnPointsInput!)", "").replace(
        "input: $input",
        'input: {memberId: "bob\\u0000", points: 1, reason: "r", idempotencyKey: "k"}',
    )
    assert (
        "NUL characters"
        in _only_error((await gql(client, literal, demo.api_key)).json())["message"]
    )
    assert _error_events(errors_logged) == []


QUOTE = """mutation($input: QuoteInput!) { quoteRedemption(input: $input) {
  quote { points } userErrors { code } } }"""


@pytest.mark.parametrize("amount", ["NaN", "Infinity", "-Infinity", "sNaN", "1" * 100])
async def test_a_decimal_that_is_not_a_finite_number_is_a_client_error(
    client: httpx.AsyncClient, demo: DemoSeed, amount: str, errors_logged: list[Any]
) -> None:
    quote = {"rewardId": "x", "amount": amount}
    body = (await gql(client, QUOTE, alice(demo), input=quote)).json()
    error = _only_error(body)
    assert error["extensions"] == {"code": "BAD_USER_INPUT"}
    assert "Decimal" in error["message"]
    assert _error_events(errors_logged) == []


@pytest.mark.parametrize("first", [0, -1, 101])
async def test_history_pages_are_1_to_100(
    client: httpx.AsyncClient, demo: DemoSeed, first: int
) -> None:
    body = (await gql(client, HISTORY, demo.api_key, first=first)).json()
    [error] = body["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": "first"}


async def test_a_history_cursor_must_be_one_of_its_own(
    client: httpx.AsyncClient, demo: DemoSeed
) -> None:
    page = (await gql(client, HISTORY, demo.api_key, first=1)).json()
    cursor = page["data"]["member"]["history"]["edges"][0]["cursor"]
    assert "errors" not in (await gql(client, HISTORY, demo.api_key, after=cursor)).json()
    for bad in ("garbage", _b64({"q": "nope", "k": ["x", "y"]})):
        body = (await gql(client, HISTORY, demo.api_key, after=bad)).json()
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_token_errors_say_invalid_or_expired_and_nothing_of_the_library(
    client: httpx.AsyncClient, demo: DemoSeed, settings: Settings
) -> None:
    def mint(secret: str, hours_ago: float) -> str:
        return issue_member_token(
            secret,
            partner_id=demo.program_id,
            program_id=demo.program_id,
            member_id="alice",
            now=utcnow() - timedelta(hours=hours_ago),
            lifetime=timedelta(hours=1),
        )[0]

    secret = settings.member_token_secret.get_secret_value()
    cases = {
        mint(secret, 2): "Not authenticated: expired credential.",
        mint("y" * 40, 0): "Not authenticated: invalid credential.",
        "a.b.c": "Not authenticated: invalid credential.",
        "rgp_nope": "Not authenticated: invalid credential.",
    }
    for token, message in cases.items():
        response = await gql(client, BALANCE, token)
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert _only_error(response.json())["message"] == message


async def test_the_forbidden_message_reads_well(client: httpx.AsyncClient, demo: DemoSeed) -> None:
    body = (await gql(client, "{ vendorHealth { vendor } }", demo.api_key)).json()
    assert _only_error(body)["message"] == "Forbidden: this needs an ops credential."


async def test_me_with_a_token_outliving_its_program_is_401(
    client: httpx.AsyncClient, demo: DemoSeed, settings: Settings
) -> None:
    orphan, _ = issue_member_token(
        settings.member_token_secret.get_secret_value(),
        partner_id=demo.program_id,
        program_id=uuid.uuid4(),
        member_id="alice",
        now=utcnow(),
        lifetime=timedelta(hours=1),
    )
    response = await gql(client, "{ me { points { available } } }", orphan)
    assert response.status_code == 401
    assert _only_error(response.json())["extensions"]["code"] == "UNAUTHENTICATED"


@pytest.fixture
def production(settings: Settings) -> Settings:
    return load_settings(
        env_file=None,
        database_url=settings.database_url,
        database_schema=settings.database_schema,
        environment="production",
        fx={"source": "snapshot"},
        member_token_secret="p" * 40,
        delivery_keys="m5XlQvPnGctDRAeU-UDXQMyKKxp-J5wsrxNahFxjpLs=",
        catalog_schedule=False,
        expiry_sweep_seconds=0,
        vendors={
            name: {"enabled": False}
            for name in ("tango", "tremendous", "printful", "viator", "change")
        },
    )


@pytest.mark.parametrize(
    "query",
    [
        "{ versio }",  # a field
        "{ rewards(frist: 2) { totalCount } }",  # an argument
        '{ rewards(filter: {serach: "x"}) { totalCount } }',  # an input field
        "{ rewards(sort: NAME_AS) { totalCount } }",  # an enum value
        "query($f: RewardFiltr) { rewards(filter: $f) { totalCount } }",  # a type
        "{ rewards { edges { node { ... on Rewrd { name } } } } }",  # a type condition
    ],
)
async def test_production_suggests_nothing(
    production: Settings, demo: DemoSeed, database: Database, query: str
) -> None:
    async with gateway_client(production) as http:
        body = (await http.post("/graphql", json={"query": query})).json()
    assert body["errors"], body
    assert all("Did you mean" not in error["message"] for error in body["errors"]), body
    assert all(
        error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED" for error in body["errors"]
    )


async def test_development_still_suggests(client: httpx.AsyncClient) -> None:
    body = (await client.post("/graphql", json={"query": "{ versio }"})).json()
    assert "Did you mean 'version'?" in body["errors"][0]["message"]


async def test_production_refuses_the_demo_keys(
    production: Settings, demo: DemoSeed, database: Database
) -> None:
    """The demo keys are derived from the development secret, which is public: a database
    seeded in development keeps them, and production must not let them in."""
    assert DEVELOPMENT_MEMBER_TOKEN_SECRET  # the demo fixture seeded with it
    async with gateway_client(production) as http:
        for key in (demo.api_key, demo.ops_key):
            response = await gql(http, "{ version }", key)
            assert response.status_code == 200, "version needs no credential"
            refused = await gql(http, "{ rewards(first: 1) { totalCount } }", key)
            assert refused.status_code == 401
            assert _only_error(refused.json())["message"] == (
                "Not authenticated: invalid credential."
            )


@pytest.mark.usefixtures("snapshot")
async def test_a_cursor_with_a_number_no_column_holds_is_a_client_error(
    client: httpx.AsyncClient, demo: DemoSeed, errors_logged: list[Any]
) -> None:
    page = (await gql(client, PAGE, demo.api_key, first=2, sort="POINTS_ASC")).json()
    cursor = orjson.loads(base64.urlsafe_b64decode(page["data"]["rewards"]["edges"][-1]["cursor"]))
    for number in (2**63, -(2**63) - 1):
        key = {**cursor, "k": [number, *cursor["k"][1:]]}
        forged = base64.urlsafe_b64encode(json.dumps(key).encode()).decode()
        body = (
            await gql(client, PAGE, demo.api_key, first=2, sort="POINTS_ASC", after=forged)
        ).json()
        assert _only_error(body)["extensions"]["code"] == "BAD_USER_INPUT"
    assert _error_events(errors_logged) == []


async def test_a_lone_surrogate_is_refused_like_a_nul(
    client: httpx.AsyncClient, demo: DemoSeed, errors_logged: list[Any]
) -> None:
    # JSON and GraphQL may both spell a lone surrogate; no database stores one (the UTF-8
    # encoders of PostgreSQL's and SQLite's drivers raised, masked as internal errors).
    query = PAGE.replace("\n", " ")
    body = b'{"query": %s, "variables": {"filter": {"search": "caf\\ud800"}}}' % orjson.dumps(query)
    response = await client.post(
        "/graphql",
        content=body,
        headers={"Authorization": f"Bearer {demo.api_key}", "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.text.startswith("The body is not JSON")
    literal = '{ rewards(filter: {search: "caf\\ud800"}) { totalCount } }'
    error = _only_error((await gql(client, literal, demo.api_key)).json())
    assert error["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"  # graphql-core's lexer
    assert _error_events(errors_logged) == []


@pytest.mark.parametrize(
    "body",
    [
        b"\xff\xfe{}",  # not UTF-8
        b"null",
        b"42",
        b'"{ version }"',
        b"[" * 100_000 + b"]" * 100_000,  # deeper than a recursive decoder goes
        b'{"query": "{ version }", "variables": {"n": ' + b"9" * 5000 + b"}}",
        b"{",
    ],
)
async def test_a_body_that_is_not_a_json_object_is_a_400_not_a_crash(
    settings: Settings, database: Database, body: bytes, errors_logged: list[Any]
) -> None:
    async with gateway_client(settings) as http:
        # Unhandled exceptions are answered as a 500 here instead of raised into the test.
        http._transport = httpx.ASGITransport(
            app=http._transport.app,  # type: ignore[attr-defined]
            raise_app_exceptions=False,
        )
        response = await http.post(
            "/graphql", content=body, headers={"Content-Type": "application/json"}
        )
    assert 400 <= response.status_code < 500, response.text
    assert _error_events(errors_logged) == []


async def test_an_authorization_header_that_is_not_ascii_is_a_401(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/graphql",
        json={"query": "{ rewards(first: 1) { totalCount } }"},
        headers=[(b"Authorization", b"Bearer \xe9\xff")],
    )
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_a_syntax_error_is_a_parse_failure(client: httpx.AsyncClient) -> None:
    body = (await client.post("/graphql", json={"query": "{ version "})).json()
    [error] = body["errors"]
    assert error["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"
    assert error["message"].startswith("Syntax Error")


@pytest.mark.parametrize("member_id", ["", " ", "bob ", " bob", "b" * 129])
async def test_a_member_id_of_spaces_or_edge_spaces_is_refused(
    client: httpx.AsyncClient, demo: DemoSeed, member_id: str
) -> None:
    earn = {"memberId": member_id, "points": 1, "reason": "r", "idempotencyKey": "blank-id"}
    body = (await gql(client, EARN, demo.api_key, input=earn)).json()
    [refused] = body["data"]["earnPoints"]["userErrors"]
    assert refused["code"] == "INVALID_MEMBER_ID"
    assert refused["field"] == ["memberId"]
    token = """mutation($id: ID!) { issueMemberToken(memberId: $id) {
      token userErrors { code } } }"""
    issued = (await gql(client, token, demo.api_key, id=member_id)).json()
    assert issued["data"]["issueMemberToken"]["token"] is None
    member = """query($id: ID!) { member(id: $id) { id } }"""
    assert (await gql(client, member, demo.api_key, id=member_id)).json()["data"] == {
        "member": None
    }


@pytest.mark.parametrize(
    "claims",
    [
        {"sub": "alice", "ptn": 7, "prg": 7},
        {"sub": "alice", "ptn": None, "prg": None},
        {"sub": "alice", "ptn": ["x"], "prg": {"a": 1}},
        {"sub": "alice"},
    ],
)
async def test_a_signed_token_with_claims_of_the_wrong_type_is_a_401(
    client: httpx.AsyncClient, settings: Settings, claims: dict[str, Any]
) -> None:
    import jwt

    from app.partners.auth import TOKEN_ALGORITHM, TOKEN_AUDIENCE, TOKEN_ISSUER

    now = int(utcnow().timestamp())
    token = jwt.encode(
        {"iss": TOKEN_ISSUER, "aud": TOKEN_AUDIENCE, "iat": now, "exp": now + 600, **claims},
        settings.member_token_secret.get_secret_value(),
        algorithm=TOKEN_ALGORITHM,
    )
    response = await gql(client, BALANCE, token)
    assert response.status_code == 401
    assert _only_error(response.json())["message"] == "Not authenticated: invalid credential."


@pytest.mark.parametrize("amount", ["25_0", "٢٥", " 25", "25 ", "1e31", "1e-31", "0x19"])
async def test_a_decimal_must_be_a_plain_ascii_number_of_sensible_size(
    client: httpx.AsyncClient, demo: DemoSeed, amount: str
) -> None:
    body = (await gql(client, QUOTE, alice(demo), input={"rewardId": "x", "amount": amount})).json()
    assert _only_error(body)["extensions"] == {"code": "BAD_USER_INPUT"}
