"""Conversation memory: a LangGraph checkpointer in the desk's own database.

SQLite (the default) keeps checkpoints in the desk's SQLite file through langgraph-checkpoint-sqlite;
PostgreSQL keeps them in the desk's PostgreSQL database through langgraph-checkpoint-postgres. Either
way a conversation survives a restart of the process.

Tables created there by the checkpointers (not part of the desk's models or migrations):
SQLite ``checkpoints``, ``writes``; PostgreSQL ``checkpoints``, ``checkpoint_blobs``,
``checkpoint_writes``, ``checkpoint_migrations``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver
from sqlalchemy.engine import make_url

from store.config import Settings
from store.external import CHECKPOINT_TABLES  # noqa: F401  (re-exported for tests)

logger = logging.getLogger(__name__)


def sqlite_path(database_url: str) -> str:
    """The file path of a ``sqlite+aiosqlite:///...`` URL (``:memory:`` stays as it is)."""
    url = make_url(database_url)
    return url.database or ":memory:"


def psycopg_url(database_url: str) -> str:
    """The psycopg (libpq) form of the desk's asyncpg URL."""
    url = make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


@asynccontextmanager
async def open_checkpointer(settings: Settings) -> AsyncIterator[BaseCheckpointSaver[str]]:
    """The checkpointer for the desk's database, set up (tables created) once, closed on exit."""
    url = settings.resolved_database_url
    if url.startswith("postgresql"):
        from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

        async with AsyncPostgresSaver.from_conn_string(psycopg_url(url)) as saver:
            await saver.setup()
            yield saver
        return
    if url.startswith("sqlite"):
        from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

        path = sqlite_path(url)
        if path == ":memory:":
            # A private in-memory SQLite would not be the desk's database anyway; keep memory in process.
            yield InMemorySaver()
            return
        async with AsyncSqliteSaver.from_conn_string(path) as saver:
            await saver.conn.execute("PRAGMA busy_timeout = 30000")
            await saver.setup()
            yield saver
        return
    logger.warning("no checkpointer for %s; conversations are kept in memory only", make_url(url).drivername)
    yield InMemorySaver()
