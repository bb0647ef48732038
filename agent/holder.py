"""The process's one support agent, made on first use and shared by everyone who holds the holder.

LangGraph loads on the first turn, not when a server starts (stdio start-up stays fast). The composition
root (``server/``) makes one holder per process and hands it to the MCP tools and to the web UI alike, so a
conversation has one agent, one checkpointer and one lock per conversation whichever edge it comes from.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, Protocol, TypeVar


class Closable(Protocol):
    async def aclose(self) -> None: ...


A = TypeVar("A", bound=Closable, covariant=True)


class AgentHolder(Generic[A]):
    """Make the agent with ``factory`` on the first :meth:`get`; :meth:`aclose` is for the holder's owner."""

    def __init__(self, factory: Callable[[], Awaitable[A]]) -> None:
        self._factory = factory
        self._agent: A | None = None
        self._lock = asyncio.Lock()

    async def get(self) -> A:
        if self._agent is None:
            async with self._lock:
                if self._agent is None:
                    self._agent = await self._factory()
        return self._agent

    async def aclose(self) -> None:
        agent, self._agent = self._agent, None
        if agent is not None:
            await agent.aclose()
