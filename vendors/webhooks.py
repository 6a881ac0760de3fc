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
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

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

    @property
    def names_orders(self) -> bool:
        return bool(self.keys or self.references)


def signed_with(key: bytes, body: bytes, signature: str | None) -> None:
    """Refuse unless ``signature`` (hex, optionally ``sha256=``) is the body's HMAC-SHA256."""
    if not signature:
        raise WebhookRefused("the webhook is not signed")
    given = signature.strip().removeprefix("sha256=").lower()
    expected = hmac.new(key, body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(given, expected):
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
    return str(value) if isinstance(value, str | int) and not isinstance(value, bool) else None


def header(headers: Mapping[str, str], name: str) -> str | None:
    return headers.get(name) or headers.get(name.lower())
