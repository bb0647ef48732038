"""End to end: a real MCP client talks to ``support-agent mcp`` over stdio and ``support-agent serve`` over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import httpx2
import pytest
from mcp import Client, StdioServerParameters

from tests.servers import BIN, desk_env, free_port, running


async def _exercise(client: Client) -> None:
    tools = {t.name for t in (await client.list_tools()).tools}
    assert {"user_upsert", "user_list", "category_list"} <= tools
    created = await client.call_tool(
        "user_upsert", {"username": "dana", "email": "dana@example.com", "display_name": "Dana", "role": "technician"}
    )
    assert not created.is_error, created.content
    assert created.structured_content is not None
    assert created.structured_content["role"] == "technician"
    listed = await client.call_tool("user_list", {"role": "technician"})
    assert listed.structured_content is not None
    assert [u["username"] for u in listed.structured_content["items"]] == ["dana"]
    bad = await client.call_tool("user_list", {"role": "wizard"})
    assert bad.is_error
    assert "role" in bad.content[0].text  # type: ignore[union-attr]

    ticket = await client.call_tool(
        "ticket_create", {"subject": "VPN drops every hour", "description": "Since Monday.", "priority": "high"}
    )
    assert not ticket.is_error, ticket.content
    assert ticket.structured_content is not None
    number = ticket.structured_content["number"]
    assert number.startswith("TCK-")
    stale = await client.call_tool("ticket_update", {"ticket": number, "version": 99, "status": "open"})
    assert stale.is_error
    assert "version" in stale.content[0].text  # type: ignore[union-attr]
    resource = await client.read_resource(f"ticket://{number}")
    assert "VPN drops every hour" in resource.contents[0].text  # type: ignore[union-attr]


async def test_stdio_end_to_end(tmp_path: Path) -> None:
    params = StdioServerParameters(command=str(BIN), args=["mcp"], env=desk_env(tmp_path / "stdio"))
    async with Client(params, read_timeout_seconds=60) as client:
        await _exercise(client)
    assert (tmp_path / "stdio" / "desk.sqlite3").exists(), "a new data directory is migrated on first start"


@pytest.fixture
def http_server(tmp_path: Path) -> Iterator[str]:
    base = f"http://127.0.0.1:{free_port()}"
    args = [str(BIN), "serve", "--no-ui", "--port", base.rsplit(":", 1)[1]]
    with running(args, ready_url=f"{base}/health", log_path=tmp_path / "serve.log", env=desk_env(tmp_path / "http")):
        yield base


async def test_http_end_to_end(http_server: str) -> None:
    async with httpx.AsyncClient() as http:
        health = (await http.get(f"{http_server}/health", timeout=5)).json()
    assert health["status"] == "ok"
    async with Client(f"{http_server}/mcp", read_timeout_seconds=60) as client:
        await _exercise(client)
        # A remote caller must not make the server read its own files.
        sneaky = await client.call_tool("document_ingest", {"path": "/etc/passwd"})
        assert sneaky.is_error
        assert "SUPPORT_INGEST_ROOTS" in sneaky.content[0].text  # type: ignore[union-attr]


async def test_http_rejects_unknown_bearer_token(http_server: str) -> None:
    transport_headers = {"Authorization": "Bearer not-a-token"}
    from mcp.client.streamable_http import streamable_http_client

    http = httpx2.AsyncClient(headers=transport_headers, timeout=30)
    async with http, Client(streamable_http_client(f"{http_server}/mcp", http_client=http)) as client:
        result = await client.call_tool("category_list", {})
    assert result.is_error
    assert "token" in result.content[0].text  # type: ignore[union-attr]
