"""ASGI plumbing the middlewares share: read a request body, hand it on again."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from starlette.types import Message, Receive, Send

__all__ = ["BodyTooLarge", "read_body", "replay", "send_error"]


class BodyTooLarge(Exception):
    """The body went over the limit; what was read of it is dropped."""


async def read_body(receive: Receive, *, limit: int | None = None) -> bytes:
    """The whole request body (empty if the client went away first)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if limit is not None and size > limit:
            raise BodyTooLarge(size)
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives ``body`` once, then whatever the client sends next."""
    sent = False

    async def receive_again() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive_again


async def send_error(
    send: Send,
    status: int,
    message: str,
    extensions: dict[str, Any],
    headers: Sequence[tuple[bytes, bytes]] = (),
) -> None:
    """A whole response in GraphQL's error shape, from a middleware, before the app ran."""
    body = orjson.dumps({"data": None, "errors": [{"message": message, "extensions": extensions}]})
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
