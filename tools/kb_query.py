"""Reading the knowledge base: one article (or an earlier revision), its history, the list, and search.

Anyone may read and search. Search ranks by hybrid search when the desk has its knowledge services
(:func:`tools.search.ranked_hits`), else by full-text; every word counts and exact codes match.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from typing import Any, Literal

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy import text as sql_text

from store import fulltext
from store.models import KBArticle, KBArticleRevision, User
from store.models_knowledge import IndexOutbox
from tools import search
from tools.actor import Actor
from tools.desk import Desk
from tools.errors import InvalidInputError, UnavailableError
from tools.kb import (
    ARTICLES,
    article_public,
    missing_article,
    parse_article_id,
    require_article,
    require_revision,
    usernames,
)
from tools.kb_models import (
    KBArticlePublic,
    KBArticleSummary,
    KBRevisionPublic,
    KBSearchHit,
    normalise_tags,
)
from tools.pagination import Page, PageRequest, page_limit

logger = logging.getLogger(__name__)

SNIPPET_BEFORE = 80
SNIPPET_AFTER = 160


async def kb_article_get(
    desk: Desk, actor: Actor, article_id: int | str, *, revision: int | None = None
) -> KBArticlePublic:
    """An article (anyone may read), or one of its earlier revisions; counts the view."""
    del actor  # every role may read the KB; the parameter keeps the call shape of every tool
    article_id = parse_article_id(article_id)
    table = ARTICLES
    async with desk.sessions.begin() as session:
        # A Core UPDATE: the ORM would treat the row as edited and check/bump ``revision`` (the lock column);
        # a view is not an edit, and concurrent readers must never conflict with each other.
        views = (
            await session.execute(
                update(table)
                .where(table.c.id == article_id)
                .values(view_count=table.c.view_count + 1)
                .returning(table.c.view_count)
            )
        ).scalar_one_or_none()
        if views is None:
            raise missing_article(article_id)
        article = await require_article(session, article_id)
        rev: KBArticleRevision | None = None
        if revision is not None and revision != article.revision:
            rev = await require_revision(session, article, revision)
            author_id = rev.author_id
        else:
            author_id = (
                await session.execute(
                    select(KBArticleRevision.author_id).where(
                        KBArticleRevision.article_id == article_id, KBArticleRevision.revision == article.revision
                    )
                )
            ).scalar_one_or_none() or article.author_id
        names = await usernames(session, [author_id])
        public = article_public(desk, article, view_count=int(views), author=names.get(author_id), rev=rev)
        public.indexed = await session.get(IndexOutbox, f"kb:{article_id}") is None
        return public


async def kb_article_revisions(
    desk: Desk, actor: Actor, article_id: int | str, *, limit: int | None = None, cursor: str | None = None
) -> Page[KBRevisionPublic]:
    """An article's revisions, newest first, a page at a time (anyone may read)."""
    del actor
    article_id = parse_article_id(article_id)
    window = PageRequest.of(limit, cursor)
    async with desk.sessions() as session:
        await require_article(session, article_id)
        where = KBArticleRevision.article_id == article_id
        total = (await session.execute(select(func.count()).where(where))).scalar_one()
        rows = (
            await session.execute(
                select(KBArticleRevision, func.length(KBArticleRevision.body), User.username)
                .outerjoin(User, User.id == KBArticleRevision.author_id)
                .where(where)
                .order_by(KBArticleRevision.revision.desc())
                .offset(window.offset)
                .limit(window.size)
            )
        ).all()
    items = [
        KBRevisionPublic(
            article_id=rev.article_id,
            revision=rev.revision,
            title=rev.title,
            url=rev.url,
            tags=list(rev.tags or []),
            body_chars=int(chars or 0),
            author=username,
            note=rev.note,
            created_at=rev.created_at,
        )
        for rev, chars, username in rows
    ]
    return window.page(Page[KBRevisionPublic], items, total)


