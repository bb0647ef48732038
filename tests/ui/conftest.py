"""Fixtures for the UI tests: the UI signed in as an admin on the test desk, a fast embedder, the offline agent."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from sqlalchemy import text

from agent.holder import AgentHolder
from agent.memory import CHECKPOINT_TABLES
from server.app import agent_factory
from tests.knowledge.conftest import FakeEmbedder, attach, drop_all
from tools.actor import Actor
from tools.desk import Desk, DeskRef
from ui.context import SignedIn, UIContext


@pytest_asyncio.fixture(loop_scope="session")
async def ui(desk: Desk, admin: Actor) -> AsyncIterator[SignedIn]:
    """The UI as a signed-in admin; knowledge, agent and checkpoints undone afterwards."""
    previous = desk.knowledge
    knowledge = await attach(desk, FakeEmbedder())
    # The offline policy whatever the environment says: no test reaches a real LLM.
    settings = desk.settings.model_copy(update={"llm": "offline", "actor": "admin", "actor_role": "admin"})
    agent = AgentHolder(agent_factory(settings, desk))
    ctx = UIContext(settings=settings, ref=DeskRef(desk), agent_holder=agent)
    try:
        yield ctx.as_actor(admin)
    finally:
        await agent.aclose()
        await drop_all(knowledge.vectors)
        desk.knowledge = previous
        # The checkpointer's tables are not the desk's schema (tests/test_store.py compares the two).
        async with desk.engine.begin() as conn:
            for table in CHECKPOINT_TABLES[desk.dialect]:
                await conn.execute(text(f"DROP TABLE IF EXISTS {table}"))
