"""Desk API tokens: random, shown once, stored only as a SHA-256 hash, with scopes, expiry and revocation.

A token found valid is reused for a few seconds from the desk's credential cache
(:mod:`tools.credential_cache`); a revocation, a deactivated user or a changed role drops it in every process,
and an expiry is checked on every call, so each applies to the very next call.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select, update

from store.models import ApiToken, User
from tools import permissions
from tools.actor import Actor
from tools.audit import record_event
from tools.desk import Desk
from tools.errors import InvalidInputError, NotFoundError
from tools.pagination import Page, PageRequest
from tools.users import actor_of, require_user

Scope = Literal["desk:read", "desk:write", "desk:admin"]
"""What a credential may be used for, on top of what the user's role allows: ``desk:read`` read-only tools,
``desk:write`` tools that change the desk (tickets, comments, uploads, the agent), ``desk:admin`` the
admin toolset (users, tokens, audit). A token without explicit scopes has all three."""
SCOPES: tuple[Scope, ...] = get_args(Scope)
TOKEN_PREFIX = "sa_"
_DURATION = re.compile(r"^(\d{1,5})([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(text: str) -> timedelta:
    """``30d``, ``12h``, ``90m``, ``2w`` or ``45s`` as a timedelta."""
    match = _DURATION.match(text.strip().lower())
    if not match or int(match.group(1)) == 0:
        raise InvalidInputError(f"expires_in {text!r} is not a duration; write a positive number and a unit, e.g. 30d")
    number, unit = match.groups()
    return timedelta(**{_UNITS[unit]: int(number)})


def check_scopes(scopes: list[str] | None) -> list[Scope] | None:
    if scopes is None:
        return None
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        raise InvalidInputError(f"unknown scope(s) {', '.join(map(repr, unknown))}; use: {', '.join(SCOPES)}")
    if not scopes:
        raise InvalidInputError(f"scopes is empty; omit it for every scope, or name some of: {', '.join(SCOPES)}")
    return [s for s in SCOPES if s in scopes]


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokenPublic(BaseModel):
    """A token as listed: never the token itself."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    name: str
    scopes: list[str] = Field(description="What it may be used for.")
    created_at: datetime
    expires_at: datetime | None = Field(description="Null: never expires.")
    last_used_at: datetime | None
    last_used_address: str | None
    revoked_at: datetime | None
    status: Literal["active", "expired", "revoked"]


class TokenCreated(BaseModel):
    token: str = Field(description="The token; shown only now, store it safely (only its hash is kept).")
    info: TokenPublic


def _public(row: ApiToken, username: str, now: datetime) -> TokenPublic:
    status: Literal["active", "expired", "revoked"] = (
        "revoked" if row.revoked_at else "expired" if row.expires_at and row.expires_at <= now else "active"
    )
    return TokenPublic(
        id=row.id,
        username=username,
        name=row.name,
        scopes=list(row.scopes) if row.scopes is not None else list(SCOPES),
        created_at=row.created_at,
        expires_at=row.expires_at,
        last_used_at=row.last_used_at,
        last_used_address=row.last_used_address,
        revoked_at=row.revoked_at,
        status=status,
    )


async def token_create(
    desk: Desk,
    actor: Actor,
    *,
    username: str,
    name: str = "api",
    expires_in: str | timedelta | None = None,
    scopes: list[str] | None = None,
) -> TokenCreated:
    """Issue an API token for ``username`` (admins only); the plain token is returned once, only its hash kept."""
    permissions.require(actor, "tokens.manage", "issuing API tokens")
    name = name.strip()
    if not 1 <= len(name) <= 100:
        raise InvalidInputError("name must be 1-100 characters, e.g. 'laptop' or 'ci'")
    chosen = check_scopes(scopes)
    now = desk.clock()
    ttl = parse_duration(expires_in) if isinstance(expires_in, str) else expires_in
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    async with desk.sessions.begin() as session:
        user = await require_user(session, username)
        if not user.is_active:
            raise InvalidInputError(f"user {user.username!r} is deactivated; activate them first with user_upsert")
        row = ApiToken(
            user_id=user.id,
            name=name,
            token_sha256=hash_token(token),
            created_at=now,
            expires_at=now + ttl if ttl is not None else None,
            scopes=chosen,
        )
        session.add(row)
        await session.flush()
        info = _public(row, user.username, now)
        record_event(
            session,
            actor,
            "token.create",
            "api_token",
            row.id,
            after=info.model_dump(include={"username", "name", "scopes", "expires_at"}),
            at=now,
        )
    return TokenCreated(token=token, info=info)


