from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from functools import partial
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.util import await_only
from sqlmodel.ext.asyncio.session import AsyncSession

from app.catalog.models import VendorStatus
from app.db import (
    READ_THREADS,
    Database,
    WriteConflictError,
    insert_ignoring_conflicts,
    is_write_conflict,
)
from app.settings import Settings


class _SqlStateError(Exception):
    """Stands in for a driver error carrying a PostgreSQL SQLSTATE (asyncpg's shape)."""

    def __init__(self, sqlstate: str) -> None:
        super().__init__(f"sqlstate {sqlstate}")
        self.sqlstate = sqlstate


def _busy_error() -> OperationalError:
    orig = sqlite3.OperationalError("database is locked")
    orig.sqlite_errorcode = sqlite3.SQLITE_BUSY
    return OperationalError("BEGIN IMMEDIATE", {}, orig)


def _serialization_failure() -> OperationalError:
    return OperationalError("UPDATE ...", {}, _SqlStateError("40001"))


def _simulated_conflict(backend: str) -> OperationalError:
    return _busy_error() if backend == "sqlite" else _serialization_failure()


async def _create_counter(database: Database) -> None:
    async def create(session: AsyncSession) -> None:
        await session.exec(text("CREATE TABLE counter (id INTEGER PRIMARY KEY, value INTEGER)"))  # type: ignore[call-overload]
        await session.exec(text("INSERT INTO counter (id, value) VALUES (1, 0)"))  # type: ignore[call-overload]

    await database.write(create)


async def _counter(database: Database) -> int:
    async with database.session() as session:
        result = await session.exec(text("SELECT value FROM counter WHERE id = 1"))  # type: ignore[call-overload]
        return int(result.scalar_one())


async def _increment(session: AsyncSession) -> None:
    await session.exec(text("UPDATE counter SET value = value + 1 WHERE id = 1"))  # type: ignore[call-overload]


@pytest.mark.parametrize(
    ("error", "retryable"),
    [
        (_busy_error(), True),
        (OperationalError("x", {}, _SqlStateError("40001")), True),
        (OperationalError("x", {}, _SqlStateError("40P01")), True),
        (IntegrityError("x", {}, _SqlStateError("23505")), False),
        (OperationalError("x", {}, sqlite3.OperationalError("no such table: t")), False),
        (ValueError("not a database error"), False),
    ],
)
def test_write_conflicts_are_classified(error: BaseException, retryable: bool) -> None:
    assert is_write_conflict(error) is retryable


def test_extended_sqlite_busy_codes_count_as_conflicts() -> None:
    orig = sqlite3.OperationalError("database is locked")
    orig.sqlite_errorcode = 517  # SQLITE_BUSY_SNAPSHOT
    assert is_write_conflict(OperationalError("x", {}, orig))


@pytest.mark.asyncio
async def test_write_commits_the_unit_of_work(database: Database) -> None:
    await _create_counter(database)
    await database.write(_increment)
    assert await _counter(database) == 1


@pytest.mark.asyncio
async def test_insert_ignoring_conflicts_takes_more_rows_than_one_statement_can_bind(
    database: Database,
) -> None:
    def rows(numbers: range, products: int) -> list[dict[str, Any]]:
        return [
            {"vendor": f"v{n}", "consecutive_failures": 0, "products": products,
             "calls_last_refresh": 0}
            for n in numbers
        ]  # fmt: skip

    # 280,000 values: more than SQLite (32,766 by default, 250,000 in Debian builds) or asyncpg
    # (32,767) bind in one statement.
    first = rows(range(70_000), products=1)
    second = rows(range(60_000, 75_000), products=2)
    for batch in (first, second):
        await database.write(partial(insert_ignoring_conflicts, model=VendorStatus, rows=batch))

    async with database.session() as session:
        counts = await session.exec(
            text("SELECT products, COUNT(*) FROM vendor_status GROUP BY products ORDER BY 1")  # type: ignore[call-overload]
        )
        assert [tuple(row) for row in counts] == [(1, 70_000), (2, 5_000)], (
            "every row stored once; rows already there kept as they were"
        )


