"""The response cache's key: what it is made of, and the requests it never keeps."""

from __future__ import annotations

import uuid
from typing import Any

import orjson
import pytest
from cashews.backends.memory import Memory
from starlette.types import Message, Receive, Scope, Send

from app.partners.auth import CredentialCache, Principal
from graphql_schema._response_cache import ResponseCacheMiddleware

pytestmark = pytest.mark.asyncio

BODY = orjson.dumps({"query": "{ rewards(first: 1) { totalCount } }"})
PROGRAMS = {"one": uuid.uuid4(), "two": uuid.uuid4()}


class _Catalog:
    """Each program its own price class; one snapshot version."""

    async def first_program(self, partner_id: uuid.UUID) -> uuid.UUID:
        raise AssertionError("every credential here names its program")

    async def price_class_id(self, program_id: uuid.UUID) -> uuid.UUID:
        return program_id

    async def version(self) -> int:
        return 1


class _Credentials(CredentialCache):
    def __init__(self) -> None:
        pass

    async def resolve(self, *_args: Any, **_kwargs: Any) -> Principal:
        credential = str(_args[1])
        return Principal(role="partner", partner_id=uuid.uuid4(), program_id=PROGRAMS[credential])


class _NoDatabase:
    session = None  # the credentials below never open one


async def _view(scope: Scope, receive: Receive, send: Send) -> None:
    """Answers with the program of the *first* Authorization header, as Starlette reads it."""
    first = next(value for name, value in scope["headers"] if name == b"authorization")
    answer = orjson.dumps({"data": {"program": first.decode().split()[1]}})
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": answer})


async def _post(cache: ResponseCacheMiddleware, headers: list[tuple[bytes, bytes]]) -> bytes:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": BODY, "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    scope: Scope = {
        "type": "http",
        "method": "POST",
        "path": "/graphql",
        "headers": [(b"content-type", b"application/json"), *headers],
        "state": {"database": _NoDatabase(), "catalog": _Catalog()},
    }
    await cache(scope, receive, send)
    return b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


async def test_a_request_with_two_authorization_headers_is_never_kept() -> None:
    """A key made of the last header would keep the first one's prices under the other's."""
    backend = Memory()
    await backend.init()
    cache = ResponseCacheMiddleware(
        _view, cache=backend, credentials=_Credentials(), secret="s", ttl=60
    )
    both = [(b"authorization", b"Bearer one"), (b"authorization", b"Bearer two")]
    assert orjson.loads(await _post(cache, both)) == {"data": {"program": "one"}}
    assert orjson.loads(await _post(cache, [(b"authorization", b"Bearer two")])) == {
        "data": {"program": "two"}
    }
    assert orjson.loads(await _post(cache, [(b"authorization", b"Bearer one")])) == {
        "data": {"program": "one"}
    }
    assert len([key async for key in backend.scan("gql:*")]) == 2, "one entry per program"
