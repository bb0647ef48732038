"""MCP tools for users and categories."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.types import ToolAnnotations
from pydantic import BaseModel, Field

from server.context import resolve, tool_errors
from tools import users
from tools.actor import Role
from tools.common import Page


class CategoryList(BaseModel):
    items: list[users.CategoryPublic]


def register(mcp: MCPServer[Any]) -> None:
    # Destructive: it overwrites a user's role and contact details (old values survive only in the audit log).
    @mcp.tool(annotations=ToolAnnotations(readOnlyHint=False, destructiveHint=True, idempotentHint=True))
    @tool_errors
    async def user_upsert(
        username: Annotated[str, Field(description="Login name: lower-case letters, digits, '.', '_' or '-'.")],
        email: Annotated[str, Field(description="Unique e-mail address.")],
        display_name: Annotated[str, Field(description="Name shown to people.", max_length=200)],
        ctx: Context,
        role: Annotated[Role, Field(description="end_user, technician, manager or admin.")] = "end_user",
        is_active: Annotated[bool, Field(description="False deactivates the user.")] = True,
    ) -> users.UserPublic:
        """Create a user, or update the user with this username (admins only)."""
        desk, actor = await resolve(ctx)
        data = users.UserUpsert(
            username=username, email=email, display_name=display_name, role=role, is_active=is_active
        )
        return await users.user_upsert(desk, actor, data)

    @mcp.tool(annotations=ToolAnnotations(readOnlyHint=True))
    @tool_errors
    async def user_list(
        ctx: Context,
        role: Annotated[Role | None, Field(description="Only users with this role.")] = None,
        query: Annotated[str | None, Field(description="Text to find in username, name or e-mail.")] = None,
        limit: Annotated[int, Field(description="Page size, 1-100.", ge=1, le=100)] = 20,
        cursor: Annotated[str | None, Field(description="next_cursor from the previous page.")] = None,
    ) -> Page[users.UserPublic]:
        """List users, filtered by role or text, a page at a time (staff only)."""
        desk, actor = await resolve(ctx)
        return await users.user_list(desk, actor, role=role, query=query, limit=limit, cursor=cursor)

    @mcp.tool(annotations=ToolAnnotations(readOnlyHint=True))
    @tool_errors
    async def category_list(ctx: Context) -> CategoryList:
        """List the ticket categories."""
        desk, actor = await resolve(ctx)
        return CategoryList(items=await users.category_list(desk, actor))
