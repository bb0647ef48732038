"""What the server publishes, declared once per tool: toolset, capability, class of work, title, hints.

A tool module's ``register(reg)`` declares each tool with :meth:`Registrar.tool`::

    @reg.tool(toolset="analytics", capability="analytics.read", kind="read", title="Ticket volume")
    async def analytics_volume(desk: CurrentDesk, actor: CurrentActor, days: int = 30) -> Volume:
        \"\"\"Count tickets opened and resolved per day.\"\"\"
        return await analytics.volume(desk, actor, days=days)

From that one declaration: the tool is published only when its toolset is enabled (``SUPPORT_TOOLSETS``)
and, with ``SUPPORT_READ_ONLY``, only when it is read-only; ``tools/list`` shows it only to callers
whose role has the capability (and whose credential has the scope); a call is refused the same way (by
:class:`server.gate.DeskGate`, before its arguments are validated) and rate-limited by its kind;
the MCP annotations (``readOnlyHint``, ``openWorldHint``...) follow from it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar, get_args

from mcp.server import MCPServer
from mcp.types import ToolAnnotations

from server.context import Caller, tool_errors
from store.config import Settings
from tools import permissions
from tools.permissions import Capability
from tools.tokens import Scope

logger = logging.getLogger(__name__)

Toolset = Literal["core", "tickets", "kb", "knowledge", "people", "agent", "analytics", "voice", "admin"]
"""``core`` (``whoami``) is always published; the others can be chosen with ``SUPPORT_TOOLSETS``."""
TOOLSETS: tuple[Toolset, ...] = get_args(Toolset)
Kind = Literal["read", "write", "ingest", "agent", "voice"]
"""The class of work, for rate limits and read-only mode: ``read`` changes nothing."""

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


@dataclass(frozen=True, slots=True)
class ToolSpec:
    name: str
    toolset: Toolset
    capability: Capability | None
    """None: every signed-in caller (``whoami``)."""
    kind: Kind
    title: str
    read_only: bool

    @property
    def scope(self) -> Scope:
        """The credential scope a call needs."""
        if self.toolset == "admin":
            return "desk:admin"
        return "desk:read" if self.read_only else "desk:write"

    def refusal(self, caller: Caller) -> str | None:
        """Why ``caller`` may not use this tool, or None when they may."""
        if self.capability is not None and (why := permissions.refusal(caller.actor, self.capability, self.name)):
            return why
        if not caller.has_scope(self.scope):
            return (
                f"{self.name} needs the scope {self.scope!r}, which this credential does not carry "
                f"(it has: {', '.join(caller.scopes) or 'none'}); use a token issued with that scope"
            )
        return None


class Registrar:
    """Registers tools on one server according to its settings and remembers their specs."""

    def __init__(self, mcp: MCPServer[Any], settings: Settings) -> None:
        self.mcp = mcp
        self.settings = settings
        unknown = sorted(set(settings.toolsets or ()) - set(TOOLSETS))
        if unknown:
            raise ValueError(f"SUPPORT_TOOLSETS names unknown toolset(s) {unknown}; use some of: {', '.join(TOOLSETS)}")
        self.toolsets: frozenset[Toolset] = frozenset(
            t for t in TOOLSETS if t == "core" or settings.toolsets is None or t in settings.toolsets
        )
        self.specs: dict[str, ToolSpec] = {}

    def toolsets_for(self, caller: Caller) -> list[Toolset]:
        """The published toolsets in which ``caller`` may use at least one tool."""
        usable = {spec.toolset for spec in self.specs.values() if spec.refusal(caller) is None}
        return [t for t in TOOLSETS if t in usable]

    def publishes(self, toolset: Toolset, read_only: bool) -> bool:
        return toolset in self.toolsets and (read_only or not self.settings.read_only)

    def tool(
        self,
        *,
        toolset: Toolset,
        capability: Capability | None,
        kind: Kind,
        title: str,
        destructive: bool = False,
        idempotent: bool = False,
        open_world: bool = False,
        read_only: bool | None = None,
    ) -> Callable[[F], F]:
        """Declare a tool; ``open_world`` is True when it may reach outside the desk (an external LLM, a URL);
        ``read_only`` (default: ``kind == "read"``) when it changes nothing, whatever its rate-limit class."""
        changes_nothing = kind == "read" if read_only is None else read_only

        def decorate(fn: F) -> F:
            read_only = changes_nothing
            if not self.publishes(toolset, read_only):
                logger.debug("not publishing %s (toolset %s, kind %s)", fn.__name__, toolset, kind)
                return fn
            spec = ToolSpec(
                name=fn.__name__, toolset=toolset, capability=capability, kind=kind, title=title, read_only=read_only
            )
            annotations = ToolAnnotations(
                title=title,
                readOnlyHint=read_only,
                destructiveHint=None if read_only else destructive,
                idempotentHint=True if read_only else idempotent,
                openWorldHint=open_world,
            )
            self.mcp.tool(title=title, annotations=annotations)(tool_errors(fn))
            self.specs[spec.name] = spec
            return fn

        return decorate
