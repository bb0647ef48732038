"""Knowledge and support-agent analytics, in SQL over ``search_log``, ``agent_turns`` and the KB tables.

Both are desk-wide numbers: managers and admins only (a technician's "own numbers" are tickets).
Definitions are in docs/analytics.md; the short ones travel with each result.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field

from tools import permissions
from tools.actor import Actor
from tools.analytics import period, rows, share
from tools.desk import Desk
from tools.errors import ForbiddenError, InvalidInputError
from tools.metrics import Bucket, Dialect

AGENT_DEFINITIONS = {
    "conversations": "agent conversations whose first turn is in the bucket",
    "turns": "user messages in those conversations",
    "answered": "conversations with at least one answer citing knowledge",
    "tickets_created": "conversations in which the agent created a ticket",
    "handoffs": "conversations handed to a human (ticket_escalate)",
    "confirmed_resolutions": "no ticket, no handoff, and the user thanked or confirmed after an answer",
    "assumed_resolutions": "no ticket, no handoff, not confirmed, and the same user did not start another "
    "conversation within 24 h of the last turn (decided only 24 h after it)",
    "undecided": "conversations less than 24 h old with neither a ticket, a handoff nor a confirmation",
    "resolution_rate": "(confirmed + assumed) / conversations",
}
KNOWLEDGE_DEFINITIONS = {
    "searches": "knowledge_search calls in the period",
    "zero_result_searches": "searches that returned nothing",
    "zero_result_queries": "their queries (lower case, spaces collapsed), most frequent first",
    "most_cited": "documents, articles and tickets that were a search's top result, most often first",
    "article_views": "KB articles by views (all time: views are a counter on the article)",
    "articles_linked": "KB articles linked to tickets in the period",
}


def _managers_only(actor: Actor, what: str) -> None:
    if permissions.analytics_scope(actor) != "all":
        raise ForbiddenError(
            f"{what} are desk-wide numbers for managers and admins; {actor.username!r} is a technician"
        )


class AgentBucket(BaseModel):
    bucket: str | None
    conversations: int
    turns: int
    answered: int
    tickets_created: int
    handoffs: int
    confirmed_resolutions: int
    assumed_resolutions: int
    undecided: int
    resolution_rate: float | None = Field(description="(confirmed + assumed) / conversations, 0..1.")


class CountRow(BaseModel):
    key: str
    count: int


class AgentAnalytics(BaseModel):
    start: datetime
    end: datetime
    bucket: Bucket
    rows: list[AgentBucket]
    handoffs_by_reason: list[CountRow]
    definitions: dict[str, str]


async def analytics_agent(
    desk: Desk,
    actor: Actor,
    *,
    start: datetime | date | None = None,
    end: datetime | date | None = None,
    bucket: Bucket = "none",
) -> AgentAnalytics:
    """The support agent's conversations, resolutions, tickets and handoffs per bucket."""
    _managers_only(actor, "agent analytics")
    begin, stop = period(desk, start, end)
    d = Dialect(desk.dialect)
    now = desk.clock()
    conv = (
        "SELECT conversation_id, MIN(caller) AS caller, MIN(created_at) AS started, "
        f"MIN({d.epoch('created_at')}) AS started_s, MAX({d.epoch('created_at')}) AS last_s, COUNT(*) AS turns, "
        "MAX(CASE WHEN answered THEN 1 ELSE 0 END) AS answered, "
        "MAX(CASE WHEN ticket_created IS NOT NULL THEN 1 ELSE 0 END) AS ticket, "
        "MAX(CASE WHEN handoff_reason IS NOT NULL THEN 1 ELSE 0 END) AS handoff, "
        "MAX(CASE WHEN intent IN ('thanks', 'confirm') THEN 1 ELSE 0 END) AS thanked "
        "FROM agent_turns GROUP BY conversation_id"
    )
    came_back = (
        "EXISTS (SELECT 1 FROM conv c2 WHERE c2.caller = c.caller AND c2.conversation_id <> c.conversation_id "
        "AND c2.started_s > c.last_s AND c2.started_s <= c.last_s + 86400)"
    )
    plain = "c.ticket = 0 AND c.handoff = 0"
    confirmed = f"{plain} AND c.thanked = 1 AND c.answered = 1"
    sql = (
        f"WITH conv AS ({conv}) SELECT {d.bucket('c.started', bucket)} AS bk, COUNT(*) AS conversations, "
        "SUM(c.turns) AS turns, SUM(c.answered) AS answered, SUM(c.ticket) AS tickets, SUM(c.handoff) AS handoffs, "
        f"SUM(CASE WHEN {confirmed} THEN 1 ELSE 0 END) AS confirmed, "
        f"SUM(CASE WHEN {plain} AND NOT ({confirmed}) AND c.last_s + 86400 <= :now_s AND NOT {came_back} "
        "THEN 1 ELSE 0 END) AS assumed, "
        f"SUM(CASE WHEN {plain} AND NOT ({confirmed}) AND c.last_s + 86400 > :now_s THEN 1 ELSE 0 END) AS undecided "
        "FROM conv c WHERE c.started >= :start AND c.started < :end GROUP BY 1 ORDER BY 1"
    )
    reasons = (
        "SELECT handoff_reason AS k, COUNT(DISTINCT conversation_id) AS n FROM agent_turns "
        "WHERE handoff_reason IS NOT NULL AND created_at >= :start AND created_at < :end "
        "GROUP BY handoff_reason ORDER BY n DESC, handoff_reason"
    )
    params: dict[str, Any] = {"start": begin, "end": stop, "now_s": int(now.timestamp())}
    async with desk.sessions() as session:
        result = await rows(session, sql, params)
        by_reason = await rows(session, reasons, params)
    out = []
    for r in result:
        conversations = int(r["conversations"])
        confirmed_n, assumed_n = int(r["confirmed"] or 0), int(r["assumed"] or 0)
        out.append(
            AgentBucket(
                bucket=None if bucket == "none" else str(r["bk"]),
                conversations=conversations,
                turns=int(r["turns"] or 0),
                answered=int(r["answered"] or 0),
                tickets_created=int(r["tickets"] or 0),
                handoffs=int(r["handoffs"] or 0),
                confirmed_resolutions=confirmed_n,
                assumed_resolutions=assumed_n,
                undecided=int(r["undecided"] or 0),
                resolution_rate=share(confirmed_n + assumed_n, conversations),
            )
        )
    return AgentAnalytics(
        start=begin,
        end=stop,
        bucket=bucket,
        rows=out,
        handoffs_by_reason=[CountRow(key=str(r["k"]), count=int(r["n"])) for r in by_reason],
        definitions=AGENT_DEFINITIONS,
    )


