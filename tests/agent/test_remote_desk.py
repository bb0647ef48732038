"""The agent driving a remote desk over streamable HTTP, acting as the owner of a bearer token."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
import uvicorn

from agent.runner import SupportAgent
from server.http import build_http_app
from store.config import Settings
from tests.conftest import MakeUser
from tests.servers import free_port
from tools.actor import Actor
from tools.desk import Desk
from tools.tokens import token_create

pytestmark = pytest.mark.usefixtures("drop_checkpoints")


@pytest_asyncio.fixture(loop_scope="session")
async def desk_url(desk: Desk) -> AsyncIterator[str]:
    settings = desk.settings.model_copy(update={"port": free_port(), "host": "127.0.0.1"})
    app = build_http_app(settings, with_ui=False)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=settings.port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(30):
            while not server.started:
                if task.done():
                    task.result()
                await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{settings.port}/mcp"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 30)


async def test_agent_acts_as_token_owner_over_http(
    desk: Desk, admin: Actor, make_user: MakeUser, desk_url: str
) -> None:
    await make_user("erin")
    token = (await token_create(desk, admin, username="erin", name="agent-test")).token
    settings: Settings = desk.settings.model_copy(update={"agent_mcp_url": desk_url})
    async with SupportAgent(settings, model=None) as agent:
        assert agent.desk is None  # nothing opened locally: the desk is remote
        r1 = await agent.ask("please open a ticket: my webcam is not detected in Teams", token=token)
        r2 = await agent.ask(
            "It stopped after the driver update, the camera light stays off", r1.conversation_id, token=token
        )
        r3 = await agent.ask("it's slow but I have a workaround", r1.conversation_id, token=token)
        r4 = await agent.ask("chat is fine", r1.conversation_id, token=token)
        assert "describe" in r1.reply and "affecting" in r2.reply and "reach you" in r3.reply
        number = r4.actions[0]
        status = await agent.ask(f"status of {number}", token=token)
    assert "medium priority" in status.reply
    from tools.tickets import ticket_get

    detail = await ticket_get(desk, admin, number)
    assert detail.ticket.requester == "erin"
    assert detail.ticket.channel == "chat"
