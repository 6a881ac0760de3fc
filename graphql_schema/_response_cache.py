"""The response cache for catalog reads, in front of the GraphQL view.

Only catalog reads are cached: a query operation whose root fields are all in
`CACHEABLE_FIELDS` (directly, no fragments at the root). Their answer depends on nothing but the
request body (document, variables, operation name), the viewer's price class and the catalog
snapshot, so the key is made of exactly those; a refresh that changes the snapshot bumps its
version and every older key stops matching (old entries age out).

It is a plain ASGI middleware so that a hit costs what it must and no more: read the body,
recognise the caller from the credential cache, look the key up, send the stored bytes. A miss
goes on to the view; its successful answer (no ``errors``) is stored on the way back.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from typing import Any

import orjson
from cashews.backends.interface import Backend
from graphql import FieldNode, GraphQLError, OperationDefinitionNode, OperationType, parse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app._admission import pool_dry_is_busy
from app._asgi import read_body, replay
from app._types import utcnow
from app.partners.auth import CredentialCache, Unauthenticated

__all__ = ["CACHEABLE_FIELDS", "MAX_CACHED_BYTES", "ResponseCacheMiddleware", "cacheable"]

# Not `node`: it also answers redemptions, which are the caller's own.
CACHEABLE_FIELDS = frozenset({"rewards", "reward", "version", "__typename"})
# Larger answers are served, never kept: the in-process cache counts entries, not bytes (a
# 20-reward page is 16 KB; 30 aliased pages of 100 are a megabyte).
MAX_CACHED_BYTES = 32_768
_KEYED_HEADERS = (b"authorization", b"content-type")
PATH = "/graphql"
_JSON = (b"content-type", b"application/json")


@lru_cache(maxsize=1024)
def cacheable(query: str, operation_name: str | None) -> bool:
    """True when the operation only reads catalog fields."""
    try:
        document = parse(query, max_tokens=5_000)
    except GraphQLError:
        return False
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        operations = [o for o in operations if o.name and o.name.value == operation_name]
    if len(operations) != 1 or operations[0].operation is not OperationType.QUERY:
        return False
    selections = operations[0].selection_set.selections
    return all(isinstance(s, FieldNode) and s.name.value in CACHEABLE_FIELDS for s in selections)


def _body_is_cacheable(body: bytes) -> bool:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return False
    if not isinstance(data, dict) or not isinstance(data.get("query"), str):
        return False
    operation = data.get("operationName")
    return cacheable(data["query"], operation if isinstance(operation, str) else None)


class ResponseCacheMiddleware:
    def __init__(
        self, app: ASGIApp, *, cache: Backend, credentials: CredentialCache, secret: str, ttl: int
    ) -> None:
        self.app = app
        self.cache = cache
        self.credentials = credentials
        self.secret = secret
        self.ttl = ttl

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != PATH:
            await self.app(scope, receive, send)
            return
        body = await read_body(receive)
        with pool_dry_is_busy():  # nothing of the request has run: a retry is safe
            key = await self._key(scope, body)
        if key is not None:
            cached = await self.cache.get(key)
            if cached is not None:
                await send(
                    {
                        "type": "http.response.start",
                        "status": 200,
                        "headers": [_JSON, (b"content-length", str(len(cached)).encode())],
                    }
                )
                await send({"type": "http.response.body", "body": cached})
                return
        again = replay(body, receive)
        if key is None:
            await self.app(scope, again, send)
            return
        captured: dict[str, Any] = {"status": 0, "body": b""}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured["status"] = message["status"]
            elif message["type"] == "http.response.body":
                captured["body"] += message.get("body", b"")
            await send(message)

        await self.app(scope, again, capture)
        answer: bytes = captured["body"]
        if (
            captured["status"] == 200
            and len(answer) <= MAX_CACHED_BYTES
            and b'"errors"' not in answer
        ):
            await self.cache.set(key, answer, expire=self.ttl)

    async def _key(self, scope: Scope, body: bytes) -> str | None:
        headers = _single_headers(scope)
        if headers is None:
            return None  # a header twice: the view reads the first, a key of the last would lie
        if headers.get(b"content-type", b"").split(b";")[0] != b"application/json":
            return None
        # As Starlette decodes headers (the view's credential is the same string).
        scheme, _, credential = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
        if scheme.lower() != "bearer" or not credential or not _body_is_cacheable(body):
            return None
        state = scope["state"]
        try:
            principal = await self.credentials.resolve(
                state["database"].session, credential.strip(), secret=self.secret, now=utcnow()
            )
        except Unauthenticated:
            return None  # the view answers 401; never from the cache
        catalog = state["catalog"]
        try:
            program = principal.program_id or await catalog.first_program(principal.partner_id)
            price_class = await catalog.price_class_id(program)
            version = await catalog.version()
        except LookupError:
            return None  # a credential outliving its program: the view answers 401
        digest = hashlib.sha256(body)
        digest.update(str(price_class).encode())
        digest.update(str(version).encode())
        return f"gql:{digest.hexdigest()}"


def _single_headers(scope: Scope) -> dict[bytes, bytes] | None:
    """The request's headers, or None when one the key depends on comes more than once."""
    headers: dict[bytes, bytes] = {}
    for name, value in scope["headers"]:
        if name in headers and name in _KEYED_HEADERS:
            return None
        headers.setdefault(name, value)
    return headers
