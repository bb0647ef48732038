"""The conversation state the graph keeps in its checkpointer, and the reply handed back to callers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, TypedDict

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages

from agent.reply import AgentReply, Citation, Handoff
from agent.semantic import SemanticMatcher

Intent = Literal[
    "question",
    "create_ticket",
    "status",
    "comment",
    "list_tickets",
    "escalate",
    "out_of_scope",
    "unsupported",
    "greeting",
    "thanks",
    "confirm",
    "deny",
    "cancel",
    "farewell",
    "detail",
    "llm",
]

HandoffReason = Literal[
    "customer_asked", "missing_knowledge", "unsupported_request", "policy", "tool_failure", "needs_clarification"
]

__all__ = ["AgentContext", "AgentReply", "AgentState", "Citation", "Handoff", "HandoffReason", "Intent"]


class AgentState(TypedDict, total=False):
    """One conversation; persisted per thread by the checkpointer, so it survives restarts."""

    messages: Annotated[list[AnyMessage], add_messages]
    """The transcript (user and assistant, plus tool messages on the LLM path)."""
    intent: str
    """What the current user turn asks for."""
    intent_source: str
    """Which layer decided the intent: "rules", "semantic" or "default" (nothing matched: a question)."""
    pending: dict[str, Any] | None
    """An open question the agent asked and the next user turn answers: slot filling, a clarification,
    an offer (ticket or escalation) or a destructive action awaiting confirmation."""
    slots: dict[str, Any]
    """The ticket being drafted (subject, description, impact, priority, contact)."""
    last_ticket: str | None
    """The ticket this conversation last created or talked about."""
    last_question: str | None
    """The last question answered from (or missing from) knowledge; becomes a ticket's subject on request."""
    last_answer_title: str | None
    record: dict[str, Any]
    """The running problem record (:mod:`agent.record`): system, symptom, errors, who and since when, what was
    tried, what the agent answered. Survives the turn; a ticket is filled from it."""
    last_comment: dict[str, Any] | None
    """The comment this conversation last added ({ticket, body}), so "that was for TCK-..." can redo it."""
    query: str
    """The retrieval query of this turn."""
    hits: list[dict[str, Any]]
    """Search hits of this turn (cleared once answered)."""
    # --- per turn (reset by the understand node) ----------------------------------------------------
    reply: str
    citations: list[dict[str, Any]]
    confidence: float | None
    actions: list[str]
    handoff: dict[str, Any] | None
    tool_log: list[str]
    """Tools called this turn."""
    steps: int
    """LLM/policy steps taken this turn; capped."""
    prompt_tokens: int
    """The largest model request of this turn, estimated in tokens (LLM path)."""
    prompt_tokens_read: int
    """The prompt tokens the endpoint reported reading this turn, less those it reused from its cache, summed
    over the model steps (LLM path, when the endpoint reports usage)."""


@dataclass
class AgentContext:
    """Per-run context (not persisted): the caller's toolbox and the turn's limits."""

    toolbox: Any
    """An :class:`agent.bridge.McpToolbox` bound to the calling user."""
    actor: str
    max_tool_calls: int = 6
    max_steps: int = 8
    extra: dict[str, Any] = field(default_factory=dict)
    semantic: SemanticMatcher | None = None
    """The embedding layer (intent by exemplars, question-to-hit similarity); None: rules and word coverage only."""
