"""Pydantic models for tickets, one per role (create, update, public, page, detail), kept apart from the ORM."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints, field_validator

from store.models import Ticket
from tools import sla
from tools.common import truncate
from tools.pagination import Page
from tools.sla import Priority, Status

ContactMethod = Literal["email", "phone", "chat"]
Channel = Literal["mcp", "chat", "voice", "ui", "email"]
HandoffReason = Literal[
    "customer_asked", "missing_knowledge", "unsupported_request", "policy", "tool_failure", "needs_clarification"
]
TicketRef = int | str
"""A ticket id (42) or number ('TCK-000042')."""

MAX_LONG_TEXT = 20_000
MAX_TAGS = 20
LIST_TEXT_CHARS = 300
"""Long fields of tickets in lists are cut shorter than in a single ticket: a page must stay small."""

Subject = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_LONG_TEXT)]
OptionalText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_LONG_TEXT)]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, max_length=40)]
SystemName = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]

_TAG = re.compile(r"^[a-z0-9][a-z0-9._+#-]{0,49}$")


def normalise_tags(tags: list[str]) -> list[str]:
    """Lower-case, spaces to dashes, duplicates dropped (first kept); each tag checked against the pattern."""
    seen: dict[str, None] = {}
    for raw in tags:
        tag = "-".join(raw.strip().lower().split())
        if not _TAG.match(tag):
            raise ValueError(
                f"tag {raw!r} is not valid; use 1-50 letters, digits, '.', '_', '+', '#' or '-', starting with a "
                "letter or digit"
            )
        seen.setdefault(tag, None)
    if len(seen) > MAX_TAGS:
        raise ValueError(f"at most {MAX_TAGS} tags, got {len(seen)}")
    return list(seen)


class _TagsMixin(BaseModel):
    @field_validator("tags", check_fields=False)
    @classmethod
    def _tags(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else normalise_tags(value)


class TicketCreate(_TagsMixin):
    """A new ticket. The requester defaults to the caller; only staff may name someone else."""

    model_config = ConfigDict(extra="forbid")

    subject: Subject
    description: LongText
    priority: Priority = "medium"
    category: TicketRef | None = Field(default=None, description="Category name or id.")
    requester: TicketRef | None = Field(default=None, description="Username or id; default: the caller.")
    assignee: TicketRef | None = Field(default=None, description="Staff username or id (staff only).")
    contact_phone: Phone | None = None
    contact_email: EmailStr | None = None
    preferred_contact: ContactMethod | None = None
    affected_system: SystemName | None = None
    business_impact: OptionalText | None = None
    steps_taken: OptionalText | None = None
    error_message: OptionalText | None = None
    tags: list[str] = Field(default_factory=list)
    channel: Channel = "mcp"


class TicketUpdate(_TagsMixin):
    """A partial change, applied with ``exclude_unset``; ``version`` is the one the caller last read."""

    model_config = ConfigDict(extra="forbid")

    version: int = Field(ge=1, description="The ticket's version as you last read it.")
    subject: Subject | None = None
    description: LongText | None = None
    status: Status | None = None
    priority: Priority | None = None
    assignee: TicketRef | None = Field(default=None, description="Staff username or id; None or 'unassigned' clears.")
    category: TicketRef | None = Field(default=None, description="Category name or id; None or 'none' clears.")
    contact_phone: Phone | None = None
    contact_email: EmailStr | None = None
    preferred_contact: ContactMethod | None = None
    affected_system: SystemName | None = None
    business_impact: OptionalText | None = None
    steps_taken: OptionalText | None = None
    error_message: OptionalText | None = None
    tags: list[str] | None = None


class TicketPublic(BaseModel):
    """A ticket as callers see it, with the SLA flags derived at read time."""

    id: int
    number: str
    subject: str
    description: str
    status: Status
    priority: Priority
    requester: str
    assignee: str | None
    category: str | None
    tags: list[str]
    channel: str
    contact_phone: str | None
    contact_email: str | None
    preferred_contact: str | None
    affected_system: str | None
    business_impact: str | None
    steps_taken: str | None
    error_message: str | None
    created_at: datetime
    updated_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    sla_due_at: datetime
    first_response_due_at: datetime
    paused_at: datetime | None = Field(description="Set while pending: the SLA clock is stopped.")
    paused_seconds: float
    escalated_at: datetime | None
    handoff_reason: HandoffReason | None
    handoff_summary: str | None
    version: int = Field(description="Pass this back to ticket_update.")
    sla_breached: bool
    first_response_breached: bool
    sla_remaining_seconds: float = Field(
        description="Seconds to the resolution target; negative when overdue; frozen while pending or resolved."
    )


class TicketPage(Page[TicketPublic]):
    """One page of tickets, the total that match, and the cursor for the next page."""


class CommentPublic(BaseModel):
    id: int
    author: str
    body: str
    is_internal: bool = Field(description="An internal note, hidden from the requester.")
    created_at: datetime


class ResolutionStepPublic(BaseModel):
    id: int
    ticket: str
    position: int
    instructions: str
    success: bool | None = Field(description="True worked, False did not, None not tried yet.")
    performed_by: str | None
    performed_at: datetime | None


class RootCausePublic(BaseModel):
    ticket: str
    cause_code: str
    description: str
    set_by: str
    updated_at: datetime


class LinkedArticle(BaseModel):
    id: int
    title: str
    url: str | None


class TicketDetail(BaseModel):
    """A ticket with its conversation, resolution work, root cause and linked KB articles."""

    ticket: TicketPublic
    comments: list[CommentPublic] = Field(description="The most recent comments, oldest first.")
    comments_total: int
    resolution_steps: list[ResolutionStepPublic]
    root_cause: RootCausePublic | None
    kb_articles: list[LinkedArticle]


def format_number(ticket_id: int) -> str:
    return f"TCK-{ticket_id:06d}"


def ticket_public(ticket: Ticket, now: datetime, text_limit: int) -> TicketPublic:
    """Shape a loaded ticket (requester, assignee and category loaded) for output."""

    def cut(value: str | None) -> str | None:
        return truncate(value, text_limit)

    return TicketPublic(
        id=ticket.id,
        number=ticket.number,
        subject=ticket.subject,
        description=cut(ticket.description) or "",
        status=ticket.status,  # type: ignore[arg-type]
        priority=ticket.priority,  # type: ignore[arg-type]
        requester=ticket.requester.username,
        assignee=ticket.assignee.username if ticket.assignee else None,
        category=ticket.category.name if ticket.category else None,
        tags=list(ticket.tags or []),
        channel=ticket.channel,
        contact_phone=ticket.contact_phone,
        contact_email=ticket.contact_email,
        preferred_contact=ticket.preferred_contact,
        affected_system=ticket.affected_system,
        business_impact=cut(ticket.business_impact),
        steps_taken=cut(ticket.steps_taken),
        error_message=cut(ticket.error_message),
        created_at=ticket.created_at,
        updated_at=ticket.updated_at,
        first_response_at=ticket.first_response_at,
        resolved_at=ticket.resolved_at,
        closed_at=ticket.closed_at,
        sla_due_at=ticket.sla_due_at,
        first_response_due_at=ticket.first_response_due_at,
        paused_at=ticket.paused_at,
        paused_seconds=ticket.paused_seconds or 0.0,
        escalated_at=ticket.escalated_at,
        handoff_reason=ticket.handoff_reason,  # type: ignore[arg-type]
        handoff_summary=cut(ticket.handoff_summary),
        version=ticket.version,
        sla_breached=sla.sla_breached(ticket, now),
        first_response_breached=sla.first_response_breached(ticket, now),
        sla_remaining_seconds=sla.sla_remaining_seconds(ticket, now),
    )
