"""Teams: named groups of staff (Zendesk and Freshdesk call them groups), and who belongs to which.

A technician, manager or admin belongs to zero or more teams; admins create, rename and delete teams and
manage their members (``people.write``), staff list them (``people.read``). A team's analytics are the tickets
assigned to its members (:mod:`tools.analytics_scope` turns a team into that set of assignee ids); no ticket
refers to a team, so deleting one changes no ticket, only whose numbers its members' tickets count in.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import User
from store.models_auth import Team, TeamMember
from tools import permissions
from tools.actor import Actor
from tools.audit import record_event
from tools.desk import Desk
from tools.errors import ConflictError, InvalidInputError, NotFoundError
from tools.pagination import Page, PageRequest
from tools.users import require_user


class TeamPublic(BaseModel):
    id: int
    name: str
    members: list[str]
    """Usernames, sorted."""
    created_at: datetime


async def find_team(session: AsyncSession, ref: str | int) -> Team | None:
    """A team by name (case-insensitive) or id; a name that is all digits is a name first."""
    name = str(ref).strip()
    team = (await session.execute(select(Team).where(func.lower(Team.name) == name.lower()))).scalar_one_or_none()
    if team is None and name.isdigit():
        team = await session.get(Team, int(name))
    return team


async def require_team(session: AsyncSession, ref: str | int) -> Team:
    team = await find_team(session, ref)
    if team is None:
        raise NotFoundError(f"team {ref!r} does not exist; call team_list to see the teams")
    return team


async def teams_of(session: AsyncSession, user_id: int) -> dict[int, str]:
    """The teams ``user_id`` belongs to: id -> name, by name."""
    stmt = (
        select(Team.id, Team.name)
        .join(TeamMember, TeamMember.team_id == Team.id)
        .where(TeamMember.user_id == user_id)
        .order_by(Team.name)
    )
    return {int(i): str(n) for i, n in (await session.execute(stmt)).all()}


async def member_ids(session: AsyncSession, team_ids: Iterable[int]) -> list[int]:
    """The user ids of the members of any of ``team_ids``, each once."""
    ids = list(team_ids)
    if not ids:
        return []
    stmt = select(TeamMember.user_id).where(TeamMember.team_id.in_(ids)).distinct().order_by(TeamMember.user_id)
    return [int(u) for u in (await session.execute(stmt)).scalars()]


async def _public(session: AsyncSession, team: Team) -> TeamPublic:
    return (await _publics(session, [team]))[0]


async def _publics(session: AsyncSession, teams: list[Team]) -> list[TeamPublic]:
    members: dict[int, list[str]] = {t.id: [] for t in teams}
    if teams:
        stmt = (
            select(TeamMember.team_id, User.username)
            .join(User, User.id == TeamMember.user_id)
            .where(TeamMember.team_id.in_(list(members)))
            .order_by(User.username)
        )
        for team_id, username in (await session.execute(stmt)).all():
            members[int(team_id)].append(str(username))
    return [TeamPublic(id=t.id, name=t.name, members=members[t.id], created_at=t.created_at) for t in teams]


async def _check_free(session: AsyncSession, name: str, keep: int | None = None) -> None:
    clash = await find_team(session, name)
    if clash is not None and clash.id != keep and clash.name.lower() == name.lower():
        raise ConflictError(f"team {clash.name!r} already exists; pick another name or use that team")


def _name(value: str) -> str:
    name = value.strip()
    if not 1 <= len(name) <= 100:
        raise InvalidInputError(f"team name {value!r} must be 1-100 characters long")
    return name


async def team_create(desk: Desk, actor: Actor, *, name: str) -> TeamPublic:
    """Create a team with no members (admins only)."""
    permissions.require(actor, "people.write", "managing teams")
    name = _name(name)
    async with desk.sessions.begin() as session:
        await _check_free(session, name)
        team = Team(name=name)
        session.add(team)
        await session.flush()
        record_event(session, actor, "team.create", "team", team.id, after={"name": name})
        return await _public(session, team)


async def team_rename(desk: Desk, actor: Actor, team_ref: str | int, *, name: str) -> TeamPublic:
    """Rename a team; its members and numbers stay (admins only)."""
    permissions.require(actor, "people.write", "managing teams")
    name = _name(name)
    async with desk.sessions.begin() as session:
        team = await require_team(session, team_ref)
        await _check_free(session, name, keep=team.id)
        before = {"name": team.name}
        team.name = name
        await session.flush()
        record_event(session, actor, "team.rename", "team", team.id, before=before, after={"name": name})
        return await _public(session, team)


async def team_list(
    desk: Desk,
    actor: Actor,
    *,
    member: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[TeamPublic]:
    """Teams by name with their members, optionally only those ``member`` (a username) belongs to (staff only)."""
    permissions.require(actor, "people.read", "listing teams")
    window = PageRequest.of(limit, cursor)
    stmt = select(Team)
    async with desk.sessions() as session:
        if member:
            user = await require_user(session, member)
            stmt = stmt.where(Team.id.in_(select(TeamMember.team_id).where(TeamMember.user_id == user.id)))
        total = (await session.execute(select(func.count()).select_from(stmt.subquery()))).scalar_one()
        found = (await session.execute(stmt.order_by(Team.name).offset(window.offset).limit(window.size))).scalars()
        items = await _publics(session, list(found))
    return window.page(Page[TeamPublic], items, total)


async def team_names(desk: Desk, user_id: int) -> list[str]:
    """The names of the teams ``user_id`` belongs to, sorted (``whoami``)."""
    async with desk.sessions() as session:
        return list((await teams_of(session, user_id)).values())


async def team_delete(desk: Desk, actor: Actor, team_ref: str | int) -> TeamPublic:
    """Delete a team and its memberships (admins only); returns the team as it was.

    Its members keep their tickets (a ticket refers to its assignee, never to a team): in analytics those
    tickets count for the members' other teams, or for ``(no team)`` when they are in none. The audit log
    keeps the name and the members.
    """
    permissions.require(actor, "people.write", "managing teams")
    async with desk.sessions.begin() as session:
        team = await require_team(session, team_ref)
        public = await _public(session, team)
        await session.execute(delete(TeamMember).where(TeamMember.team_id == team.id))
        await session.delete(team)
        await session.flush()
        before = {"name": public.name, "members": public.members}
        record_event(session, actor, "team.delete", "team", public.id, before=before)
        return public


async def _team_and_user(session: AsyncSession, team_ref: str | int, username: str) -> tuple[Team, User]:
    return await require_team(session, team_ref), await require_user(session, username)


async def team_member_add(desk: Desk, actor: Actor, team_ref: str | int, username: str) -> TeamPublic:
    """Add a technician, manager or admin to a team; adding a member again changes nothing (admins only)."""
    permissions.require(actor, "people.write", "managing teams")
    async with desk.sessions.begin() as session:
        team, user = await _team_and_user(session, team_ref, username)
        if not permissions.is_team_member_role(user.role):  # type: ignore[arg-type]
            raise InvalidInputError(
                f"{username!r} is an end user; teams are for staff (technician, manager, admin): "
                "change their role first (user_upsert) if they work tickets"
            )
        if await session.get(TeamMember, (team.id, user.id)) is None:
            session.add(TeamMember(team_id=team.id, user_id=user.id))
            await session.flush()
            record_event(session, actor, "team.member_add", "team", team.id, after={"member": username})
        return await _public(session, team)


async def team_member_remove(desk: Desk, actor: Actor, team_ref: str | int, username: str) -> TeamPublic:
    """Remove a member from a team; removing a non-member changes nothing (admins only)."""
    permissions.require(actor, "people.write", "managing teams")
    async with desk.sessions.begin() as session:
        team, user = await _team_and_user(session, team_ref, username)
        membership = await session.get(TeamMember, (team.id, user.id))
        if membership is not None:
            await session.delete(membership)
            await session.flush()
            record_event(session, actor, "team.member_remove", "team", team.id, before={"member": username})
        return await _public(session, team)
