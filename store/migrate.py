"""Alembic, driven from code: upgrade, current revision, and the start-up check.

A fresh, empty database is migrated on first start; a database at another revision is refused with a
message naming ``support-agent db upgrade``, because silently migrating a shared production database
from whichever process starts first is how data gets lost.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect
from sqlalchemy.ext.asyncio import AsyncEngine

from store.config import Settings

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


class SchemaMismatchError(RuntimeError):
    """The database is at a revision this code does not run against."""


def alembic_config(settings: Settings) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", settings.resolved_database_url.replace("%", "%%"))
    cfg.attributes["settings"] = settings
    return cfg


def head_revision(settings: Settings) -> str:
    head = ScriptDirectory.from_config(alembic_config(settings)).get_current_head()
    assert head is not None
    return head


def _current(conn: Connection) -> tuple[str | None, bool]:
    """(revision, database has any of our tables)."""
    revision = MigrationContext.configure(conn).get_current_revision()
    tables = set(inspect(conn).get_table_names())
    return revision, bool(tables - {"alembic_version"})


async def current_revision(engine: AsyncEngine) -> tuple[str | None, bool]:
    async with engine.connect() as conn:
        return await conn.run_sync(_current)


def upgrade_sync(settings: Settings, revision: str = "head") -> None:
    """Run Alembic's upgrade (blocking; creates its own event loop for the async engine)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(settings), revision)


async def upgrade(settings: Settings, revision: str = "head") -> None:
    """Run the upgrade in a worker thread, so it can own an event loop of its own."""
    await asyncio.to_thread(upgrade_sync, settings, revision)


async def ensure_schema(settings: Settings, engine: AsyncEngine) -> None:
    """Migrate an empty database; refuse one at any revision other than head."""
    revision, has_tables = await current_revision(engine)
    head = head_revision(settings)
    if revision == head:
        return
    if revision is None and not has_tables:
        logger.info("empty database: migrating to %s", head)
        await upgrade(settings)
        return
    known = {rev.revision for rev in ScriptDirectory.from_config(alembic_config(settings)).walk_revisions()}
    if revision is not None and revision not in known:
        raise SchemaMismatchError(
            f"the database is at revision {revision!r}, newer than this code knows (head {head!r}); "
            "upgrade support-agent, or point it at another database"
        )
    raise SchemaMismatchError(
        f"the database is at revision {revision!r} but this code needs {head!r}; "
        "run `support-agent db upgrade` to migrate it"
    )
