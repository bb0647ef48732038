"""MCP tools for users and categories."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from server.context import CurrentActor, CurrentDesk
from server.surface import Registrar
from tools import users
from tools.actor import Role
from tools.pagination import Page


class CategoryList(BaseModel):
    items: list[users.CategoryPublic]


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
