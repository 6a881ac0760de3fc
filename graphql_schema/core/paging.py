"""Pages and cursors shared by every connection: page sizes that must make sense, and cursors
that belong to the query that made them.

A cursor is the sort key of the last row of a page, with a short fingerprint of the query
(its sort and filter). A cursor from another sort or filter, or one we did not make, is a
`BAD_USER_INPUT` error: silently starting again at page 1 would make an infinite scroll
repeat what it has shown, and an empty page would end it early.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import uuid
from datetime import datetime
from typing import Any, Final

import orjson
from graphql import GraphQLError

__all__ = [
    "BAD_USER_INPUT",
    "MAX_PAGE",
    "bad_input",
    "decode_cursor",
    "encode_cursor",
    "newest_first",
    "older_than",
    "page_size",
    "time_position",
]

BAD_USER_INPUT: Final = "BAD_USER_INPUT"
MAX_PAGE: Final = 100
_MAX_CURSOR: Final = 512


def bad_input(message: str, argument: str | None = None) -> GraphQLError:
    """A client mistake in a query's arguments: a GraphQL error the client is meant to read."""
    extensions: dict[str, Any] = {"code": BAD_USER_INPUT}
    if argument is not None:
        extensions["argument"] = argument
    return GraphQLError(message, extensions=extensions)


def page_size(first: int | None, default: int = 20) -> int:
    size = default if first is None else first
    if not 1 <= size <= MAX_PAGE:
        raise bad_input(f"`first` must be 1 to {MAX_PAGE}, not {size}", "first")
    return size


def _fingerprint(query: str) -> str:
    return hashlib.sha256(query.encode()).hexdigest()[:12]


def encode_cursor(key: list[Any], query: str = "") -> str:
    """The cursor after a row whose sort key is ``key``, in the query ``query`` names."""
    payload = orjson.dumps({"q": _fingerprint(query), "k": key})
    return base64.urlsafe_b64encode(payload).decode()


def decode_cursor(cursor: str, query: str = "") -> list[Any]:
    """The sort key inside ``cursor``; `bad_input` if we did not make it for ``query``."""
    try:
        if len(cursor) > _MAX_CURSOR:
            raise ValueError("too long")
        payload = orjson.loads(base64.urlsafe_b64decode(cursor.encode("ascii")))
    except (ValueError, UnicodeError, binascii.Error):
        raise bad_input("`after` is not a cursor this API made", "after") from None
    if not (
        isinstance(payload, dict)
        and isinstance(payload.get("k"), list)
        and payload["k"]
        and isinstance(payload.get("q"), str)
    ):
        raise bad_input("`after` is not a cursor this API made", "after")
    if payload["q"] != _fingerprint(query):
        raise bad_input(
            "`after` is a cursor of another query: a cursor belongs to the sort and filter "
            "that made it",
            "after",
        )
    key: list[Any] = payload["k"]
    return key


def time_position(after: str, query: str) -> tuple[datetime, uuid.UUID]:
    """The (creation time, id) inside a cursor of a newest-first connection."""
    key = decode_cursor(after, query)
    try:
        moment, row_id = key
        found = datetime.fromisoformat(moment), uuid.UUID(row_id)
    except (TypeError, ValueError):
        raise bad_input("`after` is not a cursor this API made", "after") from None
    if found[0].tzinfo is None:
        raise bad_input("`after` is not a cursor this API made", "after")
    return found


def older_than(created: Any, row_id: Any, position: tuple[datetime, uuid.UUID]) -> Any:
    """The keyset condition of a newest-first page after ``position``."""
    moment, last_id = position
    return (created < moment) | ((created == moment) & (row_id < last_id))


def newest_first(created: Any, row_id: Any) -> tuple[Any, Any]:
    return created.desc(), row_id.desc()
