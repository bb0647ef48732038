"""Review fixes for the agent: failures of the LLM endpoint or the MCP desk end a turn with a polite reply."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

from aiohttp import web
from langchain_core.messages import AIMessage

from agent.llm_nodes import LLM_EMPTY_REPLY, LLM_FAILED_REPLY, _history
from agent.runner import DESK_UNAVAILABLE_REPLY, SupportAgent
from store.config import Settings
from tests.agent.conftest import MakeAgent, ScriptedChatModel, converse, llm_settings, serve_completions
from tests.agent.fakedesk import FakeDesk


def free_port() -> int:
    """A local port nothing listens on (bound then released), so connecting to it is refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def ask_over_http(tmp_path: Path, url: str, *messages: str) -> list[Any]:
    return await converse(llm_settings(tmp_path, url), FakeDesk(docs=[]), *messages)


async def test_llm_endpoint_down_is_a_polite_reply(tmp_path: Path) -> None:
    (reply,) = await ask_over_http(
        tmp_path, f"http://127.0.0.1:{free_port()}/v1", "my VPN drops every ten minutes since the update"
    )
    assert reply.reply == LLM_FAILED_REPLY
    assert set(reply.tool_calls) <= {"knowledge_search"} and reply.actions == []  # the agent's own search only


async def test_llm_endpoint_errors_and_garbage_are_polite_replies(tmp_path: Path) -> None:
    async def error(request: web.Request) -> web.Response:
        return web.Response(text="boom", status=500)

    async def garbage(request: web.Request) -> web.Response:
        return web.Response(text="<html>not an API</html>", content_type="text/html")

    for handler in (error, garbage):
        (tmp_path / handler.__name__).mkdir()
        async with serve_completions(handler) as url:
            (reply,) = await ask_over_http(
                tmp_path / handler.__name__, url, "my VPN drops every ten minutes since the update"
            )
        assert reply.reply == LLM_FAILED_REPLY


async def test_invalid_tool_call_json_is_not_an_empty_reply_nor_breaks_the_next_turn(tmp_path: Path) -> None:
    requests: list[dict[str, Any]] = []

    async def completions(request: web.Request) -> web.Response:
        body = await request.json()
        requests.append(body)
        if len(requests) == 1:
            bad = {"id": "c1", "type": "function", "function": {"name": "knowledge_search", "arguments": "{not json"}}
            message: dict[str, Any] = {"role": "assistant", "content": None, "tool_calls": [bad]}
        else:
            message = {"role": "assistant", "content": "Second answer."}
        return web.json_response(
            {
                "id": f"chatcmpl-{len(requests)}",
                "object": "chat.completion",
                "created": 1_700_000_000,
                "model": "scripted-model",
                "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            }
        )

    async with serve_completions(completions) as url:
        first, second = await ask_over_http(
            tmp_path, url, "my VPN drops every ten minutes since the update", "it also drops on the office wifi"
        )
    # Nothing usable from the model: the policy's focused question about what the user said, not silence.
    assert "VPN" in first.reply and "?" in first.reply and first.reply != LLM_EMPTY_REPLY
    assert second.reply == "Second answer."
    # An OpenAI endpoint rejects an assistant tool call that has no tool result after it.
    for sent in requests[1]["messages"]:
        assert not sent.get("tool_calls"), json.dumps(sent)


def test_history_drops_unanswerable_invalid_tool_calls() -> None:
    from langchain_core.messages import HumanMessage

    bad = AIMessage(
        content="",
        invalid_tool_calls=[{"name": "x", "args": "{", "id": "c1", "error": "bad", "type": "invalid_tool_call"}],
    )
    cleaned = _history([HumanMessage(content="hi"), bad, HumanMessage(content="again")])
    assert all(not getattr(m, "invalid_tool_calls", None) for m in cleaned)


async def test_empty_model_answer_is_not_an_empty_reply(fake_agent: MakeAgent) -> None:
    agent = await fake_agent(model=ScriptedChatModel(script=[AIMessage(content="")]))
    reply = await agent.ask("my VPN drops every ten minutes since the update", actor="alice")
    # The policy's reply for the model: its focused question (no article answers this), never an empty one.
    assert "VPN" in reply.reply and "?" in reply.reply and reply.reply != LLM_EMPTY_REPLY
    # A request the policy cannot answer for the model ("open a ticket") still gets the plain fallback.
    again = await agent.ask("open a ticket about it", reply.conversation_id, actor="alice")
    assert again.reply == LLM_EMPTY_REPLY


async def test_unreachable_remote_desk_is_a_polite_reply(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        llm="offline",
        agent_mcp_url=f"http://127.0.0.1:{free_port()}/mcp",
        _env_file=None,  # type: ignore[call-arg]
    )
    async with SupportAgent(settings, model=None, embedder=None) as agent:
        reply = await agent.ask("my VPN drops every ten minutes since the update", "conv-1", actor="alice")
    assert reply.reply == DESK_UNAVAILABLE_REPLY
    assert reply.conversation_id == "conv-1"
    assert reply.intent == "unavailable"


async def test_a_dead_mcp_client_is_replaced_not_reused(fake_agent: MakeAgent) -> None:
    agent = await fake_agent()
    first = await agent.toolbox("alice")
    holder = agent._holders["alice"]
    # The client's task ends, as it does when the transport to a remote desk fails.
    await holder.aclose()
    assert not holder.alive
    second = await agent.toolbox("alice")
    assert second is not first
    reply = await agent.ask("how do I reset my VPN password?", actor="alice")
    assert reply.tool_calls == ["knowledge_search"]
    assert "could not be completed" not in reply.reply
