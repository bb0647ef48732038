"""Suggestions for a problem: similar tickets (resolved ones first) and KB articles, with scores.

:func:`suggest` ranks by hybrid search (:func:`tools.search.ranked_hits`, whose hits are
:class:`~tools.search_models.SearchHit`) when the desk has its knowledge services; without them, or while
the vector side is unavailable (:class:`~tools.errors.UnavailableError`), full-text search in the database
(:mod:`store.fulltext`) does the work.

Hits are always re-read here and filtered by the desk's visibility rules (end users see KB articles and
their own tickets only), so a search backend can never leak a ticket.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from store import fulltext
from store.models import KBArticle, ResolutionStep, RootCause, Ticket
from tools import permissions, search
from tools.actor import Actor
from tools.common import truncate
from tools.desk import Desk
from tools.errors import InvalidInputError, UnavailableError
from tools.search_models import SearchHit
from tools.ticket_models import TicketRef
from tools.tickets import require_ticket

logger = logging.getLogger(__name__)

MAX_K = 20
CANDIDATES_PER_RESULT = 4
RESOLVED_BOOST = 1.5
"""Resolved and closed tickets carry a known fix, so they rank above open look-alikes."""
SNIPPET_CHARS = 300


class TicketSuggestion(BaseModel):
    id: int
    number: str
    subject: str
    status: str
    score: float
    root_cause: str | None = Field(default=None, description="Cause code and description, when known.")
    resolution: str | None = Field(default=None, description="The last successful resolution step, when any.")


class ArticleSuggestion(BaseModel):
    id: int
    title: str
    url: str | None
    score: float
    snippet: str


class Suggestions(BaseModel):
    """Similar tickets and KB articles, best first."""

    tickets: list[TicketSuggestion]
    articles: list[ArticleSuggestion]
    engine: Literal["fulltext", "hybrid"]


async def ticket_suggest(
    desk: Desk, actor: Actor, *, subject: str, description: str = "", k: int = 5, exclude: TicketRef | None = None
) -> Suggestions:
    """Suggestions for a ticket-to-be (or an existing one, passed as ``exclude`` so it does not suggest itself)."""
    exclude_id = None
    if exclude is not None:
        async with desk.sessions() as session:
            exclude_id = (await require_ticket(session, actor, exclude)).id
    return await suggest(desk, actor, f"{subject}\n{description}".strip(), k, exclude_ticket_id=exclude_id)


async def suggest(desk: Desk, actor: Actor, text: str, k: int, *, exclude_ticket_id: int | None = None) -> Suggestions:
    """Up to ``k`` similar tickets and ``k`` KB articles for ``text``, visible to ``actor``."""
    if not 1 <= k <= MAX_K:
        raise InvalidInputError(f"k must be between 1 and {MAX_K}, got {k}")
    if not text.strip():
        raise InvalidInputError("nothing to search for: give a subject or a description")
    wanted = k * CANDIDATES_PER_RESULT
    ticket_scores: dict[int, float] = {}
    article_scores: dict[int, float] = {}
    engine: Literal["fulltext", "hybrid"] = "fulltext"
    if desk.knowledge is not None:
        try:
            hits = await search.ranked_hits(desk, actor, text, k=wanted, sources=["tickets", "kb"])
            ticket_scores, article_scores = _split(hits)
            engine = "hybrid"
        except UnavailableError as exc:
            logger.warning("hybrid search unavailable, using full-text: %s", exc)
    async with desk.sessions() as session:
        if engine == "fulltext":
            ticket_scores, article_scores = await _fulltext(session, actor, text, wanted, exclude_ticket_id)
        else:
            # Hybrid search finds resolved tickets only (the vector index holds what fixed a problem); a ticket
            # still open on the same problem is found by its words, so a likely duplicate is suggested either way.
            by_words, _ = await _fulltext(session, actor, text, wanted, exclude_ticket_id)
            ticket_scores = _best_of(ticket_scores, by_words)
        tickets = await _tickets(session, actor, ticket_scores, k, exclude_ticket_id)
        articles = await _articles(session, article_scores, k)
    return Suggestions(tickets=tickets, articles=articles, engine=engine)


def _split(hits: Iterable[SearchHit]) -> tuple[dict[int, float], dict[int, float]]:
    """Best score per ticket and per KB article (documents are not suggested)."""
    tickets: dict[int, float] = {}
    articles: dict[int, float] = {}
    for hit in hits:
        if hit.source == "ticket":
            tickets.setdefault(hit.ref_id, hit.score)
        elif hit.source == "kb":
            articles.setdefault(hit.ref_id, hit.score)
    return tickets, articles


def _best_of(*lists: dict[int, float]) -> dict[int, float]:
    """Each list scaled by its best score (their scales differ), then the better score of each id."""
    merged: dict[int, float] = {}
    for scores in lists:
        top = max(scores.values(), default=0.0) or 1.0
        for key, score in scores.items():
            merged[key] = max(merged.get(key, 0.0), score / top)
    return merged


async def _fulltext(
    session: AsyncSession, actor: Actor, text: str, limit: int, exclude_id: int | None
) -> tuple[dict[int, float], dict[int, float]]:
    where: list[str] = []
    params: dict[str, object] = {}
    if exclude_id is not None:
        where.append("t.id <> :exclude")
        params["exclude"] = exclude_id
    tickets = await fulltext.search(
        session,
        fulltext.TICKETS,
        text,
        limit=limit,
        where=" AND ".join(where),
        params=params,
        restrict=permissions.visible_ticket_ids(actor),
    )
    articles = await fulltext.search(session, fulltext.KB_ARTICLES, text, limit=limit)
    return dict(tickets), dict(articles)


async def _tickets(
    session: AsyncSession, actor: Actor, scores: dict[int, float], k: int, exclude_id: int | None
) -> list[TicketSuggestion]:
    if not scores:
        return []
    stmt = select(Ticket.id, Ticket.number, Ticket.subject, Ticket.status).where(
        Ticket.id.in_(list(scores)), permissions.visible_tickets(actor)
    )
    if exclude_id is not None:
        stmt = stmt.where(Ticket.id != exclude_id)
    rows = (await session.execute(stmt)).all()
    ranked = sorted(
        ((scores[r.id] * (RESOLVED_BOOST if r.status in ("resolved", "closed") else 1.0), r.id, r) for r in rows),
        key=lambda item: (-item[0], -item[1]),
    )[:k]
    ids = [r.id for _, _, r in ranked]
    causes = {
        c.ticket_id: f"{c.cause_code}: {truncate(c.description, SNIPPET_CHARS)}"
        for c in (await session.execute(select(RootCause).where(RootCause.ticket_id.in_(ids)))).scalars()
    }
    fixes: dict[int, str] = {}
    steps = await session.execute(
        select(ResolutionStep.ticket_id, ResolutionStep.instructions)
        .where(ResolutionStep.ticket_id.in_(ids), ResolutionStep.success.is_(True))
        .order_by(ResolutionStep.position)
    )
    for ticket_id, instructions in steps:
        fixes[ticket_id] = truncate(instructions, SNIPPET_CHARS) or ""  # the last successful step wins
    return [
        TicketSuggestion(
            id=r.id,
            number=r.number,
            subject=r.subject,
            status=r.status,
            score=round(score, 6),
            root_cause=causes.get(r.id),
            resolution=fixes.get(r.id),
        )
        for score, _, r in ranked
    ]


async def _articles(session: AsyncSession, scores: dict[int, float], k: int) -> list[ArticleSuggestion]:
    if not scores:
        return []
    best = sorted(scores, key=lambda i: (-scores[i], -i))[:k]
    stmt = select(KBArticle.id, KBArticle.title, KBArticle.url, func.substr(KBArticle.body, 1, SNIPPET_CHARS + 1))
    rows = {r[0]: r for r in (await session.execute(stmt.where(KBArticle.id.in_(best)))).all()}
    return [
        ArticleSuggestion(
            id=i,
            title=rows[i][1],
            url=rows[i][2],
            score=round(scores[i], 6),
            snippet=_snippet(rows[i][3] or ""),
        )
        for i in best
        if i in rows
    ]


def _snippet(text: str) -> str:
    # Only SNIPPET_CHARS + 1 characters were read, so the marker cannot say how much was left out.
    return text if len(text) <= SNIPPET_CHARS else text[:SNIPPET_CHARS] + "…"
