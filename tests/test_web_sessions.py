"""Passwords, web sign-in with throttling and lockout, and database-backed browser sessions, on both backends."""

from __future__ import annotations

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from store.models import AuditEvent
from store.models_auth import SignInAttempt, UserCredential
from tests.conftest import FakeClock, MakeUser
from tools.actor import Actor
from tools.desk import Desk
from tools.errors import ForbiddenError, InvalidInputError
from tools.passwords import bootstrap_admin, password_set
from tools.users import UserUpsert, user_upsert
from tools.web_sessions import SignInRefused, session_actor, sign_in, sign_out

PASSWORD = "correct horse battery"


async def _with_password(make_user: MakeUser, admin: Actor, desk: Desk, name: str, role: str = "end_user") -> Actor:
    user: Actor = await make_user(name, role)
    await password_set(desk, admin, name, PASSWORD)
    return user


async def _attempt(desk: Desk, who: str, password: str, address: str = "10.0.0.1") -> SignInRefused | str:
    try:
        return (await sign_in(desk, identifier=who, password=password, address=address)).token
    except SignInRefused as exc:
        return exc


async def test_password_is_stored_as_an_argon2_hash_and_signs_in_by_username_or_email(
    desk: Desk, admin: Actor, make_user: MakeUser
) -> None:
    alice = await _with_password(make_user, admin, desk, "alice")
    async with desk.sessions() as s:
        stored = (await s.execute(select(UserCredential.password_hash))).scalar_one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored

    by_name = await sign_in(desk, identifier="alice", password=PASSWORD, address="10.0.0.1")
    by_mail = await sign_in(desk, identifier=" Alice@Example.com ", password=PASSWORD, address="10.0.0.1")
    assert by_name.actor == by_mail.actor == alice
    assert by_name.token != by_mail.token
    assert await session_actor(desk, by_name.token) == alice


@pytest.mark.parametrize("password", ["short", "alice"])
async def test_weak_passwords_are_refused_with_what_to_do(
    desk: Desk, admin: Actor, make_user: MakeUser, password: str
) -> None:
    await make_user("alice")
    with pytest.raises(InvalidInputError, match="password"):
        await password_set(desk, admin, "alice", password if password != "alice" else "Alice   ")


async def test_only_admins_set_other_peoples_passwords(desk: Desk, admin: Actor, make_user: MakeUser) -> None:
    bob = await make_user("bob")
    await make_user("carol")
    with pytest.raises(ForbiddenError, match="another user's password"):
        await password_set(desk, bob, "carol", PASSWORD)
    await password_set(desk, bob, "bob", PASSWORD)  # their own is fine
    assert (await sign_in(desk, identifier="bob", password=PASSWORD, address="a")).actor == bob


async def test_wrong_credentials_say_nothing_about_which_part_was_wrong(
    desk: Desk, admin: Actor, make_user: MakeUser
) -> None:
    await _with_password(make_user, admin, desk, "alice")
    await make_user("nopass")
    refusals = [await _attempt(desk, who, pw) for who, pw in (("alice", "wrong one!"), ("ghost", PASSWORD))]
    refusals.append(await _attempt(desk, "nopass", PASSWORD))
    assert all(isinstance(r, SignInRefused) and r.outcome == "bad_credentials" for r in refusals)
    assert len({str(r) for r in refusals}) == 1
    async with desk.sessions() as s:
        events = (await s.execute(select(AuditEvent).where(AuditEvent.action == "auth.sign_in_failed"))).scalars()
        reasons = sorted(e.after["reason"] for e in events if e.after)
    assert reasons == ["no password set", "unknown account", "wrong password"]


async def test_failures_slow_down_then_lock_the_account_and_every_attempt_is_audited(
    desk: Desk, admin: Actor, make_user: MakeUser, clock: FakeClock
) -> None:
    cfg = desk.settings
    await _with_password(make_user, admin, desk, "alice")
    for _ in range(cfg.signin_slow_after):
        result = await _attempt(desk, "alice", "guess")
        assert isinstance(result, SignInRefused) and result.outcome == "bad_credentials"
    # Slowed down: even the right password must wait a moment after the last failure.
    waiting = await _attempt(desk, "alice", PASSWORD)
    assert isinstance(waiting, SignInRefused) and waiting.outcome == "throttled"
    assert waiting.retry_after is not None and 0 < waiting.retry_after <= 1
    assert "wait" in str(waiting)
    # Keep guessing, waiting as told each time, until the account locks.
    outcomes = []
    while len(outcomes) < 20:
        result = await _attempt(desk, "alice", "guess")
        assert isinstance(result, SignInRefused)
        outcomes.append(result.outcome)
        if result.outcome == "locked":
            break
        clock.advance(seconds=(result.retry_after or 0) + 61)
    assert outcomes[-1] == "locked", outcomes
    locked = await _attempt(desk, "alice", PASSWORD)
    assert isinstance(locked, SignInRefused) and locked.outcome == "locked"
    assert locked.retry_after is not None and locked.retry_after > 60
    assert "locked" in str(locked)
    # Another address does not unlock the account.
    assert isinstance(await _attempt(desk, "alice", PASSWORD, address="10.9.9.9"), SignInRefused)
    # After the lock time the right password works again, and forgives the earlier failures.
    clock.advance(minutes=cfg.signin_lock_minutes + 1)
    assert isinstance(await _attempt(desk, "alice", PASSWORD), str)
    assert isinstance(await _attempt(desk, "alice", "guess"), SignInRefused)
    assert isinstance(await _attempt(desk, "alice", PASSWORD), str)

    async with desk.sessions() as s:
        attempts = (await s.execute(select(SignInAttempt.outcome))).scalars().all()
        audited = (
            (await s.execute(select(AuditEvent.action).where(AuditEvent.action.startswith("auth.sign_in"))))
            .scalars()
            .all()
        )
    assert len(audited) == len(attempts) and {"success", "bad_credentials", "throttled", "locked"} <= set(attempts)


