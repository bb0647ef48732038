"""The graph driven by a scripted chat model: tool calls through MCP, delimiting, confirmation and caps."""

from __future__ import annotations

from langchain_core.messages import AIMessage, ToolMessage

from tests.agent.conftest import MakeAgent, ScriptedChatModel, tool_call
from tests.agent.fakedesk import FakeDesk


async def test_answers_with_tool_results_and_citations(fake_agent: MakeAgent, fake: FakeDesk) -> None:
    model = ScriptedChatModel(
        script=[
            tool_call("knowledge_search", {"query": "reset VPN password"}),
            AIMessage(content="Open https://vpn.example.com/reset [1]."),
        ]
    )
    agent = await fake_agent(model=model)
    reply = await agent.ask("How do I reset my VPN password?", actor="alice")
    assert reply.reply == "Open https://vpn.example.com/reset [1]."
    assert reply.tool_calls == ["knowledge_search"]
    assert reply.citations[0].citation == "KB #1: Reset your VPN password"
    assert reply.confidence is not None and reply.confidence > 0.5
    assert "ticket_create" in model.bound_tools and "support_ask" not in model.bound_tools
    # The second model call saw the search result as delimited, untrusted data.
    tool_msgs = [m for m in model.seen[1] if isinstance(m, ToolMessage)]
    assert "<retrieved_document" in str(tool_msgs[0].content)
    assert "untrusted" in str(model.seen[1][0].content)


async def test_ticket_create_records_the_action(fake_agent: MakeAgent, fake: FakeDesk) -> None:
    model = ScriptedChatModel(
        script=[
            tool_call(
                "ticket_create",
                {"subject": "Laptop will not boot", "description": "Black screen", "priority": "high"},
            ),
            AIMessage(content="Created TCK-000001."),
        ]
    )
    agent = await fake_agent(model=model)
    reply = await agent.ask("My laptop will not boot, please open a ticket", actor="alice")
    assert reply.actions == ["TCK-000001"]
    assert fake.tickets["TCK-000001"].priority == "high"


async def test_destructive_call_waits_for_confirmation(fake_agent: MakeAgent, fake: FakeDesk) -> None:
    model = ScriptedChatModel(
        script=[
            tool_call("kb_article_delete", {"article_id": 2}),
            AIMessage(content="This deletes KB article 2. Reply yes to confirm."),
        ]
    )
    agent = await fake_agent(model=model)
    first = await agent.ask("Delete KB article 2", actor="alice")
    assert fake.deleted == []
    assert first.tool_calls == []
    assert "confirm" in first.reply
    second = await agent.ask("yes", first.conversation_id, actor="alice")
    assert fake.deleted == [2]
    assert second.tool_calls == ["kb_article_delete"]


async def test_declined_confirmation_runs_nothing(fake_agent: MakeAgent, fake: FakeDesk) -> None:
    model = ScriptedChatModel(
        script=[
            tool_call("kb_article_delete", {"article_id": 2}),
            AIMessage(content="Reply yes to confirm."),
            AIMessage(content="Okay, nothing deleted."),
        ]
    )
    agent = await fake_agent(model=model)
    first = await agent.ask("Delete KB article 2", actor="alice")
    second = await agent.ask("no, keep it", first.conversation_id, actor="alice")
    assert fake.deleted == []
    assert second.reply == "Okay, nothing deleted."


async def test_tool_call_cap_ends_politely(fake_agent: MakeAgent, fake: FakeDesk) -> None:
    # A model that never stops calling tools.
    model = ScriptedChatModel(script=[tool_call("knowledge_search", {"query": "vpn"})])
    agent = await fake_agent(model=model, max_tool_calls=3, max_steps=5)
    reply = await agent.ask("vpn?", actor="alice")
    assert len(reply.tool_calls) == 3
    assert "reached the number of steps" in reply.reply
    # The conversation is still usable afterwards.
    model.script = [AIMessage(content="Still here.")]
    model.seen.clear()
    again = await agent.ask("hello?", reply.conversation_id, actor="alice")
    assert again.reply == "Still here."


async def test_recursion_limit_is_caught(fake_agent: MakeAgent) -> None:
    model = ScriptedChatModel(script=[tool_call("knowledge_search", {"query": "vpn"})])
    agent = await fake_agent(model=model, max_tool_calls=100, max_steps=100, recursion_limit=7)
    reply = await agent.ask("loop forever", actor="alice")
    assert reply.intent == "cap"
    assert "reached the number of steps" in reply.reply
    model.script = [AIMessage(content="Back again.")]
    again = await agent.ask("hello?", reply.conversation_id, actor="alice")
    assert again.reply == "Back again."
