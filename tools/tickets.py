"""Tickets: create, read, list, update and escalate, always as the calling actor.

Who may do what (the rules live here, once, for MCP, UI and agent alike):

* anyone may create a ticket; staff may create one on behalf of another user, end users only for themselves;
* end users see only their own tickets: any other ticket is reported as not found, so its existence never leaks;
* end users may edit the descriptive fields (``END_USER_FIELDS``) of their own tickets while they are not
  resolved or closed; status, priority, assignee, category and tags are staff decisions;
* an assignee must be an active technician, manager or admin;
* every change is an audit event holding the before and after of the fields that changed.

Updates are optimistic: the caller passes the version it read, a mismatch is a :class:`ConflictError`, and
the ORM's version column makes two commits from the same version conflict even when they race.

Listing lives in :mod:`tools.ticket_query`; comments, resolution steps, root causes and KB links in
:mod:`tools.ticket_activity`; suggestions in :mod:`tools.suggest`; SLA and status rules in :mod:`tools.sla`.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from store.models import Category, KBArticle, ResolutionStep, RootCause, Ticket, TicketComment, TicketKBLink, User
from tools import metrics, metrics_queue, permissions, sla
from tools.actor import Actor
from tools.audit import record_event
from tools.common import parse_id, truncate
from tools.desk import Desk
from tools.errors import ConflictError, ForbiddenError, InvalidInputError, NotFoundError
from tools.ticket_models import (
    CommentPublic,
    HandoffReason,
    LinkedArticle,
    ResolutionStepPublic,
    RootCausePublic,
    TicketCreate,
    TicketDetail,
    TicketPage,
    TicketPublic,
    TicketRef,
    TicketUpdate,
    format_number,
    ticket_public,
)
from tools.users import actor_of, require_user

logger = logging.getLogger(__name__)

__all__ = [
    "TicketCreate",
    "TicketDetail",
    "TicketPage",
    "TicketPublic",
    "TicketUpdate",
    "ticket_create",
    "ticket_escalate",
    "ticket_get",
    "ticket_update",
]

END_USER_FIELDS = frozenset(
    {
        "subject",
        "description",
        "contact_phone",
        "contact_email",
        "preferred_contact",
        "affected_system",
        "business_impact",
        "steps_taken",
        "error_message",
    }
)
NOT_NULL_FIELDS = frozenset({"subject", "description", "status", "priority", "tags"})
RECENT_COMMENTS = 50

_NUMBER = re.compile(r"^TCK-(\d{1,12})$", re.IGNORECASE)
LOAD = (joinedload(Ticket.requester), joinedload(Ticket.assignee), joinedload(Ticket.category))


# --- finding things -----------------------------------------------------------------------------------


def _not_found(ref: object) -> NotFoundError:
    return NotFoundError(
        f"ticket {ref!r} does not exist or is not visible to you; pass a number like 'TCK-000042' or a numeric id "
        "(ticket_list shows the tickets you can see)"
    )


async def find_ticket(
    session: AsyncSession, ref: TicketRef, *, actor: Actor | None = None, lock: bool = False
) -> Ticket | None:
    """A ticket by id or number (any case, with or without leading zeros), with its people and category.

    With ``actor``, only a ticket that actor may see (:func:`tools.permissions.visible_tickets`). With
    ``lock``, the ticket's row is locked until the transaction ends (``FOR NO KEY UPDATE`` on PostgreSQL;
    SQLite's writers are serialised already), for a change decided from the ticket's current state.
    """
    stmt = select(Ticket).options(*LOAD)
    if lock:
        stmt = stmt.with_for_update(of=Ticket, key_share=True)
    if actor is not None:
        stmt = stmt.where(permissions.visible_tickets(actor))
    text = str(ref).strip()
    if isinstance(ref, int) or text.isdigit():
        if (ticket_id := parse_id(ref)) is None:
            return None
        stmt = stmt.where(Ticket.id == ticket_id)
    elif match := _NUMBER.match(text):
        stmt = stmt.where(Ticket.number == format_number(int(match.group(1))))
    else:
        return None
    return (await session.execute(stmt)).unique().scalar_one_or_none()


async def require_ticket(session: AsyncSession, actor: Actor, ref: TicketRef, *, lock: bool = False) -> Ticket:
    """The ticket, if the actor may see it; otherwise the same not-found error whether it exists or not."""
    ticket = await find_ticket(session, ref, actor=actor, lock=lock)
    if ticket is None:
        raise _not_found(ref)
    return ticket


async def resolve_category(session: AsyncSession, ref: TicketRef) -> Category:
    text = str(ref).strip()
    if isinstance(ref, int) or text.isdigit():
        category_id = parse_id(ref)
        category = await session.get(Category, category_id) if category_id is not None else None
    else:
        stmt = select(Category).where(func.lower(Category.name) == text.lower())
        category = (await session.execute(stmt)).scalar_one_or_none()
    if category is None:
        names = (await session.execute(select(Category.name).order_by(Category.name))).scalars().all()
        known = ", ".join(repr(n) for n in names) or "none defined yet"
        raise NotFoundError(f"category {ref!r} does not exist; use one of: {known} (see category_list)")
    return category


async def resolve_assignee(session: AsyncSession, ref: TicketRef) -> User:
    user = await require_user(session, ref, "assignee")
    if not user.is_active or not permissions.is_staff(actor_of(user)):
        raise InvalidInputError(
            f"assignee {user.username!r} is {'inactive' if not user.is_active else 'an end user'}; "
            "assign an active technician, manager or admin (user_list role=technician)"
        )
    return user


@dataclass
class Label:
    """How to name the ticket in an error: the caller's reference until the ticket is loaded."""

    text: str


