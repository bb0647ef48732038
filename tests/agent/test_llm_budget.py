"""The LLM path's prompt fits a small local context: the support tools' schemas and a first turn, measured on
the real desk's tool list (all of it, admin tools included) as the scripted endpoint receives them."""

from __future__ import annotations

import json

import pytest
from pydantic import SecretStr

from agent import llm_turn
from tests.agent.conftest import ScriptedOpenAI, desk_agent
from tests.agent.scenarios import ARTICLES, USER, seed_desk
from tools.desk import Desk

pytestmark = pytest.mark.usefixtures("drop_checkpoints")

TOOL_BUDGET = 1500
FIRST_TURN_BUDGET = 3000


async def test_first_turn_fits_a_small_context(
    desk: Desk,
    openai_server: tuple[ScriptedOpenAI, str],
) -> None:
    server, url = openai_server
    server.script = [{"content": "Reset it at https://vpn.example.com/reset [1]."}]
    await seed_desk(desk)
    settings = desk.settings.model_copy(
        update={
            "openai_base_url": url,
            "openai_api_key": SecretStr("dummy-key"),
            "openai_model": "scripted",
            "llm": "openai",
        }
    )
    async with desk_agent(desk, settings, model="auto", embedder=None) as agent:
        everything = await agent.toolbox(USER)
        reply = await agent.ask("How do I reset my VPN password? It says my password is wrong.", actor=USER)
    body = server.requests[0]
    names = {t["function"]["name"] for t in body["tools"]}
    assert names <= set(llm_turn.SUPPORT_TOOLS) and "knowledge_search" in names and "ticket_create" in names
    assert len(everything.specs) > len(names)  # the desk offers more; only the support tools are bound
    tools_tokens = llm_turn.estimate_tokens(len(json.dumps(body["tools"])))
    first_turn = llm_turn.estimate_tokens(len(json.dumps(body["messages"])) + len(json.dumps(body["tools"])))
    assert tools_tokens < TOOL_BUDGET, tools_tokens
    assert first_turn < FIRST_TURN_BUDGET, first_turn
    assert reply.citations and reply.citations[0].title in ARTICLES
    assert reply.prompt_tokens is not None and abs(reply.prompt_tokens - first_turn) < first_turn * 0.25
