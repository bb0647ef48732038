"""End to end: a real MCP client talks to ``support-agent mcp`` over stdio and ``support-agent serve`` over HTTP."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import httpx2
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

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
def http_server(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A served desk and an admin API token for it (made with the CLI, as the README says)."""
    base = f"http://127.0.0.1:{free_port()}"
    env = desk_env(tmp_path / "http")
    made = subprocess.run(
        [str(BIN), "token", "create", "admin"], env=env, capture_output=True, text=True, timeout=120, check=True
    )
    args = [str(BIN), "serve", "--no-ui", "--port", base.rsplit(":", 1)[1]]
    with running(args, ready_url=f"{base}/health", log_path=tmp_path / "serve.log", env=env):
        yield base, made.stdout.strip()


def _client(base: str, token: str) -> Client:
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=60)
    return Client(streamable_http_client(f"{base}/mcp", http_client=http), read_timeout_seconds=60)


async def test_http_end_to_end(http_server: tuple[str, str]) -> None:
    base, token = http_server
    async with httpx.AsyncClient() as http:
        health = (await http.get(f"{base}/health", timeout=5)).json()
    assert health["status"] == "ok"
    async with _client(base, token) as client:
        await _exercise(client)
        # A remote caller must not make the server read its own files.
        sneaky = await client.call_tool("document_ingest", {"path": "/etc/passwd"})
        assert sneaky.is_error
        assert "SUPPORT_INGEST_ROOTS" in sneaky.content[0].text  # type: ignore[union-attr]


async def test_http_rejects_unknown_bearer_token(http_server: tuple[str, str]) -> None:
    base, _ = http_server
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}}
    headers = {"Authorization": "Bearer sa_not-a-token", "Accept": "application/json, text/event-stream"}
    async with httpx.AsyncClient() as http:
        response = await http.post(f"{base}/mcp", json=init, headers=headers, timeout=10)
    assert response.status_code == 401
    assert "not a known desk API token" in response.headers["www-authenticate"]
    assert "resource_metadata=" in response.headers["www-authenticate"]
