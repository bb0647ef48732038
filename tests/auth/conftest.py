"""Real HTTP for the auth tests: the assembled app under uvicorn on a free port, raw JSON-RPC over httpx."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest_asyncio
import uvicorn
from starlette.applications import Starlette

from server.app import TOOL_MODULES, build_server
from server.http import build_http_app
from server.surface import Registrar
from store.config import Settings
from tests.servers import free_port
from tools import permissions
from tools.actor import Role
from tools.desk import Desk

ACCEPT = "application/json, text/event-stream"
INIT_PARAMS = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "test", "version": "1"}}


@asynccontextmanager
async def serve(app: Starlette, port: int) -> AsyncIterator[str]:
    """``app`` under uvicorn on 127.0.0.1:``port`` until the block ends (bounded waits both ways)."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(30):
            while not server.started:
                if task.done():
                    task.result()
                await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 30)


Serve = Callable[..., Any]


@pytest_asyncio.fixture(loop_scope="session")
async def served(desk: Desk) -> AsyncIterator[Serve]:
    """``async with served(**settings) as base:`` the desk's HTTP app (its own database: the test's)."""
    del desk  # the app opens the same database the test's desk uses

    @asynccontextmanager
    async def run(desk_settings: Settings, with_ui: bool = False, **overrides: Any) -> AsyncIterator[str]:
        port = free_port()
        overrides.setdefault("rate_limit_prefix", f"test-{uuid.uuid4().hex[:12]}")
        settings = desk_settings.model_copy(update={"host": "127.0.0.1", "port": port, **overrides})
        async with serve(build_http_app(settings, with_ui=with_ui), port) as base:
            yield base

    yield run


class Mcp:
    """Raw streamable-HTTP JSON-RPC, so status codes and headers are visible to the test."""

    def __init__(self, http: httpx.AsyncClient, base: str) -> None:
        self.http = http
        self.url = f"{base}/mcp"
        self.session: str | None = None
        self._id = 0

    async def post(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        token: str | None = None,
        notify: bool = False,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        body: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            body["params"] = params
        if not notify:
            self._id += 1
            body["id"] = self._id
        sent = {"Accept": ACCEPT, "Content-Type": "application/json", "MCP-Protocol-Version": "2025-06-18"}
        if token:
            sent["Authorization"] = f"Bearer {token}"
        if self.session:
            sent["Mcp-Session-Id"] = self.session
        sent.update(headers or {})
        return await self.http.post(self.url, json=body, headers=sent, timeout=30)

    async def open(self, token: str | None) -> httpx.Response:
        response = await self.post("initialize", INIT_PARAMS, token=token)
        if response.status_code == 200:
            self.session = response.headers.get("mcp-session-id")
            await self.post("notifications/initialized", token=token, notify=True)
        return response


def result(response: httpx.Response) -> dict[str, Any]:
    """The JSON-RPC message in a JSON or SSE response."""
    assert response.status_code == 200, (response.status_code, response.text)
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        for line in response.text.splitlines():
            if line.startswith("data: "):
                message: dict[str, Any] = json.loads(line[6:])
                if "id" in message:
                    return message
        raise AssertionError(f"no JSON-RPC message in {response.text!r}")
    message = response.json()
    assert isinstance(message, dict)
    return message


async def tool(mcp: Mcp, token: str, name: str, args: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ``result`` of a tools/call (is_error is the caller's to check)."""
    message = result(await mcp.post("tools/call", {"name": name, "arguments": args or {}}, token=token))
    assert "result" in message, message
    out: dict[str, Any] = message["result"]
    return out


MakeMcp = Callable[[str], Awaitable[Mcp]]


def published_specs(settings: Settings, desk: Desk) -> Registrar:
    """Every tool a server with ``settings`` publishes, with its declaration (toolset, capability...)."""
    reg = Registrar(build_server(settings, desk=desk), settings)
    for module in TOOL_MODULES:
        module.register(reg)
    return reg


def allowed_tools(reg: Registrar, role: Role) -> set[str]:
    """The published tools ``role`` may use, by the role table in :mod:`tools.permissions`."""
    return {
        name for name, spec in reg.specs.items() if spec.capability is None or permissions.allows(role, spec.capability)
    }
