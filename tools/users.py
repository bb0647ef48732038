"""Users, roles and ticket categories (API tokens are in :mod:`tools.tokens`)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field, StringConstraints
from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import Category, User
from store.models_auth import Team, TeamMember
from tools import permissions
from tools.actor import Actor, Role
from tools.audit import record_event
from tools.common import parse_id
from tools.desk import Desk
from tools.errors import ConflictError, ForbiddenError, NotFoundError
from tools.pagination import Page, PageRequest

_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")


def _check_username(value: str) -> str:
    if not _USERNAME.match(value):
        raise ValueError(
            f"{value!r} is not a valid username: use 2-64 lower-case letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return value


Username = Annotated[str, AfterValidator(_check_username)]


class UserUpsert(BaseModel):
    """Create a user, or update the one with this username."""

    model_config = ConfigDict(extra="forbid")

    username: Username = Field(description="Lower-case login name: letters, digits, '.', '_' or '-', 2-64 long.")
    email: EmailStr = Field(description="Unique e-mail address.")
    display_name: Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
    role: Role = "end_user"
    is_active: bool = True


class UserPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    email: str
    display_name: str
    role: Role
    is_active: bool
    created_at: datetime
    teams: list[str] = Field(default_factory=list, description="The teams the user belongs to, by name.")


class CategoryPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    description: str


def actor_of(user: User) -> Actor:
    return Actor(user_id=user.id, username=user.username, role=user.role)  # type: ignore[arg-type]


async def get_user(session: AsyncSession, *, ref: int | str) -> User | None:
    """A user by id or username; a string that is both (usernames may be all digits) names the username first."""
    if isinstance(ref, str):
        user = await get_user_by_username(session, ref)
        if user is not None or not ref.isdigit():
            return user
    user_id = parse_id(ref)
    return await session.get(User, user_id) if user_id is not None else None


async def get_user_by_username(session: AsyncSession, username: str) -> User | None:
    """A user by username only: creating or signing in as "42" must never reach the user whose id is 42."""
    return (await session.execute(select(User).where(User.username == username))).scalar_one_or_none()


async def require_user(session: AsyncSession, ref: int | str, what: str = "user") -> User:
    user = await get_user(session, ref=ref)
    if user is None:
        raise NotFoundError(f"{what} {ref!r} does not exist; call user_list to see valid usernames")
    return user


async def team_names_by_user(session: AsyncSession, user_ids: list[int]) -> dict[int, list[str]]:
    """Each user's team names (sorted), for the user listing; users in no team are left out."""
    if not user_ids:
        return {}
    stmt = (
        select(TeamMember.user_id, Team.name)
        .join(Team, Team.id == TeamMember.team_id)
        .where(TeamMember.user_id.in_(user_ids))
        .order_by(Team.name)
    )
    out: dict[int, list[str]] = {}
    for user_id, name in (await session.execute(stmt)).all():
        out.setdefault(int(user_id), []).append(str(name))
    return out


async def current_actor(desk: Desk, user_id: int) -> Actor:
    """The actor for a known user as stored now: a changed role or a deactivation applies at once."""
    async with desk.sessions() as session:
        user = await session.get(User, user_id)
    if user is None or not user.is_active:
        raise ForbiddenError("your user account is deactivated or was removed; ask an admin to restore it")
    return actor_of(user)


async def ensure_actor(desk: Desk, username: str, role: Role) -> Actor:
    """The actor for ``username``, creating the user with ``role`` on first use (stdio and CLI)."""
    async with desk.sessions.begin() as session:
        user = await get_user_by_username(session, username)
        if user is None:
            user = User(
                username=username,
                email=f"{username}@localhost.localdomain",
                display_name=username.replace(".", " ").title(),
                role=role,
            )
            session.add(user)
            await session.flush()
            record_event(session, None, "user.bootstrap", "user", user.id, after={"username": username, "role": role})
        if not user.is_active:
            raise NotFoundError(f"user {username!r} is deactivated; pick another SUPPORT_ACTOR")
        return actor_of(user)


async def user_upsert(desk: Desk, actor: Actor, data: UserUpsert) -> UserPublic:
    """Create or update a user (admins only)."""
    permissions.require(actor, "people.write", "managing users")
    async with desk.sessions.begin() as session:
        user = await get_user_by_username(session, data.username)
        clash = (
            await session.execute(select(User.username).where(User.email == data.email, User.username != data.username))
        ).scalar_one_or_none()
        if clash is not None:
            raise ConflictError(f"email {data.email!r} already belongs to user {clash!r}; use another address")
        if user is None:
            user = User(**data.model_dump())
            session.add(user)
            await session.flush()
            record_event(session, actor, "user.create", "user", user.id, after=data.model_dump())
        else:
            before = UserPublic.model_validate(user).model_dump(include=set(data.model_fields))
            if user.id == actor.user_id and data.role != "admin":
                raise ConflictError("you cannot remove your own admin role; ask another admin to do it")
            for key, value in data.model_dump().items():
                setattr(user, key, value)
            await session.flush()
            record_event(session, actor, "user.update", "user", user.id, before=before, after=data.model_dump())
            if before["role"] != data.role:
                after = {"role": data.role}
                record_event(
                    session, actor, "user.role_change", "user", user.id, before={"role": before["role"]}, after=after
                )
        public = UserPublic.model_validate(user)
        public.teams = (await team_names_by_user(session, [user.id])).get(user.id, [])
    # Tokens and sign-ins of this user may now stand for another role, or for nobody.
    await desk.credentials.changed()
    return public


