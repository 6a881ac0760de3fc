"""Inbound vendor webhooks, read the way each vendor sends them.

A webhook is a hint, never the truth: what the gateway takes from one is which orders to ask
about now (`WebhookHint`), and the saga then asks the vendor itself. Where the vendor signs
its webhooks (Tremendous, Printful: HMAC-SHA256 of the raw body), an unsigned or wrongly
signed one is refused (`WebhookRefused`); vendors that do not sign (Tango) are taken as hints
all the same, which costs at most an early poll.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

_HEX_DIGEST = re.compile(r"[0-9a-f]{64}")
_PRINTABLE_ID = re.compile(r"[\x21-\x7e]{1,200}")

__all__ = [
    "WebhookHint",
    "WebhookRefused",
    "body_of",
    "digest_id",
    "header",
    "member",
    "signed_with",
    "text",
]


class WebhookRefused(Exception):
    """Not a webhook of this vendor's: unsigned, wrongly signed, or unreadable."""


@dataclass(frozen=True)
class WebhookHint:
    """Which orders a webhook is about: by our key, by the vendor's reference, or (neither
    known) every order in flight at the vendor. ``event_id`` deduplicates deliveries."""

    event_id: str
    keys: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    # Verified as the vendor's (signed). An unsigned hint that names no order wakes nothing:
    # anyone could send it, and each would make every order in flight at the vendor due.
    signed: bool = True

    @property
    def names_orders(self) -> bool:
        return bool(self.keys or self.references)


def signed_with(key: bytes, body: bytes, signature: str | None) -> None:
    """Refuse unless ``signature`` (hex, optionally ``sha256=``) is the body's HMAC-SHA256."""
    if not signature:
        raise WebhookRefused("the webhook is not signed")
    if not key:
        raise WebhookRefused("no webhook key is configured for this vendor")
    given = signature.strip().removeprefix("sha256=").lower()
    if not _HEX_DIGEST.fullmatch(given):
        raise WebhookRefused("the webhook's signature is not a SHA-256 digest")
    expected = hmac.new(key, body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(given.encode("ascii"), expected.encode("ascii")):
        raise WebhookRefused("the webhook's signature does not match")


def body_of(body: bytes) -> dict[str, Any]:
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise WebhookRefused("the webhook's body is not JSON") from None
    if not isinstance(parsed, dict):
        raise WebhookRefused("the webhook's body is not a JSON object")
    return parsed


def digest_id(body: bytes) -> str:
    """An event id for vendors that send none: the body's digest (a redelivery is the same)."""
    return "sha256:" + hashlib.sha256(body).hexdigest()


def member(parent: dict[str, Any], name: str) -> dict[str, Any]:
    """``parent[name]`` when it is a JSON object, else an empty one."""
    value = parent.get(name)
    return value if isinstance(value, dict) else {}


def text(value: Any) -> str | None:
    """An id from a webhook's body: a string or an integer, printable, at most 200
    characters; `WebhookRefused` for anything that is none of those."""
    if value is None:
        return None
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise WebhookRefused("an id in the webhook is neither a string nor a number")
    written = str(value)
    if not _PRINTABLE_ID.fullmatch(written):
        raise WebhookRefused("an id in the webhook is empty, too long or not printable")
    return written


def header(headers: Mapping[str, str], name: str) -> str | None:
    return headers.get(name) or headers.get(name.lower())
