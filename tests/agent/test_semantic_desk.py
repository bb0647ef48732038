"""The embedding layer end to end: the real desk's hybrid search through MCP, and the agent's own
all-MiniLM-L6-v2 (the default embedder), on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from tests.agent.conftest import desk_agent
from tests.agent.test_agent_desk import seed_kb
from tests.conftest import MakeUser
from tools.actor import Actor
from tools.desk import Desk

pytestmark = pytest.mark.usefixtures("drop_checkpoints")

DISK = (
    "Free up disk space",
    "Run Disk Cleanup, empty the Downloads folder and move large files to OneDrive to free up disk space.",
)
SHARE = (
    "Request access to a shared drive",
    "Shared drive access is requested by the folder owner approving a request in the access portal.",
)


async def test_paraphrase_answered_with_the_right_citation(desk: Desk, admin: Actor, make_user: MakeUser) -> None:
    await seed_kb(desk, DISK, SHARE)
    await make_user("alice")
    async with desk_agent(desk) as agent:
        reply = await agent.ask("my C: drive has no room left", actor="alice")
        again = await agent.ask("my C: drive has no room left", actor="alice")
        unrelated = await agent.ask("the badge reader at door 4 blinks red", actor="alice")
    assert reply.citations and reply.citations[0].title == "Free up disk space"
    assert "Disk Cleanup" in reply.reply
    assert reply.confidence is not None and reply.confidence >= 0.5
    assert (again.reply, again.confidence) == (reply.reply, reply.confidence)
    assert unrelated.citations == [] and "tell me a bit more" in unrelated.reply