@pytest.mark.asyncio
async def test_write_rolls_back_and_reraises_other_errors(database: Database) -> None:
    await _create_counter(database)
    calls = 0

    async def fail_halfway(session: AsyncSession) -> None:
        nonlocal calls
        calls += 1
        await _increment(session)
        raise RuntimeError("business rule violated")

    with pytest.raises(RuntimeError, match="business rule violated"):
        await database.write(fail_halfway)
    assert calls == 1, "only write conflicts are retried"
    assert await _counter(database) == 0, "nothing half-written"


@pytest.mark.asyncio
async def test_write_retries_a_conflict_and_then_succeeds(database: Database, backend: str) -> None:
    await _create_counter(database)
    calls = 0

    async def conflicted_twice(session: AsyncSession) -> str:
        nonlocal calls
        calls += 1
        await _increment(session)
        if calls <= 2:
            raise _simulated_conflict(backend)
        return "done"

    assert await database.write(conflicted_twice, attempts=3) == "done"
    assert calls == 3
    assert await _counter(database) == 1, "the failed attempts were rolled back"


@pytest.mark.asyncio
async def test_write_gives_up_after_its_bound(database: Database, backend: str) -> None:
    await _create_counter(database)
    calls = 0

    async def always_conflicted(session: AsyncSession) -> None:
        nonlocal calls
        calls += 1
        await _increment(session)
        raise _simulated_conflict(backend)

    with pytest.raises(WriteConflictError, match="after 4 attempts") as caught:
        await database.write(always_conflicted, attempts=4)
    assert calls == 4
    assert is_write_conflict(caught.value.__cause__)  # type: ignore[arg-type]
    assert await _counter(database) == 0


@pytest.mark.asyncio
async def test_default_bound_comes_from_settings(settings: Settings, backend: str) -> None:
    database = Database.from_settings(settings.model_copy(update={"database_write_attempts": 2}))
    calls = 0

    async def always_conflicted(session: AsyncSession) -> None:
        nonlocal calls
        calls += 1
        raise _simulated_conflict(backend)

    try:
        with pytest.raises(WriteConflictError):
            await database.write(always_conflicted)
    finally:
        await database.dispose()
    assert calls == 2


def _sqlite_path(database: Database) -> str:
    assert database.url.database is not None
    return database.url.database


