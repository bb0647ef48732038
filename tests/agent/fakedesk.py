"""A tiny MCP server with the desk's tool contract, for graph tests that need no database."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import BaseModel, Field

from tools.search_models import KnowledgeSearchResult, SearchHit

SLA = {"critical": 4, "high": 8, "medium": 24, "low": 72}
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class Ticket(BaseModel):
    id: int
    number: str
    subject: str
    description: str
    status: str = "new"
    priority: str
    requester: str
    assignee: str | None = None
    contact_email: str | None = None
    contact_phone: str | None = None
    preferred_contact: str | None = None
    business_impact: str | None = None
    error_message: str | None = None
    steps_taken: str | None = None
    channel: str = "mcp"
    sla_due_at: datetime
    sla_breached: bool = False
    handoff_reason: str | None = None
    handoff_summary: str | None = None


class Detail(BaseModel):
    ticket: Ticket
    comments: list[dict[str, Any]]


class TicketPage(BaseModel):
    items: list[Ticket]
    total: int
    next_cursor: str | None = None


@dataclass
class FakeDesk:
    docs: list[dict[str, Any]] = field(default_factory=list)
    tickets: dict[str, Ticket] = field(default_factory=dict)
    comments: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    deleted: list[int] = field(default_factory=list)
    fail_create: bool = False
    """ticket_create fails as if the database were down."""


def words(text: str) -> set[str]:
    return {w.strip(".,:;!?()'\"").lower() for w in text.split() if len(w) > 2}


def build_fake_server(fake: FakeDesk, actor: str = "alice") -> MCPServer[Any]:
    mcp: MCPServer[Any] = MCPServer("fake-desk")

    @mcp.tool(annotations=ToolAnnotations(readOnlyHint=True))
    async def knowledge_search(
        query: Annotated[str, Field(description="What to look for.")],
        k: Annotated[int, Field(description="How many hits.")] = 5,
        sources: Annotated[list[str] | None, Field(description="documents, kb, tickets.")] = None,
    ) -> KnowledgeSearchResult:
        """Search documents, KB articles and resolved tickets."""
        fake.calls.append(("knowledge_search", {"query": query}))
        q = words(query)
        scored = []
        for doc in fake.docs:
            overlap = len(q & words(doc["title"] + " " + doc["text"]))
            if overlap:
                scored.append((overlap / max(len(q), 1), doc))
        scored.sort(key=lambda s: -s[0])
        hits = [
            SearchHit(
                source=d.get("source", "kb"),
                id=str(d["id"]),
                title=d["title"],
                text=d["text"],
                citation=d.get("citation", d["title"]),
                score=round(s, 3),
            )
            for s, d in scored[:k]
        ]
        # Word overlap: the fake's stand-in for the desk's full-text retriever.
        return KnowledgeSearchResult(query=query, hits=hits, method="fulltext")

    @mcp.tool(annotations=ToolAnnotations(readOnlyHint=False, destructiveHint=False))
    async def ticket_create(
        subject: str,
        description: str,
        priority: str = "medium",
        contact_email: str | None = None,
        contact_phone: str | None = None,
        preferred_contact: str | None = None,
        business_impact: str | None = None,
        error_message: str | None = None,
        steps_taken: str | None = None,
        channel: str = "mcp",
    ) -> Ticket:
        """Open a ticket."""
        fake.calls.append(("ticket_create", {"subject": subject, "priority": priority}))
        if fake.fail_create:
            raise ToolError("the desk is unavailable; try again in a minute")
        if priority not in SLA:
            raise ToolError(f"priority must be one of {sorted(SLA)}")
        n = len(fake.tickets) + 1
        ticket = Ticket(
            id=n,
            number=f"TCK-{n:06d}",
            subject=subject,
            description=description,
            priority=priority,
            requester=actor,
            contact_email=contact_email,
            contact_phone=contact_phone,
            preferred_contact=preferred_contact,
            business_impact=business_impact,
            error_message=error_message,
            steps_taken=steps_taken,
            channel=channel,
            sla_due_at=NOW + timedelta(hours=SLA[priority]),
        )
        fake.tickets[ticket.number] = ticket
        return ticket

    def find(ref: str) -> Ticket:
        ticket = fake.tickets.get(ref.upper())
        if ticket is None:
            raise ToolError(f"no ticket {ref!r}")
        return ticket

    @mcp.tool(annotations=ToolAnnotations(readOnlyHint=True))
    async def ticket_get(ticket: Annotated[str, Field(description="Number or id.")]) -> Detail:
        """Read a ticket."""
        fake.calls.append(("ticket_get", {"ticket": ticket}))
        t = find(ticket)
        return Detail(ticket=t, comments=fake.comments.get(t.number, []))

    @mcp.tool(annotations=ToolAnnotations(readOnlyHint=True))
    async def ticket_list(requester: str | None = None, status: list[str] | None = None, limit: int = 20) -> TicketPage:
        """List tickets."""
        fake.calls.append(("ticket_list", {"requester": requester}))
        who = actor if requester == "me" else requester
        items = [t for t in fake.tickets.values() if who in (None, t.requester)]
        return TicketPage(items=items[:limit], total=len(items))

    @mcp.tool(annotations=ToolAnnotations(readOnlyHint=False, destructiveHint=False))
    async def ticket_comment(ticket: str, body: str, internal: bool = False) -> dict[str, Any]:
        """Comment on a ticket."""
        fake.calls.append(("ticket_comment", {"ticket": ticket, "body": body}))
        t = find(ticket)
        comment = {"author": actor, "body": body, "is_internal": internal}
        fake.comments.setdefault(t.number, []).append(comment)
        return comment

    @mcp.tool(annotations=ToolAnnotations(readOnlyHint=False, destructiveHint=False))
    async def ticket_escalate(ticket: str, reason: str, summary: str) -> Ticket:
        """Hand a ticket to a technician."""
        fake.calls.append(("ticket_escalate", {"ticket": ticket, "reason": reason}))
        t = find(ticket)
        t.handoff_reason, t.handoff_summary = reason, summary
        return t

    @mcp.tool(annotations=ToolAnnotations(readOnlyHint=False, destructiveHint=True))
    async def kb_article_delete(article_id: int) -> dict[str, Any]:
        """Delete a KB article."""
        fake.calls.append(("kb_article_delete", {"article_id": article_id}))
        fake.deleted.append(article_id)
        return {"id": article_id, "deleted": True}

    return mcp
