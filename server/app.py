"""Build the one MCPServer behind stdio and HTTP: the composition root.

The lifespan opens the desk (or takes the one the HTTP app opened), the rate limiter and the process's one
support agent, and yields them as the typed :class:`server.context.AppState` every handler reaches
through ``Resolve``. Tools are declared per module with :class:`server.surface.Registrar`, and
:class:`server.gate.DeskGate` applies the caller's rights to every request.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING, Any

from mcp import Client
from mcp.server import MCPServer

from agent.holder import AgentHolder
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
    tools_whoami,
)
from server.context import Agent, AppState
from server.gate import DeskGate
from server.ratelimit import RateLimits
from server.surface import TOOLSETS, Registrar
from store.config import Settings
from tools.desk import Desk, DeskRef, open_desk
from tools.indexing import index_worker
from tools.ingest_runner import ingest_worker
from tools.metrics_queue import metrics_worker
from tools.users import ensure_actor

if TYPE_CHECKING:
    from agent.runner import SupportAgent

logger = logging.getLogger(__name__)

INSTRUCTIONS = (
    "An IT support desk. Search knowledge before creating tickets (knowledge_search, ticket_suggest); "
    "tickets are addressed by number (TCK-000042) or id; updates need the version you last read, and a "
    "conflict means: read the ticket again and reapply your change. whoami says who you act as."
)

TOOL_MODULES = (
    tools_whoami,
    tools_tickets,
    tools_kb,
    tools_users,
    tools_knowledge,
    tools_support,
    tools_admin,
    tools_analytics,
    tools_voice,
)
"""Each has ``register(reg: Registrar)``; a new capability adds its module here."""

Lifespan = Callable[[MCPServer[AppState]], AbstractAsyncContextManager[AppState]]


def in_memory_client_factory(settings: Settings, desk: Desk) -> Callable[[str | None, str | None], Client]:
    """MCP clients for the agent: an in-memory server on ``desk`` acting as the given user (never over HTTP)."""

    def make(actor: str | None, token: str | None) -> Client:
        del token  # in memory there is no credential: the server acts as ``actor``
        # The agent's own desk client never offers support_ask back to the agent.
        published = [t for t in (settings.toolsets or TOOLSETS) if t != "agent"]
        local = settings.model_copy(update={"agent_mcp_url": None, "toolsets": published})
        if actor and actor != settings.actor:
            # Unknown callers must never be created with the configured (admin) role.
            local = local.model_copy(update={"actor": actor, "actor_role": "end_user"})
        return Client(build_server(local, desk=desk, with_agent=False))

    return make


def agent_factory(settings: Settings, desk: Desk) -> Callable[[], Awaitable[SupportAgent]]:
    """What makes the process's support agent: the offline or configured model, talking in memory to ``desk``."""

    async def make() -> SupportAgent:
        from agent.runner import SupportAgent  # LangGraph loads on the first support_ask, not at start-up

        local = settings.model_copy(update={"agent_mcp_url": None})
        agent = SupportAgent(local, desk=desk, client_factory=in_memory_client_factory(local, desk))
        await agent.start()
        return agent

    return make


def desk_lifespan(
    settings: Settings,
    *,
    desk: Desk | DeskRef | None = None,
    with_agent: bool = True,
    agent: AgentHolder[Agent] | None = None,
) -> Lifespan:
    """Open the desk once per process, or reuse one the caller opened (the HTTP app, a test).

    ``agent`` is a holder the caller owns and shares (the HTTP app hands the same one to the web UI);
    without one, the lifespan makes its own and closes it on the way out."""

    @asynccontextmanager
    async def lifespan(_: MCPServer[AppState]) -> AsyncIterator[AppState]:
        shared = desk.desk if isinstance(desk, DeskRef) else desk
        async with _maybe_open(settings, shared) as opened:
            actor = await ensure_actor(opened, settings.actor, settings.actor_role)
            state = AppState(
                desk=opened,
                default_actor=actor,
                limits=_limits(opened, settings),
                agent=agent or AgentHolder(agent_factory(settings, opened) if with_agent else _no_agent),
            )
            try:
                yield state
            finally:
                if agent is None:
                    await state.agent.aclose()

    return lifespan


def _limits(desk: Desk, settings: Settings) -> RateLimits:
    """One limiter per desk, so every MCP session (and the in-memory ones) count against the same limits."""
    limits = desk.extras.get("rate_limits")
    if not isinstance(limits, RateLimits):
        limits = desk.extras["rate_limits"] = RateLimits(settings)
    return limits


async def _no_agent() -> Agent:
    raise RuntimeError("this server was built without the support agent (it is the agent's own desk client)")


@asynccontextmanager
async def _maybe_open(settings: Settings, shared: Desk | None) -> AsyncIterator[Desk]:
    if shared is not None:
        yield shared
        return
    async with open_desk(settings) as opened, index_worker(opened), ingest_worker(opened), metrics_worker(opened):
        yield opened


def build_server(
    settings: Settings,
    *,
    desk: Desk | DeskRef | None = None,
    with_agent: bool = True,
    agent: AgentHolder[Agent] | None = None,
    **kwargs: Any,
) -> MCPServer[AppState]:
    """The desk's MCP server. Pass ``desk`` to share an already-open desk (one per process), and ``agent`` to
    share the process's support agent (see :func:`desk_lifespan`)."""
    mcp: MCPServer[AppState] = MCPServer(
        "support-agent",
        title="Support desk",
        instructions=INSTRUCTIONS,
        version="0.1.0",
        lifespan=desk_lifespan(settings, desk=desk, with_agent=with_agent, agent=agent),
        **kwargs,
    )
    reg = Registrar(mcp, settings)
    for module in TOOL_MODULES:
        module.register(reg)
    prompts.register(mcp)
    mcp.middleware.append(DeskGate(reg))
    return mcp
