"""Engine, session factory and schema-revision checks, built from settings.

SQLite runs in WAL mode with foreign keys on. A write transaction (``sessions.begin()``, or any connection
not marked as a reader) starts with ``BEGIN IMMEDIATE`` so two writers queue instead of failing half-way with
"database is locked"; the optimistic version checks then decide which update wins, exactly as on PostgreSQL.
A read session (``sessions()``, which never commits) starts a deferred ``BEGIN``: under WAL it reads the last
committed state and never waits for a writer.

Within one process, SQLite writers queue on an asyncio lock, first come first served, before they take the
database's write lock. SQLite's own busy handler would make them poll with growing sleeps, which under fifty
concurrent clients let some writes wait ten seconds while others went straight through. Another process (the
CLI beside a server) still queues on the busy timeout. Connections are pooled, so a request does not start a
new connection thread and re-run the pragmas.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from store import outbox as _outbox  # noqa: F401  (its flush hook writes the index outbox with each change)
from store.config import Settings

logger = logging.getLogger(__name__)

READER = "desk_reader"
"""Execution option that marks a connection as read-only work: on SQLite its transactions do not take the
write lock."""

WRITE_WAIT_SECONDS = 60.0
"""How long a SQLite writer waits: for the process's write queue, and on the busy timeout for another process."""


POOL_SIZE = 20
"""Connections a process keeps open. Fewer than the sessions in flight under load means connections opened and
closed all the time (on PostgreSQL a new backend and its start-up queries each), which cost more than the calls."""
POOL_OVERFLOW = 10
"""Connections opened beyond :data:`POOL_SIZE` for a burst, closed again when they come back."""


def create_engine(settings: Settings, *, pool_size: int = POOL_SIZE) -> AsyncEngine:
    """An async engine for the configured database, with the SQLite pragmas the desk relies on.

    PostgreSQL connections are not pinged at every checkout: SQLAlchemy's ping is three round trips (BEGIN, a
    query, ROLLBACK) before every session's own statements. A connection that died (PostgreSQL restarted) fails
    the statement that finds it, and that error makes the pool drop every connection it holds, so only the
    sessions in flight at that moment see the error; the next ones connect afresh.
    """
    url = settings.resolved_database_url
    if url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(
            url,
            echo=settings.db_echo,
            connect_args={"timeout": WRITE_WAIT_SECONDS},
            pool_size=pool_size,
            max_overflow=POOL_OVERFLOW,
        )
        _configure_sqlite(engine)
        return engine
    return create_async_engine(url, echo=settings.db_echo, pool_size=pool_size, max_overflow=POOL_OVERFLOW)


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, decide when transactions begin (see the "begin" hook).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={int(WRITE_WAIT_SECONDS * 1000)}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Writers by default: only connections explicitly marked as readers skip the write lock.
        conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get(READER) else "BEGIN IMMEDIATE")


class SessionFactory(async_sessionmaker[AsyncSession]):
    """``factory()`` is a read session; ``factory.begin()`` a write transaction that commits on success.

    The two differ only on SQLite, where a reader's transaction does not take the write lock (see above).
    A read session that writes anyway still works, but may be refused with "database is locked" under
    contention: write through ``begin()``.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__(engine.execution_options(**{READER: True}), expire_on_commit=False)
        self._writer = async_sessionmaker(engine, expire_on_commit=False)
        self._serialise = engine.dialect.name == "sqlite"
        self._queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _WriteQueue] = weakref.WeakKeyDictionary()

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncSession]:  # type: ignore[override]  # same use: async with
        if not self._serialise:
            async with self._writer.begin() as session:
                yield session
            return
        queue = self._queues.setdefault(asyncio.get_running_loop(), _WriteQueue())
        async with queue.turn(), self._writer.begin() as session:
            yield session


class _WriteQueue:
    """One process's SQLite writers, first come first served; a task already writing is not queued again."""

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._owner: asyncio.Task[Any] | None = None

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        task = asyncio.current_task()
        if task is not None and task is self._owner:
            yield  # nested in this task's own write: SQLite's busy timeout decides, as before
            return
        try:
            async with asyncio.timeout(WRITE_WAIT_SECONDS):
                await self._lock.acquire()
        except TimeoutError:
            raise PoolTimeoutError(
                f"no database write slot within {WRITE_WAIT_SECONDS:g} s; another write held the database that long"
            ) from None
        self._owner = task
        try:
            yield
        finally:
            self._owner = None
            self._lock.release()


def create_session_factory(engine: AsyncEngine) -> SessionFactory:
    """Sessions that keep loaded objects usable after commit (tools shape them into outputs)."""
    return SessionFactory(engine)


@asynccontextmanager
async def open_store(settings: Settings) -> AsyncIterator[tuple[AsyncEngine, SessionFactory]]:
    """Open the engine and session factory once, and dispose of them on the way out."""
    engine = create_engine(settings)
    try:
        yield engine, create_session_factory(engine)
    finally:
        await engine.dispose()
