from __future__ import annotations

import asyncio
import gc
import threading
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from starlette.types import ASGIApp
from structlog.testing import capture_logs

from app import __version__
from app._types import utcnow
from app.db import Database
from app.server import create_app
from app.settings import ECB_DAILY_URL, FxSettings, Settings, load_settings
from tests.conftest import gateway_client


async def _post(client: httpx.AsyncClient, query: str, **kwargs: Any) -> httpx.Response:
    return await client.post("/graphql", json={"query": query}, **kwargs)


def _gateway(app: ASGIApp) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw.test")


@pytest.mark.asyncio
async def test_healthz_is_alive(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.asyncio
async def test_readyz_is_ready_on_a_migrated_database(
    client: httpx.AsyncClient, backend: str
) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"] == {"status": "ok", "backend": backend}
    assert body["checks"]["migrations"]["status"] == "ok"
    assert body["checks"]["migrations"]["current"] == body["checks"]["migrations"]["head"]


@pytest.mark.asyncio
async def test_startup_objects_are_frozen_for_the_apps_life(settings: Settings) -> None:
    """Full collections skip what startup built while the app serves, and whatever the app
    leaves behind can be collected once it stops."""
    gc.unfreeze()
    app = create_app(settings)
    async with LifespanManager(app):
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0


@pytest.mark.asyncio
async def test_readyz_is_not_ready_on_an_unmigrated_database(
    settings: Settings, empty_database: Database
) -> None:
    app = create_app(settings)
    async with LifespanManager(app) as manager, _gateway(manager.app) as client:
        response = await client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail"
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["migrations"]["status"] == "fail"
    assert body["checks"]["migrations"]["current"] == []


@pytest.mark.asyncio
async def test_readyz_is_not_ready_when_the_database_is_unreachable(settings: Settings) -> None:
    if settings.is_sqlite:
        unreachable = "sqlite+aiosqlite:////nonexistent-directory/rewardgate.db"
    else:
        unreachable = "postgresql+asyncpg://postgres@127.0.0.1:1/test"
    app = create_app(settings.model_copy(update={"database_url": unreachable}))
    before = set(threading.enumerate())
    async with LifespanManager(app) as manager, _gateway(manager.app) as client:
        response = await client.get("/readyz")
        alive = await client.get("/healthz")
    # aiosqlite stops a connection that failed to open without waiting for its thread, which
    # then reports back to this event loop: let it, before the test closes the loop.
    for thread in set(threading.enumerate()) - before:
        if "_connection_worker_thread" in thread.name:
            await asyncio.to_thread(thread.join, 10)
    assert response.status_code == 503
    assert response.json()["checks"]["database"]["status"] == "fail"
    assert alive.status_code == 200, "liveness does not depend on the database"


@pytest.mark.asyncio
async def test_graphql_answers_typename(client: httpx.AsyncClient) -> None:
    response = await _post(client, "{ __typename }")
    assert response.status_code == 200
    assert response.json() == {"data": {"__typename": "Query"}}


@pytest.mark.asyncio
async def test_graphql_reports_the_version(client: httpx.AsyncClient) -> None:
    response = await _post(client, "{ version }")
    assert response.json() == {"data": {"version": __version__}}


@pytest.mark.asyncio
async def test_requests_carry_a_request_id(client: httpx.AsyncClient) -> None:
    generated = await client.get("/healthz")
    assert len(generated.headers["x-request-id"]) == 32
    given = "0f8fad5bd9cb469fa16570867728950e"
    echoed = await client.get("/healthz", headers={"X-Request-ID": given})
    assert echoed.headers["x-request-id"] == given


@pytest.mark.asyncio
async def test_development_serves_graphiql_and_get_queries(client: httpx.AsyncClient) -> None:
    page = await client.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert "graphiql" in page.text.lower()
    query = await client.get("/graphql", params={"query": "{ __typename }"})
    assert query.json() == {"data": {"__typename": "Query"}}


@pytest.mark.asyncio
async def test_mutations_are_never_accepted_over_get(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", params={"query": "mutation { __typename }"})
    assert response.status_code in (400, 405)


@pytest.fixture
def production(settings: Settings) -> Settings:
    return load_settings(
        env_file=None,
        database_url=settings.database_url,
        database_schema=settings.database_schema,
        environment="production",
        fx={"source": "snapshot"},
        member_token_secret="s" * 40,
        delivery_keys="m5XlQvPnGctDRAeU-UDXQMyKKxp-J5wsrxNahFxjpLs=",
        vendors={
            name: {"enabled": False}
            for name in ("tango", "tremendous", "printful", "viator", "change")
        },
    )


@pytest.mark.asyncio
async def test_production_hides_graphiql_get_queries_and_introspection(
    production: Settings, database: Database
) -> None:
    app = create_app(production)
    async with LifespanManager(app) as manager, _gateway(manager.app) as client:
        page = await client.get("/graphql", headers={"Accept": "text/html"})
        get_query = await client.get("/graphql", params={"query": "{ __typename }"})
        introspection = await _post(client, "{ __schema { types { name } } }")
        typo = await _post(client, "{ versio }")
        ok = await _post(client, "{ __typename }")
    assert page.status_code != 200 or "graphiql" not in page.text.lower()
    assert get_query.status_code in (400, 404, 405)
    assert introspection.json()["data"] is None
    assert "introspection" in introspection.json()["errors"][0]["message"].lower()
    assert "Did you mean" not in typo.json()["errors"][0]["message"]
    assert ok.json() == {"data": {"__typename": "Query"}}


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("{ " + " ".join(f"a{i}: __typename" for i in range(31)) + " }", "aliases"),
        (
            "{ " + " ".join(f"d{i}: __typename @include(if: true)" for i in range(21)) + " }",
            "Too many directives",
        ),
        ("{ " + "__typename " * 5001 + "}", "more than 5000 tokens"),
    ],
)
async def test_abusive_documents_are_rejected(
    client: httpx.AsyncClient, query: str, message: str
) -> None:
    response = await _post(client, query)
    body = response.json()
    assert body["data"] is None
    assert message.lower() in body["errors"][0]["message"].lower()


