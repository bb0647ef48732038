"""SupportAgent: the one entry point the UI, the CLI and the support_ask tool use.

It owns the long-lived pieces of a conversation (the compiled graph, the checkpointer in the desk's
database, and one MCP client per caller) and runs one graph turn per :meth:`SupportAgent.ask`.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import uuid
from collections.abc import Callable
from contextlib import AsyncExitStack
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage
from langgraph.errors import GraphRecursionError
from mcp import Client

from agent.bridge import ClientHolder, McpToolbox, http_client
from agent.graph import build_graph
from agent.llm import make_chat_model
from agent.llm_nodes import CAP_REPLY
from agent.memory import open_checkpointer
from agent.semantic import SemanticMatcher
from agent.state import AgentContext, AgentReply, Citation, Handoff
from store.config import Settings
from store.embedder import Embedder, create_embedder
from tools.desk import Desk

logger = logging.getLogger(__name__)

MAX_MESSAGE_CHARS = 4000
DESK_UNAVAILABLE_REPLY = (
    "Sorry, I can't reach the support desk right now, so I can't look anything up or open a ticket. "
    "Please try again in a moment."
)
"""The reply when the MCP connection to the desk cannot be opened (a remote desk down or unreachable)."""


class SupportAgent:
    """The support agent for one desk; reusable across conversations, callers and tasks.

    Use as ``async with SupportAgent(settings) as agent: reply = await agent.ask("...")``. ``model`` is
    a LangChain chat model (tests pass a scripted one), None for the offline policy, or "auto" to follow
    the settings; ``embedder`` is the offline policy's embedding layer (a fake in tests, None for rules only,
    "auto" for :func:`store.embedder.create_embedder`). ``desk`` shares an already-open desk with the
    in-memory MCP server.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        desk: Desk | None = None,
        model: BaseChatModel | Literal["auto"] | None = "auto",
        max_tool_calls: int = 6,
        max_steps: int = 8,
        recursion_limit: int | None = None,
        client_factory: Callable[[str | None, str | None], Client] | None = None,
        embedder: Embedder | Literal["auto"] | None = "auto",
    ) -> None:
        self.settings = settings
        self.desk = desk
        self.model = make_chat_model(settings) if model == "auto" else model
        self.max_tool_calls = max_tool_calls
        self.max_steps = max_steps
        self.recursion_limit = recursion_limit or 2 * max_steps + 12
        """LangGraph's hard stop on node runs per turn: a backstop behind the step and tool-call caps."""
        self.client_factory = client_factory
        """Builds the MCP client for (actor, token); default: in-memory desk server or the remote URL."""
        self.embedder = create_embedder(settings) if embedder == "auto" else embedder
        """The offline policy's embedding layer (tests pass a fake); None: rules and word coverage only.
        The model is loaded on first use, in a worker thread."""
        self.semantic = SemanticMatcher(self.embedder) if self.embedder is not None else None
        self._stack = AsyncExitStack()
        self._graph: Any = None
        self._holders: dict[str, ClientHolder] = {}
        self._toolboxes: dict[str, McpToolbox] = {}
        self._open_lock = asyncio.Lock()
        self._thread_locks: dict[str, asyncio.Lock] = {}

    async def __aenter__(self) -> SupportAgent:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def start(self) -> None:
        """Open the checkpointer and compile the graph (the desk is reached through ``client_factory`` or a URL)."""
        async with self._open_lock:
            if self._graph is not None:
                return
            checkpointer = await self._stack.enter_async_context(open_checkpointer(self.settings))
            self._graph = build_graph(self.model, checkpointer)

    async def aclose(self) -> None:
        for holder in self._holders.values():
            await holder.aclose()
        self._holders.clear()
        self._toolboxes.clear()
        await self._stack.aclose()
        self._graph = None

    async def toolbox(self, actor: str | None = None, token: str | None = None) -> McpToolbox:
        """The MCP tools as ``actor`` (in-memory server) or as the owner of ``token`` (remote desk)."""
        key = self._caller_key(actor, token)
        async with self._open_lock:
            if key in self._toolboxes:
                if self._holders[key].alive:
                    return self._toolboxes[key]
                # The client died (a remote desk restarted, the connection dropped): reconnect, do not keep
                # answering every turn with tool failures until the process restarts.
                logger.warning("MCP client for %s stopped; reconnecting", key)
                await self._holders.pop(key).aclose()
                del self._toolboxes[key]
            if self.client_factory is not None:
                holder = ClientHolder(self.client_factory(actor, token))
            elif self.settings.agent_mcp_url:
                client, http = http_client(self.settings.agent_mcp_url, token)
                holder = ClientHolder(client, http)
            else:
                raise RuntimeError(
                    "SupportAgent needs a desk to talk to: pass client_factory (server.app.in_memory_client_factory "
                    "builds in-memory clients for an open desk) or set SUPPORT_AGENT_MCP_URL"
                )
            toolbox = await holder.start()
            self._holders[key] = holder
            self._toolboxes[key] = toolbox
            return toolbox

    def _caller_key(self, actor: str | None, token: str | None) -> str:
        if token:
            return "token:" + hashlib.sha256(token.encode()).hexdigest()[:16]
        return actor or self.settings.actor

    async def ask(
        self, message: str, conversation_id: str | None = None, actor: str | None = None, token: str | None = None
    ) -> AgentReply:
        """Run one turn of the conversation and return the reply; a new conversation id when none is given."""
        await self.start()
        conversation_id = conversation_id or uuid.uuid4().hex
        caller = self._caller_key(actor, token)
        try:
            toolbox = await self.toolbox(actor, token)
        except Exception as exc:
            # Connecting to the desk failed (an ExceptionGroup from the transport, a timeout, a refused
            # connection): a polite answer, not a crash of the CLI or the UI; the next turn tries again.
            logger.warning("cannot reach the desk over MCP: %s: %s", type(exc).__name__, exc)
            return AgentReply(reply=DESK_UNAVAILABLE_REPLY, conversation_id=conversation_id, intent="unavailable")
        # Conversations are namespaced by caller: knowing another user's id does not expose their chat.
        thread = f"{caller}:{conversation_id}"
        config: dict[str, Any] = {
            "configurable": {"thread_id": thread},
            "recursion_limit": self.recursion_limit,
        }
        context = AgentContext(
            toolbox=toolbox,
            actor=actor or self.settings.actor,
            max_tool_calls=self.max_tool_calls,
            max_steps=self.max_steps,
            extra={"llm": self.model is not None, "settings": self.settings},
            semantic=self.semantic,
        )
        text = message.strip()[:MAX_MESSAGE_CHARS]
        lock = self._thread_locks.setdefault(thread, asyncio.Lock())
        async with lock:
            try:
                state = await self._graph.ainvoke({"messages": [HumanMessage(content=text)]}, config, context=context)
            except GraphRecursionError:
                logger.warning("conversation %s hit the step limit", thread)
                return AgentReply(reply=CAP_REPLY, conversation_id=conversation_id, intent="cap")
        reply = _reply(state, conversation_id)
        if self.desk is not None:  # a remote desk keeps its own statistics
            from tools.usage_log import log_agent_turn

            created = "ticket_create" in reply.tool_calls and reply.actions
            await log_agent_turn(
                self.desk,
                conversation_id=thread,
                caller=caller,
                intent=reply.intent,
                answered=bool(reply.citations),
                ticket_created=reply.actions[0] if created else None,
                handoff_reason=reply.handoff.reason if reply.handoff else None,
            )
        return reply


def _reply(state: dict[str, Any], conversation_id: str) -> AgentReply:
    handoff = state.get("handoff")
    reply = state.get("reply") or ""
    if not reply:
        last = (state.get("messages") or [None])[-1]
        reply = str(getattr(last, "content", "")) if last is not None else ""
    return AgentReply(
        reply=reply,
        conversation_id=conversation_id,
        citations=[Citation(**c) for c in state.get("citations") or []],
        confidence=state.get("confidence"),
        actions=list(dict.fromkeys(state.get("actions") or [])),
        handoff=Handoff(**handoff) if handoff else None,
        tool_calls=list(state.get("tool_log") or []),
        intent=state.get("intent"),
        prompt_tokens=state.get("prompt_tokens") or None,
        prompt_tokens_read=state.get("prompt_tokens_read") or None,
    )
