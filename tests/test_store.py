"""The schema: migrations match the models, run both ways, and start-up refuses a foreign revision."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from store import db
from store.config import Settings
from store.db import create_engine
from store.external import include_object
from store.migrate import SchemaMismatchError, ensure_schema, head_revision, upgrade
from store.models import Base
from tools.desk import Desk, open_desk


async def test_models_match_migrations(desk: Desk) -> None:
    def diff(conn):  # type: ignore[no-untyped-def]
        ctx = MigrationContext.configure(conn, opts={"compare_type": False, "include_object": include_object})
        return compare_metadata(ctx, Base.metadata)

    async with desk.engine.connect() as conn:
        differences = await conn.run_sync(diff)
    assert differences == []


async def test_empty_database_is_migrated_on_first_start(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "fresh", _env_file=None)  # type: ignore[call-arg]
    async with open_desk(settings) as desk, desk.engine.connect() as conn:
        revision = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar_one()
    assert revision == head_revision(settings)


async def test_start_refuses_older_and_unknown_revisions(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "old", _env_file=None)  # type: ignore[call-arg]
    await upgrade(settings)
    engine = create_engine(settings)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE alembic_version SET version_num = 'ffffffffffff'"))
        with pytest.raises(SchemaMismatchError, match="newer than this code"):
            await ensure_schema(settings, engine)
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE alembic_version SET version_num = '0001_core'"))
        if head_revision(settings) != "0001_core":
            with pytest.raises(SchemaMismatchError, match="support-agent db upgrade"):
                await ensure_schema(settings, engine)
    finally:
        await engine.dispose()


def test_downgrade_to_base_and_back(settings: Settings) -> None:
    from alembic import command

    from store.migrate import alembic_config

    # A copy of the suite's database settings, on its own SQLite file or PG database, is not needed:
    # migrating the suite's database down and up again must leave it usable for the tests after.
    cfg = alembic_config(settings)
    command.downgrade(cfg, "base")
    command.upgrade(cfg, "head")


def _integer_id_tables() -> list[str]:
    return sorted(
        t.name
        for t in Base.metadata.sorted_tables
        if list(t.primary_key.columns.keys()) == ["id"] and t.c.id.type.python_type is int
    )


async def test_every_integer_id_comes_from_a_counter_that_never_goes_back(desk: Desk) -> None:
    tables = _integer_id_tables()
    assert {"tickets", "documents", "document_chunks", "kb_articles", "audit_events", "users"} <= set(tables)
    async with desk.engine.connect() as conn:
        for table in tables:
            if desk.dialect == "sqlite":
                sql = (
                    await conn.execute(
                        text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :t"), {"t": table}
                    )
                ).scalar_one()
                assert "AUTOINCREMENT" in sql.upper(), (
                    f"{table} may reuse the ids of deleted rows: declare __table_args__ with store.models.NO_REUSE "
                    "and create it with sqlite_autoincrement=True in its migration"
                )
            else:
                sequence = (await conn.execute(text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table})).scalar()
                assert sequence, f"{table}.id has no sequence behind it"


async def test_ids_of_deleted_rows_are_never_reused(desk: Desk) -> None:
    from tests.ticket_helpers import new_ticket
    from tools.users import ensure_actor

    admin = await ensure_actor(desk, "admin", "admin")
    first = await new_ticket(desk, admin, subject="First")
    async with desk.sessions.begin() as session:
        await session.execute(text("DELETE FROM tickets WHERE id = :id"), {"id": first.id})
    second = await new_ticket(desk, admin, subject="Second")
    assert second.id > first.id and second.number != first.number


async def test_sqlite_writers_of_one_process_take_turns_in_arrival_order(desk: Desk) -> None:
    if desk.dialect != "sqlite":
        pytest.skip("PostgreSQL writers run side by side")
    order: list[int] = []
    first_in = asyncio.Event()
    release = asyncio.Event()

    async def write(i: int) -> None:
        async with desk.sessions.begin() as session:
            await session.execute(text("SELECT 1"))
            order.append(i)
            if i == 0:
                first_in.set()
                await release.wait()

    async with asyncio.timeout(60), asyncio.TaskGroup() as group:
        group.create_task(write(0))
        await first_in.wait()
        for i in range(1, 6):
            group.create_task(write(i))
            await asyncio.sleep(0)  # each queues before the next arrives
        release.set()
    assert order == [0, 1, 2, 3, 4, 5]


async def test_a_writer_stuck_behind_another_gets_a_clear_error(desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    if desk.dialect != "sqlite":
        pytest.skip("the write queue is SQLite's")
    monkeypatch.setattr(db, "WRITE_WAIT_SECONDS", 0.2)
    async with desk.sessions.begin():
        with pytest.raises(PoolTimeoutError, match=r"no database write slot within 0.2 s"):
            await asyncio.create_task(_write_once(desk))
    await _write_once(desk)  # the queue is free again


async def _write_once(desk: Desk) -> None:
    async with desk.sessions.begin() as session:
        await session.execute(text("SELECT 1"))
