"""What a tool handler needs from the MCP request: the desk and the calling actor, plus error mapping."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError, ToolError
from pydantic import ValidationError

from tools.actor import Actor
from tools.desk import Desk
from tools.errors import DeskError, NotFoundError
from tools.tokens import identity_for_token
from tools.users import current_actor

logger = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")


@dataclass
class AppState:
    """The lifespan context: the desk and the actor used when a request carries no credentials."""

    desk: Desk
    default_actor: Actor


def app_state(ctx: Context[Any, Any]) -> AppState:
    state = ctx.request_context.lifespan_context
    assert isinstance(state, AppState), "server lifespan did not yield an AppState"
    return state


async def resolve(ctx: Context[Any, Any]) -> tuple[Desk, Actor]:
    """The desk and the actor for this request.

    A bearer token (HTTP) names its user; without one the configured actor is used. Enforcing tokens
    on HTTP is a deployment setting added with authentication; the seam is here.
    """
    state = app_state(ctx)
    headers = ctx.headers
    if headers:
        auth = headers.get("authorization") or headers.get("Authorization")
        if auth and auth.lower().startswith("bearer "):
            found = await identity_for_token(state.desk, auth[7:].strip())
            if isinstance(found, str):
                raise ToolError(f"{found}; ask an admin for a new API token")
            return state.desk, found.actor
    # Re-read the configured user on every call, so a role change or deactivation is not cached away.
    try:
        return state.desk, await current_actor(state.desk, state.default_actor.user_id)
    except DeskError as exc:
        raise ToolError(str(exc)) from exc


def validation_message(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "input"
        message = str(err["msg"]).removeprefix("Value error, ")
        parts.append(f"{loc}: {message}")
    return "invalid input: " + "; ".join(parts)


def tool_errors(fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Turn the desk's typed errors into MCP tool errors whose text reaches the client."""

    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        for name, value in kwargs.items():
            if _has_nul(value):
                # PostgreSQL cannot store or even compare text holding NUL: refuse it on every backend alike.
                raise ToolError(f"{name} contains a NUL character (\\x00); remove it and try again")
        try:
            return await fn(*args, **kwargs)
        except DeskError as exc:
            raise ToolError(str(exc)) from exc
        except ValidationError as exc:
            raise ToolError(validation_message(exc)) from exc

    return wrapper


def _has_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    return False


def resource_errors(fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """The same for resources: not found is -32602, anything anticipated is -32603 with its text."""

    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await fn(*args, **kwargs)
        except NotFoundError as exc:
            raise ResourceNotFoundError(str(exc)) from exc
        except DeskError as exc:
            raise ResourceError(str(exc)) from exc

    return wrapper
