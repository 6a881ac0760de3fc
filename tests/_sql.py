"""Test helpers that watch the SQL the process sends."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

__all__ = ["recorded_statements"]


@contextmanager
def recorded_statements() -> Iterator[list[str]]:
    """The SQL every engine of the process executes meanwhile (our own SQLite ``BEGIN``
    statements left out: they are how a transaction starts there, not work)."""
    statements: list[str] = []

    def record(*args: Any) -> None:
        sql = str(args[2])
        if not sql.startswith("BEGIN"):
            statements.append(sql)

    event.listen(Engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(Engine, "before_cursor_execute", record)
