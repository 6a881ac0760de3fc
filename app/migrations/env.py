"""Alembic environment: runs on a connection the caller supplies (see `app.migrations`).

The caller opens an async write transaction and hands its sync connection over through
``config.attributes["connection"]``, the pattern Alembic's cookbook gives for asyncio, so the whole
upgrade is one transaction and a SQLite upgrade holds the write lock from the start.
"""

from alembic import context
from sqlalchemy.engine import Connection

from app.models import metadata

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError(
        "run migrations with `rewardgate db upgrade` (or app.migrations.upgrade), "
        "which supplies the database connection"
    )

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    # SQLite DDL is transactional once pysqlite's legacy BEGIN handling is off (app.db), so a
    # failed upgrade leaves nothing half-applied on either backend.
    transactional_ddl=True,
    user_module_prefix="sqlmodel.sql.sqltypes.",
)
with context.begin_transaction():
    context.run_migrations()