@contextmanager
def stale_as_conflict(ref: TicketRef, sent: int | None = None) -> Iterator[Label]:
    """Turn a lost optimistic-lock race (another commit from the same version won) into a ConflictError."""
    label = Label(str(ref))
    try:
        yield label
    except StaleDataError as exc:
        sent_text = f" (you sent version {sent})" if sent is not None else ""
        raise ConflictError(
            f"ticket {label.text} was changed by someone else at the same time{sent_text}; "
            "read it again with ticket_get and reapply your change"
        ) from exc


# --- create -----------------------------------------------------------------------------------------------


async def ticket_create(desk: Desk, actor: Actor, data: TicketCreate) -> TicketPublic:
    """Open a ticket: number assigned, SLA due times computed from the priority, status ``new``."""
    now = desk.clock()
    async with desk.sessions.begin() as session:
        if data.requester is None:
            requester = await require_user(session, actor.user_id, "requester")
        else:
            requester = await require_user(session, data.requester, "requester")
            if requester.id != actor.user_id and not permissions.is_staff(actor):
                raise ForbiddenError(
                    f"{actor.username!r} (role 'end_user') may create tickets only for themselves; omit requester"
                )
        category = await resolve_category(session, data.category) if data.category is not None else None
        assignee = None
        if data.assignee is not None:
            permissions.require(actor, "tickets.work", "assigning tickets")
            assignee = await resolve_assignee(session, data.assignee)
        fields = data.model_dump(exclude={"requester", "assignee", "category"})
        # The number derives from the id, which exists only after the insert: a unique placeholder first.
        ticket = Ticket(
            **fields,
            number=f"tmp-{uuid.uuid4().hex[:16]}",
            requester=requester,
            assignee=assignee,
            category=category,
            status="new",
            created_at=now,
            updated_at=now,
            paused_seconds=0.0,
        )
        sla.set_due_times(desk.settings, ticket)
        session.add(ticket)
        await session.flush()
        number = format_number(ticket.id)
        # A Core update, so the placeholder swap does not count as a version of the ticket.
        table = Ticket.__table__
        await session.execute(update(table).where(table.c.id == ticket.id).values(number=number))  # type: ignore[arg-type]
        set_committed_value(ticket, "number", number)
        metrics.add_status_change(session, ticket.id, None, "new", now, actor.user_id)
        await session.flush()
        await metrics_queue.mark(session, [ticket.id])
        public = ticket_public(ticket, now, desk.settings.max_text_chars)
        record_event(session, actor, "ticket.create", "ticket", ticket.id, after=public.model_dump(exclude=_DERIVED))
    logger.info("ticket %s created by %s", number, actor.username)
    return public


_DERIVED = {"sla_breached", "first_response_breached", "sla_remaining_seconds"}


# --- read ------------------------------------------------------------------------------------------------


async def ticket_get(desk: Desk, actor: Actor, ref: TicketRef) -> TicketDetail:
    """A ticket with its comments (internal notes only for staff), steps, root cause and KB links."""
    async with desk.sessions() as session:
        ticket = await require_ticket(session, actor, ref)
        return await load_detail(session, desk, actor, ticket)


