"""What every UI handler reaches the desk through: the shared open desk, the signed-in person, the agent.

The HTTP app's lifespan opens the one desk of the process and puts it in ``ref``; the UI never opens its
own. Every handler resolves the person from the request's session cookie through ``tools/`` on each call
(:meth:`UIContext.signed_in`), so a sign-out, a deactivation or a role change applies to the next click.
The support agent is the process's one, made on first use by the holder the composition root hands in.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agent.holder import AgentHolder
from store.config import Settings
from tools.actor import Actor
from tools.desk import Desk, DeskRef
from tools.errors import ForbiddenError, UnavailableError
from tools.web_sessions import session_actor

if TYPE_CHECKING:
    from agent.runner import SupportAgent

logger = logging.getLogger(__name__)

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
    agent_holder: AgentHolder[SupportAgent] | None = None
    """The process's one support agent, from the composition root (``server/``), shared with the MCP tools."""

    def desk(self) -> Desk:
        """The open desk; before start-up finishes (or after shutdown) the person is told to retry."""
        return self.ref.require()

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
        """The support agent, talking in memory to this same desk (never over HTTP to itself)."""
        if self.agent_holder is None:
            raise UnavailableError("the support agent is not available in this UI; try again later")
        return await self.agent_holder.get()


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
