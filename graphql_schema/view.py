"""The HTTP view: strawberry's ASGI app with our context and our security posture.

In production GraphiQL is off and queries over GET are refused (GET queries are a CSRF vector);
in development both are on so ``GET /graphql`` opens GraphiQL. Mutations over GET are always
refused by strawberry. The ``Authorization: Bearer`` credential is resolved once per request
(and remembered, `app.partners.auth.CredentialCache`); fields that need one refuse anonymous
callers with HTTP 401 (`core.permissions`).
"""

from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.schema import BaseSchema

from app._types import utcnow
from app.partners.auth import CredentialCache, Principal, Unauthenticated
from app.settings import Settings
from graphql_schema.context import Context

__all__ = ["GraphQLView"]

_PRINCIPAL = "rewardgate.principal"


class GraphQLView(GraphQL[Context, None]):
    def __init__(
        self,
        schema: BaseSchema,
        settings: Settings,
        *,
        credentials: CredentialCache | None = None,
    ) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql" if settings.graphiql_enabled else None,
            allow_queries_via_get=settings.graphiql_enabled,
            multipart_uploads_enabled=False,
        )
        self.settings = settings
        self.credentials = credentials or CredentialCache()

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

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
