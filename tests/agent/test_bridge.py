"""The MCP-to-LangChain bridge: schemas, results, errors and annotations."""

from __future__ import annotations

import json

from mcp import Client

from agent.bridge import ClientHolder, McpToolbox
from tests.agent.fakedesk import FakeDesk, build_fake_server


async def test_tools_carry_the_mcp_input_schema(fake: FakeDesk) -> None:
    async with Client(build_fake_server(fake)) as client:
        toolbox = await McpToolbox.load(client)
        tools = {t.name: t for t in toolbox.tools}
        assert {"knowledge_search", "ticket_create", "ticket_escalate", "kb_article_delete"} <= set(tools)
        schema = tools["ticket_create"].args_schema
        assert isinstance(schema, dict)
        assert {"subject", "description", "priority"} <= set(schema["properties"])
        assert set(schema["required"]) == {"subject", "description"}
        assert tools["knowledge_search"].description == "Search documents, KB articles and resolved tickets."


async def test_structured_content_comes_back_as_json(fake: FakeDesk) -> None:
    async with Client(build_fake_server(fake)) as client:
        toolbox = await McpToolbox.load(client)
        tool = next(t for t in toolbox.tools if t.name == "ticket_create")
        text = await tool.ainvoke({"subject": "Printer jam", "description": "Tray 2 jams", "priority": "low"})
        data = json.loads(text)
        assert data["number"] == "TCK-000001"
        assert data["priority"] == "low"


async def test_errors_are_tool_text_not_exceptions(fake: FakeDesk) -> None:
    async with Client(build_fake_server(fake)) as client:
        toolbox = await McpToolbox.load(client)
        tool = next(t for t in toolbox.tools if t.name == "ticket_get")
        text = await tool.ainvoke({"ticket": "TCK-999999"})
        assert "no ticket 'TCK-999999'" in text
        outcome = await toolbox.call("ticket_create", {"subject": "x", "description": "y", "priority": "urgent"})
        assert not outcome.ok and "priority must be one of" in outcome.text
        unknown = await toolbox.call("no_such_tool", {})
        assert not unknown.ok and "unknown tool" in unknown.text


async def test_destructive_hint_and_argument_fitting(fake: FakeDesk) -> None:
    async with Client(build_fake_server(fake)) as client:
        toolbox = await McpToolbox.load(client)
        assert toolbox.destructive("kb_article_delete")
        assert not toolbox.destructive("knowledge_search")
        assert not toolbox.destructive("ticket_create")
        fitted = toolbox.fit_args("ticket_create", {"subject": "s", "bogus": 1, "contact_email": None})
        assert fitted == {"subject": "s"}


async def test_client_holder_serves_calls_from_other_tasks(fake: FakeDesk) -> None:
    import asyncio

    holder = ClientHolder(Client(build_fake_server(fake)))
    toolbox = await holder.start()
    try:
        results = await asyncio.gather(
            *(asyncio.create_task(toolbox.call("knowledge_search", {"query": f"vpn {i}"})) for i in range(5))
        )
        assert all(r.ok for r in results)
    finally:
        await holder.aclose()


def test_tools_that_do_not_say_count_as_destructive() -> None:
    from mcp.types import Tool, ToolAnnotations

    from agent.bridge import is_destructive

    schema = {"type": "object", "properties": {}}
    assert is_destructive(Tool(name="t", input_schema=schema)) is True
    assert is_destructive(Tool(name="t", input_schema=schema, annotations=ToolAnnotations())) is True
    assert is_destructive(Tool(name="t", input_schema=schema, annotations=ToolAnnotations(readOnlyHint=True))) is False
    quiet = ToolAnnotations(readOnlyHint=False, destructiveHint=False)
    assert is_destructive(Tool(name="t", input_schema=schema, annotations=quiet)) is False