async def token_list(
    desk: Desk,
    actor: Actor,
    *,
    username: str | None = None,
    include_inactive: bool = False,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[TokenPublic]:
    """API tokens, newest first, optionally for one user (admins only)."""
    permissions.require(actor, "tokens.manage", "listing API tokens")
    window = PageRequest.of(limit, cursor)
    now = desk.clock()
    stmt = select(ApiToken, User.username).join(User, User.id == ApiToken.user_id)
    async with desk.sessions() as session:
        if username is not None:
            stmt = stmt.where(ApiToken.user_id == (await require_user(session, username)).id)
        if not include_inactive:
            stmt = stmt.where(
                ApiToken.revoked_at.is_(None), (ApiToken.expires_at.is_(None)) | (ApiToken.expires_at > now)
            )
        total = (await session.execute(select(func.count()).select_from(stmt.subquery()))).scalar_one()
        rows = (await session.execute(stmt.order_by(ApiToken.id.desc()).offset(window.offset).limit(window.size))).all()
    return window.page(Page[TokenPublic], [_public(r, u, now) for r, u in rows], total)


async def token_revoke(desk: Desk, actor: Actor, token_id: int) -> TokenPublic:
    """Revoke an API token; the next request with it is refused (admins only). Revoking twice changes nothing."""
    permissions.require(actor, "tokens.manage", "revoking API tokens")
    now = desk.clock()
    async with desk.sessions.begin() as session:
        row = await session.get(ApiToken, token_id)
        if row is None:
            raise NotFoundError(f"API token {token_id!r} does not exist; token_list shows the ids")
        username = (await session.execute(select(User.username).where(User.id == row.user_id))).scalar_one()
        if row.revoked_at is None:
            row.revoked_at = now
            await session.flush()
            record_event(
                session,
                actor,
                "token.revoke",
                "api_token",
                row.id,
                after={"username": username, "name": row.name},
                at=now,
            )
    await desk.credentials.changed()
    return _public(row, username, now)


@dataclass(frozen=True, slots=True)
class TokenIdentity:
    """Who an API token stands for, and what it may be used for."""

    actor: Actor
    token_id: int
    scopes: tuple[Scope, ...]
    expires_at: datetime | None


@dataclass(slots=True)
class _Checked:
    """A token found valid, as the credential cache keeps it, with its last use as this process knows it."""

    identity: TokenIdentity
    last_used_at: datetime | None
    last_used_address: str | None


LAST_USED_EVERY = timedelta(minutes=1)
"""Last use is minute-accurate: writing it on every call would turn each read into a write."""


async def identity_for_token(desk: Desk, token: str, *, address: str | None = None) -> TokenIdentity | str:
    """The identity behind ``token``, or the reason it is refused (unknown, expired, revoked, user inactive).

    A token found valid is kept in :attr:`Desk.credentials` for a few seconds; a revocation or a change to
    its user drops it everywhere before the next request. Records the last use (at most once a minute);
    the first use from a new address is an audit event.
    """
    now = desk.clock()
    key = "token:" + hash_token(token)
    checked, generation = await desk.credentials.lookup(key)
    if not isinstance(checked, _Checked):
        found = await _check(desk, token)
        if isinstance(found, str):
            return found
        checked = found
        desk.credentials.store(key, checked, generation)
    expires_at = checked.identity.expires_at
    if expires_at is not None and expires_at <= now:
        return "the token expired"
    await _record_use(desk, checked, address, now)
    return checked.identity


async def _check(desk: Desk, token: str) -> _Checked | str:
    async with desk.sessions() as session:
        found = (
            await session.execute(
                select(ApiToken, User)
                .join(User, User.id == ApiToken.user_id)
                .where(ApiToken.token_sha256 == hash_token(token))
            )
        ).first()
    if found is None:
        return "the token is not a known desk API token"
    row, user = found
    if row.revoked_at is not None:
        return "the token was revoked"
    if not user.is_active:
        return "the token's user is deactivated"
    scopes = tuple(s for s in SCOPES if row.scopes is None or s in row.scopes)
    identity = TokenIdentity(actor=actor_of(user), token_id=row.id, scopes=scopes, expires_at=row.expires_at)
    return _Checked(identity, last_used_at=row.last_used_at, last_used_address=row.last_used_address)


async def _record_use(desk: Desk, checked: _Checked, address: str | None, now: datetime) -> None:
    new_address = bool(address) and address != checked.last_used_address
    stale = checked.last_used_at is None or now - checked.last_used_at >= LAST_USED_EVERY
    if not (new_address or stale):
        return
    identity = checked.identity
    previous = checked.last_used_address
    # Noted before the write, so concurrent requests of this token do not write it again.
    checked.last_used_at = now
    if new_address:
        checked.last_used_address = address
    async with desk.sessions.begin() as session:
        values: dict[str, object] = {"last_used_at": now}
        if new_address:
            values["last_used_address"] = address
            record_event(
                session,
                identity.actor,
                "token.use_new_address",
                "api_token",
                identity.token_id,
                before={"address": previous},
                after={"address": address},
                address=address,
                at=now,
            )
        await session.execute(update(ApiToken).where(ApiToken.id == identity.token_id).values(**values))
