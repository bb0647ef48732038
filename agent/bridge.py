"""The bridge from MCP tools to LangChain tools, and the clients the agent reaches the desk through.

langchain-mcp-adapters pins ``mcp<2``, so this is the small replacement: every MCP tool listed by a
session becomes a :class:`StructuredTool` whose argument schema is the tool's MCP input JSON schema and
whose coroutine calls ``client.call_tool``. Error results come back as tool-message text (the model can
read and fix them), never as exceptions; structured content comes back as JSON.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import anyio
import httpx2
from langchain_core.tools import BaseTool, StructuredTool
from mcp import Client, MCPError
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.types import CallToolResult, TextContent, Tool

logger = logging.getLogger(__name__)

CALL_FAILURES = (
    MCPError,
    httpx2.HTTPError,
    anyio.ClosedResourceError,
    anyio.BrokenResourceError,
    TimeoutError,
    OSError,
    RuntimeError,
    ValueError,
)
"""What a tool call can raise besides returning an error result."""

START_TIMEOUT = 30.0
"""Seconds to connect and list tools before giving up."""
CLOSE_TIMEOUT = 10.0

EXCLUDED_TOOLS = frozenset({"support_ask"})
"""Tools the agent never gets: support_ask is the agent itself (calling it would recurse)."""


@dataclass
class ToolOutcome:
    """The result of one MCP tool call as the agent uses it."""

    name: str
    ok: bool
    data: Any
    """Structured content (a dict) when the tool returned one, else None."""
    text: str
    """The text a model reads: JSON of the structured content, the error message, or the text content."""


def result_text(result: CallToolResult) -> str:
    """The text of a tool result: its text content blocks joined."""
    parts = [block.text for block in result.content if isinstance(block, TextContent)]
    return "\n".join(parts)


def outcome_of(name: str, result: CallToolResult) -> ToolOutcome:
    if result.is_error:
        return ToolOutcome(name=name, ok=False, data=None, text=result_text(result) or f"{name} failed")
    data = result.structured_content
    if data is not None:
        return ToolOutcome(name=name, ok=True, data=data, text=json.dumps(data, default=str, ensure_ascii=False))
    text = result_text(result)
    with contextlib.suppress(ValueError):
        data = json.loads(text) if text else None
    return ToolOutcome(name=name, ok=True, data=data, text=text)


def is_destructive(tool: Tool) -> bool:
    """True when the tool declares it may destroy data (MCP's destructiveHint; unset means not read-only)."""
    ann = tool.annotations
    if ann is not None and ann.read_only_hint:
        return False
    # MCP's default for a tool that does not say is "may be destructive": ask before running it.
    if ann is None or ann.destructive_hint is None:
        return True
    return bool(ann.destructive_hint)


class McpToolbox:
    """The desk's MCP tools for one caller: LangChain tools for a model, and direct calls for the policy."""

    def __init__(self, client: Client, tools: Iterable[Tool]) -> None:
        self.client = client
        self.specs: dict[str, Tool] = {t.name: t for t in tools if t.name not in EXCLUDED_TOOLS}
        self.tools: list[BaseTool] = [self._langchain_tool(spec) for spec in self.specs.values()]

    @classmethod
    async def load(cls, client: Client) -> McpToolbox:
        """List every tool the server offers (all pages) and bridge them."""
        tools: list[Tool] = []
        cursor: str | None = None
        while True:
            page = await client.list_tools(cursor=cursor)
            tools.extend(page.tools)
            cursor = page.next_cursor
            if not cursor:
                return cls(client, tools)

    def has(self, name: str) -> bool:
        return name in self.specs

    def destructive(self, name: str) -> bool:
        spec = self.specs.get(name)
        return spec is not None and is_destructive(spec)

    def accepts(self, name: str) -> set[str]:
        """The argument names a tool's input schema declares."""
        spec = self.specs.get(name)
        if spec is None:
            return set()
        return set((spec.input_schema or {}).get("properties", {}))

    def fit_args(self, name: str, args: dict[str, Any]) -> dict[str, Any]:
        """Drop arguments the tool does not declare and empty values, so optional extras never break a call."""
        allowed = self.accepts(name)
        return {k: v for k, v in args.items() if k in allowed and v not in (None, "", [], {})}

    async def call(self, name: str, args: dict[str, Any]) -> ToolOutcome:
        """Call a tool; protocol and transport failures become error outcomes, never exceptions."""
        if name not in self.specs:
            return ToolOutcome(
                name=name, ok=False, data=None, text=f"unknown tool {name!r}; available: {sorted(self.specs)}"
            )
        try:
            result = await self.client.call_tool(name, args)
        except CALL_FAILURES as exc:
            # Transport trouble, a protocol error or a malformed response: the agent reports a tool failure
            # and carries on, instead of losing the whole turn.
            logger.warning("tool %s failed: %s: %s", name, type(exc).__name__, exc)
            return ToolOutcome(name=name, ok=False, data=None, text=f"{name} could not be completed: {exc}")
        return outcome_of(name, result)

    def _langchain_tool(self, spec: Tool) -> StructuredTool:
        name = spec.name

        async def run(**kwargs: Any) -> str:
            return (await self.call(name, kwargs)).text

        schema = dict(spec.input_schema or {"type": "object", "properties": {}})
        schema.setdefault("type", "object")
        schema.setdefault("properties", {})
        return StructuredTool(
            name=name,
            description=spec.description or spec.title or name,
            args_schema=schema,
            coroutine=run,
            metadata={"destructive": is_destructive(spec)},
        )


class ClientHolder:
    """Keeps one MCP client open in a task of its own.

    The SDK's client enters anyio task groups, which must be exited by the task that entered them; a
    UI or a server calls the agent from many tasks, so the client lives in a dedicated owner task and
    callers only send requests through it.
    """

    def __init__(self, client: Client, http: httpx2.AsyncClient | None = None) -> None:
        self.client = client
        self._http = http
        """An HTTP client the transport borrows; closed after the MCP client."""
        self._ready: asyncio.Future[McpToolbox] | None = None
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> McpToolbox:
        loop = asyncio.get_running_loop()
        self._ready = loop.create_future()
        self._task = asyncio.create_task(self._run(), name="mcp-client")
        return await asyncio.wait_for(asyncio.shield(self._ready), START_TIMEOUT)

    async def _run(self) -> None:
        assert self._ready is not None
        try:
            async with self.client as client:
                toolbox = await McpToolbox.load(client)
                self._ready.set_result(toolbox)
                await self._stop.wait()
            if self._http is not None:
                await self._http.aclose()
        except BaseException as exc:
            if not self._ready.done():
                self._ready.set_exception(exc if isinstance(exc, Exception) else RuntimeError(str(exc)))
            if not isinstance(exc, Exception):
                raise
            logger.exception("MCP client stopped")

    @property
    def alive(self) -> bool:
        """False once the client's task has ended (the transport failed or the session closed)."""
        return self._task is not None and not self._task.done()

    async def aclose(self) -> None:
        self._stop.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, CLOSE_TIMEOUT)
            except TimeoutError:
                self._task.cancel()
            self._task = None


def http_client(url: str, token: str | None) -> tuple[Client, httpx2.AsyncClient]:
    """A streamable-HTTP MCP client that sends ``Authorization: Bearer <token>`` when given one."""
    headers = {"Authorization": f"Bearer {token}"} if token else None
    http = create_mcp_http_client(headers=headers)
    return Client(streamable_http_client(url, http_client=http)), http
