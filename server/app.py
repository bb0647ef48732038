"""Build the one MCPServer behind stdio and HTTP: lifespan, tools, resources and prompts."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any

from mcp.server import MCPServer

from server import (
    prompts,
    tools_admin,
    tools_analytics,
    tools_kb,
    tools_knowledge,
    tools_support,
    tools_tickets,
    tools_users,
    tools_voice,
)
from server.context import AppState
from store.config import Settings
from tools.desk import Desk, open_desk
from tools.users import ensure_actor

logger = logging.getLogger(__name__)

INSTRUCTIONS = (
    "An IT support desk. Search knowledge before creating tickets (knowledge_search, ticket_suggest); "
    "tickets are addressed by number (TCK-000042) or id; updates need the version you last read, and a "
    "conflict means: read the ticket again and reapply your change."
)

Lifespan = Callable[[MCPServer[AppState]], AbstractAsyncContextManager[AppState]]


@dataclass
class DeskRef:
    """A desk opened by someone else (the HTTP app's lifespan, a test), handed over before first use."""

    desk: Desk | None = None


def desk_lifespan(settings: Settings, *, desk: Desk | DeskRef | None = None) -> Lifespan:
    """Open the desk once per process, or reuse one the caller opened (the HTTP app, a test)."""

    @asynccontextmanager
    async def lifespan(_: MCPServer[AppState]) -> AsyncIterator[AppState]:
        shared = desk.desk if isinstance(desk, DeskRef) else desk
        if shared is not None:
            yield AppState(desk=shared, default_actor=await ensure_actor(shared, settings.actor, settings.actor_role))
            return
        async with open_desk(settings) as opened:
            actor = await ensure_actor(opened, settings.actor, settings.actor_role)
            yield AppState(desk=opened, default_actor=actor)

    return lifespan


def build_server(settings: Settings, *, desk: Desk | DeskRef | None = None, **kwargs: Any) -> MCPServer[AppState]:
    """The desk's MCP server. Pass ``desk`` to share an already-open desk (one per process)."""
    mcp: MCPServer[AppState] = MCPServer(
        "support-agent",
        title="Support desk",
        instructions=INSTRUCTIONS,
        version="0.1.0",
        lifespan=desk_lifespan(settings, desk=desk),
        **kwargs,
    )
    modules = (
        tools_tickets,
        tools_kb,
        tools_users,
        tools_knowledge,
        tools_support,
        tools_admin,
        tools_analytics,
        tools_voice,
    )
    for module in (*modules, prompts):
        module.register(mcp)
    return mcp
