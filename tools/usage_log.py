"""Cheap usage records the analytics read: one small insert per knowledge search or agent turn.

Both are written after the thing they describe has happened, in their own short transaction, and a
failure to write one is logged, never raised: a search or a conversation must not fail because its
statistics could not be stored.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy import insert
from sqlalchemy.exc import SQLAlchemyError

from store.models_analytics import AgentTurn, SearchLog
from tools.actor import Actor
from tools.desk import Desk
from tools.search_models import SearchHit

logger = logging.getLogger(__name__)

MAX_QUERY = 500


def normalise_query(query: str) -> str:
    """The form queries are counted under: lower case, single spaces."""
    return " ".join(query.lower().split())[:MAX_QUERY]


async def log_search(desk: Desk, actor: Actor | None, query: str, hits: Sequence[SearchHit]) -> None:
    """Record a knowledge search: the query, how many results, and the top one."""
    top = hits[0] if hits else None
    kind = ref = title = None
    if top is not None:
        # doc:<document>:<chunk> counts per document; kb:<id> and ticket:<id> as they are.
        kind, ref, title = top.source, top.ref[:64], top.title[:300] or None
    values = {
        "query": query.strip()[:MAX_QUERY],
        "normalized": normalise_query(query),
        "result_count": len(hits),
        "top_kind": kind,
        "top_ref": ref,
        "top_title": title,
        "actor_id": actor.user_id if actor else None,
        "created_at": desk.clock(),
    }
    try:
        async with desk.sessions.begin() as session:
            await session.execute(insert(SearchLog), values)
    except SQLAlchemyError:
        logger.exception("could not log a knowledge search")


def log_search_later(desk: Desk, actor: Actor | None, query: str, hits: Sequence[SearchHit]) -> None:
    """:func:`log_search` once the search has answered: the caller does not wait for the write (on SQLite it
    queues behind every other write of the desk)."""
    desk.spawn(log_search(desk, actor, query, list(hits)))


async def log_agent_turn(
    desk: Desk,
    *,
    conversation_id: str,
    caller: str,
    intent: str | None,
    answered: bool,
    ticket_created: str | None,
    handoff_reason: str | None,
) -> None:
    """Record one agent turn: what it was about and whether it answered, made a ticket or handed off."""
    values = {
        "conversation_id": conversation_id[:200],
        "caller": caller[:200],
        "intent": (intent or None) and intent[:32],
        "answered": answered,
        "ticket_created": ticket_created[:20] if ticket_created else None,
        "handoff_reason": handoff_reason[:32] if handoff_reason else None,
        "created_at": desk.clock(),
    }
    try:
        async with desk.sessions.begin() as session:
            await session.execute(insert(AgentTurn), values)
    except SQLAlchemyError:
        logger.exception("could not log an agent turn")
