"""Talk to the desk's MCP server in memory, as a given user, and read results or tool errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from mcp import Client

from server.app import build_server
from tools.desk import Desk


@asynccontextmanager
async def client(desk: Desk, actor: str = "admin") -> AsyncIterator[Client]:
    """An in-memory MCP client whose calls act as ``actor`` (who must exist, or is created as admin)."""
    async with Client(build_server(desk.settings.model_copy(update={"actor": actor}), desk=desk)) as c:
        yield c


async def call(c: Client, name: str, args: dict[str, Any] | None = None) -> dict[str, Any]:
    """The structured result of a call that must succeed."""
    result = await c.call_tool(name, args or {})
    assert not result.is_error, result.content[0].text  # type: ignore[union-attr]
    assert result.structured_content is not None
    return result.structured_content


async def error(c: Client, name: str, args: dict[str, Any]) -> str:
    """The text of a call that must fail with a tool error."""
    result = await c.call_tool(name, args)
    assert result.is_error, f"{name} should have failed: {result.structured_content}"
    return str(result.content[0].text)  # type: ignore[union-attr]
