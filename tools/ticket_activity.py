"""Work on a ticket besides editing it: comments, resolution steps, the root cause and KB links.

* Comments: anyone who can see the ticket may post a public reply; internal notes are for staff. The first
  public reply from staff (other than the requester) is the first response and stops that clock; it also
  moves a ``new`` ticket to ``open``, since someone is now on it. A public reply from the requester on a
  ``pending`` ticket moves it back to ``open`` (the wait is over, so the SLA clock runs again). End users
  cannot comment on closed tickets: they open a new one.
* Resolution steps, root causes and KB links are staff-only.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from store.models import KBArticle, ResolutionStep, RootCause, TicketComment, TicketKBLink
from tools import metrics, metrics_queue, permissions, sla
from tools.actor import Actor
from tools.audit import record_event
from tools.common import MAX_ID, truncate
from tools.desk import Desk
from tools.errors import ConflictError, ForbiddenError, InvalidInputError, NotFoundError
from tools.ticket_models import (
    MAX_LONG_TEXT,
    CommentPublic,
    LinkedArticle,
    ResolutionStepPublic,
    RootCausePublic,
    TicketPublic,
    TicketRef,
    ticket_public,
)
from tools.tickets import require_ticket, root_cause_public, stale_as_conflict, step_public
from tools.users import require_user

CAUSE_CODE = re.compile(r"^[A-Z]{2,5}-\d{3}$")
MAX_POSITION = 2**31 - 1
"""Positions are a 32-bit column on PostgreSQL."""


class CommentResult(BaseModel):
    """The new comment and the ticket after it (its status, first response and version may have moved)."""

    comment: CommentPublic
    ticket: TicketPublic


class KBLinkResult(BaseModel):
    ticket: str
    article: LinkedArticle
    linked_at: datetime
    already_linked: bool


def _text(value: str, name: str, max_len: int = MAX_LONG_TEXT) -> str:
    value = value.strip()
    if not value:
        raise InvalidInputError(f"{name} is empty; write the text")
    if len(value) > max_len:
        raise InvalidInputError(f"{name} is {len(value)} characters long; the limit is {max_len}, shorten it")
    return value


async def ticket_comment(
    desk: Desk, actor: Actor, ref: TicketRef, *, body: str, internal: bool = False
) -> CommentResult:
    """Post a public reply or (staff only) an internal note on a ticket."""
    body = _text(body, "body")
    if internal and not permissions.is_staff(actor):
        raise ForbiddenError("internal notes are for staff; post a public reply (internal=false)")
    now = desk.clock()
    with stale_as_conflict(ref) as label:
        async with desk.sessions.begin() as session:
            # Locked: a reply decides first response and reopening from the ticket's current state, and a
            # reply posted at the same moment by someone else is not a conflict of this one.
            ticket = await require_ticket(session, actor, ref, lock=True)
            label.text = number = ticket.number
            if ticket.status == "closed" and not permissions.is_staff(actor):
                raise InvalidInputError(f"ticket {number} is closed; create a new ticket with ticket_create")
            comment = TicketComment(
                ticket_id=ticket.id, author_id=actor.user_id, body=body, is_internal=internal, created_at=now
            )
            session.add(comment)
            changes: dict[str, Any] = {}
            by_requester = actor.user_id == ticket.requester_id
            if permissions.is_staff(actor) and not internal and not by_requester:
                if ticket.first_response_at is None:
                    ticket.first_response_at = changes["first_response_at"] = now
                if ticket.status == "new":
                    sla.apply_status(ticket, "open", now)
                    changes["status"] = "open"
                    metrics.add_status_change(session, ticket.id, "new", "open", now, actor.user_id)
            elif by_requester and not internal and ticket.status == "pending":
                sla.apply_status(ticket, "open", now)
                changes["status"] = "open"
                metrics.add_status_change(session, ticket.id, "pending", "open", now, actor.user_id)
            if changes:
                ticket.updated_at = now
            await session.flush()
            await metrics_queue.mark(session, [ticket.id])
            after = {"comment_id": comment.id, "internal": internal, **changes}
            record_event(session, actor, "ticket.comment", "ticket", ticket.id, after=after)
            limit = desk.settings.max_text_chars
            return CommentResult(
                comment=CommentPublic(
                    id=comment.id,
                    author=actor.username,
                    body=truncate(body, limit) or "",
                    is_internal=internal,
                    created_at=now,
                ),
                ticket=ticket_public(ticket, now, limit),
            )


async def ticket_add_resolution_step(
    desk: Desk,
    actor: Actor,
    ref: TicketRef,
    *,
    instructions: str,
    success: bool | None = None,
    position: int | None = None,
    performed_by: str | None = None,
    performed_at: datetime | None = None,
) -> ResolutionStepPublic:
    """Record a step taken to resolve a ticket, appended after the last one unless a free position is given."""
    permissions.require(actor, "tickets.work", "adding resolution steps")
    instructions = _text(instructions, "instructions")
    if position is not None and not 1 <= position <= MAX_POSITION:
        raise InvalidInputError(f"position must be between 1 and {MAX_POSITION}, got {position}; or omit it to append")
    if performed_at is not None and performed_at.tzinfo is None:
        performed_at = performed_at.replace(tzinfo=UTC)  # a time without a zone is taken as UTC
    now = desk.clock()
    async with desk.sessions.begin() as session:
        # Locked: two steps appended at the same moment get consecutive positions instead of a conflict.
        ticket = await require_ticket(session, actor, ref, lock=True)
        last = (
            await session.execute(
                select(func.coalesce(func.max(ResolutionStep.position), 0)).where(ResolutionStep.ticket_id == ticket.id)
            )
        ).scalar_one()
        if position is None:
            position = int(last) + 1
        else:
            taken = (
                await session.execute(
                    select(ResolutionStep.id).where(
                        ResolutionStep.ticket_id == ticket.id, ResolutionStep.position == position
                    )
                )
            ).first()
            if taken:
                raise ConflictError(
                    f"ticket {ticket.number} already has step {position}; use position {int(last) + 1} or omit it"
                )
        performer = await require_user(session, performed_by, "performed_by") if performed_by else None
        step = ResolutionStep(
            ticket_id=ticket.id,
            position=position,
            instructions=instructions,
            success=success,
            performed_by_id=performer.id if performer else actor.user_id,
            performed_at=performed_at or now,
            created_at=now,
        )
        session.add(step)
        try:
            await session.flush()
        except IntegrityError as exc:  # another step took this position at the same moment
            raise ConflictError(
                f"step {position} of ticket {ticket.number} was just added by someone else; retry"
            ) from exc
        after = {"step_id": step.id, "position": position, "success": success}
        record_event(session, actor, "ticket.resolution_step", "ticket", ticket.id, after=after)
        name = performer.username if performer else actor.username
        return step_public(step, ticket.number, name, desk.settings.max_text_chars)


async def ticket_set_root_cause(
    desk: Desk, actor: Actor, ref: TicketRef, *, cause_code: str, description: str
) -> RootCausePublic:
    """Set a ticket's root cause (a code like SW-001 and a description), replacing any earlier one."""
    permissions.require(actor, "tickets.work", "setting root causes")
    code = cause_code.strip().upper()
    if not CAUSE_CODE.match(code):
        raise InvalidInputError(
            f"cause_code {cause_code!r} is not valid; use 2-5 capital letters, a dash and 3 digits, like 'SW-001'"
        )
    description = _text(description, "description")
    now = desk.clock()
    async with desk.sessions.begin() as session:
        ticket = await require_ticket(session, actor, ref)
        cause = (await session.execute(select(RootCause).where(RootCause.ticket_id == ticket.id))).scalar_one_or_none()
        before = None
        if cause is None:
            cause = RootCause(
                ticket_id=ticket.id,
                cause_code=code,
                description=description,
                set_by_id=actor.user_id,
                created_at=now,
                updated_at=now,
            )
            session.add(cause)
        else:
            before = {"cause_code": cause.cause_code, "description": truncate(cause.description, 1000)}
            cause.cause_code, cause.description, cause.set_by_id, cause.updated_at = (
                code,
                description,
                actor.user_id,
                now,
            )
        try:
            await session.flush()
        except IntegrityError as exc:  # two first root causes at once: the unique ticket_id keeps one
            raise ConflictError(f"the root cause of {ticket.number} was just set by someone else; retry") from exc
        after = {"cause_code": code, "description": truncate(description, 1000)}
        record_event(session, actor, "ticket.root_cause", "ticket", ticket.id, before=before, after=after)
        return root_cause_public(cause, ticket.number, actor.username, desk.settings.max_text_chars)


