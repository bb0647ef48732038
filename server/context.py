"""What a handler needs from the MCP request: the desk, the agent and the caller, plus error mapping.

The caller is resolved once per request by :class:`server.gate.DeskGate` (an SDK server middleware) and
handed to tools through the SDK's dependency mechanism: a tool declares ``caller: CurrentCaller`` and
``desk: CurrentDesk`` (``Annotated[..., Resolve(...)]``) instead of looking them up itself.
"""

from __future__ import annotations

import contextvars
import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal, ParamSpec, Protocol, TypeVar

from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from mcp.server.mcpserver import Context, Resolve
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError, ToolError
from pydantic import ValidationError

from agent.holder import AgentHolder
from agent.reply import AgentReply
from server.ratelimit import RateLimits
from tools.actor import Actor, Role
from tools.desk import Desk
from tools.errors import DeskError, NotFoundError
from tools.tokens import SCOPES, Scope
from tools.users import current_actor


class Agent(Protocol):
    """What the server needs of the support agent (:class:`agent.runner.SupportAgent`)."""

    async def ask(
        self, message: str, conversation_id: str | None = None, actor: str | None = None, token: str | None = None
    ) -> AgentReply: ...

    async def aclose(self) -> None: ...


logger = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

Via = Literal["local", "token", "oauth"]


class DeskAccessToken(AccessToken):
    """The SDK's access token plus the desk user it stands for (filled by :class:`server.auth.DeskTokenVerifier`)."""

    user_id: int
    username: str
    role: Role
    via: Via


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling and with what rights: the actor (role) and the credential's scopes."""

    actor: Actor
    scopes: tuple[Scope, ...]
    via: Via
    identity: str
    """The key rate limits and session bounds count by: ``token:7``, ``oauth:<iss>#<sub>`` or ``local:<user>``."""

    def has_scope(self, scope: Scope) -> bool:
        return scope in self.scopes


@dataclass
class AppState:
    """The lifespan context: the desk, the agent, the limits, and the actor for requests without credentials."""

    desk: Desk
    default_actor: Actor
    limits: RateLimits
    agent: AgentHolder[Agent]


def app_state(ctx: Context[Any, Any]) -> AppState:
    state = ctx.request_context.lifespan_context
    assert isinstance(state, AppState), "server lifespan did not yield an AppState"
    return state


@dataclass(frozen=True, slots=True)
class RequestScope:
    """What the gate resolved for the request being handled: the caller, or why there is none."""

    caller: Caller | None
    refusal: str | None = None


_request: contextvars.ContextVar[RequestScope | None] = contextvars.ContextVar("support_request", default=None)


class CredentialsRequired(DeskError):
    """An HTTP request reached a handler without an authenticated identity (auth is not configured)."""


async def caller_for(state: AppState, request: Any) -> Caller:
    """Who sent ``request`` (the HTTP request, or None over stdio and in memory)."""
    user = getattr(request, "scope", {}).get("user") if request is not None else None
    if isinstance(user, AuthenticatedUser) and isinstance(user.access_token, DeskAccessToken):
        token = user.access_token
        actor = Actor(user_id=token.user_id, username=token.username, role=token.role)
        scopes = tuple(s for s in SCOPES if s in token.scopes)
        identity = token.client_id if token.via == "token" else f"oauth:{token.subject}"
        return Caller(actor=actor, scopes=scopes, via=token.via, identity=identity)
    if request is not None:
        raise CredentialsRequired("this request carries no desk credentials; send Authorization: Bearer <token>")
    # Over stdio (and the in-memory client) the caller is the configured local user, re-read on every
    # request so a role change or a deactivation is not cached away.
    actor = await current_actor(state.desk, state.default_actor.user_id)
    return Caller(actor=actor, scopes=SCOPES, via="local", identity=f"local:{actor.username}")


def enter_request(scope: RequestScope) -> contextvars.Token[RequestScope | None]:
    return _request.set(scope)


def leave_request(token: contextvars.Token[RequestScope | None]) -> None:
    _request.reset(token)


async def resolve_caller(ctx: Context) -> Caller:
    """The caller of this request (resolved once by the gate; computed here for a direct call)."""
    scope = _request.get()
    if scope is not None:
        if scope.caller is None:
            raise ToolError(scope.refusal or "the caller could not be identified")
        return scope.caller
    try:
        return await caller_for(app_state(ctx), ctx.request_context.request)
    except DeskError as exc:
        raise ToolError(str(exc)) from exc


async def resolve_actor(caller: Annotated[Caller, Resolve(resolve_caller)]) -> Actor:
    return caller.actor


async def resolve_desk(ctx: Context) -> Desk:
    return app_state(ctx).desk


async def resolve_agent(ctx: Context) -> Agent:
    return await app_state(ctx).agent.get()


CurrentCaller = Annotated[Caller, Resolve(resolve_caller)]
CurrentActor = Annotated[Actor, Resolve(resolve_actor)]
CurrentDesk = Annotated[Desk, Resolve(resolve_desk)]
CurrentAgent = Annotated[Agent, Resolve(resolve_agent)]


async def desk_and_actor(ctx: Context[Any, Any]) -> tuple[Desk, Actor]:
    """For prompts and resources, which the SDK does not resolve dependencies for."""
    caller = await resolve_caller(ctx)
    return app_state(ctx).desk, caller.actor


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
        except (DeskError, ToolError) as exc:
            raise ResourceError(str(exc)) from exc

    return wrapper