async def kb_article_list(
    desk: Desk,
    actor: Actor,
    *,
    tag: str | None = None,
    sort: Literal["updated_at", "view_count", "title"] = "updated_at",
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[KBArticleSummary]:
    """Articles a page at a time: recently updated first (or most viewed, or by title); open to everyone."""
    window = PageRequest.of(limit, cursor)
    stmt = select(KBArticle)
    if tag:
        try:
            wanted = normalise_tags([tag])
        except ValueError as exc:
            raise InvalidInputError(str(exc)) from exc
        params: dict[str, object] = {}
        clause = _tags_clause(desk.dialect, wanted, params).replace("t.tags", "kb_articles.tags")
        stmt = stmt.where(sql_text(clause).bindparams(**params))
    orders: dict[str, tuple[ColumnElement[Any], ...]] = {
        "updated_at": (KBArticle.updated_at.desc(), KBArticle.id.desc()),
        "view_count": (KBArticle.view_count.desc(), KBArticle.id.desc()),
        "title": (KBArticle.title.asc(), KBArticle.id.asc()),
    }
    order = orders[sort]
    async with desk.sessions() as session:
        total = (await session.execute(select(func.count()).select_from(stmt.subquery()))).scalar_one()
        rows = (await session.execute(stmt.order_by(*order).offset(window.offset).limit(window.size))).scalars().all()
    items = [
        KBArticleSummary(
            id=a.id,
            title=a.title,
            tags=list(a.tags or []),
            url=a.url,
            revision=a.revision,
            view_count=a.view_count,
            updated_at=a.updated_at,
        )
        for a in rows
    ]
    return window.page(Page[KBArticleSummary], items, total)


def _tags_clause(dialect: str, tags: Sequence[str], params: dict[str, object]) -> str:
    """SQL (on alias ``t``) requiring every one of ``tags``; values travel as bind parameters."""
    if dialect == "postgresql":
        params["kb_tags"] = json.dumps(list(tags))
        return "CAST(t.tags AS jsonb) @> CAST(:kb_tags AS jsonb)"
    names = []
    for i, tag in enumerate(tags):
        params[f"kb_tag{i}"] = tag
        names.append(f":kb_tag{i}")
    return f"(SELECT count(DISTINCT value) FROM json_each(t.tags) WHERE value IN ({', '.join(names)})) = {len(tags)}"


def snippet(text: str, query: str, *, before: int = SNIPPET_BEFORE, after: int = SNIPPET_AFTER) -> str:
    """A short, single-line excerpt of ``text`` around the first word of ``query`` it contains."""
    flat = " ".join(text.split())
    words = fulltext.terms(query)
    best: int | None = None
    for word in words:
        # Whole words first, then a stem-ish prefix, since the index stems ("printing" finds "printer").
        for pattern in (rf"(?<!\w){re.escape(word)}(?!\w)", rf"(?<!\w){re.escape(word[: max(4, len(word) - 3)])}"):
            match = re.search(pattern, flat, re.IGNORECASE)
            if match and (best is None or match.start() < best):
                best = match.start()
                break
    start = 0 if best is None else max(0, best - before)
    end = min(len(flat), start + before + after)
    if start > 0:
        # Do not start mid-word.
        space = flat.find(" ", start)
        start = space + 1 if 0 <= space < (best if best is not None else start) else start
    excerpt = flat[start:end]
    return ("…" if start > 0 else "") + excerpt + ("…" if end < len(flat) else "")


async def kb_article_search(
    desk: Desk, actor: Actor, query: str, *, tags: Sequence[str] | None = None, limit: int | None = None
) -> list[KBSearchHit]:
    """Articles matching ``query`` (every word counts; exact codes like 0x80070005 match), best first.

    Ranked by hybrid search (:func:`tools.search.ranked_hits`) when the desk has its knowledge services;
    otherwise, or while the vector side is unavailable, by the database's full-text index (BM25 on SQLite,
    ``ts_rank_cd`` on PostgreSQL).
    """
    size = page_limit(limit)
    if not fulltext.terms(query):
        raise InvalidInputError(f"query {query!r} has no words to search for; give a few keywords")
    try:
        wanted_tags = normalise_tags(tags)
    except ValueError as exc:
        raise InvalidInputError(str(exc)) from exc
    async with desk.sessions() as session:
        ranked: list[tuple[int, float, str | None]] | None = None
        if desk.knowledge is not None:
            try:
                # Over-fetch so the tag filter below still leaves a full page.
                hits = await search.ranked_hits(desk, actor, query, k=size * 3 if wanted_tags else size, sources=["kb"])
                ranked = [(h.ref_id, h.score, h.text) for h in hits if h.source == "kb"]
            except UnavailableError as exc:
                # The vector side (model, index) can be missing; the articles are still findable by their words.
                logger.warning("hybrid KB search unavailable, using full-text only: %s", exc)
        if ranked is None:
            params: dict[str, object] = {}
            where = _tags_clause(desk.dialect, wanted_tags, params) if wanted_tags else ""
            found = await fulltext.search(session, fulltext.KB_ARTICLES, query, limit=size, where=where, params=params)
            ranked = [(i, s, None) for i, s in found]
        ids = [i for i, _, _ in ranked]
        rows = {a.id: a for a in (await session.execute(select(KBArticle).where(KBArticle.id.in_(ids)))).scalars()}
    out: list[KBSearchHit] = []
    for article_id, score, text in ranked:
        article = rows.get(article_id)
        if article is None or any(t not in (article.tags or []) for t in wanted_tags):
            continue
        if any(h.id == article_id for h in out):
            continue  # hybrid search may return several chunks of one article; keep the best
        out.append(
            KBSearchHit(
                id=article.id,
                title=article.title,
                snippet=snippet(text or article.body, query),
                score=score,
                url=article.url,
                tags=list(article.tags or []),
            )
        )
        if len(out) >= size:
            break
    return out
