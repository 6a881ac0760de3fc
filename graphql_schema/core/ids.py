"""Global ids: ``base64("<Type>:<uuid>")``, what `node(id)` and every mutation take."""

from __future__ import annotations

import uuid

import strawberry
from strawberry.relay import from_base64, to_base64

__all__ = ["global_id", "global_uuid"]


def global_id(kind: str, row_id: uuid.UUID) -> strawberry.ID:
    return strawberry.ID(to_base64(kind, str(row_id)))


def global_uuid(value: object, kind: str) -> uuid.UUID | None:
    """The row id inside a global id of type ``kind``; None for anything else."""
    try:
        found_kind, raw = from_base64(str(value))
        return uuid.UUID(raw) if found_kind == kind else None
    except (ValueError, TypeError):
        return None
