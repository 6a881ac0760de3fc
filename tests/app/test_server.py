from __future__ import annotations

import asyncio
import gc
import json
import logging
import threading
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from starlette.types import ASGIApp

from app import __version__
from app.db import Database
from app.log import configure_logging
from app.server import create_app
from app.settings import LogFormat, Settings, load_settings


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
        member_token_secret="s" * 40,
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


def test_json_logs_carry_the_request_id(settings: Settings) -> None:
    import io

    stream = io.StringIO()
    configure_logging(settings.model_copy(update={"log_format": LogFormat.JSON}), stream=stream)
    try:
        from asgi_correlation_id import correlation_id

        token = correlation_id.set("abc123")
        try:
            logging.getLogger("uvicorn.error").info("from the standard library")
            from app.log import get_logger

            get_logger("rewardgate.test").info("from structlog", partner="p1")
        finally:
            correlation_id.reset(token)
    finally:
        logging.getLogger().handlers = []  # the conftest restores the original ones
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["event"] for line in lines] == ["from the standard library", "from structlog"]
    assert all(line["request_id"] == "abc123" for line in lines)
    assert lines[1]["partner"] == "p1"
    assert {"timestamp", "level", "logger"} <= set(lines[1])