async def load_detail(session: AsyncSession, desk: Desk, actor: Actor, ticket: Ticket) -> TicketDetail:
    limit = desk.settings.max_text_chars
    visible = [TicketComment.ticket_id == ticket.id, permissions.visible_comments(actor)]
    # The window counts every visible comment before LIMIT keeps the latest: the total in the same round trip.
    rows = (
        await session.execute(
            select(TicketComment, User.username, func.count().over())
            .join(User, User.id == TicketComment.author_id)
            .where(*visible)
            .order_by(TicketComment.created_at.desc(), TicketComment.id.desc())
            .limit(RECENT_COMMENTS)
        )
    ).all()
    total = rows[0][2] if rows else 0
    comments = [
        CommentPublic(
            id=c.id, author=name, body=truncate(c.body, limit) or "", is_internal=c.is_internal, created_at=c.created_at
        )
        for c, name, _ in reversed(rows)
    ]
    step_rows = (
        await session.execute(
            select(ResolutionStep, User.username)
            .outerjoin(User, User.id == ResolutionStep.performed_by_id)
            .where(ResolutionStep.ticket_id == ticket.id)
            .order_by(ResolutionStep.position)
        )
    ).all()
    steps = [step_public(s, ticket.number, name, limit) for s, name in step_rows]
    cause_row = (
        await session.execute(
            select(RootCause, User.username)
            .join(User, User.id == RootCause.set_by_id)
            .where(RootCause.ticket_id == ticket.id)
        )
    ).first()
    cause = root_cause_public(cause_row[0], ticket.number, cause_row[1], limit) if cause_row else None
    articles = (
        await session.execute(
            select(KBArticle.id, KBArticle.title, KBArticle.url)
            .join(TicketKBLink, TicketKBLink.article_id == KBArticle.id)
            .where(TicketKBLink.ticket_id == ticket.id)
            .order_by(TicketKBLink.created_at, KBArticle.id)
        )
    ).all()
    return TicketDetail(
        ticket=ticket_public(ticket, desk.clock(), limit),
        comments=comments,
        comments_total=total,
        resolution_steps=steps,
        root_cause=cause,
        kb_articles=[LinkedArticle(id=a.id, title=a.title, url=a.url) for a in articles],
    )


def step_public(step: ResolutionStep, number: str, performed_by: str | None, limit: int) -> ResolutionStepPublic:
    return ResolutionStepPublic(
        id=step.id,
        ticket=number,
        position=step.position,
        instructions=truncate(step.instructions, limit) or "",
        success=step.success,
        performed_by=performed_by,
        performed_at=step.performed_at,
    )


def root_cause_public(cause: RootCause, number: str, set_by: str, limit: int) -> RootCausePublic:
    return RootCausePublic(
        ticket=number,
        cause_code=cause.cause_code,
        description=truncate(cause.description, limit) or "",
        set_by=set_by,
        updated_at=cause.updated_at,
    )


# --- update ----------------------------------------------------------------------------------------------


async def ticket_update(desk: Desk, actor: Actor, ref: TicketRef, data: TicketUpdate) -> TicketPublic:
    """Apply the fields the caller set, if the ticket is still at the version the caller read."""
    changes = data.model_dump(exclude_unset=True, exclude={"version"})
    if not changes:
        raise InvalidInputError("nothing to change: pass at least one field besides version")
    now = desk.clock()
    with stale_as_conflict(ref, data.version) as label:
        async with desk.sessions.begin() as session:
            ticket = await require_ticket(session, actor, ref)
            label.text = number = ticket.number
            _check_may_edit(actor, ticket, set(changes))
            if ticket.version != data.version:
                raise ConflictError(
                    f"ticket {number} is at version {ticket.version}, you sent {data.version}; "
                    "read it again with ticket_get and reapply your change"
                )
            before, after = await _apply(session, desk, ticket, changes, now)
            if after:
                ticket.updated_at = now
                before["version"], after["version"] = ticket.version, ticket.version + 1
                if "status" in after:
                    metrics.add_status_change(session, ticket.id, before["status"], after["status"], now, actor.user_id)
                await session.flush()
                await metrics_queue.mark(session, [ticket.id])
                record_event(session, actor, "ticket.update", "ticket", ticket.id, before=before, after=after)
            return ticket_public(ticket, now, desk.settings.max_text_chars)


