"""Assembles the ASGI application: routes, middleware, and the lifespan that owns resources.

This is the one module in `app` that imports `graphql_schema`: it mounts the schema.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import itertools
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import TypedDict

from asgi_correlation_id import CorrelationIdMiddleware
from cashews import Cache
from cashews.backends.interface import Backend
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from strawberry.schema import BaseSchema

from app._access_log import AccessLogMiddleware
from app._admission import AdmissionMiddleware
from app._request_size import RequestSizeLimitMiddleware
from app._types import utcnow
from app.catalog.service import CatalogService
from app.db import Database
from app.health import check_readiness
from app.log import configure_logging, get_logger
from app.partners.auth import CredentialCache
from app.partners.demo import public_demo_key_hashes
from app.pricing.fx import FxError, StaleRates
from app.pricing.rates import RateBook
from app.redemption.service import RedemptionService
from app.redemption.webhooks import webhook_endpoint
from app.runtime import open_services
from app.settings import Settings, load_settings
from app.vendor_pool import VendorPool
from graphql_schema._response_cache import ResponseCacheMiddleware
from graphql_schema.schema import create_schema
from graphql_schema.view import GraphQLView

__all__ = ["app_from_environment", "create_app"]

REQUEST_ID_HEADER = "X-Request-ID"
RATES_CHECK_SECONDS = 30.0
_RATES_FIX = "point REWARDGATE_FX__SOURCE at fresh ECB rates (the default in production)"
_logger = get_logger(__name__)


class State(TypedDict):
    """What the lifespan hands to every request as ``request.state``."""

    database: Database
    vendors: VendorPool
    rates: RateBook
    redemptions: RedemptionService
    catalog: CatalogService


def create_app(settings: Settings, *, schema: BaseSchema | None = None) -> Starlette:
    """The gateway as an ASGI app. Resources open in its lifespan, not here; ``schema``
    replaces the gateway's own (benchmarks compare against a stock one)."""

    cache = _response_cache(settings)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[State]:
        async with (
            open_services(settings, jobs=True) as services,
            _opened(cache),
            _startup_objects_frozen(),
            AsyncExitStack() as stack,
        ):
            check = asyncio.create_task(_say_if_rates_are_stale(services.rates))
            # Let it finish rather than cancel it at shutdown: a database call cancelled half
            # way reports back from its driver thread after the loop has gone.
            stack.push_async_callback(_finish, check)
            yield {
                "database": services.database,
                "vendors": services.vendors,
                "rates": services.rates,
                "redemptions": services.redemptions,
                "catalog": services.catalog,
            }

    credentials = CredentialCache(
        refused=public_demo_key_hashes() if settings.is_production else frozenset()
    )
    graphql = GraphQLView(
        schema
        or create_schema(
            introspection=not settings.is_production, max_cost=settings.graphql_max_cost
        ),
        settings,
        credentials=credentials,
    )
    middleware = [
        Middleware(
            CorrelationIdMiddleware, header_name=REQUEST_ID_HEADER, generator=_request_ids()
        ),
        Middleware(AccessLogMiddleware),
        # The body is read (and bounded) before the gate: a slow upload never holds a turn.
        Middleware(RequestSizeLimitMiddleware, max_bytes=settings.max_request_bytes),
        Middleware(
            AdmissionMiddleware,
            limit=settings.max_active_requests,
            wait_seconds=settings.busy_wait_seconds,
        ),
    ]
    if cache is not None:
        middleware.append(
            Middleware(
                ResponseCacheMiddleware,
                cache=cache,
                credentials=credentials,
                secret=settings.member_token_secret.get_secret_value(),
                ttl=settings.response_cache_seconds,
            )
        )
    return Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            Route("/healthz", _healthz, methods=["GET"]),
            Route("/readyz", _readyz, methods=["GET"]),
            Route("/webhooks/vendors/{vendor}", webhook_endpoint, methods=["POST"]),
        ],
        middleware=middleware,
        lifespan=lifespan,
    )


def _request_ids() -> Callable[[], str]:
    """Request ids: a random per-process prefix and a counter, cheaper than a uuid4 each."""
    prefix = secrets.token_hex(8)
    counter = itertools.count(1)
    return lambda: f"{prefix}{next(counter):016x}"


def _response_cache(settings: Settings) -> Backend | None:
    """The cashews backend the URL names. The middleware calls it directly: cashews' wrapper
    adds per-call middlewares (disable switches, callbacks, invalidation) we do not use, and
    they cost a tenth of a cache hit."""
    if settings.response_cache_url in ("", "off"):
        return None
    # The cached values are our own JSON bytes: no need to re-check each one's repr on read.
    return Cache().setup(settings.response_cache_url, check_repr=False)


@asynccontextmanager
async def _startup_objects_frozen() -> AsyncIterator[None]:
    """Moves what startup built (modules, the schema, pools, caches) out of the collector's
    sight for the app's life (`gc.freeze`).

    A request allocates thousands of short-lived objects; each time they trigger a full
    collection, the collector would walk every one of those long-lived objects too, for
    nothing. Measured on the cold catalog path: 198 → 287 requests/s. Unfrozen at shutdown, so
    what the app leaves behind can be collected (tests start many apps in one process).
    """
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


@asynccontextmanager
async def _opened(cache: Backend | None) -> AsyncIterator[None]:
    if cache is None:
        yield
        return
    await cache.init()  # type: ignore[no-untyped-call]  # cashews leaves it unannotated
    try:
        yield
    finally:
        await cache.close()  # type: ignore[no-untyped-call]


def app_from_environment() -> Starlette:
    """The factory uvicorn calls in each worker process: settings and logging from the env."""
    settings = load_settings()
    configure_logging(settings, background=True)
    return create_app(settings)


async def _healthz(_request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def _readyz(request: Request) -> JSONResponse:
    readiness = await check_readiness(request.state.database, request.state.catalog)
    body = readiness.as_json()
    body["rates"] = request.state.rates.describe(utcnow())
    return JSONResponse(body, status_code=200 if readiness.ready else 503)


async def _finish(task: asyncio.Task[None], seconds: float = 10.0) -> None:
    with contextlib.suppress(asyncio.CancelledError, TimeoutError):
        await asyncio.wait_for(task, seconds)


async def _say_if_rates_are_stale(rates: RateBook) -> None:
    """At start, one clear line when the rates cannot price (quotes are refused until they
    can): stale ones (the packaged snapshot in production, a feed that stopped) or none."""
    try:
        async with asyncio.timeout(RATES_CHECK_SECONDS):
            table = await rates.current(utcnow())
    except StaleRates as exc:
        _logger.warning("pricing.rates_stale", reason=str(exc), fix=_RATES_FIX)
    except (FxError, TimeoutError) as exc:
        _logger.warning("pricing.rates_unavailable", reason=str(exc) or "timed out", fix=_RATES_FIX)
    except Exception as exc:  # a database that is not there yet: /readyz says so
        _logger.warning("pricing.rates_unavailable", reason=repr(exc), fix=_RATES_FIX)
    else:
        _logger.info("pricing.rates", source=table.source, as_of=table.as_of.isoformat())
