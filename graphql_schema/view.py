"""The HTTP view: strawberry's ASGI app with our context, our security posture and a response
cache for catalog reads.

In production GraphiQL is off and queries over GET are refused (GET queries are a CSRF vector);
in development both are on so ``GET /graphql`` opens GraphiQL. Mutations over GET are always
refused by strawberry. The ``Authorization: Bearer`` credential is resolved once per request
(and remembered, `app.partners.auth.CredentialCache`); fields that need one refuse anonymous
callers with HTTP 401 (`core.permissions`).

Catalog reads (`_response_cache`) are answered from the response cache when the same document,
variables, price class and snapshot version were answered before; the cache lives in process
by default, in Redis when ``REWARDGATE_RESPONSE_CACHE_URL`` points there.
"""

from __future__ import annotations

from typing import Any

import orjson
from cashews import Cache
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.schema import BaseSchema
from strawberry.types.unset import UNSET

from app._types import utcnow
from app.partners.auth import CredentialCache, Principal, Unauthenticated
from app.settings import Settings
from graphql_schema._response_cache import cacheable, response_key
from graphql_schema.context import Context

__all__ = ["GraphQLView"]

JSON = "application/json"
_PRINCIPAL = "rewardgate.principal"


class GraphQLView(GraphQL[Context, None]):
    def __init__(
        self, schema: BaseSchema, settings: Settings, *, response_cache: Cache | None = None
    ) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql" if settings.graphiql_enabled else None,
            allow_queries_via_get=settings.graphiql_enabled,
            multipart_uploads_enabled=False,
        )
        self.settings = settings
        self.response_cache = response_cache
        self.credentials = CredentialCache()

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    async def run(
        self,
        request: Request | WebSocket,
        context: Context = UNSET,
        root_value: None = UNSET,
    ) -> Any:
        if self.response_cache is None or not isinstance(request, Request):
            return await super().run(request, context, root_value)
        key = await self._cache_key(request)
        if key is None:
            return await super().run(request, context, root_value)
        cached = await self.response_cache.get(key)
        if cached is not None:
            return Response(cached, media_type=JSON)
        response = await super().run(request, context, root_value)
        body = bytes(response.body)
        if response.status_code == 200 and b'"errors"' not in body:
            await self.response_cache.set(key, body, expire=self.settings.response_cache_seconds)
        return response

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        state = request.state
        principal, auth_error = await self._principal(request)
        return Context(
            request=request,
            response=response if isinstance(response, Response) else None,
            database=state.database,
            settings=self.settings,
            vendors=state.vendors,
            rates=state.rates,
            offers=state.offers,
            catalog=state.catalog,
            principal=principal,
            auth_error=auth_error,
        )

    async def _cache_key(self, request: Request) -> str | None:
        """The response cache key of a cacheable catalog read; None for anything else."""
        if (
            request.method != "POST"
            or request.headers.get("content-type", "").split(";")[0] != JSON
        ):
            return None
        try:
            data = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("query"), str):
            return None
        operation = data.get("operationName")
        if not cacheable(data["query"], operation if isinstance(operation, str) else None):
            return None
        principal, _ = await self._principal(request)
        if principal is None:
            return None  # the permission will answer 401; never from the cache
        catalog = request.state.catalog
        program = principal.program_id or await catalog.first_program(principal.partner_id)
        return response_key(
            query=data["query"],
            operation_name=operation if isinstance(operation, str) else None,
            variables=data.get("variables") or {},
            price_class=str(await catalog.price_class_id(program)),
            version=await catalog.version(),
        )

    async def _principal(self, request: Request | WebSocket) -> tuple[Principal | None, str | None]:
        """The caller, resolved once per request (`_cache_key` and `get_context` both ask)."""
        # Kept in the request's own scope: `request.state` may be shared between requests.
        resolved: tuple[Principal | None, str | None] | None = request.scope.get(_PRINCIPAL)
        if resolved is None:
            resolved = await self._authenticate(request)
            request.scope[_PRINCIPAL] = resolved
        return resolved

    async def _authenticate(
        self, request: Request | WebSocket
    ) -> tuple[Principal | None, str | None]:
        header = request.headers.get("authorization")
        if not header:
            return None, None
        scheme, _, credential = header.partition(" ")
        if scheme.lower() != "bearer" or not credential.strip():
            return None, "use an 'Authorization: Bearer <token>' header"
        try:
            principal = await self.credentials.resolve(
                request.state.database.session,
                credential.strip(),
                secret=self.settings.member_token_secret.get_secret_value(),
                now=utcnow(),
            )
        except Unauthenticated as exc:
            return None, str(exc)
        return principal, None
