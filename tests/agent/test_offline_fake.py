"""The offline policy on multi-turn conversations against the fake desk (no database)."""

from __future__ import annotations

from tests.agent.conftest import MakeAgent
from tests.agent.fakedesk import FakeDesk


async def test_weak_retrieval_asks_then_offers_a_ticket(fake_agent: MakeAgent, fake: FakeDesk) -> None:
    agent = await fake_agent()
    first = await agent.ask("my docking station monitor flickers", actor="alice")
    assert first.citations == []
    assert "tell me a bit more" in first.reply
    second = await agent.ask("it is the Dell WD19 dock with two screens", first.conversation_id, actor="alice")
    assert "couldn't find a reliable answer" in second.reply
    third = await agent.ask("yes please", first.conversation_id, actor="alice")
    assert "How much is this affecting your work" in third.reply
    fourth = await agent.ask("it's slow but I have a workaround", first.conversation_id, actor="alice")
    assert "How should the technician reach you" in fourth.reply
    fifth = await agent.ask("chat is fine", first.conversation_id, actor="alice")
    assert fifth.actions == ["TCK-000001"]
    ticket = fake.tickets["TCK-000001"]
    assert ticket.priority == "medium" and ticket.channel == "chat"
    assert "docking station" in ticket.subject and "WD19" in ticket.description


async def test_injected_document_triggers_no_action(fake_agent: MakeAgent, fake: FakeDesk) -> None:
    agent = await fake_agent()
    reply = await agent.ask("how do I install the printer driver?", actor="alice")
    assert reply.tool_calls == ["knowledge_search"]
    assert "Software Center" in reply.reply
    assert "ticket_escalate" not in reply.reply and "IGNORE" not in reply.reply
    assert [c[0] for c in fake.calls] == ["knowledge_search"]
    assert fake.deleted == [] and fake.tickets == {}
    # Even a follow-up "yes" does not turn the document's words into an action.
    follow = await agent.ask("ok", reply.conversation_id, actor="alice")
    assert fake.deleted == [] and not any(name == "ticket_escalate" for name, _ in fake.calls)
    assert follow.handoff is None


async def test_cancel_drops_the_draft(fake_agent: MakeAgent, fake: FakeDesk) -> None:
    agent = await fake_agent()
    first = await agent.ask("I need to open a ticket", actor="alice")
    assert "what is the problem" in first.reply
    second = await agent.ask("never mind", first.conversation_id, actor="alice")
    assert "dropped" in second.reply
    third = await agent.ask("hello", first.conversation_id, actor="alice")
    assert third.intent == "greeting" and fake.tickets == {}


async def test_unsupported_request_is_escalated_on_request(fake_agent: MakeAgent, fake: FakeDesk) -> None:
    agent = await fake_agent()
    first = await agent.ask("please delete KB article 1", actor="alice")
    assert fake.deleted == [] and "can't delete" in first.reply
    second = await agent.ask("yes", first.conversation_id, actor="alice")
    assert second.handoff is not None and second.handoff.reason == "unsupported_request"
    ticket = fake.tickets[second.handoff.ticket]
    assert ticket.handoff_reason == "unsupported_request"
    assert "delete KB article 1" in ticket.subject
    assert fake.deleted == []


async def test_conversations_are_separate_per_caller(fake_agent: MakeAgent) -> None:
    agent = await fake_agent()
    first = await agent.ask("open a ticket", "shared-id", actor="alice")
    assert "what is the problem" in first.reply
    other = await agent.ask("my printer is jammed and shows error E-42", "shared-id", actor="bob")
    assert other.intent == "question"


async def test_tool_failure_is_reported_and_offers_a_handoff(fake_agent: MakeAgent, fake: FakeDesk) -> None:
    fake.fail_create = True
    agent = await fake_agent()
    cid = (await agent.ask("please open a ticket: the VPN client crashes on start", actor="alice")).conversation_id
    await agent.ask("It closes right after the splash screen since the update", cid, actor="alice")
    await agent.ask("I can't work", cid, actor="alice")
    failed = await agent.ask("chat", cid, actor="alice")
    # In plain words: the tool's own message is for programs (it goes to the log).
    assert "couldn't create the ticket" in failed.reply and "try again" in failed.reply
    assert "Error executing" not in failed.reply and "ticket_create" not in failed.reply
    assert failed.actions == []
    fake.fail_create = False
    handed = await agent.ask("yes", cid, actor="alice")
    assert handed.handoff is not None and handed.handoff.reason == "tool_failure"
    assert fake.tickets[handed.handoff.ticket].handoff_reason == "tool_failure"


def test_checkpointer_urls() -> None:
    from agent.memory import psycopg_url, sqlite_path

    assert psycopg_url("postgresql+asyncpg://u:p@db:5432/desk") == "postgresql://u:p@db:5432/desk"
    assert sqlite_path("sqlite+aiosqlite:////var/data/desk.sqlite3") == "/var/data/desk.sqlite3"