def _check_may_edit(actor: Actor, ticket: Ticket, fields: set[str]) -> None:
    if permissions.is_staff(actor):
        return
    staff_only = sorted(fields - END_USER_FIELDS)
    if staff_only:
        raise ForbiddenError(
            f"changing {', '.join(staff_only)} is not allowed for {actor.username!r} (role 'end_user'); "
            "a technician decides that. Ask in a comment with ticket_comment"
        )
    if ticket.status in sla.DONE_STATUSES:
        raise InvalidInputError(
            f"ticket {ticket.number} is {ticket.status}; it can no longer be edited. Comment on it, or create a "
            "new ticket"
        )


async def _apply(
    session: AsyncSession, desk: Desk, ticket: Ticket, changes: dict[str, Any], now: datetime
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Set the changed fields on ``ticket``; returns before/after of what actually changed."""
    with session.no_autoflush:  # look-ups must not flush half-applied changes: one flush, one version
        return await _apply_unflushed(session, desk, ticket, changes, now)


async def _apply_unflushed(
    session: AsyncSession, desk: Desk, ticket: Ticket, changes: dict[str, Any], now: datetime
) -> tuple[dict[str, Any], dict[str, Any]]:
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    due = (ticket.sla_due_at, ticket.first_response_due_at)

    def record(field: str, old: Any, new: Any) -> bool:
        if old == new:
            return False
        before[field], after[field] = old, new
        return True

    for field, value in changes.items():
        if value is None and field in NOT_NULL_FIELDS:
            raise InvalidInputError(f"{field} cannot be empty; leave it out to keep the current value")
        if field == "assignee":
            clear = value is None or str(value).lower() == "unassigned"
            user = None if clear else await resolve_assignee(session, value)
            old_name = ticket.assignee.username if ticket.assignee else None
            if record(field, old_name, user.username if user else None):
                ticket.assignee = user
        elif field == "category":
            clear = value is None or str(value).lower() == "none"
            category = None if clear else await resolve_category(session, value)
            old_name = ticket.category.name if ticket.category else None
            if record(field, old_name, category.name if category else None):
                ticket.category = category
        elif field == "status":
            if value != ticket.status:
                sla.check_transition(ticket.number, ticket.status, value)
                record(field, ticket.status, value)
                sla.apply_status(ticket, value, now)
        elif field == "priority":
            if record(field, ticket.priority, value):
                ticket.priority = value
                sla.set_due_times(desk.settings, ticket)
        elif record(field, getattr(ticket, field), value):
            setattr(ticket, field, value)
    record("sla_due_at", due[0], ticket.sla_due_at)
    record("first_response_due_at", due[1], ticket.first_response_due_at)
    return before, after


async def ticket_escalate(
    desk: Desk, actor: Actor, ref: TicketRef, reason: HandoffReason, summary: str
) -> TicketPublic:
    """Hand a ticket to a human: record when, why and a summary of what happened so far.

    End users (and the agent acting for them) may escalate their own tickets; staff any ticket. Closed
    tickets cannot be escalated. The latest escalation wins; each one is an audit event.
    """
    summary = summary.strip()
    if not summary:
        raise InvalidInputError("summary is empty; say what the requester needs and what was tried")
    now = desk.clock()
    with stale_as_conflict(ref) as label:
        async with desk.sessions.begin() as session:
            # Locked: the caller sends no version, so a reply landing at the same moment is not a conflict.
            ticket = await require_ticket(session, actor, ref, lock=True)
            label.text = number = ticket.number
            if ticket.status == "closed":
                raise InvalidInputError(
                    f"ticket {number} is closed; reopen it (ticket_update status='open') or create a new ticket"
                )
            before = {"escalated_at": ticket.escalated_at, "handoff_reason": ticket.handoff_reason}
            ticket.escalated_at = now
            ticket.handoff_reason = reason
            ticket.handoff_summary = summary
            ticket.updated_at = now
            await session.flush()
            after = {"escalated_at": now, "handoff_reason": reason, "handoff_summary": truncate(summary, 1000)}
            record_event(session, actor, "ticket.escalate", "ticket", ticket.id, before=before, after=after)
            return ticket_public(ticket, now, desk.settings.max_text_chars)
