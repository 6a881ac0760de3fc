from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import Connection

from app import migrations
from app.catalog._search import UNMODELLED
from app.db import Database
from app.models import metadata
from app.settings import Settings


@pytest.mark.asyncio
async def test_an_empty_database_is_behind_head(empty_database: Database) -> None:
    state = await migrations.status(empty_database)
    assert state.current == frozenset()
    assert state.heads == migrations.head_revisions()
    assert not state.at_head
    assert "no migrations applied" in state.describe()


@pytest.mark.asyncio
async def test_upgrade_from_empty_reaches_head(empty_database: Database) -> None:
    state = await migrations.upgrade(empty_database)
    assert state.at_head
    assert state.current == migrations.head_revisions()


@pytest.mark.asyncio
async def test_upgrade_is_idempotent(empty_database: Database) -> None:
    await migrations.upgrade(empty_database)
    assert (await migrations.upgrade(empty_database)).at_head


def _differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(
        connection, opts={"include_name": lambda name, *_: name not in UNMODELLED}
    )
    return list(compare_metadata(context, metadata))


@pytest.mark.asyncio
async def test_migrated_schema_matches_the_models(database: Database) -> None:
    """A model changed without a migration (or the reverse) shows up here."""
    async with database.engine.connect() as connection:
        assert await connection.run_sync(_differences) == []


def test_revision_chain_is_linear() -> None:
    assert len(migrations.head_revisions()) == 1, "merge divergent migration heads"


@pytest.mark.asyncio
async def test_prepare_migrates_an_embedded_sqlite(
    empty_database: Database, sqlite_only: None
) -> None:
    state = await migrations.prepare(empty_database)
    assert state.at_head


@pytest.mark.asyncio
async def test_prepare_refuses_an_unmigrated_postgresql(
    empty_database: Database, postgresql_only: None
) -> None:
    with pytest.raises(migrations.DatabaseNotMigratedError, match="rewardgate db upgrade"):
        await migrations.prepare(empty_database)
    assert (await migrations.status(empty_database)).current == frozenset(), "nothing applied"


@pytest.mark.asyncio
async def test_prepare_accepts_a_migrated_postgresql(
    database: Database, postgresql_only: None
) -> None:
    assert (await migrations.prepare(database)).at_head


@pytest.mark.asyncio
async def test_prepare_refuses_a_postgresql_at_an_unknown_revision(
    database: Database, postgresql_only: None
) -> None:
    async with database.write_connection() as connection:
        await connection.execute(text("UPDATE alembic_version SET version_num = 'from_the_future'"))
    with pytest.raises(migrations.DatabaseNotMigratedError, match="from_the_future"):
        await migrations.prepare(database)


def test_plain_alembic_commands_open_the_configured_database(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`alembic upgrade head` (no connection supplied) migrates REWARDGATE_DATABASE_URL."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("REWARDGATE_DATABASE_URL", settings.database_url)
    if settings.database_schema:
        monkeypatch.setenv("REWARDGATE_DATABASE_SCHEMA", settings.database_schema)
        _create_schema(settings)
    command.upgrade(migrations.alembic_config(), "head")

    async def read() -> migrations.MigrationStatus:
        database = Database.from_settings(settings)
        try:
            return await migrations.status(database)
        finally:
            await database.dispose()

    assert asyncio.run(read()).at_head


def _create_schema(settings: Settings) -> None:
    async def create() -> None:
        database = Database.from_settings(settings)
        try:
            async with database.write_connection() as connection:
                await connection.execute(text(f'CREATE SCHEMA "{settings.database_schema}"'))
        finally:
            await database.dispose()

    asyncio.run(create())
