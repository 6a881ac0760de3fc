"""Alembic environment, async.

Normally the caller (`app.migrations`) opens an async write transaction and hands its sync
connection over through ``config.attributes["connection"]`` (Alembic's cookbook pattern for
asyncio), so a whole upgrade is one transaction and a SQLite upgrade holds the write lock from
the start. Run as a plain ``alembic`` command instead, it opens the configured database itself
with an async engine and does the same.
"""

import asyncio
from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy.engine import Connection

from app._types import ExactDecimal, UTCDateTime
from app.catalog._search import UNMODELLED
from app.models import metadata


def render_item(kind: str, value: Any, autogen: AutogenContext) -> str | Literal[False]:
    """Render our own column types as importable code in generated revisions."""
    if kind == "type" and isinstance(value, UTCDateTime):
        autogen.imports.add("from app._types import ExactDecimal, UTCDateTime")
        return "UTCDateTime()"
    if kind == "type" and isinstance(value, ExactDecimal):
        autogen.imports.add("from app._types import ExactDecimal")
        return f"ExactDecimal({value.precision}, {value.scale})"
    return False


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """Leave out of comparisons what the models do not describe (the search index)."""
    return name not in UNMODELLED


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        # SQLite DDL is transactional once pysqlite's legacy BEGIN handling is off (app.db), so
        # a failed upgrade leaves nothing half-applied on either backend.
        transactional_ddl=True,
        user_module_prefix="sqlmodel.sql.sqltypes.",
        render_item=render_item,
        include_name=include_name,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_on_configured_database() -> None:
    from app.db import Database
    from app.settings import load_settings

    database = Database.from_settings(load_settings())
    try:
        async with database.write_connection() as connection:
            await connection.run_sync(run_migrations)
    finally:
        await database.dispose()


supplied = context.config.attributes.get("connection")
if isinstance(supplied, Connection):
    run_migrations(supplied)
else:
    asyncio.run(run_on_configured_database())
