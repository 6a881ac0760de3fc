"""Partners (tenants) and their API keys. Keys are stored as SHA-256 hashes only."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Column, String
from sqlmodel import Field, SQLModel

from app._types import UTCDateTime, utcnow

__all__ = ["ApiKey", "ApiKeyRole", "Partner"]


class ApiKeyRole:
    PARTNER = "partner"
    OPS = "ops"


class Partner(SQLModel, table=True):
    __tablename__ = "partner"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    slug: str = Field(max_length=64, unique=True)
    name: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ApiKey(SQLModel, table=True):
    """A key a partner's server (role ``partner``, bound to one program) or ops (role ``ops``,
    partner-wide) authenticates with. Only the hash is stored; ``prefix`` identifies the key in
    lists and logs without revealing it."""

    __tablename__ = "api_key"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    partner_id: uuid.UUID = Field(foreign_key="partner.id", index=True)
    program_id: uuid.UUID | None = Field(default=None, foreign_key="program.id", index=True)
    role: str = Field(max_length=16)
    prefix: str = Field(max_length=16)
    key_hash: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    label: str = Field(default="", max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
