"""What every UI handler reaches the desk through: the shared open desk, the signed-in person, the agent.

The HTTP app's lifespan opens the one desk of the process and puts it in ``ref``; the UI never opens its
own. Every handler resolves the person from the request's session cookie through ``tools/`` on each call
(:meth:`UIContext.signed_in`), so a sign-out, a deactivation or a role change applies to the next click.
The support agent is made on first use (after the desk is open) and kept.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from store.config import Settings
from tools.actor import Actor
from tools.desk import Desk, DeskRef
from tools.errors import ForbiddenError, UnavailableError
from tools.web_sessions import session_actor

if TYPE_CHECKING:
    from agent.runner import SupportAgent

logger = logging.getLogger(__name__)

ClientFactoryBuilder = Callable[[Settings, Desk], Callable[[str | None, str | None], Any]]
"""Given the settings and the open desk, what makes the agent's MCP client for (actor, token)."""

SESSION_COOKIE = "sa_session"
"""The browser session cookie: a random token whose hash names a ``web_sessions`` row."""

SIGNED_OUT = "your session has ended (signed out, expired or deactivated); reload the page and sign in again"


def session_token(request: Any) -> str | None:
    """The session token a request (Starlette's or Gradio's) carries, if any."""
    cookies = getattr(request, "cookies", None) or {}
    token = cookies.get(SESSION_COOKIE)
    return str(token) if token else None


@dataclass
class UIContext:
    """The desk and the agent the UI works with; who acts is the signed-in person of each request."""

    settings: Settings
    ref: DeskRef
    client_factory: ClientFactoryBuilder | None = None
    """From the composition root (server/): the agent's in-memory MCP clients acting as each person."""
    _agent: SupportAgent | None = None
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def desk(self) -> Desk:
        """The open desk; before start-up finishes (or after shutdown) the person is told to retry."""
        if self.ref.desk is None:
            raise UnavailableError("the desk is not open yet (the server is starting or stopping); try again shortly")
        return self.ref.desk

    async def signed_in(self, request: Any) -> SignedIn:
        """The person signed in on ``request`` (a ``gr.Request``), or a refusal saying to sign in again."""
        actor = await session_actor(self.desk(), session_token(request))
        if actor is None:
            raise ForbiddenError(SIGNED_OUT)
        return SignedIn(self, actor)

    def as_actor(self, actor: Actor) -> SignedIn:
        """The UI as ``actor`` without a request (tests, and the sign-in page's own checks)."""
        return SignedIn(self, actor)

    async def agent(self) -> SupportAgent:
        """One support agent per process, talking in memory to this same desk (never over HTTP to itself)."""
        if self._agent is None:
            desk = self.desk()
            async with self._lock:
                if self._agent is None:
                    # LangGraph loads on the first chat turn, not when the server starts.
                    from agent.runner import SupportAgent

                    settings = self.settings.model_copy(update={"agent_mcp_url": None})
                    clients = self.client_factory(settings, desk) if self.client_factory is not None else None
                    agent = SupportAgent(settings, desk=desk, client_factory=clients)
                    await agent.start()
                    self._agent = agent
        return self._agent

    async def aclose(self) -> None:
        """Close the agent (its MCP clients and checkpointer) while the desk is still open."""
        agent, self._agent = self._agent, None
        if agent is not None:
            await agent.aclose()


@dataclass(frozen=True)
class SignedIn:
    """The UI for one request: the desk, and the person every ``tools/`` call acts as."""

    ui: UIContext
    person: Actor

    def desk(self) -> Desk:
        return self.ui.desk()

    async def actor(self) -> Actor:
        return self.person

    async def agent(self) -> SupportAgent:
        return await self.ui.agent()
