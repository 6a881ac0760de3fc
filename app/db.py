"""Database access: one async engine per process, read sessions, and write transactions.

Two backends, one behaviour:

* **SQLite** (embedded default, aiosqlite). WAL so readers never block the writer, a
  ``busy_timeout`` so a writer waits for the lock instead of failing at once, foreign keys on.
  pysqlite's legacy transaction handling is switched off (it issues its own lazy ``BEGIN``), and
  we emit ``BEGIN`` ourselves: ``BEGIN IMMEDIATE`` for write transactions, so the write lock is
  taken up front. A deferred transaction that reads and then writes can fail with SQLITE_BUSY
  *regardless* of the busy timeout, because it cannot upgrade a stale snapshot.
* **PostgreSQL** (asyncpg). READ COMMITTED; writers that must not overspend use conditional
  ``UPDATE … WHERE … RETURNING`` statements, which PostgreSQL re-checks after a concurrent writer
  commits.

`Database.read` runs a read-only unit of work (a function of a synchronous `Connection`) in one
transaction. On a SQLite file it uses pysqlite connections of its own, on a small thread pool
(one thread hop for the whole unit, where aiosqlite makes one per driver call: a catalog page
with its options made 13, about 4 ms of a 10 ms request) or, for short reads, in place.
Elsewhere it runs through the async engine (`AsyncConnection.run_sync`): asyncpg has no
threads to hop.

`Database.write` runs one unit of work in one write transaction and retries it, a bounded number
of times, when the database says the transaction lost a race it may win on a second try
(SQLITE_BUSY / SQLITE_LOCKED, serialization failure ``40001``, deadlock ``40P01``). The unit of
work must therefore be safe to run again: it only touches the database through its session.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import threading
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any, Final, TypeVar

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import URL, Connection, CursorResult, make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool
from sqlalchemy.sql.base import Executable
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_random_exponential

from app.settings import SCHEMA_NAME_PATTERN, Settings

__all__ = [
    "READ_THREADS",
    "Database",
    "WriteConflictError",
    "execute",
    "insert_ignoring_conflicts",
    "is_write_conflict",
    "model_of",
]

T = TypeVar("T")
M = TypeVar("M", bound=SQLModel)

_WRITE: Final = "rewardgate_write"
_SQLITE_BUSY: Final = 5
_SQLITE_LOCKED: Final = 6
_RETRYABLE_SQLSTATES: Final = frozenset({"40001", "40P01"})
READ_THREADS: Final = 4


class WriteConflictError(Exception):
    """A write transaction kept losing to concurrent writers and gave up after its attempts.

    The database is unchanged by the failed unit of work; the caller may try again later.
    """


def is_write_conflict(exc: BaseException) -> bool:
    """True when ``exc`` says the transaction lost a race and running it again may succeed."""
    if not isinstance(exc, DBAPIError):
        return False
    orig = exc.orig
    sqlite_code = getattr(orig, "sqlite_errorcode", None)
    if isinstance(sqlite_code, int):
        # Extended codes (SQLITE_BUSY_SNAPSHOT = 517, ...) keep the primary code in the low byte.
        return sqlite_code & 0xFF in (_SQLITE_BUSY, _SQLITE_LOCKED)
    sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    return sqlstate in _RETRYABLE_SQLSTATES


class Database:
    """The process's database: an engine, its sessions, and the write-transaction helper.

    **Usage**::

        database = Database.from_settings(settings)
        async with database.session() as session:          # reads
            rows = (await session.exec(select(Member))).all()
        member = await database.write(lambda session: add_member(session, ...))
        await database.dispose()
    """

    def __init__(
        self,
        url: str | URL,
        *,
        schema: str | None = None,
        pool_size: int = 10,
        busy_timeout_ms: int = 5_000,
        write_attempts: int = 5,
        echo: bool = False,
    ) -> None:
        if schema is not None and not re.fullmatch(SCHEMA_NAME_PATTERN, schema):
            raise ValueError(f"invalid schema name {schema!r}: must match {SCHEMA_NAME_PATTERN}")
        self.url = make_url(url)
        self.schema = schema
        self.write_attempts = write_attempts
        self._read_engine: Engine | None = None
        self._readers: ThreadPoolExecutor | None = None
        self._driver_threads = _DriverThreads()
        if self.is_sqlite:
            self.engine = _sqlite_engine(self.url, busy_timeout_ms=busy_timeout_ms, echo=echo)
            event.listen(self.engine.sync_engine, "connect", self._driver_threads.connected)
            if not _in_memory(self.url):
                self._read_engine = _sqlite_read_engine(self.url, busy_timeout_ms, echo=echo)
                self._readers = ThreadPoolExecutor(READ_THREADS, thread_name_prefix="sqlite-read")
        else:
            self.engine = _postgresql_engine(
                self.url, schema=schema, pool_size=pool_size, echo=echo
            )
        self._write_engine = self.engine.execution_options(**{_WRITE: True})
        # SQLite has one writer at a time: writers of this process queue here, in order,
        # instead of in SQLite's busy handler, which sleeps up to 100 ms between tries (under
        # load most of a write's time). Other processes still meet the busy timeout.
        self._one_writer: asyncio.Lock | contextlib.AbstractAsyncContextManager[None] = (
            asyncio.Lock() if self.is_sqlite else contextlib.nullcontext()
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        return cls(
            settings.database_url,
            schema=settings.database_schema,
            pool_size=settings.database_pool_size,
            busy_timeout_ms=settings.database_busy_timeout_ms,
            write_attempts=settings.database_write_attempts,
        )

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    @property
    def backend(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self.url.get_backend_name()

    def session(self) -> AsyncSession:
        """A session for reads (a deferred transaction on SQLite: it never takes the write lock)."""
        return AsyncSession(self.engine, expire_on_commit=False)

    async def read(self, work: Callable[[Connection], T], *, short: bool = False) -> T:
        """``work(connection)`` in one read transaction, rolled back when it returns: one
        snapshot for all its statements (PostgreSQL: ``REPEATABLE READ``, read only).
        ``work`` must only read.

        On SQLite a read runs on a reader thread, so a long scan leaves the event loop free;
        a ``short`` one (a few index lookups, bounded by a page size) runs in place: that
        takes well under a millisecond, less than handing it to a thread and back, and under
        load each such hand-off also waits for the GIL (pysqlite releases it for every row).
        """
        if self._read_engine is not None and self._readers is not None:
            if short:
                return _read_in(self._read_engine, work)
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._readers, _read_in, self._read_engine, work)
        async with self.engine.connect() as connection:
            if not self.is_sqlite:
                # READ COMMITTED would let each statement see a newer snapshot.
                await connection.execution_options(
                    isolation_level="REPEATABLE READ", postgresql_readonly=True
                )
            return await connection.run_sync(_read_on, work)

    @asynccontextmanager
    async def write_connection(self) -> AsyncIterator[AsyncConnection]:
        """One write transaction on a bare connection (migrations and bulk statements)."""
        async with self._write_engine.begin() as connection:
            yield connection

    async def write(
        self,
        work: Callable[[AsyncSession], Awaitable[T]],
        *,
        attempts: int | None = None,
    ) -> T:
        """Run ``work(session)`` in one write transaction, committed when it returns.

        Retries the whole unit on a write conflict (see `is_write_conflict`) with jittered
        exponential backoff, up to ``attempts`` runs in all (default: the configured
        ``database_write_attempts``); then raises `WriteConflictError`. Any other exception rolls
        the transaction back and propagates unchanged.
        """
        retrying = AsyncRetrying(
            stop=stop_after_attempt(attempts or self.write_attempts),
            wait=wait_random_exponential(multiplier=0.01, max=0.5),
            retry=retry_if_exception(is_write_conflict),
            reraise=True,
        )
        try:
            return await retrying(self._run_write, work)
        except DBAPIError as exc:
            if is_write_conflict(exc):
                tries = retrying.statistics.get("attempt_number", 1)
                raise WriteConflictError(
                    f"write transaction gave up after {tries} attempts: {exc.orig}"
                ) from exc
            raise

    async def _run_write(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        async with (
            self._one_writer,
            AsyncSession(self._write_engine, expire_on_commit=False) as session,
            session.begin(),
        ):
            return await work(session)

    async def ping(self) -> None:
        """Raise if the database cannot answer a trivial query."""
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()
        await self._driver_threads.stopped()
        if self._readers is not None:
            self._readers.shutdown(wait=True)
        if self._read_engine is not None:
            self._read_engine.dispose()


class _DriverThreads:
    """The aiosqlite worker threads of an engine, so that `Database.dispose` can wait for
    those that are stopping.

    A connection whose query is cancelled twice (a task cancelled again while SQLAlchemy
    closes it gracefully) is stopped without waiting: its thread finishes the query, then
    reports to the event loop. If the loop has closed by then, the thread raises
    ``RuntimeError: Event loop is closed``.
    """

    def __init__(self) -> None:
        self._threads: dict[threading.Thread, weakref.ref[Any]] = {}

    def connected(self, dbapi_connection: Any, _record: Any) -> None:
        driver = getattr(dbapi_connection, "_connection", None)
        # aiosqlite 0.21's connection is its thread; 0.22's has one.
        thread = driver if isinstance(driver, threading.Thread) else getattr(driver, "_thread", 0)
        if isinstance(thread, threading.Thread):
            self._threads = {t: c for t, c in self._threads.items() if t.is_alive()}
            self._threads[thread] = weakref.ref(driver)

    def _stopping(self) -> list[threading.Thread]:
        return [
            thread
            for thread, driver in self._threads.items()
            if thread.is_alive() and not getattr(driver(), "_running", False)
        ]

    async def stopped(self, seconds: float = 5.0) -> None:
        """Wait, at most ``seconds``, for the threads of stopped connections to end (the
        threads of connections still checked out are left running)."""
        stopping = self._stopping()
        if stopping:
            # On a thread of its own: the loop stays free for what they report back.
            await asyncio.to_thread(_join, stopping, time.monotonic() + seconds)


def _join(threads: list[threading.Thread], deadline: float) -> None:
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))


def _read_in(engine: Engine, work: Callable[[Connection], T]) -> T:
    with engine.connect() as connection:
        return _read_on(connection, work)


def _read_on(connection: Connection, work: Callable[[Connection], T]) -> T:
    transaction = connection.begin()
    try:
        return work(connection)
    finally:
        transaction.rollback()


def _in_memory(url: URL) -> bool:
    return url.database in (None, "", ":memory:")


def _sqlite_engine(url: URL, *, busy_timeout_ms: int, echo: bool) -> AsyncEngine:
    in_memory = _in_memory(url)
    options: dict[str, Any] = {"echo": echo}
    if in_memory:
        # Each connection to :memory: is a new, empty database: share one.
        options["poolclass"] = StaticPool
    engine = create_async_engine(url, connect_args={"timeout": busy_timeout_ms / 1000}, **options)
    _configure_sqlite(engine.sync_engine, busy_timeout_ms=busy_timeout_ms, in_memory=in_memory)
    return engine


def _sqlite_read_engine(url: URL, busy_timeout_ms: int, *, echo: bool) -> Engine:
    """The same file through pysqlite, for `Database.read` on its threads (a connection is
    used by one thread at a time, not always the same one)."""
    engine = create_engine(
        url.set(drivername="sqlite+pysqlite"),
        echo=echo,
        # One connection per reader thread, plus the one a short read holds in place: a short
        # read never waits for the pool (it would block the event loop while waiting).
        pool_size=READ_THREADS + 1,
        max_overflow=0,
        connect_args={"timeout": busy_timeout_ms / 1000, "check_same_thread": False},
    )
    _configure_sqlite(engine, busy_timeout_ms=busy_timeout_ms, in_memory=False)
    return engine


def _configure_sqlite(engine: Engine, *, busy_timeout_ms: int, in_memory: bool) -> None:
    @event.listens_for(engine, "connect")
    def _configure_connection(dbapi_connection: Any, _record: Any) -> None:
        # Stop pysqlite from emitting BEGIN on its own; `_begin` below does it.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            if not in_memory:
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            cursor.execute("PRAGMA foreign_keys=ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        write = connection.get_execution_options().get(_WRITE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def _postgresql_engine(url: URL, *, schema: str | None, pool_size: int, echo: bool) -> AsyncEngine:
    server_settings = {"application_name": "rewardgate"}
    if schema:
        server_settings["search_path"] = schema
    engine = create_async_engine(
        url,
        echo=echo,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_timeout=10,
        connect_args={"server_settings": server_settings, "timeout": 10, "command_timeout": 60},
    )
    event.listen(engine.sync_engine, "checkout", _refuse_closed)
    return engine


def _refuse_closed(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """Hand out no pooled connection that the server has closed (a restart, an idle timeout,
    ``pg_terminate_backend``): the pool replaces it. asyncpg notices the close as soon as the
    event loop reads the socket, so this costs no round trip, where ``pool_pre_ping`` sends a
    query on every checkout (half the cost of a short transaction)."""
    driver = getattr(dbapi_connection, "_connection", None)
    if driver is not None and driver.is_closed():
        raise DisconnectionError("the server closed this connection")


async def execute(
    session: AsyncSession,
    statement: Executable,
    params: dict[str, Any] | Sequence[dict[str, Any]] | None = None,
) -> CursorResult[Any]:
    """A Core statement on the session's connection, in its transaction, past the ORM's
    execution path: for the statements of the hot paths (a redemption's), built once at import
    with bound parameters, this is less than half the CPU of ``session.exec`` on a statement
    built per call. The session's identity map does not see what it writes or reads.
    """
    connection = await session.connection()
    return await connection.execute(statement, params)


def model_of(model: type[M], values: Sequence[Any]) -> M:
    """A table model of a plain row's ``values``, in its table's column order (as a Core
    select of ``*table.c`` returns them); not in any session."""
    columns = model.__table__.c.keys()  # type: ignore[attr-defined]
    return model(**dict(zip(columns, values, strict=True)))


async def insert_ignoring_conflicts(
    session: AsyncSession, model: type[SQLModel], rows: list[dict[str, Any]]
) -> None:
    """``INSERT … ON CONFLICT DO NOTHING``: rows a concurrent writer inserted first are kept.

    The portable way to "create unless it exists" without a check-then-insert race. Any number
    of rows: one statement executed for many parameter sets, which the driver batches within
    the database's limit on bound values (a multi-row ``VALUES`` would be compiled afresh for
    every batch and, past that limit, refused).
    """
    if not rows:
        return
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    table = model.__table__  # type: ignore[attr-defined]
    await session.exec(insert(table).on_conflict_do_nothing(), params=rows)