async def user_list(
    desk: Desk,
    actor: Actor,
    *,
    role: Role | None = None,
    query: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[UserPublic]:
    """List users (staff only: end users may not browse the directory)."""
    permissions.require(actor, "people.read", "listing users")
    window = PageRequest.of(limit, cursor)
    stmt = select(User)
    if role:
        stmt = stmt.where(User.role == role)
    if query:
        like = f"%{query.lower()}%"
        stmt = stmt.where(
            or_(
                func.lower(User.username).like(like),
                func.lower(User.display_name).like(like),
                func.lower(User.email).like(like),
            )
        )
    async with desk.sessions() as session:
        total = (await session.execute(select(func.count()).select_from(stmt.subquery()))).scalar_one()
        rows = (
            (await session.execute(stmt.order_by(User.username).offset(window.offset).limit(window.size)))
            .scalars()
            .all()
        )
        teams = await team_names_by_user(session, [u.id for u in rows])
    items = [UserPublic.model_validate(u).model_copy(update={"teams": teams.get(u.id, [])}) for u in rows]
    return window.page(Page[UserPublic], items, total)


async def category_list(desk: Desk, actor: Actor) -> list[CategoryPublic]:
    """All ticket categories, by name."""
    async with desk.sessions() as session:
        rows = (await session.execute(select(Category).order_by(Category.name))).scalars().all()
    return [CategoryPublic.model_validate(c) for c in rows]


async def category_upsert(desk: Desk, actor: Actor, *, name: str, description: str = "") -> CategoryPublic:
    """Create or update a ticket category (admins only)."""
    permissions.require(actor, "people.write", "managing categories")
    async with desk.sessions.begin() as session:
        cat = (await session.execute(select(Category).where(Category.name == name))).scalar_one_or_none()
        if cat is None:
            cat = Category(name=name, description=description)
            session.add(cat)
        else:
            cat.description = description
        await session.flush()
        record_event(session, actor, "category.upsert", "category", cat.id, after={"name": name})
        return CategoryPublic.model_validate(cat)


_NOT_USERNAME = re.compile(r"[^a-z0-9._-]+")


async def user_for_identity(
    desk: Desk,
    *,
    match: Literal["email", "preferred_username"],
    value: str,
    email: str | None,
    display_name: str | None,
    role: Role | None,
    address: str | None = None,
) -> Actor:
    """The desk user an external identity (an OAuth access token's claims) stands for, provisioned on first use.

    ``match`` says which claim identifies the user (``value``); ``role``, when the identity provider states
    one, is applied (a change is audited); new users without one are end users. Deactivated users are
    refused.
    """
    value = value.strip()
    if not value:
        raise ForbiddenError(f"the access token has an empty {match!r} claim; the desk cannot tell who you are")
    column = func.lower(User.email) if match == "email" else User.username
    # The common case (a known user, role unchanged) is a cache hit, or one read and no write transaction.
    key = f"user:{match}:{value.lower()}"
    cached, generation = await desk.credentials.lookup(key)
    if isinstance(cached, Actor) and (role is None or role == cached.role):
        return cached
    async with desk.sessions() as session:
        known = (await session.execute(select(User).where(column == value.lower()))).scalar_one_or_none()
    if known is not None and known.is_active and (role is None or role == known.role):
        desk.credentials.store(key, actor_of(known), generation)
        return actor_of(known)
    role_changed = False
    async with desk.sessions.begin() as session:
        user = (await session.execute(select(User).where(column == value.lower()))).scalar_one_or_none()
        if user is None:
            username = await _free_username(session, value.split("@", 1)[0] if match == "email" else value)
            address_ = email or (value if match == "email" else f"{username}@users.invalid")
            clash = (await session.execute(select(User.id).where(func.lower(User.email) == address_.lower()))).first()
            if clash is not None:
                address_ = f"{username}@users.invalid"
            user = User(
                username=username,
                email=address_,
                display_name=(display_name or username)[:200],
                role=role or "end_user",
            )
            session.add(user)
            await session.flush()
            record_event(
                session,
                None,
                "user.provision",
                "user",
                user.id,
                after={"username": username, "role": user.role, "matched_by": match, "value": value},
                address=address,
            )
        elif not user.is_active:
            raise ForbiddenError(f"user {user.username!r} is deactivated; ask an admin to restore the account")
        elif role is not None and role != user.role:
            before = {"role": user.role}
            user.role = role
            await session.flush()
            record_event(
                session, None, "user.role_change", "user", user.id, before=before, after={"role": role}, address=address
            )
            role_changed = True
        actor = actor_of(user)
    if role_changed:
        await desk.credentials.changed()
    return actor


async def _free_username(session: AsyncSession, wanted: str) -> str:
    base = _NOT_USERNAME.sub("-", wanted.lower()).strip("-._")[:56] or "user"
    if len(base) < 2:
        base = f"{base}-user"
    candidate, n = base, 1
    while (await session.execute(select(User.id).where(User.username == candidate))).first() is not None:
        n += 1
        candidate = f"{base}-{n}"
    return candidate