class CitedRow(BaseModel):
    kind: str | None = Field(description="document, kb or ticket.")
    ref: str
    title: str | None
    count: int


class ArticleViews(BaseModel):
    article_id: int
    title: str
    views: int


class KnowledgeAnalytics(BaseModel):
    start: datetime
    end: datetime
    searches: int
    zero_result_searches: int
    zero_result_rate: float | None
    zero_result_queries: list[CountRow]
    most_cited: list[CitedRow]
    article_views: list[ArticleViews]
    articles_linked: list[CountRow]
    definitions: dict[str, str]


async def analytics_knowledge(
    desk: Desk,
    actor: Actor,
    *,
    start: datetime | date | None = None,
    end: datetime | date | None = None,
    limit: int = 20,
) -> KnowledgeAnalytics:
    """Searches, zero-result queries (the gaps to write articles for), most-cited sources and article views."""
    _managers_only(actor, "knowledge analytics")
    if not 1 <= limit <= 500:
        raise InvalidInputError(f"limit must be between 1 and 500, got {limit}")
    begin, stop = period(desk, start, end)
    params: dict[str, Any] = {"start": begin, "end": stop}
    when = "created_at >= :start AND created_at < :end"
    async with desk.sessions() as session:
        [totals] = await rows(
            session,
            "SELECT COUNT(*) AS n, SUM(CASE WHEN result_count = 0 THEN 1 ELSE 0 END) AS z "
            f"FROM search_log WHERE {when}",
            params,
        )
        zero = await rows(
            session,
            f"SELECT normalized AS k, COUNT(*) AS n FROM search_log WHERE {when} AND result_count = 0 "
            f"GROUP BY normalized ORDER BY n DESC, normalized LIMIT {limit}",
            params,
        )
        cited = await rows(
            session,
            f"SELECT top_kind AS kind, top_ref AS ref, MAX(top_title) AS title, COUNT(*) AS n FROM search_log "
            f"WHERE {when} AND top_ref IS NOT NULL GROUP BY top_kind, top_ref ORDER BY n DESC, top_ref LIMIT {limit}",
            params,
        )
        views = await rows(
            session,
            "SELECT id, title, view_count FROM kb_articles WHERE view_count > 0 "
            f"ORDER BY view_count DESC, id LIMIT {limit}",
            {},
        )
        linked = await rows(
            session,
            "SELECT a.title AS k, COUNT(*) AS n FROM ticket_kb_links l JOIN kb_articles a ON a.id = l.article_id "
            "WHERE l.created_at >= :start AND l.created_at < :end GROUP BY a.id, a.title ORDER BY n DESC, a.id "
            f"LIMIT {limit}",
            params,
        )
    searches, zeros = int(totals["n"] or 0), int(totals["z"] or 0)
    return KnowledgeAnalytics(
        start=begin,
        end=stop,
        searches=searches,
        zero_result_searches=zeros,
        zero_result_rate=share(zeros, searches),
        zero_result_queries=[CountRow(key=str(r["k"]), count=int(r["n"])) for r in zero],
        most_cited=[CitedRow(kind=r["kind"], ref=str(r["ref"]), title=r["title"], count=int(r["n"])) for r in cited],
        article_views=[
            ArticleViews(article_id=int(r["id"]), title=str(r["title"]), views=int(r["view_count"])) for r in views
        ],
        articles_linked=[CountRow(key=str(r["k"]), count=int(r["n"])) for r in linked],
        definitions=KNOWLEDGE_DEFINITIONS,
    )
