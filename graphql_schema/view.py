"""The HTTP view: strawberry's ASGI app with our context and our security posture.

In production GraphiQL is off and queries over GET are refused (GET queries are a CSRF vector);
in development both are on so ``GET /graphql`` opens GraphiQL. Mutations over GET are always
refused by strawberry.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.schema import BaseSchema

from app.settings import Settings
from graphql_schema.context import Context

__all__ = ["GraphQLView"]


class GraphQLView(GraphQL[Context, None]):
    def __init__(self, schema: BaseSchema, settings: Settings) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql" if settings.graphiql_enabled else None,
            allow_queries_via_get=settings.graphiql_enabled,
            multipart_uploads_enabled=False,
        )
        self.settings = settings

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        return Context(
            request=request,
            response=response if isinstance(response, Response) else None,
            database=request.state.database,
            settings=self.settings,
        )