@pytest.mark.asyncio
@pytest.mark.usefixtures("sqlite_only")
async def test_sqlite_writer_waits_for_a_held_lock_then_succeeds(settings: Settings) -> None:
    database = Database.from_settings(settings.model_copy(update={"database_busy_timeout_ms": 20}))
    try:
        await _create_counter(database)
        blocker = sqlite3.connect(_sqlite_path(database), isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")

        async def release_soon() -> None:
            await asyncio.sleep(0.15)
            blocker.execute("COMMIT")

        release = asyncio.create_task(release_soon())
        await database.write(_increment, attempts=50)
        await release
        blocker.close()
        assert await _counter(database) == 1
    finally:
        await database.dispose()


@pytest.mark.asyncio
@pytest.mark.usefixtures("sqlite_only")
async def test_sqlite_writer_gives_up_on_a_lock_that_is_never_released(settings: Settings) -> None:
    database = Database.from_settings(settings.model_copy(update={"database_busy_timeout_ms": 10}))
    try:
        await _create_counter(database)
        blocker = sqlite3.connect(_sqlite_path(database), isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(WriteConflictError, match="after 3 attempts"):
                await database.write(_increment, attempts=3)
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert await _counter(database) == 0
    finally:
        await database.dispose()


@pytest.mark.asyncio
@pytest.mark.usefixtures("sqlite_only")
async def test_sqlite_write_transactions_take_the_lock_up_front(database: Database) -> None:
    """A write transaction that has only read so far already holds the write lock (BEGIN
    IMMEDIATE), so it can never fail to upgrade a stale snapshot; readers are not blocked."""
    await _create_counter(database)
    path = _sqlite_path(database)
    entered = asyncio.Event()
    leave = asyncio.Event()

    async def hold(session: AsyncSession) -> None:
        await session.exec(text("SELECT value FROM counter"))  # type: ignore[call-overload]
        entered.set()
        await leave.wait()

    writer = asyncio.create_task(database.write(hold))
    await entered.wait()
    probe = sqlite3.connect(path, isolation_level=None, timeout=0)
    try:
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            probe.execute("BEGIN IMMEDIATE")
        async with database.session() as session:  # readers are not blocked (WAL)
            assert (await session.exec(text("SELECT value FROM counter"))).scalar_one() == 0  # type: ignore[call-overload]
    finally:
        leave.set()
        await writer
        probe.close()


def _value(connection: Connection) -> int:
    return int(connection.execute(text("SELECT value FROM counter WHERE id = 1")).scalar_one())


def _writing(connection: Connection) -> int:
    """Work that writes, though reads must not."""
    connection.execute(text("UPDATE counter SET value = 41 WHERE id = 1"))
    return _value(connection)


@pytest.mark.asyncio
@pytest.mark.parametrize("short", [False, True])
async def test_read_sees_what_was_committed(database: Database, short: bool) -> None:
    await _create_counter(database)
    await database.write(_increment)
    assert await database.read(_value, short=short) == 1


@pytest.mark.asyncio
@pytest.mark.usefixtures("sqlite_only")
async def test_sqlite_read_rolls_back_whatever_its_work_did(database: Database) -> None:
    await _create_counter(database)
    assert await database.read(_writing) == 41, "the work saw its own change"
    assert await _counter(database) == 0, "and the change was rolled back"


@pytest.mark.asyncio
@pytest.mark.usefixtures("postgresql_only")
async def test_postgresql_read_is_read_only(database: Database) -> None:
    await _create_counter(database)
    with pytest.raises(DBAPIError, match="read-only transaction"):
        await database.read(_writing)
    assert await _counter(database) == 0


@pytest.mark.asyncio
@pytest.mark.usefixtures("postgresql_only")
async def test_postgresql_replaces_pooled_connections_the_server_closed(
    database: Database,
) -> None:
    await _create_counter(database)
    async with database.session() as session:
        ours = (await session.exec(text("SELECT pg_backend_pid()"))).scalar_one()  # type: ignore[call-overload]
    killer = Database(database.url)
    try:
        async with killer.engine.connect() as connection:
            await connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": ours})
    finally:
        await killer.dispose()
    await asyncio.sleep(0.2)  # the loop reads the closed socket
    assert await _counter(database) == 0, "a fresh connection answered"
    await database.write(_increment)
    assert await _counter(database) == 1


@pytest.mark.asyncio
async def test_read_holds_one_snapshot_while_a_writer_commits(
    database: Database, backend: str
) -> None:
    """A page and its options are read in one transaction: a refresh committed between the
    two statements does not show in the second."""
    await _create_counter(database)
    loop = asyncio.get_running_loop()

    def commit_meanwhile() -> None:
        if backend == "sqlite":  # the read runs on a reader thread
            asyncio.run_coroutine_threadsafe(database.write(_increment), loop).result(10)
        else:  # the read runs in a greenlet of the event loop's thread
            await_only(database.write(_increment))

    def twice(connection: Connection) -> tuple[int, int]:
        before = _value(connection)
        commit_meanwhile()
        return before, _value(connection)

    assert await database.read(twice) == (0, 0)
    assert await _counter(database) == 1


@pytest.mark.asyncio
@pytest.mark.usefixtures("sqlite_only")
async def test_sqlite_short_reads_run_in_place_and_long_ones_on_a_reader_thread(
    database: Database,
) -> None:
    await _create_counter(database)

    def thread(connection: Connection) -> int:
        _value(connection)
        return threading.get_ident()

    assert await database.read(thread, short=True) == threading.get_ident()
    assert await database.read(thread) != threading.get_ident()


@pytest.mark.asyncio
@pytest.mark.usefixtures("sqlite_only")
async def test_sqlite_short_read_never_waits_for_the_reader_threads(database: Database) -> None:
    """A short read runs on the event loop's thread: waiting there for a pooled connection
    would stall every request."""
    await _create_counter(database)
    release = threading.Event()
    # Should a short read wait anyway, the threads let go after 5 s rather than never.
    safety = threading.Timer(5, release.set)
    safety.start()

    def hold(connection: Connection) -> int:
        release.wait()
        return _value(connection)

    held = [asyncio.ensure_future(database.read(hold)) for _ in range(READ_THREADS)]
    await asyncio.sleep(0.2)  # every reader thread now holds a connection
    started = time.monotonic()
    try:
        assert await database.read(_value, short=True) == 0
        waited = time.monotonic() - started
    finally:
        release.set()
        safety.cancel()
        await asyncio.gather(*held)
    assert waited < 1


@pytest.mark.asyncio
@pytest.mark.usefixtures("sqlite_only")
async def test_sqlite_reader_connections_are_configured_like_the_others(
    database: Database,
) -> None:
    def pragmas(connection: Connection) -> dict[str, Any]:
        return {
            name: connection.exec_driver_sql(f"PRAGMA {name}").scalar_one()
            for name in ("journal_mode", "foreign_keys", "busy_timeout")
        }

    expected = {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 5000}
    assert await database.read(pragmas) == expected
    assert await database.read(pragmas, short=True) == expected


@pytest.mark.asyncio
@pytest.mark.usefixtures("sqlite_only")
async def test_sqlite_connections_use_wal_and_foreign_keys(database: Database) -> None:
    async with database.session() as session:
        pragmas: dict[str, Any] = {}
        for name in ("journal_mode", "foreign_keys", "busy_timeout"):
            pragmas[name] = (await session.exec(text(f"PRAGMA {name}"))).scalar_one()  # type: ignore[call-overload]
    assert pragmas == {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 5000}


@pytest.mark.asyncio
@pytest.mark.usefixtures("postgresql_only")
async def test_postgresql_real_deadlock_is_retried(database: Database) -> None:
    """Two writers lock two rows in opposite orders; PostgreSQL aborts one with 40P01, the
    helper retries it, and both increments land."""

    async def create(session: AsyncSession) -> None:
        await session.exec(text("CREATE TABLE pair (id INTEGER PRIMARY KEY, value INTEGER)"))  # type: ignore[call-overload]
        await session.exec(text("INSERT INTO pair VALUES (1, 0), (2, 0)"))  # type: ignore[call-overload]

    await database.write(create)
    both_hold_first_row = asyncio.Barrier(2)
    attempts = {1: 0, 2: 0}

    def writer(first: int, second: int) -> Any:
        async def work(session: AsyncSession) -> None:
            attempts[first] += 1
            await session.exec(text(f"UPDATE pair SET value = value + 1 WHERE id = {first}"))  # type: ignore[call-overload]
            if attempts[first] == 1:
                await both_hold_first_row.wait()
            await session.exec(text(f"UPDATE pair SET value = value + 1 WHERE id = {second}"))  # type: ignore[call-overload]

        return work

    await asyncio.wait_for(
        asyncio.gather(database.write(writer(1, 2)), database.write(writer(2, 1))), timeout=30
    )
    assert sorted(attempts.values()) == [1, 2], "exactly one writer was aborted and retried"
    async with database.session() as session:
        values = (await session.exec(text("SELECT value FROM pair ORDER BY id"))).scalars().all()  # type: ignore[call-overload]
    assert values == [2, 2]


def test_invalid_schema_names_are_refused() -> None:
    with pytest.raises(ValueError, match="invalid schema name"):
        Database("postgresql+asyncpg://u@h/db", schema='x"; DROP TABLE y; --')


_SLOW_QUERY = (
    "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 2000000) "
    "SELECT count(*) FROM n"
)


@pytest.mark.asyncio
async def test_sqlite_dispose_waits_for_a_connection_stopped_mid_query(settings: Settings) -> None:
    """Cancelled twice, a query's connection is stopped without waiting for it; dispose waits
    for its thread, which would otherwise report to a closed event loop (a CI failure)."""
    if not settings.database_url.startswith("sqlite"):
        pytest.skip("aiosqlite threads: SQLite only")
    database = Database(settings.database_url)
    before = set(threading.enumerate())

    async def slow() -> None:
        async with database.engine.connect() as connection:
            await connection.execute(text(_SLOW_QUERY))

    task = asyncio.create_task(slow())
    await asyncio.sleep(0.1)
    task.cancel()
    await asyncio.sleep(0.02)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await database.dispose()
    left = [t for t in threading.enumerate() if t not in before and "_connection_worker" in t.name]
    assert left == []
