"""ASGI apps the benchmarks serve with uvicorn (``--factory``): the gateway on a stock strawberry
schema, and a plain Starlette endpoint that answers with fixed bytes. The gateway itself runs as
``rewardgate serve`` starts it (`bench._harness.server`)."""

from __future__ import annotations

import os
from pathlib import Path

import strawberry
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.log import configure_logging
from app.server import create_app
from app.settings import load_settings
from graphql_schema.catalog.types import Reward
from graphql_schema.schema import Mutation, Query


def stock() -> Starlette:
    """The same types and resolvers on a strawberry schema with no extensions at all."""
    settings = load_settings()
    configure_logging(settings, background=True)
    schema = strawberry.Schema(query=Query, mutation=Mutation, types=[Reward])
    return create_app(settings, schema=schema)


def plain() -> Starlette:
    """A Starlette JSON endpoint answering every POST with the bytes in ``BENCH_BODY_FILE``."""
    body = Path(os.environ["BENCH_BODY_FILE"]).read_bytes()

    async def answer(request: Request) -> Response:
        await request.body()
        return Response(body, media_type="application/json")

    return Starlette(routes=[Route("/graphql", answer, methods=["POST"])])
