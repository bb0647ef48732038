"""Passwords for the web sign-in: Argon2id hashes (argon2-cffi), setting one, and the first admin's.

Hashing is deliberately slow (tens of milliseconds, 64 MiB), so it runs in a worker thread, never on the
event loop. A password is never stored, logged or audited; only its hash is kept in ``user_credentials``.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from store.config import Settings
from store.models import User
from store.models_auth import UserCredential, WebSession
from tools import permissions
from tools.actor import Actor
from tools.audit import record_event
from tools.desk import Desk
from tools.errors import DeskError, ForbiddenError, InvalidInputError
from tools.users import ensure_actor, require_user

MIN_LENGTH = 8
MAX_LENGTH = 1024
"""Argon2 takes any length; the cap only keeps a request from making the server hash megabytes."""


@cache
def _hasher() -> PasswordHasher:
    return PasswordHasher()  # argon2-cffi's defaults: Argon2id, RFC 9106 low-memory profile


@cache
def _decoy_hash() -> str:
    """A hash to verify against for unknown accounts, so a wrong username takes as long as a wrong password."""
    return _hasher().hash(secrets.token_urlsafe(16))


def check_password_rules(password: str, username: str) -> None:
    """Raise :class:`InvalidInputError` saying what to change unless ``password`` is acceptable."""
    if len(password) < MIN_LENGTH:
        raise InvalidInputError(f"the password is too short; use at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise InvalidInputError(f"the password is too long; use at most {MAX_LENGTH} characters")
    if password.strip().lower() == username.lower():
        raise InvalidInputError("the password must not be the username; choose another one")


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher().hash, password)


async def verify_password(stored_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches ``stored_hash``; with no hash, a decoy is checked and False returned."""

    def check() -> bool:
        try:
            return _hasher().verify(stored_hash or _decoy_hash(), password) and stored_hash is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(check)


def needs_rehash(stored_hash: str) -> bool:
    """True when the hash was made with weaker parameters than today's (it is replaced at the next sign-in)."""
    return _hasher().check_needs_rehash(stored_hash)


async def password_set(desk: Desk, actor: Actor, username: str, password: str) -> None:
    """Set ``username``'s password (admins for anyone, everyone for themselves); their browser sessions end."""
    if actor.username != username:
        permissions.require(actor, "people.write", "setting another user's password")
    check_password_rules(password, username)
    hashed = await hash_password(password)
    async with desk.sessions.begin() as session:
        user = await require_user(session, username)
        if user.username != username:  # an id was given: the rule above compared usernames
            permissions.require(actor, "people.write", "setting another user's password")
        await _store_hash(session, user.id, hashed, desk)
        # A new password means: whoever is signed in with the old one is signed out.
        ended = await session.execute(delete(WebSession).where(WebSession.user_id == user.id))
        record_event(
            session,
            actor,
            "user.password_set",
            "user",
            user.id,
            after={"username": user.username, "sessions_ended": ended.rowcount},  # type: ignore[attr-defined]
        )


async def _store_hash(session: AsyncSession, user_id: int, hashed: str, desk: Desk) -> None:
    row = await session.get(UserCredential, user_id)
    if row is None:
        session.add(UserCredential(user_id=user_id, password_hash=hashed, changed_at=desk.clock()))
    else:
        row.password_hash, row.changed_at = hashed, desk.clock()
    await session.flush()


async def password_hash_of(desk: Desk, user_id: int) -> str | None:
    async with desk.sessions() as session:
        row = await session.get(UserCredential, user_id)
    return row.password_hash if row is not None else None


async def rehash(desk: Desk, user_id: int, password: str) -> None:
    """Store a fresh hash of a password that was just verified (after a parameter upgrade)."""
    hashed = await hash_password(password)
    async with desk.sessions.begin() as session:
        await _store_hash(session, user_id, hashed, desk)


@dataclass(frozen=True)
class AdminBootstrap:
    """The first admin's account: the password is set only when it was generated (to be shown once)."""

    username: str
    generated_password: str | None


async def bootstrap_admin(desk: Desk, settings: Settings) -> AdminBootstrap | None:
    """Give the configured admin a password when no active admin can sign in yet (a new data directory).

    The password is ``SUPPORT_ADMIN_PASSWORD`` or a generated one, which the caller prints once; None
    when an admin already has a password (nothing to do).
    """
    async with desk.sessions() as session:
        signable = (
            await session.execute(
                select(User.id)
                .join(UserCredential, UserCredential.user_id == User.id)
                .where(User.role == "admin", User.is_active.is_(True))
                .limit(1)
            )
        ).scalar_one_or_none()
    if signable is not None:
        return None
    username = settings.actor if settings.actor_role == "admin" else "admin"
    try:
        admin = await ensure_actor(desk, username, "admin")
    except DeskError as exc:  # a deactivated configured actor: say what to do instead of starting half-way
        raise ForbiddenError(f"cannot give {username!r} a first admin password: {exc}") from exc
    if admin.role != "admin":
        raise ForbiddenError(
            f"user {username!r} exists with role {admin.role!r}, so no admin can sign in; run "
            "'support-agent user password USERNAME' for an admin, or set SUPPORT_ACTOR to an admin"
        )
    given = settings.admin_password.get_secret_value() if settings.admin_password else None
    password = given or secrets.token_urlsafe(12)
    check_password_rules(password, username)
    hashed = await hash_password(password)
    async with desk.sessions.begin() as session:
        await _store_hash(session, admin.user_id, hashed, desk)
        record_event(session, None, "user.password_bootstrap", "user", admin.user_id, after={"username": username})
    return AdminBootstrap(username=username, generated_password=None if given else password)
