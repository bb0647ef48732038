"""Listing tickets: filters, sorting and pages, all in SQL (one COUNT and one LIMIT/OFFSET query).

Free text goes through :mod:`store.fulltext` (FTS5 on SQLite, tsvector on PostgreSQL): every word must match
(a filter narrows), results are ranked by relevance, and at most the best ``TEXT_CANDIDATES`` are considered.
When no ticket has all the words, a case-insensitive substring match on subject, description and number is
used instead, so a fragment of a word still finds something; it has no score, so "relevance" then means
newest first.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, String, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from store import fulltext
from store.models import Ticket
from tools import permissions, sla
from tools.actor import Actor
from tools.desk import Desk
from tools.errors import ForbiddenError, InvalidInputError
from tools.pagination import PageRequest
from tools.sla import Priority, Status
from tools.ticket_models import LIST_TEXT_CHARS, TicketPage, TicketRef, ticket_public
from tools.tickets import LOAD, resolve_category
from tools.users import require_user

SortField = Literal["created_at", "updated_at", "priority", "sla_due_at", "relevance"]
TEXT_CANDIDATES = 1000
"""Free text narrows a listing to at most this many best full-text matches."""
MAX_TEXT_CHARS = 1000
MAX_TAG_CHARS = 50


async def ticket_list(
    desk: Desk,
    actor: Actor,
    *,
    status: Status | list[Status] | None = None,
    priority: Priority | list[Priority] | None = None,
    assignee: str | None = None,
    requester: str | None = None,
    category: TicketRef | None = None,
    breached: bool | None = None,
    escalated: bool | None = None,
    text: str | None = None,
    tag: str | None = None,
    sort: SortField | None = None,
    order: Literal["asc", "desc"] | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> TicketPage:
    """Filter, sort and page tickets in SQL: one COUNT and one LIMIT/OFFSET query, never every row.

    ``assignee`` is a username, ``me`` or ``unassigned``; ``breached`` means the resolution or the
    first-response target is (or was) missed; ``text`` is full-text over number, subject, description,
    error message and affected system (falling back to a substring match when no word matches), sorted by
    relevance unless ``sort`` says otherwise; an exact imported ``external_id`` finds that ticket. End users
    only ever see their own tickets.
    """
    window = PageRequest.of(limit, cursor)
    if text is not None:
        # PostgreSQL refuses NUL in a text parameter; no stored number, id or word contains one.
        text = text.replace("\x00", " ")
    # A long text or tag would only build a LIKE pattern SQLite refuses ("pattern too complex").
    if text is not None and len(text) > MAX_TEXT_CHARS:
        raise InvalidInputError(f"text is {len(text)} characters long; search with at most {MAX_TEXT_CHARS}")
    if tag is not None and len(tag) > MAX_TAG_CHARS:
        raise InvalidInputError(f"tag is {len(tag)} characters long; tags have at most {MAX_TAG_CHARS}")
    now = desk.clock()
    conds: list[ColumnElement[bool]] = []
    async with desk.sessions() as session:
        conds.append(permissions.visible_tickets(actor))
        if not permissions.is_staff(actor):
            if requester not in (None, "me", actor.username, str(actor.user_id)):
                raise ForbiddenError("end users can list only their own tickets; omit requester")
        elif requester:
            user_id = actor.user_id if requester == "me" else (await require_user(session, requester, "requester")).id
            conds.append(Ticket.requester_id == user_id)
        if status:
            conds.append(Ticket.status.in_([status] if isinstance(status, str) else status))
        if priority:
            conds.append(Ticket.priority.in_([priority] if isinstance(priority, str) else priority))
        if assignee == "unassigned":
            conds.append(Ticket.assignee_id.is_(None))
        elif assignee == "me":
            conds.append(Ticket.assignee_id == actor.user_id)
        elif assignee:
            conds.append(Ticket.assignee_id == (await require_user(session, assignee, "assignee")).id)
        if category is not None:
            conds.append(Ticket.category_id == (await resolve_category(session, category)).id)
        if breached is not None:
            conds.append(sla.any_breached_sql(now) if breached else ~sla.any_breached_sql(now))
        if escalated is not None:
            conds.append(Ticket.escalated_at.is_not(None) if escalated else Ticket.escalated_at.is_(None))
        if tag:
            escaped = tag.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            conds.append(cast(Ticket.tags, String).like(f'%"{escaped}"%', escape="\\"))

        ranked: list[int] | None = None
        exact = None
        if text and text.strip():
            # An imported ticket the caller may see is found by its id in the old desk, exactly (case as stored).
            exact = (
                await session.execute(
                    select(Ticket.id)
                    .where(Ticket.external_id == text.strip(), permissions.visible_tickets(actor))
                    .limit(1)
                )
            ).scalar_one_or_none()
        if exact is not None:
            conds.append(Ticket.id == exact)
        elif text and text.strip():
            where, params = _all_words(desk.dialect, text)
            hits = await fulltext.search(
                session,
                fulltext.TICKETS,
                text,
                limit=TEXT_CANDIDATES,
                where=where,
                params=params,
                restrict=permissions.visible_ticket_ids(actor),
            )
            if hits:
                ranked = [ticket_id for ticket_id, _ in hits]
                conds.append(Ticket.id.in_(ranked))
            else:
                conds.append(_substring(text))
        elif sort == "relevance":
            raise InvalidInputError("sort='relevance' needs text; pick created_at, updated_at, priority or sla_due_at")

        if ranked is not None and sort in (None, "relevance"):
            return await _page_by_relevance(session, desk, conds, ranked, window, now)
        total = (await session.execute(select(func.count(Ticket.id)).where(*conds))).scalar_one()
        stmt = select(Ticket).options(*LOAD).where(*conds).order_by(*_ordering(sort, order))
        rows = (await session.execute(stmt.offset(window.offset).limit(window.size))).unique().scalars().all()
    items = [ticket_public(t, now, LIST_TEXT_CHARS) for t in rows]
    return window.page(TicketPage, items, total)


def _all_words(dialect: str, text: str) -> tuple[str, dict[str, object]]:
    """A condition on ``t`` requiring every word of ``text``: a filter narrows, unlike ranked search, which ORs."""
    words = fulltext.terms(text)
    index = fulltext.TICKETS
    if dialect == "postgresql":
        return f"{index.pg_document('t.')} @@ plainto_tsquery('english', :all_words)", {"all_words": " ".join(words)}
    query = " AND ".join('"' + w.replace('"', '""') + '"' for w in words)
    fts = index.fts_table
    return f"t.id IN (SELECT rowid FROM {fts} WHERE {fts} MATCH :all_words)", {"all_words": query}


def _substring(text: str) -> ColumnElement[bool]:
    needle = text.replace("\x00", " ").strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = f"%{needle}%"
    return (
        func.lower(Ticket.subject).like(pattern, escape="\\")
        | func.lower(Ticket.description).like(pattern, escape="\\")
        | func.lower(Ticket.number).like(pattern, escape="\\")
        | func.lower(Ticket.external_id).like(pattern, escape="\\")
    )


def _ordering(sort: SortField | None, order: Literal["asc", "desc"] | None) -> list[Any]:
    # "relevance" reaches here only for the substring fallback, which has no score: newest first then.
    sort = "created_at" if sort in (None, "relevance") else sort
    direction = order or ("asc" if sort == "sla_due_at" else "desc")
    key: Any = {
        "created_at": Ticket.created_at,
        "updated_at": Ticket.updated_at,
        "priority": sla.priority_rank_sql(),
        "sla_due_at": Ticket.sla_due_at,
    }[sort]
    if direction == "asc":
        return [key.asc(), Ticket.id.asc()]
    return [key.desc(), Ticket.id.desc()]


async def _page_by_relevance(
    session: AsyncSession,
    desk: Desk,
    conds: list[ColumnElement[bool]],
    ranked: list[int],
    window: PageRequest,
    now: datetime,
) -> TicketPage:
    # Only ids (at most TEXT_CANDIDATES of them) come back to order by score; full rows only for one page.
    passing = set((await session.execute(select(Ticket.id).where(*conds))).scalars().all())
    ordered = [ticket_id for ticket_id in ranked if ticket_id in passing]
    page_ids = ordered[window.offset : window.offset + window.size]
    rows = (
        (await session.execute(select(Ticket).options(*LOAD).where(Ticket.id.in_(page_ids)))).unique().scalars().all()
    )
    by_id = {t.id: t for t in rows}
    items = [ticket_public(by_id[i], now, LIST_TEXT_CHARS) for i in page_ids if i in by_id]
    return window.page(TicketPage, items, len(ordered))
