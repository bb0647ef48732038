"""Desk API tokens: shown once, hashed, scoped, expiring, revocable, with last use recorded."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import event, select

from store.models import ApiToken
from tests.conftest import FakeClock, MakeUser
from tests.servers import REDIS, redis_up
from tests.ticket_helpers import audit_events
from tools.actor import Actor
from tools.credential_cache import CredentialCache
from tools.desk import Desk
from tools.errors import ForbiddenError, InvalidInputError, NotFoundError
from tools.tokens import TokenIdentity, identity_for_token, token_create, token_list, token_revoke
from tools.users import UserUpsert, user_for_identity, user_upsert


async def test_token_is_shown_once_and_stored_as_a_hash(desk: Desk, admin: Actor, make_user: MakeUser) -> None:
    await make_user("alice")
    created = await token_create(desk, admin, username="alice", name="laptop", scopes=["desk:read"])
    assert created.token.startswith("sa_") and len(created.token) > 40
    async with desk.sessions() as session:
        row = (await session.execute(select(ApiToken))).scalar_one()
    assert row.token_sha256 == hashlib.sha256(created.token.encode()).hexdigest()
    assert created.token not in repr(row.__dict__)
    listed = await token_list(desk, admin)
    assert [t.name for t in listed.items] == ["laptop"] and "token" not in listed.items[0].model_dump()
    found = await identity_for_token(desk, created.token, address="10.1.1.1")
    assert isinstance(found, TokenIdentity)
    assert found.actor.username == "alice" and found.scopes == ("desk:read",)
    (event,) = await audit_events(desk, "token.create")
    assert event.after and event.after["username"] == "alice"


async def test_expiry_revocation_and_deactivation_apply_on_the_next_use(
    desk: Desk, admin: Actor, make_user: MakeUser, clock: FakeClock
) -> None:
    await make_user("alice")
    short = await token_create(desk, admin, username="alice", expires_in="1h")
    assert isinstance(await identity_for_token(desk, short.token), TokenIdentity)
    clock.advance(minutes=61)
    assert await identity_for_token(desk, short.token) == "the token expired"

    other = await token_create(desk, admin, username="alice")
    assert isinstance(await identity_for_token(desk, other.token), TokenIdentity)
    revoked = await token_revoke(desk, admin, other.info.id)
    assert revoked.status == "revoked"
    assert await identity_for_token(desk, other.token) == "the token was revoked"
    again = await token_revoke(desk, admin, other.info.id)
    assert again.revoked_at == revoked.revoked_at
    assert len(await audit_events(desk, "token.revoke")) == 1

    third = await token_create(desk, admin, username="alice")
    await user_upsert(
        desk, admin, UserUpsert(username="alice", email="alice@example.com", display_name="A", is_active=False)
    )
    assert await identity_for_token(desk, third.token) == "the token's user is deactivated"
    assert await identity_for_token(desk, "sa_made_up") == "the token is not a known desk API token"

    statuses = {t.id: t.status for t in (await token_list(desk, admin, include_inactive=True)).items}
    assert statuses[short.info.id] == "expired" and statuses[other.info.id] == "revoked"
    assert [t.id for t in (await token_list(desk, admin)).items] == [third.info.id]


async def test_use_from_a_new_address_is_audited_and_last_use_recorded(
    desk: Desk, admin: Actor, make_user: MakeUser, clock: FakeClock
) -> None:
    await make_user("alice")
    created = await token_create(desk, admin, username="alice")
    for address in ("10.0.0.1", "10.0.0.1", "10.0.0.2"):
        await identity_for_token(desk, created.token, address=address)
    events = await audit_events(desk, "token.use_new_address")
    assert [e.address for e in events] == ["10.0.0.1", "10.0.0.2"]
    (info,) = (await token_list(desk, admin)).items
    assert info.last_used_at == clock() and info.last_used_address == "10.0.0.2"


async def test_token_input_errors_and_roles(desk: Desk, admin: Actor, make_user: MakeUser) -> None:
    tech = await make_user("tech", "technician")
    with pytest.raises(ForbiddenError, match="issuing API tokens"):
        await token_create(desk, tech, username="tech")
    with pytest.raises(ForbiddenError):
        await token_list(desk, tech)
    with pytest.raises(InvalidInputError, match=r"e\.g\. 30d"):
        await token_create(desk, admin, username="tech", expires_in="soon")
    with pytest.raises(InvalidInputError, match="'desk:everything'"):
        await token_create(desk, admin, username="tech", scopes=["desk:everything"])
    with pytest.raises(NotFoundError, match="'nobody'"):
        await token_create(desk, admin, username="nobody")
    with pytest.raises(NotFoundError, match="token 12345"):
        await token_revoke(desk, admin, 12345)


def test_token_cli_creates_lists_and_revokes(tmp_path: Path) -> None:
    env = {**os.environ, "SUPPORT_DATA_DIR": str(tmp_path / "data")}
    env.pop("DATABASE_URL", None)

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "server.cli", *args], env=env, capture_output=True, text=True, timeout=120
        )

    made = cli("token", "create", "admin", "--name", "ci", "--expires-in", "30d", "--scope", "desk:read")
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    assert token.startswith("sa_") and "desk:read" in made.stderr and "shown only now" in made.stderr
    listed = cli("token", "list")
    assert listed.returncode == 0 and "ci" in listed.stdout and token not in listed.stdout
    token_id = listed.stdout.split()[0]
    assert cli("token", "revoke", token_id).returncode == 0
    assert "revoked" in cli("token", "list", "--all").stdout
    bad = cli("token", "create", "admin", "--expires-in", "forever")
    assert bad.returncode == 2 and "e.g. 30d" in bad.stderr


@pytest_asyncio.fixture(loop_scope="session")
async def shared_cache(desk: Desk) -> AsyncIterator[Desk]:
    """The desk with a credential cache whose changes other processes see: the marker file next to the SQLite
    database, or (PostgreSQL, where the cache needs it) a generation in Redis."""
    settings = desk.settings
    if desk.dialect == "postgresql":
        if not redis_up():
            pytest.skip(f"Redis is not running at {REDIS}")
        settings = settings.model_copy(update={"redis_url": REDIS, "rate_limit_prefix": f"test-{uuid.uuid4().hex}"})
    original, desk.credentials = desk.credentials, CredentialCache.for_settings(settings)
    try:
        yield desk
    finally:
        await desk.credentials.aclose()
        desk.credentials = original


@contextmanager
def statements(desk: Desk) -> Iterator[list[str]]:
    """The SQL statements ``desk`` sends while the block runs."""
    sent: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(statement)

    event.listen(desk.engine.sync_engine, "before_cursor_execute", note)
    try:
        yield sent
    finally:
        event.remove(desk.engine.sync_engine, "before_cursor_execute", note)


async def test_a_checked_token_is_reused_without_reading_the_database(
    shared_cache: Desk, admin: Actor, make_user: MakeUser, clock: FakeClock
) -> None:
    desk = shared_cache
    await make_user("alice")
    created = await token_create(desk, admin, username="alice", expires_in="1h")
    assert isinstance(await identity_for_token(desk, created.token, address="10.0.0.1"), TokenIdentity)
    with statements(desk) as sent:
        for _ in range(5):
            found = await identity_for_token(desk, created.token, address="10.0.0.1")
            assert isinstance(found, TokenIdentity) and found.actor.username == "alice"
    assert sent == []
    clock.advance(seconds=61)  # last use is recorded once a minute, from the cache too
    with statements(desk) as sent:
        await identity_for_token(desk, created.token, address="10.0.0.1")
    assert [s.split()[0] for s in sent if not s.startswith("BEGIN")] == ["UPDATE"]
    (info,) = (await token_list(desk, admin)).items
    assert info.last_used_at == clock()
    clock.advance(minutes=60)  # expiry is checked on every use, cached or not
    assert await identity_for_token(desk, created.token) == "the token expired"


async def test_the_cache_forgets_a_token_when_it_or_its_user_changes(
    shared_cache: Desk, admin: Actor, make_user: MakeUser
) -> None:
    desk = shared_cache
    await make_user("alice", "technician")
    token1 = await token_create(desk, admin, username="alice")
    token2 = await token_create(desk, admin, username="alice")
    for token in (token1, token2):
        assert isinstance(await identity_for_token(desk, token.token), TokenIdentity)
    demoted = UserUpsert(username="alice", email="alice@example.com", display_name="A", role="end_user")
    await user_upsert(desk, admin, demoted)
    found = await identity_for_token(desk, token1.token)
    assert isinstance(found, TokenIdentity) and found.actor.role == "end_user"
    await token_revoke(desk, admin, token1.info.id)
    assert await identity_for_token(desk, token1.token) == "the token was revoked"
    assert isinstance(await identity_for_token(desk, token2.token), TokenIdentity)
    await user_upsert(desk, admin, demoted.model_copy(update={"is_active": False}))
    assert await identity_for_token(desk, token2.token) == "the token's user is deactivated"


async def test_a_matched_oauth_user_is_reused_until_their_role_changes(shared_cache: Desk, admin: Actor) -> None:
    desk = shared_cache

    async def match(role: Any = None) -> Actor:
        return await user_for_identity(
            desk, match="email", value="Olga@Example.com", email="olga@example.com", display_name="Olga", role=role
        )

    provisioned = await match()
    assert provisioned.role == "end_user"
    assert await match() == provisioned  # the first read after a provisioning caches it
    with statements(desk) as sent:
        assert await match() == provisioned
    assert sent == []
    promoted = await match("technician")  # the identity provider states another role: applied, not cached away
    assert promoted.role == "technician" and (await match()).role == "technician"
    await user_upsert(
        desk,
        admin,
        UserUpsert(username=provisioned.username, email="olga@example.com", display_name="Olga", role="manager"),
    )
    assert (await match()).role == "manager"