@pytest.mark.asyncio
async def test_readyz_says_which_vendors_are_still_filling(
    client: httpx.AsyncClient,
) -> None:
    """A fresh database: ready (the gateway serves), every vendor still filling its catalog."""
    body = (await client.get("/readyz")).json()
    assert body["status"] == "ok"
    assert body["vendors"]
    assert all(row["filling"] and row["products"] == 0 for row in body["vendors"])
    assert all(row["healthy"] for row in body["vendors"]), "filling is not failing"


def test_production_fetches_the_ecb_daily_file_by_default(production: Settings) -> None:
    assert production.model_copy(update={"fx": FxSettings()}).rates_location == ECB_DAILY_URL
    assert production.rates_location is None, "`snapshot`: the packaged file"
    assert load_settings(env_file=None).rates_location is None, "development: the snapshot"
    custom = load_settings(env_file=None, fx={"source": "/srv/rates.xml"})
    assert custom.rates_location == "/srv/rates.xml"


@pytest.mark.asyncio
async def test_a_start_on_stale_rates_says_so_and_readyz_shows_their_date(
    production: Settings, database: Database
) -> None:
    with capture_logs() as logs:
        app = create_app(production)
        async with LifespanManager(app) as manager, _gateway(manager.app) as client:
            for _ in range(100):  # the check runs beside the server: wait for its line
                if any(log["event"].startswith("pricing.") for log in logs):
                    break
                await asyncio.sleep(0.05)
            ready = (await client.get("/readyz")).json()
    [stale] = [log for log in logs if log["event"].startswith("pricing.")]
    assert stale["event"] == "pricing.rates_stale"
    assert stale["log_level"] == "warning"
    assert "REWARDGATE_FX__SOURCE" in stale["fix"]
    assert ready["rates"]["status"] == "stale"
    assert ready["rates"]["source"] == "ecb-snapshot"
    assert ready["rates"]["as_of"] < utcnow().date().isoformat()
    assert ready["status"] == "ok", "stale rates refuse quotes; the gateway still serves"


@pytest.mark.asyncio
async def test_graphiql_says_so_when_its_scripts_cannot_load(client: httpx.AsyncClient) -> None:
    page = await client.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert "GraphiQL could not load its scripts" in page.text
    assert "curl -s" in page.text
    assert "https://unpkg.com/graphiql@" in page.text


@pytest.mark.asyncio
async def test_graphiql_assets_can_be_self_hosted(settings: Settings, database: Database) -> None:
    local = settings.model_copy(update={"graphiql_assets_url": "http://assets.test/cdn"})
    async with gateway_client(local) as http:
        page = await http.get("/graphql", headers={"Accept": "text/html"})
    assert "https://unpkg.com/" not in page.text
    assert 'src="http://assets.test/cdn/graphiql@' in page.text
