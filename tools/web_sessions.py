"""Web sign-in: checking a password with throttling and lockout, and server-side browser sessions.

Sessions live in the database (``web_sessions``), so every server process behind one port knows them and a
sign-out, a password change or a deactivation ends them everywhere at the next request. The browser holds
a random token; only its SHA-256 is stored.

Guessing is slowed per account (what was typed, so unknown accounts are throttled alike) and per network
address: after ``signin_slow_after`` failures each attempt must wait 1, 2, 4 ... seconds after the last
failure, and after ``signin_lock_after`` failures (``signin_address_lock_after`` from one address) attempts
are refused for ``signin_lock_minutes`` without checking the password. Every attempt is recorded in
``sign_in_attempts`` (which the throttle reads) and in the audit trail.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import ColumnElement, delete, func, or_, select, update

from store.models import User
from store.models_auth import SignInAttempt, UserCredential, WebSession
from tools.actor import Actor
from tools.audit import record_event
from tools.desk import Desk
from tools.errors import ForbiddenError, InvalidInputError
from tools.passwords import needs_rehash, rehash, verify_password
from tools.users import actor_of

Outcome = Literal["success", "bad_credentials", "throttled", "locked"]
MAX_DELAY_SECONDS = 60.0
TOUCH_EVERY = timedelta(seconds=60)
"""last_seen_at is written at most this often per session: idle expiry needs minutes, not every request."""
ATTEMPTS_KEPT = timedelta(days=1)


class SignInRefused(ForbiddenError):
    """A sign-in that did not succeed; ``retry_after`` (seconds) is set when the caller must wait."""

    def __init__(self, message: str, outcome: Outcome, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.outcome = outcome
        self.retry_after = retry_after


@dataclass(frozen=True)
class SignedIn:
    """A new browser session: give ``token`` to the browser (once) and let it expire at ``expires_at``."""

    token: str
    actor: Actor
    expires_at: datetime


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _seconds(delta: timedelta) -> float:
    return max(delta.total_seconds(), 0.0)


async def _failures(desk: Desk, where: ColumnElement[bool], since: datetime) -> tuple[int, datetime | None]:
    async with desk.sessions() as session:
        count, last = (
            await session.execute(
                select(func.count(SignInAttempt.id), func.max(SignInAttempt.created_at)).where(
                    where, SignInAttempt.outcome == "bad_credentials", SignInAttempt.created_at > since
                )
            )
        ).one()
    return int(count), last


async def _last_success(desk: Desk, identifier: str) -> datetime | None:
    async with desk.sessions() as session:
        return (
            await session.execute(
                select(func.max(SignInAttempt.created_at)).where(
                    SignInAttempt.identifier == identifier, SignInAttempt.outcome == "success"
                )
            )
        ).scalar_one()


async def throttle(desk: Desk, identifier: str, address: str) -> tuple[Outcome, float] | None:
    """Whether an attempt for ``identifier`` from ``address`` must be refused now, and for how many seconds."""
    cfg, now = desk.settings, desk.clock()
    window = now - timedelta(minutes=cfg.signin_window_minutes)
    success = await _last_success(desk, identifier)
    # A successful sign-in forgives the account's earlier failures; an address's are never forgiven early,
    # or one valid account would let its owner keep guessing others' passwords.
    account_since = max(window, success) if success is not None else window
    lock = timedelta(minutes=cfg.signin_lock_minutes)
    checks = (
        (SignInAttempt.identifier == identifier, account_since, cfg.signin_lock_after, cfg.signin_slow_after),
        (SignInAttempt.address == address, window, cfg.signin_address_lock_after, cfg.signin_address_lock_after),
    )
    refusal: tuple[Outcome, float] | None = None
    for where, since, lock_after, slow_after in checks:
        count, last = await _failures(desk, where, since)
        if last is None:
            continue
        if count >= lock_after:
            wait = _seconds(last + lock - now)
            if wait > 0:
                return "locked", wait
        elif count >= slow_after:
            delay = min(2.0 ** (count - slow_after), MAX_DELAY_SECONDS)
            wait = _seconds(last + timedelta(seconds=delay) - now)
            if wait > 0 and (refusal is None or wait > refusal[1]):
                refusal = ("throttled", wait)
    return refusal


async def _record(
    desk: Desk, identifier: str, address: str, outcome: Outcome, user: Actor | None, detail: dict[str, object]
) -> None:
    now = desk.clock()
    async with desk.sessions.begin() as session:
        session.add(
            SignInAttempt(
                identifier=identifier,
                address=address,
                user_id=user.user_id if user else None,
                outcome=outcome,
                created_at=now,
            )
        )
        action = "auth.sign_in" if outcome == "success" else "auth.sign_in_failed"
        target = user.user_id if user else identifier
        after = {"identifier": identifier, "outcome": outcome, **detail}
        record_event(session, user, action, "user", target, after=after, address=address, at=now)
        await session.execute(delete(SignInAttempt).where(SignInAttempt.created_at < now - ATTEMPTS_KEPT))


def _wait_text(seconds: float) -> str:
    if seconds >= 90:
        return f"{round(seconds / 60)} minutes"
    return f"{max(round(seconds), 1)} seconds"


async def sign_in(
    desk: Desk, *, identifier: str, password: str, address: str, user_agent: str | None = None
) -> SignedIn:
    """Check a username (or e-mail address) and password and open a browser session.

    Raises :class:`SignInRefused` for wrong credentials (never saying which part was wrong), and for an
    account or address that must wait or is locked (with ``retry_after``).
    """
    ident = identifier.strip().lower()[:254]
    if not ident or not password:
        raise InvalidInputError("enter your username (or e-mail address) and your password")
    address = (address or "unknown")[:64]
    refused = await throttle(desk, ident, address)
    if refused is not None:
        outcome, wait = refused
        await _record(desk, ident, address, outcome, None, {"retry_after": round(wait)})
        if outcome == "locked":
            message = f"too many failed sign-ins; this account is locked, try again in {_wait_text(wait)}"
        else:
            message = f"too many failed sign-ins; wait {_wait_text(wait)} before trying again"
        raise SignInRefused(message, outcome, wait)

    async with desk.sessions() as session:
        user = (
            await session.execute(
                select(User).where(or_(func.lower(User.username) == ident, func.lower(User.email) == ident))
            )
        ).scalar_one_or_none()
        credential = await session.get(UserCredential, user.id) if user is not None else None
    stored = credential.password_hash if credential is not None else None
    matches = await verify_password(stored, password)  # checks a decoy when there is no account or hash
    if user is None or not matches or not user.is_active:
        reason = "unknown account" if user is None else "no password set" if stored is None else "wrong password"
        if user is not None and matches:
            reason = "account deactivated"
        await _record(desk, ident, address, "bad_credentials", None, {"reason": reason})
        raise SignInRefused("the username or password is not right; check both and try again", "bad_credentials")
    actor = actor_of(user)
    if stored is not None and needs_rehash(stored):
        await rehash(desk, user.id, password)
    opened = await _open_session(desk, actor, address, user_agent)
    await _record(desk, ident, address, "success", actor, {})
    return opened


async def _open_session(desk: Desk, actor: Actor, address: str, user_agent: str | None) -> SignedIn:
    cfg, now = desk.settings, desk.clock()
    token = secrets.token_urlsafe(32)
    expires = now + timedelta(hours=cfg.session_hours)
    async with desk.sessions.begin() as session:
        # Housekeeping where it costs nothing noticeable: ended sessions go when someone signs in.
        await session.execute(delete(WebSession).where(WebSession.expires_at <= now))
        session.add(
            WebSession(
                token_sha256=_digest(token),
                user_id=actor.user_id,
                created_at=now,
                last_seen_at=now,
                expires_at=expires,
                address=address,
                user_agent=(user_agent or "")[:300] or None,
            )
        )
    return SignedIn(token=token, actor=actor, expires_at=expires)


async def session_actor(desk: Desk, token: str | None, *, activity: bool = True) -> Actor | None:
    """The signed-in user a browser's session token stands for, or None (unknown, ended, expired, idle,
    or the user was deactivated). Read on every request, so changes apply at once.

    ``activity=False`` for requests a page makes by itself (Gradio's heartbeat): they do not keep an
    unattended session from going idle."""
    if not token:
        return None
    now = desk.clock()
    idle = timedelta(minutes=desk.settings.session_idle_minutes)
    async with desk.sessions() as session:
        row = (
            await session.execute(
                select(WebSession, User)
                .join(User, User.id == WebSession.user_id)
                .where(WebSession.token_sha256 == _digest(token))
            )
        ).one_or_none()
    if row is None:
        return None
    web, user = row
    if now >= web.expires_at or now - web.last_seen_at >= idle:
        async with desk.sessions.begin() as session:
            await session.execute(delete(WebSession).where(WebSession.id == web.id))
        return None
    if not user.is_active:
        return None
    if activity and now - web.last_seen_at >= TOUCH_EVERY:
        async with desk.sessions.begin() as session:
            await session.execute(update(WebSession).where(WebSession.id == web.id).values(last_seen_at=now))
    return actor_of(user)


async def sign_out(desk: Desk, token: str | None, *, address: str | None = None) -> bool:
    """End the browser session ``token`` stands for; False when there was none (already ended)."""
    if not token:
        return False
    async with desk.sessions.begin() as session:
        row = (
            await session.execute(select(WebSession).where(WebSession.token_sha256 == _digest(token)))
        ).scalar_one_or_none()
        if row is None:
            return False
        user = await session.get(User, row.user_id)
        await session.delete(row)
        actor = actor_of(user) if user is not None else None
        record_event(session, actor, "auth.sign_out", "user", row.user_id, address=address, at=desk.clock())
    return True
