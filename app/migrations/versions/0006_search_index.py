"""Substring search indexed by trigrams: SQLite FTS5 (trigram tokenizer) kept in step by
triggers, PostgreSQL pg_trgm's GIN index (see app/catalog/_search.py); the fields of a
reward's search text separated by a character no search may hold.

Revision ID: 0006_search_index
Revises: 0005_ledger_guards
Create Date: 2026-12-02 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.catalog import _search
from app.catalog.snapshot import search_text_of

revision: str = "0006_search_index"
down_revision: str | None = "0005_ledger_guards"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    connection = op.get_bind()
    _separate_the_fields(connection)
    if connection.dialect.name == "sqlite":
        for statement in _search.sqlite_ddl():
            op.execute(statement)
        return
    schema = _trgm_schema(connection)
    if schema is None:
        # A trusted extension since PostgreSQL 13: the database owner may create it. In
        # `public`, so that every schema of the database (one per test run) finds it.
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public")
        schema = "public"
    op.execute(
        f'CREATE INDEX {_search.PG_INDEX} ON reward USING gin (search_text "{schema}".gin_trgm_ops)'
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER {_search.SEARCH_TABLE}_{trigger}")
        op.execute(f"DROP TABLE {_search.SEARCH_TABLE}")
        op.execute(f"DROP TABLE {_search.KEY_TABLE}")
        return
    op.execute(f"DROP INDEX {_search.PG_INDEX}")


def _separate_the_fields(connection: sa.Connection) -> None:
    """Rewrite every reward's search text with the separator no search may hold, so that a
    term never matches across two fields (the snapshot writes it so from now on)."""
    rows = connection.execute(sa.text("SELECT id, name, brand, description FROM reward")).all()
    if rows:
        connection.execute(
            sa.text("UPDATE reward SET search_text = :text WHERE id = :id"),
            [
                {"id": row.id, "text": search_text_of(row.name, row.brand, row.description)}
                for row in rows
            ],
        )


def _trgm_schema(connection: sa.Connection) -> str | None:
    found = connection.execute(
        sa.text(
            "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
            "WHERE e.extname = 'pg_trgm'"
        )
    ).scalar()
    return None if found is None else str(found)
