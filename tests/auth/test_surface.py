"""The MCP surface per caller, in memory: tools/list and refusals by role, toolsets, read-only, whoami,
titles and hints, prompt errors and tool rate limits."""

from __future__ import annotations

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS

from server.app import build_server
from tests.auth.conftest import allowed_tools, published_specs
from tests.conftest import MakeUser
from tests.mcp_helpers import call, client, error
from tools.actor import ROLES, Actor, Role
from tools.desk import Desk


@pytest.mark.parametrize("role", ROLES)
async def test_tools_list_and_refusals_follow_the_role_table(
    desk: Desk, admin: Actor, make_user: MakeUser, role: Role
) -> None:
    reg = published_specs(desk.settings, desk)
    user = await make_user(f"user-{role.replace('_', '-')}", role) if role != "admin" else admin
    allowed = allowed_tools(reg, role)
    async with client(desk, user.username) as c:
        listed = {t.name for t in (await c.list_tools()).tools}
        assert listed == allowed
        for name in sorted(set(reg.specs) - allowed):
            # Refused before the arguments are looked at: the role decides, whatever is sent.
            text = await error(c, name, {})
            assert f"{name} is not allowed for {user.username!r} (role {role!r})" in text, text
    if role == "end_user":
        assert {"user_upsert", "document_delete", "token_create", "audit_list"}.isdisjoint(listed)
        assert {"ticket_create", "support_ask", "whoami"} <= listed


async def test_titles_and_annotations_on_every_tool(desk: Desk, admin: Actor) -> None:
    async with client(desk) as c:
        tools = (await c.list_tools()).tools
    assert len(tools) > 30
    for tool in tools:
        assert tool.title, tool.name
        assert tool.annotations is not None and tool.annotations.open_world_hint is not None, tool.name
        assert tool.annotations.read_only_hint is not None, tool.name
    by_name = {t.name: t for t in tools}
    assert by_name["support_ask"].annotations.open_world_hint is True  # type: ignore[union-attr]
    assert by_name["ticket_get"].annotations.read_only_hint is True  # type: ignore[union-attr]
    assert by_name["document_delete"].annotations.destructive_hint is True  # type: ignore[union-attr]


async def test_toolsets_and_read_only_narrow_what_is_published(desk: Desk, admin: Actor) -> None:
    only = desk.settings.model_copy(update={"toolsets": ["tickets", "kb"]})
    async with Client(build_server(only, desk=desk)) as c:
        names = {t.name for t in (await c.list_tools()).tools}
    assert "ticket_create" in names and "kb_article_get" in names and "whoami" in names
    assert not {"document_ingest", "user_list", "support_ask", "audit_list"} & names

    read_only = desk.settings.model_copy(update={"read_only": True})
    async with Client(build_server(read_only, desk=desk)) as c:
        tools = (await c.list_tools()).tools
        missing = await c.call_tool("ticket_create", {"subject": "x", "description": "y"})
    assert tools and all(t.annotations and t.annotations.read_only_hint for t in tools)
    assert "ticket_list" in {t.name for t in tools}
    assert missing.is_error

    with pytest.raises(ValueError, match="unknown toolset"):
        build_server(desk.settings.model_copy(update={"toolsets": ["tickets", "wizardry"]}), desk=desk)


async def test_whoami_names_role_scopes_and_toolsets(desk: Desk, admin: Actor, make_user: MakeUser) -> None:
    await make_user("tess", "technician")
    async with client(desk, "tess") as c:
        me = await call(c, "whoami")
    assert (me["username"], me["role"], me["via"]) == ("tess", "technician", "local")
    assert "tickets.work" in me["capabilities"] and "audit.read" not in me["capabilities"]
    assert "admin" not in me["toolsets"] and "tickets" in me["toolsets"]
    assert me["scopes"] == ["desk:read", "desk:write", "desk:admin"]
    assert me["teams"] == []


async def test_prompt_errors_are_invalid_params_with_a_message(desk: Desk, admin: Actor) -> None:
    async with client(desk) as c:
        with pytest.raises(MCPError) as unknown:
            await c.get_prompt("no_such_prompt", {})
        assert unknown.value.error.code == INVALID_PARAMS and "no_such_prompt" in unknown.value.error.message
        with pytest.raises(MCPError) as missing:
            await c.get_prompt("triage_ticket", {})
        assert missing.value.error.code == INVALID_PARAMS and "ticket" in missing.value.error.message
        with pytest.raises(MCPError) as absent:
            await c.get_prompt("triage_ticket", {"ticket": "TCK-999999"})
        assert absent.value.error.code == INVALID_PARAMS and "TCK-999999" in absent.value.error.message


async def test_tool_rate_limit_says_when_to_retry_and_spares_others(
    desk: Desk, admin: Actor, make_user: MakeUser
) -> None:
    await make_user("alice")
    await make_user("bob")
    tight = desk.settings.model_copy(update={"rate_limit_write": "2/minute", "rate_limit_prefix": "t-write"})
    desk.extras.pop("rate_limits", None)  # a limiter with these settings for this test
    try:
        args = {"subject": "Printer jam", "description": "Tray 2"}
        async with Client(build_server(tight.model_copy(update={"actor": "alice"}), desk=desk)) as alice:
            for _ in range(2):
                assert not (await alice.call_tool("ticket_create", args)).is_error
            refused = await alice.call_tool("ticket_create", args)
            assert refused.is_error
            assert "rate limit" in refused.content[0].text and "retry in" in refused.content[0].text  # type: ignore[union-attr]
            assert not (await alice.call_tool("ticket_list", {})).is_error  # reads have their own limit
        async with Client(build_server(tight.model_copy(update={"actor": "bob"}), desk=desk)) as bob:
            assert not (await bob.call_tool("ticket_create", args)).is_error
    finally:
        desk.extras.pop("rate_limits", None)
