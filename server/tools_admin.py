"""MCP tools for admins: API tokens and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field

from server.context import CurrentActor, CurrentDesk
from server.surface import Registrar
from tools import audit, tokens
from tools.pagination import Page

LimitArg = Annotated[int, Field(description="Page size, 1-100.", ge=1, le=100)]
CursorArg = Annotated[str | None, Field(description="next_cursor from the previous page.")]


def register(reg: Registrar) -> None:
    @reg.tool(toolset="admin", capability="tokens.manage", kind="write", title="Issue an API token")
    async def token_create(
        username: Annotated[str, Field(description="Whose token it is: the calls made with it act as this user.")],
        desk: CurrentDesk,
        actor: CurrentActor,
        name: Annotated[str, Field(description="A label, e.g. the client it is for.", max_length=100)] = "api",
        expires_in: Annotated[str | None, Field(description="Lifetime like 30d, 12h or 2w; omit: never.")] = None,
        scopes: Annotated[
            list[tokens.Scope] | None, Field(description="desk:read, desk:write, desk:admin; omit for all.")
        ] = None,
    ) -> tokens.TokenCreated:
        """Issue a desk API token for a user; the token is shown only in this reply (admins only)."""
        return await tokens.token_create(
            desk,
            actor,
            username=username,
            name=name,
            expires_in=expires_in,
            scopes=list(scopes) if scopes is not None else None,
        )

    @reg.tool(toolset="admin", capability="tokens.manage", kind="read", title="List API tokens")
    async def token_list(
        desk: CurrentDesk,
        actor: CurrentActor,
        username: Annotated[str | None, Field(description="Only this user's tokens.")] = None,
        include_inactive: Annotated[bool, Field(description="Also revoked and expired tokens.")] = False,
        limit: LimitArg = 20,
        cursor: CursorArg = None,
    ) -> Page[tokens.TokenPublic]:
        """List desk API tokens with expiry and last use, never the tokens themselves (admins only)."""
        return await tokens.token_list(
            desk, actor, username=username, include_inactive=include_inactive, limit=limit, cursor=cursor
        )

    @reg.tool(
        toolset="admin",
        capability="tokens.manage",
        kind="write",
        title="Revoke an API token",
        destructive=True,
        idempotent=True,
    )
    async def token_revoke(
        token_id: Annotated[int, Field(description="The token's id (see token_list).", ge=1)],
        desk: CurrentDesk,
        actor: CurrentActor,
    ) -> tokens.TokenPublic:
        """Revoke a desk API token; its next request is refused (admins only)."""
        return await tokens.token_revoke(desk, actor, token_id)

    @reg.tool(toolset="admin", capability="audit.read", kind="read", title="Read the audit log")
    async def audit_list(
        desk: CurrentDesk,
        actor: CurrentActor,
        by: Annotated[str | None, Field(description="Only events by this username.")] = None,
        action: Annotated[
            str | None, Field(description="An action (ticket.update) or a family (ticket, token, auth).")
        ] = None,
        target_type: Annotated[str | None, Field(description="ticket, kb_article, user, api_token, ...")] = None,
        target_id: Annotated[str | None, Field(description="The target's id (with target_type).")] = None,
        since: Annotated[datetime | None, Field(description="Only events at or after this ISO time.")] = None,
        until: Annotated[datetime | None, Field(description="Only events at or before this ISO time.")] = None,
        limit: LimitArg = 20,
        cursor: CursorArg = None,
    ) -> Page[audit.AuditEventPublic]:
        """List audit events, newest first, filtered by who, action, target and time (admins only)."""
        return await audit.audit_list(
            desk,
            actor,
            by=by,
            action=action,
            target_type=target_type,
            target_id=target_id,
            since=since,
            until=until,
            limit=limit,
            cursor=cursor,
        )
