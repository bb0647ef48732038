"""The MCP surface per caller: an SDK server middleware in front of every request.

It resolves the caller once per request (handed to tools through ``Resolve``), shows each caller in
``tools/list`` only the tools their role and credential allow, refuses and rate-limits calls by the same
declaration (:class:`server.surface.ToolSpec`), and turns a bad ``prompts/get`` into JSON-RPC -32602
with a message instead of an internal error.
"""

from __future__ import annotations

import logging
from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS, INVALID_REQUEST
from mcp_types.version import is_version_at_least
from pydantic import ValidationError

from server.context import AppState, Caller, RequestScope, caller_for, enter_request, leave_request
from server.surface import Registrar
from tools.errors import DeskError

logger = logging.getLogger(__name__)


class DeskGate:
    """``ServerMiddleware``: caller resolution, per-caller tool list, prompt errors."""

    def __init__(self, registrar: Registrar) -> None:
        self.registrar = registrar

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        state = ctx.lifespan_context
        if ctx.request_id is None or not isinstance(state, AppState):
            return await call_next(ctx)
        caller: Caller | None = None
        refusal: str | None = None
        try:
            caller = await caller_for(state, ctx.request)
        except DeskError as exc:
            # Handlers report it in their own terms (a tool error, a resource error, -32602 for a prompt).
            refusal = str(exc)
        token = enter_request(RequestScope(caller, refusal))
        try:
            if ctx.method == "tools/list":
                result = await call_next(ctx)
                return self._visible_tools(result, caller)
            if ctx.method == "tools/call":
                refused = await self._tool_refusal(ctx, state, caller, refusal)
                if refused is not None:
                    error: dict[str, Any] = {"content": [{"type": "text", "text": refused}], "isError": True}
                    if is_version_at_least(ctx.protocol_version, "2026-07-28"):
                        error["resultType"] = "complete"  # this middleware owns the envelope it short-circuits
                    return error
            if ctx.method == "prompts/get":
                return await self._prompt(ctx, call_next)
            if ctx.method == "resources/read" and caller is not None:
                limited = await state.limits.hit("read", caller.identity)
                if limited is not None:
                    raise MCPError(
                        code=INVALID_REQUEST, message=limited.message, data={"retry_after": limited.retry_after}
                    )
            return await call_next(ctx)
        finally:
            leave_request(token)

    async def _tool_refusal(
        self, ctx: ServerRequestContext[Any, Any], state: AppState, caller: Caller | None, refusal: str | None
    ) -> str | None:
        """Why this tools/call may not run (checked before its arguments are even validated), or None."""
        name = (ctx.params or {}).get("name")
        spec = self.registrar.specs.get(name) if isinstance(name, str) else None
        if spec is None:
            return None  # the SDK answers for an unknown tool
        if caller is None:
            return refusal or "the caller could not be identified"
        if (why := spec.refusal(caller)) is not None:
            logger.info("refused %s for %s: %s", spec.name, caller.identity, why)
            return why
        limited = await state.limits.hit(spec.kind, caller.identity)
        return f"{spec.name}: {limited.message}" if limited is not None else None

    def _visible_tools(self, result: HandlerResult, caller: Caller | None) -> HandlerResult:
        if not isinstance(result, dict) or not isinstance(result.get("tools"), list):
            return result
        if caller is None:
            return {**result, "tools": []}
        specs = self.registrar.specs
        visible = [t for t in result["tools"] if (spec := specs.get(t.get("name"))) and spec.refusal(caller) is None]
        return {**result, "tools": visible}

    async def _prompt(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        try:
            return await call_next(ctx)
        except MCPError:
            raise
        except (ValueError, ValidationError, DeskError) as exc:
            # MCPServer reports an unknown prompt, a missing argument and a bad one as ValueError: all are
            # the caller's parameters, so -32602 with the message that says which.
            name = (ctx.params or {}).get("name")
            logger.info("prompts/get %r refused: %s", name, exc)
            raise MCPError(code=INVALID_PARAMS, message=str(exc), data={"prompt": name}) from exc
