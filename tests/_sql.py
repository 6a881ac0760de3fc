"""Test helpers that watch the SQL the process sends."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine, ExceptionContext

from app.db import Database

__all__ = ["recorded_deadlocks", "recorded_statements"]


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


@contextmanager
def recorded_deadlocks(database: Database) -> Iterator[list[str]]:
    """The deadlocks PostgreSQL reports to ``database`` meanwhile (SQLSTATE 40P01), retried
    or not: a retry hides one from the outcome, never from this list."""
    found: list[str] = []

    def count(context: ExceptionContext) -> None:
        if getattr(context.original_exception, "sqlstate", None) == "40P01":
            found.append(str(context.original_exception))

    engine = database.engine.sync_engine
    event.listen(engine, "handle_error", count)
    try:
        yield found
    finally:
        event.remove(engine, "handle_error", count)
