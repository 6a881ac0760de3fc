"""Client idempotency keys for mutations: the same key with the same input returns the stored
result and writes nothing; the same key with a different input is refused.

A record is written in the same transaction as the effect it guards, under a unique
``(scope, key)`` constraint, so two concurrent requests with one key cannot both take effect.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Text, UniqueConstraint
from sqlmodel import Field, SQLModel, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app._types import UTCDateTime, utcnow

__all__ = ["IdempotencyKeyReused", "IdempotencyRecord", "fingerprint", "recall", "remember"]

MAX_KEY_LENGTH = 255


class IdempotencyRecord(SQLModel, table=True):
    __tablename__ = "idempotency_record"
    __table_args__ = (UniqueConstraint("scope", "key"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    scope: str = Field(max_length=128)
    key: str = Field(max_length=MAX_KEY_LENGTH)
    request_hash: str = Field(max_length=64)
    response: str = Field(sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class IdempotencyKeyReused(Exception):
    """The key was used before with a different input."""


def fingerprint(request: dict[str, Any]) -> str:
    canonical = json.dumps(request, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


async def recall(
    session: AsyncSession, scope: str, key: str, request: dict[str, Any]
) -> dict[str, Any] | None:
    """The stored response for ``key``, None when the key is new; raises on a different input."""
    record = (
        await session.exec(
            select(IdempotencyRecord).where(
                IdempotencyRecord.scope == scope, IdempotencyRecord.key == key
            )
        )
    ).first()
    if record is None:
        return None
    if record.request_hash != fingerprint(request):
        raise IdempotencyKeyReused(key)
    stored: dict[str, Any] = json.loads(record.response)
    return stored


def remember(
    session: AsyncSession, scope: str, key: str, request: dict[str, Any], response: dict[str, Any]
) -> None:
    session.add(
        IdempotencyRecord(
            scope=scope,
            key=key,
            request_hash=fingerprint(request),
            response=json.dumps(response, default=str),
        )
    )