async def test_one_address_guessing_many_accounts_is_locked(
    desk: Desk, admin: Actor, make_user: MakeUser, clock: FakeClock
) -> None:
    cfg = desk.settings.model_copy(update={"signin_address_lock_after": 4})
    desk.settings, original = cfg, desk.settings
    try:
        await _with_password(make_user, admin, desk, "alice")
        for n in range(4):
            assert isinstance(await _attempt(desk, f"user{n}", "guess", address="6.6.6.6"), SignInRefused)
        refused = await _attempt(desk, "alice", PASSWORD, address="6.6.6.6")
        assert isinstance(refused, SignInRefused) and refused.outcome == "locked"
        assert isinstance(await _attempt(desk, "alice", PASSWORD, address="10.0.0.2"), str)
    finally:
        desk.settings = original


async def test_sessions_expire_idle_and_absolute_and_end_on_sign_out_password_change_or_deactivation(
    desk: Desk, admin: Actor, make_user: MakeUser, clock: FakeClock
) -> None:
    cfg = desk.settings
    alice = await _with_password(make_user, admin, desk, "alice")

    async def fresh() -> str:
        return (await sign_in(desk, identifier="alice", password=PASSWORD, address="a")).token

    token = await fresh()
    clock.advance(minutes=cfg.session_idle_minutes - 1)
    assert await session_actor(desk, token) == alice  # activity keeps it alive...
    clock.advance(minutes=cfg.session_idle_minutes - 1)
    assert await session_actor(desk, token) == alice
    clock.advance(minutes=cfg.session_idle_minutes + 1)
    assert await session_actor(desk, token) is None  # ...idleness ends it

    token = await fresh()
    clock.advance(minutes=cfg.session_idle_minutes - 1)
    assert await session_actor(desk, token, activity=False) == alice  # a page's own heartbeat...
    clock.advance(minutes=2)
    assert await session_actor(desk, token, activity=False) is None  # ...does not keep it alive

    token = await fresh()
    for _ in range(int(cfg.session_hours * 60 / (cfg.session_idle_minutes / 2)) + 1):
        clock.advance(minutes=cfg.session_idle_minutes / 2)
        if await session_actor(desk, token) is None:
            break
    assert await session_actor(desk, token) is None  # the absolute limit holds however active

    token = await fresh()
    assert await sign_out(desk, token, address="a") is True
    assert await session_actor(desk, token) is None
    assert await sign_out(desk, token) is False

    token = await fresh()
    await password_set(desk, admin, "alice", PASSWORD + "!")
    assert await session_actor(desk, token) is None

    token = (await sign_in(desk, identifier="alice", password=PASSWORD + "!", address="a")).token
    await user_upsert(
        desk, admin, UserUpsert(username="alice", email="alice@example.com", display_name="A", is_active=False)
    )
    assert await session_actor(desk, token) is None
    assert await session_actor(desk, "not-a-token") is None


async def test_first_admin_password_is_generated_once_or_taken_from_the_setting(desk: Desk) -> None:
    settings = desk.settings.model_copy(update={"actor": "root", "actor_role": "admin"})
    first = await bootstrap_admin(desk, settings)
    assert first is not None and first.username == "root" and first.generated_password
    assert (await sign_in(desk, identifier="root", password=first.generated_password, address="a")).actor.role == (
        "admin"
    )
    assert await bootstrap_admin(desk, settings) is None  # printed once: an admin can already sign in


async def test_first_admin_password_from_support_admin_password(desk: Desk) -> None:
    extra = {"admin_password": SecretStr("s3cret-pass")}
    settings = desk.settings.model_copy(update={"actor": "root", "actor_role": "admin", **extra})
    made = await bootstrap_admin(desk, settings)
    assert made is not None and made.generated_password is None
    assert (await sign_in(desk, identifier="root", password="s3cret-pass", address="a")).actor.username == "root"
