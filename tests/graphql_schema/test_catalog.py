"""The catalog over GraphQL: pages, cursors, filters, sorts, prices per program, health."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel.ext.asyncio.session import AsyncSession
from strawberry.relay import to_base64

from app.db import Database
from app.partners.auth import new_api_key, store_api_key
from app.partners.demo import DemoSeed
from app.partners.models import ApiKeyRole, Partner
from app.points.programs import create_program
from app.runtime import open_services
from app.settings import Settings
from tests.conftest import gateway_client
from tests.graphql_schema.conftest import gql
from tests.vendors.conftest import fast_policy
from vendors.registry import VENDORS

pytestmark = [pytest.mark.asyncio, pytest.mark.usefixtures("snapshot")]

PAGE = """
query($first: Int, $after: String, $filter: RewardFilter, $sort: RewardSort) {
  rewards(first: $first, after: $after, filter: $filter, sort: $sort) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node {
      id kind name brand description imageUrl countries currency minPoints available
      options { id faceValue { amount currency } minValue { amount currency }
                maxValue { amount currency } points minPoints }
    } }
  }
}"""


async def _page(client: httpx.AsyncClient, token: str, **variables: Any) -> dict[str, Any]:
    body = (await gql(client, PAGE, token, **variables)).json()
    assert "errors" not in body, body
    page: dict[str, Any] = body["data"]["rewards"]
    return page


async def _everything(
    client: httpx.AsyncClient, token: str, **variables: Any
) -> tuple[list[dict[str, Any]], int]:
    nodes: list[dict[str, Any]] = []
    after = None
    total = -1
    while True:
        page = await _page(client, token, first=37, after=after, **variables)
        total = page["totalCount"]
        nodes.extend(edge["node"] for edge in page["edges"])
        if not page["pageInfo"]["hasNextPage"]:
            return nodes, total
        after = page["pageInfo"]["endCursor"]


async def test_a_page_has_the_contract_fields(client: httpx.AsyncClient, demo: DemoSeed) -> None:
    page = await _page(client, demo.api_key, first=5)
    assert len(page["edges"]) == 5
    assert page["totalCount"] > 100
    assert page["pageInfo"]["hasNextPage"]
    assert not page["pageInfo"]["hasPreviousPage"]
    node = page["edges"][0]["node"]
    assert set(node) >= {"id", "kind", "name", "brand", "options", "minPoints", "available"}
    assert node["available"]
    assert node["options"]
    assert node["minPoints"] == min(
        o["points"] if o["points"] is not None else o["minPoints"] for o in node["options"]
    )


@pytest.mark.parametrize("sort", ["RELEVANCE", "POINTS_ASC", "POINTS_DESC", "NAME_ASC"])
async def test_paging_the_whole_catalog_has_no_gaps_or_duplicates(
    client: httpx.AsyncClient, demo: DemoSeed, sort: str
) -> None:
    nodes, total = await _everything(client, demo.api_key, sort=sort)
    ids = [node["id"] for node in nodes]
    assert len(ids) == len(set(ids)) == total
    if sort == "POINTS_ASC":
        assert [n["minPoints"] for n in nodes] == sorted(n["minPoints"] for n in nodes)
    if sort == "POINTS_DESC":
        points = [n["minPoints"] for n in nodes]
        assert points == sorted(points, reverse=True)
    if sort == "NAME_ASC":
        assert [n["name"].lower() for n in nodes] == sorted(n["name"].lower() for n in nodes)


async def test_cursors_are_stable(client: httpx.AsyncClient, demo: DemoSeed) -> None:
    first = await _page(client, demo.api_key, first=10, sort="POINTS_ASC")
    after = first["edges"][4]["cursor"]
    again = await _page(client, demo.api_key, first=5, after=after, sort="POINTS_ASC")
    assert [e["node"]["id"] for e in again["edges"]] == [
        e["node"]["id"] for e in first["edges"][5:10]
    ]
    assert again["pageInfo"]["hasPreviousPage"]


async def test_pages_hold_1_to_100_rewards(client: httpx.AsyncClient, demo: DemoSeed) -> None:
    assert len((await _page(client, demo.api_key, first=100))["edges"]) == 100
    assert len((await _page(client, demo.api_key, first=1))["edges"]) == 1
    for first in (0, -1, 101, 1000):
        body = (await gql(client, PAGE, demo.api_key, first=first)).json()
        assert body["data"] is None
        [error] = body["errors"]
        assert error["message"] == f"`first` must be 1 to 100, not {first}"
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": "first"}


@pytest.mark.parametrize(
    ("wanted", "check"),
    [
        ({"kinds": ["CHARITY"]}, lambda n: n["kind"] == "CHARITY"),
        (
            {"kinds": ["MERCHANDISE", "EXPERIENCE"]},
            lambda n: n["kind"] in ("MERCHANDISE", "EXPERIENCE"),
        ),
        ({"brand": "aMaZoN"}, lambda n: n["brand"] == "Amazon"),
        ({"search": "COFFEE"}, lambda n: "coffee" in (n["description"] or "").lower()),
        ({"country": "JP"}, lambda n: n["countries"] == [] or "JP" in n["countries"]),
        ({"currency": "gbp"}, lambda n: n["currency"] == "GBP"),
        ({"minPoints": 2000, "maxPoints": 5000}, lambda n: 2000 <= n["minPoints"] <= 5000),
    ],
)
async def test_filters(
    client: httpx.AsyncClient, demo: DemoSeed, wanted: dict[str, Any], check: Any
) -> None:
    nodes, total = await _everything(client, demo.api_key, filter=wanted)
    assert nodes, "the seeded catalog matches every filter here"
    assert len(nodes) == total
    assert all(check(node) for node in nodes)
    everything = (await _page(client, demo.api_key, first=1))["totalCount"]
    assert total < everything


async def test_relevance_puts_name_matches_first(client: httpx.AsyncClient, demo: DemoSeed) -> None:
    nodes, _ = await _everything(client, demo.api_key, filter={"search": "top"})
    names = [n["name"] for n in nodes]
    assert names[0] == "Top of the Rock Observation Deck"
    assert "Laptop Sleeve 13in / 13in" in names[1:], "matches inside a name come after"


async def test_reward_and_node_by_global_id(client: httpx.AsyncClient, demo: DemoSeed) -> None:
    node = (await _page(client, demo.api_key, first=1))["edges"][0]["node"]
    one = "query($id: ID!) { reward(id: $id) { id name minPoints } node(id: $id) { id ... on Reward { name } } }"  # noqa: E501
    body = (await gql(client, one, demo.api_key, id=node["id"])).json()["data"]
    assert body["reward"] == {
        "id": node["id"],
        "name": node["name"],
        "minPoints": node["minPoints"],
    }
    assert body["node"] == {"id": node["id"], "name": node["name"]}
    missing = (await gql(client, one, demo.api_key, id=to_base64("Reward", "x"))).json()
    assert missing["data"] == {"reward": None, "node": None}


async def test_a_member_sees_the_same_catalog_as_its_partner(
    client: httpx.AsyncClient, demo: DemoSeed
) -> None:
    partner = await _page(client, demo.api_key, first=10)
    member = await _page(client, str(demo.members[0]["token"]), first=10)
    assert partner == member


async def _euro_partner(session: AsyncSession) -> str:
    """A second partner, pricing in euro points, and its API key."""
    partner = Partner(slug="euro", name="Euro")
    session.add(partner)
    await session.flush()
    program = await create_program(
        session,
        partner_id=partner.id,
        name="Euro points",
        currency="EUR",
        point_value=Decimal("0.005"),
        markup_percent=Decimal(10),
    )
    key = new_api_key(ApiKeyRole.PARTNER)
    store_api_key(
        session, key, role=ApiKeyRole.PARTNER, partner_id=partner.id, program_id=program.id
    )
    return key


async def test_prices_follow_the_viewers_program(
    client: httpx.AsyncClient, demo: DemoSeed, database: Database
) -> None:
    euro_key = await database.write(_euro_partner)
    wanted = {"brand": "Starbucks", "currency": "USD"}
    usd = (await _page(client, demo.api_key, filter=wanted))["edges"][0]["node"]
    eur = (await _page(client, euro_key, filter=wanted))["edges"][0]["node"]
    assert usd["id"] == eur["id"]
    usd_points = {o["faceValue"]["amount"]: o["points"] for o in usd["options"]}
    eur_points = {o["faceValue"]["amount"]: o["points"] for o in eur["options"]}
    # 25 USD: 2500 points of 0.01 USD; 25 USD -> 23.03 EUR (rounded up), +10 %, / 0.005 EUR.
    assert usd_points["25.00"] == 2500
    assert eur_points["25.00"] == 5067
    assert usd["minPoints"] == 1000
    assert eur["minPoints"] == 2027


async def test_ranges_show_min_and_max(client: httpx.AsyncClient, demo: DemoSeed) -> None:
    page = await _page(client, demo.api_key, filter={"brand": "Amazon", "currency": "USD"})
    [range_option] = [o for o in page["edges"][0]["node"]["options"] if o["faceValue"] is None]
    assert range_option["minValue"] == {"amount": "5.00", "currency": "USD"}
    assert range_option["maxValue"] == {"amount": "500.00", "currency": "USD"}
    assert range_option["points"] is None
    assert range_option["minPoints"] == 500


async def test_vendor_health_is_for_ops(
    client: httpx.AsyncClient, demo: DemoSeed, settings: Settings
) -> None:
    query = "{ vendorHealth { vendor healthy breaker lastCatalogRefresh lastError products } }"
    forbidden = (await gql(client, query, demo.api_key)).json()
    assert forbidden["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    health = (await gql(client, query, demo.ops_key)).json()["data"]["vendorHealth"]
    assert {row["vendor"] for row in health} == {spec.name for spec in VENDORS}
    assert all(row["healthy"] and row["lastCatalogRefresh"] for row in health)
    async with open_services(
        settings,
        vendor_policies={spec.name: fast_policy(spec.name) for spec in VENDORS},
        sandbox_rate_limits=False,
    ) as services:
        assert services.vendors.sandboxes is not None
        services.vendors.sandboxes["viator"].set_faults(error_rate=1.0)
        await services.catalog.refresh(["viator"])
    health = (await gql(client, query, demo.ops_key)).json()["data"]["vendorHealth"]
    viator = next(row for row in health if row["vendor"] == "viator")
    assert not viator["healthy"]
    assert viator["lastError"]
    assert viator["lastCatalogRefresh"], "the last good refresh is still shown"
    ready = (await client.get("/readyz")).json()
    assert {row["vendor"]: row["healthy"] for row in ready["vendors"]} == {
        row["vendor"]: row["healthy"] for row in health
    }, "/readyz and vendorHealth agree"
    experiences = await _page(client, demo.api_key, filter={"kinds": ["EXPERIENCE"]})
    assert experiences["totalCount"] == 25, "the last good snapshot is still served"


async def test_a_page_costs_the_same_statements_whatever_its_size(
    client: httpx.AsyncClient, demo: DemoSeed, database: Database
) -> None:
    statements: list[tuple[int, str]] = []
    transactions = 0

    def begin(*_args: Any) -> None:
        nonlocal transactions
        transactions += 1

    def count(*args: Any) -> None:
        statements.append((transactions, str(args[2])))

    await _page(client, demo.api_key, first=1)  # prices the viewer's class, warms caches
    event.listen(Engine, "before_cursor_execute", count)
    event.listen(Engine, "begin", begin)
    try:
        small = await _record(client, demo, statements, 3)
        large = await _record(client, demo, statements, 100)
    finally:
        event.remove(Engine, "before_cursor_execute", count)
        event.remove(Engine, "begin", begin)
    assert len(small) == len(large), "no N+1: a bigger page costs no more statements"
    assert 1 <= len(large) <= 3, "the page, then every option with its points in one statement"
    (page,) = [at for at, sql in large if "FROM reward JOIN reward_price" in sql]
    (options,) = [at for at, sql in large if "FROM reward_option" in sql]
    assert page == options, "the page's options are read in the page's transaction"


async def test_a_page_without_options_does_not_read_them(
    client: httpx.AsyncClient, demo: DemoSeed
) -> None:
    names = "query { rewards(first: 50) { edges { node { ... on Reward { name } } } } }"
    with_options = "query { rewards(first: 50) { edges { node { ...Priced } } } }"
    fragment = " fragment Priced on Reward { options { points } }"
    await _page(client, demo.api_key, first=1)  # prices the viewer's class
    with _statements() as statements:
        assert "errors" not in (await gql(client, names, demo.api_key)).json()
        without = [sql for sql in statements if "FROM reward_option" in sql]
        statements.clear()
        assert "errors" not in (await gql(client, with_options + fragment, demo.api_key)).json()
        through_fragment = [sql for sql in statements if "FROM reward_option" in sql]
    assert without == []
    assert len(through_fragment) == 1


async def test_the_total_is_counted_only_when_asked_for(
    client: httpx.AsyncClient, demo: DemoSeed
) -> None:
    await _page(client, demo.api_key, first=1)  # prices the viewer's class
    # A filter never asked before: its count is not cached yet.
    without = 'query { rewards(filter: {brand: "Amazon"}) { edges { cursor } } }'
    with_total = 'query { rewards(filter: {brand: "Amazon"}) { totalCount } }'
    with _statements() as statements:
        assert "errors" not in (await gql(client, without, demo.api_key)).json()
        counted_without = [sql for sql in statements if "count(" in sql]
        answer = (await gql(client, with_total, demo.api_key)).json()
        counted_with = [sql for sql in statements if "count(" in sql]
    assert counted_without == []
    assert len(counted_with) == 1
    assert answer["data"]["rewards"]["totalCount"] > 0


@contextmanager
def _statements() -> Iterator[list[str]]:
    """The SQL every engine of the process executes meanwhile."""
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(str(args[2]))

    event.listen(Engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(Engine, "before_cursor_execute", record)


async def _record(
    client: httpx.AsyncClient, demo: DemoSeed, statements: list[tuple[int, str]], first: int
) -> list[tuple[int, str]]:
    statements.clear()
    page = await _page(client, demo.api_key, first=first, sort="NAME_ASC")
    assert len(page["edges"]) == first
    # Count queries, not the BEGIN our SQLite transactions emit.
    return [(at, sql) for at, sql in statements if not sql.startswith("BEGIN")]


async def test_catalog_reads_are_served_from_the_response_cache(
    client: httpx.AsyncClient, demo: DemoSeed, database: Database
) -> None:
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    first = await _page(client, demo.api_key, first=5)
    event.listen(Engine, "before_cursor_execute", count)
    try:
        again = await _page(client, demo.api_key, first=5)
        assert statements == [], "answered from the response cache: no SQL"
        other = await _page(client, demo.api_key, first=6)
        assert statements, "other variables: another key"
    finally:
        event.remove(Engine, "before_cursor_execute", count)
    assert again == first
    assert len(other["edges"]) == 6


async def test_gateway_processes_share_cached_pages_through_redis(
    settings: Settings, database: Database, demo: DemoSeed, redis_url: str
) -> None:
    shared = settings.model_copy(update={"response_cache_url": redis_url})
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    async with gateway_client(shared) as first, gateway_client(shared) as second:
        page = await _page(first, demo.api_key, first=7)
        event.listen(Engine, "before_cursor_execute", count)
        try:
            again = await _page(second, demo.api_key, first=7)
        finally:
            event.remove(Engine, "before_cursor_execute", count)
    assert again == page
    assert not [sql for sql in statements if "FROM reward" in sql], "the other process's answer"


async def test_a_refresh_that_changes_the_snapshot_invalidates_cached_pages(
    client: httpx.AsyncClient, demo: DemoSeed, settings: Settings
) -> None:
    wanted = {"kinds": ["MERCHANDISE"]}
    before = await _page(client, demo.api_key, first=100, filter=wanted)
    async with open_services(
        settings,
        vendor_policies={spec.name: fast_policy(spec.name) for spec in VENDORS},
        sandbox_rate_limits=False,
    ) as services:
        assert services.vendors.sandboxes is not None
        services.vendors.sandboxes["printful"].set_faults(hidden_products=["1001", "1002"])
        await services.catalog.refresh(["printful"])
    await asyncio.sleep(1.1)  # another process's refresh shows within a second
    after = await _page(client, demo.api_key, first=100, filter=wanted)
    assert after["totalCount"] == before["totalCount"] - 2


async def test_member_data_and_mutations_are_never_cached(
    client: httpx.AsyncClient, demo: DemoSeed
) -> None:
    mixed = "{ me { points { available } } rewards(first: 1) { totalCount } }"
    earn = """mutation { earnPoints(input: {memberId: "alice", points: 1, reason: "r",
      idempotencyKey: "cache-test"}) { member { points { available } } } }"""
    token = str(demo.members[0]["token"])
    before = (await gql(client, mixed, token)).json()["data"]["me"]["points"]["available"]
    await gql(client, earn, demo.api_key)
    after = (await gql(client, mixed, token)).json()["data"]["me"]["points"]["available"]
    assert after == before + 1


async def test_anonymous_catalog_reads_are_refused_not_cached(
    client: httpx.AsyncClient, demo: DemoSeed
) -> None:
    await _page(client, demo.api_key, first=2)
    anonymous = await gql(client, PAGE, None, first=2)
    assert anonymous.status_code == 401


async def test_large_answers_are_served_but_not_kept(
    client: httpx.AsyncClient, demo: DemoSeed
) -> None:
    from graphql_schema._response_cache import MAX_CACHED_BYTES

    first = await gql(client, PAGE, demo.api_key, first=100)
    assert len(first.content) > MAX_CACHED_BYTES
    with _statements() as seen:
        again = await gql(client, PAGE, demo.api_key, first=100)
    assert [sql for sql in seen if "FROM reward" in sql], "not kept: the rewards read again"
    assert again.json() == first.json()


async def test_a_search_never_matches_across_two_fields(
    client: httpx.AsyncClient, demo: DemoSeed
) -> None:
    nodes, _ = await _everything(client, demo.api_key)
    joined = next(
        node
        for node in nodes
        if node["brand"].lower() not in node["name"].lower() and len(node["brand"]) >= 3
    )
    spanning = f"{joined['name'][-3:]} {joined['brand'][:3]}"
    found, _ = await _everything(client, demo.api_key, filter={"search": spanning})
    assert joined["id"] not in {node["id"] for node in found}, spanning
    within, _ = await _everything(client, demo.api_key, filter={"search": joined["name"][-3:]})
    assert joined["id"] in {node["id"] for node in within}
