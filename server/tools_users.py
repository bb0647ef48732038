"""MCP tools for users, teams and categories."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from server.context import CurrentActor, CurrentDesk
from server.surface import Registrar
from tools import teams, users
from tools.actor import Role
from tools.pagination import Page


class CategoryList(BaseModel):
    items: list[users.CategoryPublic]


TeamArg = Annotated[str, Field(description="The team's name (any case) or id; see team_list.", max_length=100)]
UsernameArg = Annotated[str, Field(description="The member's username (a technician, manager or admin).")]
TeamNameArg = Annotated[str, Field(description="The team's name, 1-100 characters, unique.", max_length=100)]


def register(reg: Registrar) -> None:

    # Destructive: it overwrites a user's role and contact details (old values survive only in the audit log).
    @reg.tool(
        toolset="people",
        capability="people.write",
        kind="write",
        title="Create or update a user",
        destructive=True,
        idempotent=True,
    )
    async def user_upsert(
        username: Annotated[str, Field(description="Login name: lower-case letters, digits, '.', '_' or '-'.")],
        email: Annotated[str, Field(description="Unique e-mail address.")],
        display_name: Annotated[str, Field(description="Name shown to people.", max_length=200)],
        desk: CurrentDesk,
        actor: CurrentActor,
        role: Annotated[Role, Field(description="end_user, technician, manager or admin.")] = "end_user",
        is_active: Annotated[bool, Field(description="False deactivates the user.")] = True,
    ) -> users.UserPublic:
        """Create a user, or update the user with this username (admins only)."""
        data = users.UserUpsert(
            username=username, email=email, display_name=display_name, role=role, is_active=is_active
        )
        return await users.user_upsert(desk, actor, data)

    @reg.tool(toolset="people", capability="people.read", kind="read", title="List users")
    async def user_list(
        desk: CurrentDesk,
        actor: CurrentActor,
        role: Annotated[Role | None, Field(description="Only users with this role.")] = None,
        query: Annotated[str | None, Field(description="Text to find in username, name or e-mail.")] = None,
        limit: Annotated[int, Field(description="Page size, 1-100.", ge=1, le=100)] = 20,
        cursor: Annotated[str | None, Field(description="next_cursor from the previous page.")] = None,
    ) -> Page[users.UserPublic]:
        """List users, filtered by role or text, a page at a time (staff only)."""
        return await users.user_list(desk, actor, role=role, query=query, limit=limit, cursor=cursor)

    @reg.tool(toolset="tickets", capability="tickets.read", kind="read", title="List ticket categories")
    async def category_list(desk: CurrentDesk, actor: CurrentActor) -> CategoryList:
        """List the ticket categories."""
        return CategoryList(items=await users.category_list(desk, actor))

    @reg.tool(toolset="people", capability="people.write", kind="write", title="Create a team")
    async def team_create(name: TeamNameArg, desk: CurrentDesk, actor: CurrentActor) -> teams.TeamPublic:
        """Create a team of staff with no members yet (admins only)."""
        return await teams.team_create(desk, actor, name=name)

    @reg.tool(toolset="people", capability="people.write", kind="write", title="Rename a team", idempotent=True)
    async def team_rename(team: TeamArg, name: TeamNameArg, desk: CurrentDesk, actor: CurrentActor) -> teams.TeamPublic:
        """Rename a team; its members and numbers stay (admins only)."""
        return await teams.team_rename(desk, actor, team, name=name)

    # Destructive: the members' tickets leave the team's numbers (they count for the members' other teams or
    # "(no team)"); the team survives only in the audit log.
    @reg.tool(toolset="people", capability="people.write", kind="write", title="Delete a team", destructive=True)
    async def team_delete(team: TeamArg, desk: CurrentDesk, actor: CurrentActor) -> teams.TeamPublic:
        """Delete a team and its memberships; tickets stay with their assignees (admins only)."""
        return await teams.team_delete(desk, actor, team)

    @reg.tool(toolset="people", capability="people.read", kind="read", title="List teams")
    async def team_list(
        desk: CurrentDesk,
        actor: CurrentActor,
        member: Annotated[str | None, Field(description="Only the teams this username belongs to.")] = None,
        limit: Annotated[int, Field(description="Page size, 1-100.", ge=1, le=100)] = 20,
        cursor: Annotated[str | None, Field(description="next_cursor from the previous page.")] = None,
    ) -> Page[teams.TeamPublic]:
        """List teams by name with their members, a page at a time (staff only)."""
        return await teams.team_list(desk, actor, member=member, limit=limit, cursor=cursor)

    @reg.tool(toolset="people", capability="people.write", kind="write", title="Add a team member", idempotent=True)
    async def team_member_add(
        team: TeamArg, username: UsernameArg, desk: CurrentDesk, actor: CurrentActor
    ) -> teams.TeamPublic:
        """Add a technician, manager or admin to a team (admins only)."""
        return await teams.team_member_add(desk, actor, team, username)

    # Destructive: the member's tickets leave the team's numbers (the membership survives only in the audit log).
    @reg.tool(
        toolset="people",
        capability="people.write",
        kind="write",
        title="Remove a team member",
        destructive=True,
        idempotent=True,
    )
    async def team_member_remove(
        team: TeamArg, username: UsernameArg, desk: CurrentDesk, actor: CurrentActor
    ) -> teams.TeamPublic:
        """Remove a member from a team (admins only)."""
        return await teams.team_member_remove(desk, actor, team, username)
