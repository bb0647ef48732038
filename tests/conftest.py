"""Fixtures shared by the whole suite.

Every test that takes ``desk`` (directly or through a factory) runs twice: on SQLite and on the
PostgreSQL at 127.0.0.1:5432, each in a throw-away database migrated with Alembic before the first
test. ``SUPPORT_TEST_BACKENDS=sqlite`` narrows a local run to one backend.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import pytest_asyncio
from sqlalchemy import text

from store.config import Settings
from store.migrate import upgrade
from store.models import Base
from tools.actor import Actor, Role
from tools.desk import Desk, open_desk
from tools.users import UserUpsert, actor_of, ensure_actor, user_upsert

PG_ADMIN_DSN = os.environ.get("SUPPORT_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
BACKENDS = [b for b in os.environ.get("SUPPORT_TEST_BACKENDS", "sqlite,postgresql").split(",") if b]


class FakeClock:
    """A settable clock for SLA tests: starts at a fixed instant and only moves when told."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def settings(backend: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Settings]:
    data_dir = tmp_path_factory.mktemp(f"data-{backend}")
    if backend == "sqlite":
        cfg = Settings(data_dir=data_dir, _env_file=None)  # type: ignore[call-arg]
        await upgrade(cfg)
        yield cfg
        return
    name = f"sa_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    base = PG_ADMIN_DSN.rsplit("/", 1)[0]
    cfg = Settings(data_dir=data_dir, database_url=f"{base}/{name}", _env_file=None)  # type: ignore[call-arg]
    try:
        await upgrade(cfg)
        yield cfg
    finally:
        admin = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def _open_desk(settings: Settings) -> AsyncIterator[Desk]:
    async with open_desk(settings) as desk:
        yield desk


async def _wipe(desk: Desk) -> None:
    # analytics_bins is reference data the migration writes (the histogram's bins), not desk data.
    tables = [t.name for t in reversed(Base.metadata.sorted_tables) if t.name != "analytics_bins"]
    async with desk.engine.begin() as conn:
        if desk.dialect == "postgresql":
            await conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                await conn.execute(text(f"DELETE FROM {name}"))
            # AUTOINCREMENT counters, as RESTART IDENTITY does on PostgreSQL: each test starts from id 1.
            await conn.execute(text("DELETE FROM sqlite_sequence"))
    # Every user and token is gone (behind the tools' back): no process may answer from its credential cache.
    await desk.credentials.changed()
    # Vectors live outside the database: drop every collection so the next test starts empty too.
    vectors = getattr(desk.knowledge, "vectors", None)  # a test may have swapped in a stand-in
    if vectors is not None:
        for name in await vectors.list_names():
            await vectors.drop(name)


@pytest_asyncio.fixture(loop_scope="session")
async def desk(_open_desk: Desk) -> AsyncIterator[Desk]:
    """An open desk on an empty database (wiped after each test), with a fake clock."""
    _open_desk.clock = FakeClock()
    try:
        yield _open_desk
    finally:
        await _open_desk.finish_background()  # a search's usage record lands in its own test, not the next
        await _wipe(_open_desk)
        # Rate-limit counters live on the shared desk: each test starts with none spent, as a fresh server does.
        _open_desk.extras.pop("rate_limits", None)


@pytest.fixture
def clock(desk: Desk) -> FakeClock:
    assert isinstance(desk.clock, FakeClock)
    return desk.clock


@pytest_asyncio.fixture(loop_scope="session")
async def admin(desk: Desk) -> Actor:
    return await ensure_actor(desk, "admin", "admin")


MakeUser = Callable[..., Any]


@pytest_asyncio.fixture(loop_scope="session")
async def make_user(desk: Desk, admin: Actor) -> MakeUser:
    """``await make_user("bob", "technician")`` -> Actor."""

    async def make(username: str, role: Role = "end_user", **extra: Any) -> Actor:
        data = UserUpsert(
            username=username,
            email=extra.pop("email", f"{username}@example.com"),
            display_name=extra.pop("display_name", username.title()),
            role=role,
            **extra,
        )
        public = await user_upsert(desk, admin, data)
        return Actor(user_id=public.id, username=public.username, role=public.role)

    return make


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


__all__ = ["FakeClock", "actor_of"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run every test that touches a database once per backend, SQLite first."""
    del config, items


@pytest.fixture(autouse=True)
def _no_paid_apis(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test may reach a paid API: drop any keys the environment carries."""
    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "ELEVENLABS_API_KEY", "SUPPORT_OPENAI_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    yield
