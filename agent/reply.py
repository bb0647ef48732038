"""What a turn of the agent hands back (kept free of LangChain imports so the MCP server loads fast)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Citation(BaseModel):
    """Where an answer came from: a document page or sheet, a KB article or a resolved ticket."""

    source: str = ""
    """documents, kb or tickets."""
    id: str = ""
    title: str = ""
    citation: str = ""
    """The human-readable reference the search returned (title, page or sheet)."""
    score: float | None = None


class Handoff(BaseModel):
    """A conversation handed to a technician."""

    ticket: str
    reason: str
    summary: str


class AgentReply(BaseModel):
    """What one turn of the agent returns to the UI, the CLI and the support_ask tool."""

    reply: str
    conversation_id: str
    citations: list[Citation] = Field(default_factory=list)
    confidence: float | None = None
    """0-1, derived from retrieval; None when the turn did not answer from knowledge."""
    actions: list[str] = Field(default_factory=list)
    """Ticket numbers created, commented on or escalated this turn."""
    handoff: Handoff | None = None
    tool_calls: list[str] = Field(default_factory=list)
    """Names of the MCP tools called this turn, in order (for tests, audits and the UI)."""
    intent: str | None = None
    prompt_tokens: int | None = None
    """The largest request this turn sent to the language model, estimated in tokens (LLM path only)."""
    prompt_tokens_read: int | None = None
    """The prompt tokens the model's endpoint reported reading this turn, less those it had cached (LLM path,
    when the endpoint reports usage)."""