async def ticket_link_kb(
    desk: Desk, actor: Actor, ref: TicketRef, *, article_id: int, note: str | None = None
) -> KBLinkResult:
    """Link a KB article to a ticket; linking it again changes nothing."""
    permissions.require(actor, "tickets.work", "linking KB articles")
    if note is not None:
        note = _text(note, "note", 500)
    now = desk.clock()
    async with desk.sessions.begin() as session:
        ticket = await require_ticket(session, actor, ref)
        article = await session.get(KBArticle, article_id) if 0 <= article_id <= MAX_ID else None
        if article is None:
            raise NotFoundError(f"KB article {article_id!r} does not exist; find one with kb_article_search")
        linked = LinkedArticle(id=article.id, title=article.title, url=article.url)
        existing = await session.get(TicketKBLink, (ticket.id, article.id))
        if existing is not None:
            return KBLinkResult(
                ticket=ticket.number, article=linked, linked_at=existing.created_at, already_linked=True
            )
        session.add(
            TicketKBLink(
                ticket_id=ticket.id, article_id=article.id, linked_by_id=actor.user_id, note=note, created_at=now
            )
        )
        try:
            await session.flush()
        except IntegrityError as exc:
            raise ConflictError(
                f"article {article_id} was being linked to {ticket.number} at the same time; retry"
            ) from exc
        record_event(session, actor, "ticket.link_kb", "ticket", ticket.id, after={"article_id": article.id})
        return KBLinkResult(ticket=ticket.number, article=linked, linked_at=now, already_linked=False)
