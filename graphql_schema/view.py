"""The HTTP view: strawberry's ASGI app with our context and our security posture.

In production GraphiQL is off and queries over GET are refused (GET queries are a CSRF vector);
in development both are on so ``GET /graphql`` opens GraphiQL. Mutations over GET are always
refused by strawberry. The ``Authorization: Bearer`` credential is resolved once per request
(and remembered, `app.partners.auth.CredentialCache`); fields that need one refuse anonymous
callers with HTTP 401 (`core.permissions`).
"""

from __future__ import annotations

from typing import Any

import orjson
from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.schema import BaseSchema

from app._admission import pool_dry_is_busy
from app._types import utcnow
from app.partners.auth import CredentialCache, Principal, Unauthenticated
from app.settings import Settings
from graphql_schema.context import Context

__all__ = ["GraphQLView"]

_PRINCIPAL = "rewardgate.principal"
GRAPHIQL_CDN = "https://unpkg.com/"
# Shown in GraphiQL's place when its scripts have not loaded after a few seconds.
_IDE_FALLBACK = """<script>
setTimeout(function () {
  if (window.GraphiQL) { return; }
  var endpoint = window.location.origin + window.location.pathname;
  var box = document.getElementById("graphiql");
  box.style.cssText = "font: 15px/1.5 sans-serif; padding: 2em; max-width: 60em;";
  box.innerHTML = "<h2>GraphiQL could not load its scripts</h2>" +
    "<p>It loads them from <code>unpkg.com</code> (or REWARDGATE_GRAPHIQL_ASSETS_URL), which " +
    "this browser cannot reach. The API works without it:</p>" +
    "<pre style='white-space: pre-wrap; background: #f4f4f4; padding: 1em'>curl -s " +
    endpoint + " -H 'Content-Type: application/json' \\\n  -H 'Authorization: Bearer " +
    "&lt;token&gt;' \\\n  -d '{\"query\": \"{ me { id points { available } } }\"}'</pre>" +
    "<p>The header to paste, with a member token and the demo partner key, is printed by " +
    "<code>rewardgate serve</code> when it starts. To use GraphiQL offline, serve copies of " +
    "its files and set REWARDGATE_GRAPHIQL_ASSETS_URL to where they are.</p>";
}, 4000);
</script>
"""


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
        self._ide_html: str | None = None

    @property
    def graphql_ide_html(self) -> str:
        """strawberry's GraphiQL page, its scripts from ``REWARDGATE_GRAPHIQL_ASSETS_URL`` when
        set (self-hosted copies), and a note that appears when they cannot be loaded: without
        it the page says "Loading..." forever where the CDN is out of reach."""
        if self._ide_html is None:
            html = super().graphql_ide_html
            assets = self.settings.graphiql_assets_url
            if assets:
                html = html.replace(GRAPHIQL_CDN, assets.rstrip("/") + "/")
            self._ide_html = html.replace("</body>", _IDE_FALLBACK + "</body>", 1)
        return self._ide_html

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    def parse_json(self, data: str | bytes) -> Any:
        """The body as JSON, or a 400: orjson refuses what the standard library would turn
        into a crash further on (bodies that are not UTF-8, lone surrogates, nesting too deep
        to recurse, integers of thousands of digits), and the body must be an object."""
        try:
            parsed = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise HTTPException(400, f"The body is not JSON: {exc}") from None
        if not isinstance(parsed, dict | list):
            raise HTTPException(400, "The body must be a JSON object")
        return parsed

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
            redemptions=state.redemptions,
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
            with pool_dry_is_busy():  # nothing of the request has run: a retry is safe
                principal = await self.credentials.resolve(
                    request.state.database.session,
                    credential.strip(),
                    secret=self.settings.member_token_secret.get_secret_value(),
                    now=utcnow(),
                )
        except Unauthenticated as exc:
            return None, str(exc)
        return principal, None
