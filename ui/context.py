"""What every UI handler reaches the desk through: the shared open desk, the configured actor, the agent.

The HTTP app's lifespan opens the one desk of the process and puts it in ``ref``; the UI never opens its
own. The actor and the support agent are made on first use (after the desk is open) and kept.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from server.app import DeskRef, in_memory_client_factory
from store.config import Settings
from tools.actor import Actor
from tools.desk import Desk
from tools.errors import UnavailableError
from tools.users import ensure_actor

if TYPE_CHECKING:
    from agent.runner import SupportAgent

logger = logging.getLogger(__name__)


@dataclass
class UIContext:
    """The desk, the actor and the agent the UI works with, acting as ``settings.actor``."""

    settings: Settings
    ref: DeskRef
    _actor: Actor | None = None
    _agent: SupportAgent | None = None
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def desk(self) -> Desk:
        """The open desk; before start-up finishes (or after shutdown) the person is told to retry."""
        if self.ref.desk is None:
            raise UnavailableError("the desk is not open yet (the server is starting or stopping); try again shortly")
        return self.ref.desk

    async def actor(self) -> Actor:
        """The configured actor, created with the configured role on first use (as the stdio server does)."""
        if self._actor is None:
            async with self._lock:
                if self._actor is None:
                    self._actor = await ensure_actor(self.desk(), self.settings.actor, self.settings.actor_role)
        return self._actor

    async def agent(self) -> SupportAgent:
        """One support agent per process, talking in memory to this same desk (never over HTTP to itself)."""
        if self._agent is None:
            desk = self.desk()
            async with self._lock:
                if self._agent is None:
                    # LangGraph loads on the first chat turn, not when the server starts.
                    from agent.runner import SupportAgent

                    settings = self.settings.model_copy(update={"agent_mcp_url": None})
                    agent = SupportAgent(settings, desk=desk, client_factory=in_memory_client_factory(settings, desk))
                    await agent.start()
                    self._agent = agent
        return self._agent

    async def aclose(self) -> None:
        """Close the agent (its MCP clients and checkpointer) while the desk is still open."""
        agent, self._agent, self._actor = self._agent, None, None
        if agent is not None:
            await agent.aclose()
