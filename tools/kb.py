"""Knowledge-base articles: create, read, edit with full revision history, restore, delete, search.

Every edit is kept: an article row holds the current content and ``revision`` (its optimistic-lock
version), and ``kb_article_revisions`` holds one row per revision, so any earlier state can be read
or restored. Restoring writes a *new* revision; history is never rewritten. Admins manage the KB;
everyone may read and search it.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Annotated, Any, Literal, cast
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator
from sqlalchemy import ColumnElement, Table, delete, func, select, update
from sqlalchemy import text as sql_text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from store import fulltext
from store.models import KBArticle, KBArticleRevision, TicketKBLink, User
from store.models_knowledge import IndexOutbox
from store.outbox import enqueue
from tools import permissions, search
from tools.actor import Actor
from tools.audit import record_event
from tools.common import Page, decode_cursor, encode_cursor, page_limit, parse_id, truncate
from tools.desk import Desk
from tools.errors import ConflictError, InvalidInputError, NotFoundError, UnavailableError

logger = logging.getLogger(__name__)

MAX_TITLE = 300
MAX_TAGS = 20
MAX_TAG_CHARS = 50
MAX_URL = 2000
MAX_NOTE = 500
SNIPPET_BEFORE = 80
SNIPPET_AFTER = 160

# The table itself, for Core statements that must bypass the ORM's version check.
_ARTICLES = cast(Table, KBArticle.__table__)

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TITLE)]
Body = Annotated[str, StringConstraints(min_length=1)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_NOTE)]


def normalise_tags(tags: Iterable[str] | None) -> list[str]:
    """Tags lower-cased, trimmed, blank ones dropped and duplicates removed (first spelling wins)."""
    seen: dict[str, None] = {}
    for raw in tags or ():
        tag = " ".join(str(raw).split()).lower()
        if not tag:
            continue
        if len(tag) > MAX_TAG_CHARS:
            raise ValueError(f"tag {tag[:20]!r}… is longer than {MAX_TAG_CHARS} characters; shorten it")
        seen.setdefault(tag, None)
    if len(seen) > MAX_TAGS:
        raise ValueError(f"at most {MAX_TAGS} distinct tags are allowed, got {len(seen)}; drop some")
    return list(seen)


def normalise_url(url: str | None) -> str | None:
    """An http(s) URL, or None for none; an empty string clears the URL."""
    if url is None or not url.strip():
        return None
    url = url.strip()
    if len(url) > MAX_URL:
        raise ValueError(f"url is longer than {MAX_URL} characters")
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise ValueError(f"url {url!r} must be an absolute http:// or https:// address")
    return url


class KBArticleCreate(BaseModel):
    """A new article (admins only)."""

    model_config = ConfigDict(extra="forbid")

    title: Title = Field(description=f"Headline, 1-{MAX_TITLE} characters.")
    body: Body = Field(description="The article text (Markdown).")
    url: str | None = Field(default=None, description="Optional http(s) link to the source or a fuller version.")
    tags: list[str] = Field(
        default_factory=list, description=f"Up to {MAX_TAGS} tags; stored lower-case without duplicates."
    )

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return normalise_url(value)

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: list[str]) -> list[str]:
        return normalise_tags(value)


class KBArticleUpdate(BaseModel):
    """A change to an article: only the fields that are set change; ``revision`` is the one the caller read."""

    model_config = ConfigDict(extra="forbid")

    revision: int = Field(ge=1, description="The article's revision as last read; a stale one is a conflict.")
    title: Title | None = None
    body: Body | None = None
    url: str | None = Field(default=None, description="New link; an empty string removes it.")
    tags: list[str] | None = None
    note: Note | None = Field(default=None, description="Why the article changed, kept with the revision.")

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return normalise_url(value)

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else normalise_tags(value)

    @field_validator("title", "body")
    @classmethod
    def _not_null(cls, value: str | None) -> str:
        if value is None:
            raise ValueError("cannot be null; omit the field to keep the current value")
        return value


class KBArticlePublic(BaseModel):
    """An article (or one of its earlier revisions) as callers see it."""

    id: int
    title: str
    body: str
    body_truncated: bool = Field(description="True when the body was cut to keep the output small.")
    url: str | None
    tags: list[str]
    author: str | None = Field(description="Username of whoever wrote this revision.")
    revision: int = Field(description="The revision shown.")
    current_revision: int = Field(description="The latest revision; pass it to kb_article_update or restore.")
    revision_note: str | None = None
    view_count: int
    created_at: datetime
    updated_at: datetime = Field(description="When the revision shown was written.")
    indexed: bool | None = Field(
        default=None,
        description="kb_article_get only: False while the latest change is not yet in the semantic search index.",
    )


class KBRevisionPublic(BaseModel):
    """One entry of an article's history (read its body with kb_article_get and ``revision``)."""

    article_id: int
    revision: int
    title: str
    url: str | None
    tags: list[str]
    body_chars: int
    author: str | None
    note: str | None
    created_at: datetime


class KBSearchHit(BaseModel):
    id: int
    title: str
    snippet: str = Field(description="A short excerpt around the first matching word.")
    score: float = Field(description="Relevance, higher is better; comparable within one search only.")
    url: str | None
    tags: list[str]


class KBArticleSummary(BaseModel):
    """One row of the article list (read the body with kb_article_get)."""

    id: int
    title: str
    tags: list[str]
    url: str | None
    revision: int
    view_count: int
    updated_at: datetime


class KBArticleDeleted(BaseModel):
    id: int
    title: str
    revision: int = Field(description="The last revision, kept in full in the audit log.")
    revisions_deleted: int
    ticket_links_removed: int


# --- helpers ------------------------------------------------------------------------------------------


def parse_article_id(value: int | str) -> int:
    """An article id from an int or a digit string (resource URIs carry strings)."""
    article_id = parse_id(value)
    if article_id is None:
        raise NotFoundError(f"KB article {value!r} does not exist; article ids are numbers, e.g. kb://12")
    return article_id


def _missing(article_id: int) -> NotFoundError:
    return NotFoundError(f"KB article {article_id} does not exist; call kb_article_search to find articles")


async def _require_article(session: AsyncSession, article_id: int, *, lock: bool = False) -> KBArticle:
    stmt = select(KBArticle).where(KBArticle.id == article_id)
    if lock and session.bind.dialect.name == "postgresql":  # type: ignore[union-attr]
        stmt = stmt.with_for_update()
    article = (await session.execute(stmt)).scalar_one_or_none()
    if article is None:
        raise _missing(article_id)
    return article


async def _require_revision(session: AsyncSession, article: KBArticle, revision: int) -> KBArticleRevision:
    """One stored revision of ``article``, or a not-found error naming the range that exists."""
    rev = (
        await session.execute(
            select(KBArticleRevision).where(
                KBArticleRevision.article_id == article.id, KBArticleRevision.revision == revision
            )
        )
    ).scalar_one_or_none()
    if rev is None:
        raise NotFoundError(
            f"KB article {article.id} has no revision {revision}; its revisions run from 1 to "
            f"{article.revision} (kb_article_revisions lists them)"
        )
    return rev


def _check_revision(article: KBArticle, seen: int, verb: str) -> None:
    if seen != article.revision:
        raise ConflictError(
            f"KB article {article.id} is at revision {article.revision}, not {seen}: someone changed it since "
            f"you read it. Re-read it with kb_article_get, then {verb} again with revision={article.revision}"
        )


async def _usernames(session: AsyncSession, ids: Iterable[int]) -> dict[int, str]:
    wanted = set(ids)
    if not wanted:
        return {}
    rows = (await session.execute(select(User.id, User.username).where(User.id.in_(wanted)))).all()
    return {int(r[0]): str(r[1]) for r in rows}


def _public(
    desk: Desk,
    article: KBArticle,
    *,
    view_count: int,
    author: str | None,
    rev: KBArticleRevision | None = None,
) -> KBArticlePublic:
    source: KBArticle | KBArticleRevision = rev if rev is not None else article
    limit = desk.settings.max_text_chars
    return KBArticlePublic(
        id=article.id,
        title=source.title,
        body=truncate(source.body, limit) or "",
        body_truncated=len(source.body) > limit,
        url=source.url,
        tags=list(source.tags or []),
        author=author,
        revision=rev.revision if rev is not None else article.revision,
        current_revision=article.revision,
        revision_note=rev.note if rev is not None else None,
        view_count=view_count,
        created_at=article.created_at,
        updated_at=rev.created_at if rev is not None else article.updated_at,
    )


def _snapshot(article: KBArticle) -> dict[str, Any]:
    """The full content of the current revision, as kept in audit events."""
    return {
        "revision": article.revision,
        "title": article.title,
        "body": article.body,
        "url": article.url,
        "tags": list(article.tags or []),
        "author_id": article.author_id,
        "created_at": article.created_at,
        "updated_at": article.updated_at,
        "view_count": article.view_count,
    }


def _write_revision(session: AsyncSession, actor: Actor, article: KBArticle, note: str | None) -> KBArticleRevision:
    rev = KBArticleRevision(
        article_id=article.id,
        revision=article.revision,
        title=article.title,
        body=article.body,
        url=article.url,
        tags=list(article.tags or []),
        author_id=actor.user_id,
        created_at=article.updated_at,
        note=note or None,
    )
    session.add(rev)
    return rev


async def _flush_edit(session: AsyncSession, article_id: int) -> None:
    """Flush an edit; a concurrent writer that got there first surfaces as a conflict, never an overwrite."""
    try:
        await session.flush()
    except (StaleDataError, IntegrityError) as exc:
        raise ConflictError(
            f"KB article {article_id} was changed by someone else at the same time; "
            "re-read it with kb_article_get and apply your change again"
        ) from exc


# --- tools --------------------------------------------------------------------------------------------


async def kb_article_create(desk: Desk, actor: Actor, data: KBArticleCreate) -> KBArticlePublic:
    """Create an article at revision 1 (admins only)."""
    permissions.require(actor, "kb.write", "creating KB articles (admins manage the KB)")
    now = desk.clock()
    async with desk.sessions.begin() as session:
        article = KBArticle(
            title=data.title,
            body=data.body,
            url=data.url,
            tags=data.tags,
            author_id=actor.user_id,
            created_at=now,
            updated_at=now,
            view_count=0,
            revision=1,
        )
        session.add(article)
        await session.flush()
        _write_revision(session, actor, article, None)
        await session.flush()
        record_event(
            session,
            actor,
            "kb.create",
            "kb_article",
            article.id,
            after={"revision": 1, "title": article.title, "url": article.url, "tags": article.tags},
        )
        logger.info("KB article %s created by %s", article.id, actor.username)
        return _public(desk, article, view_count=0, author=actor.username)


async def kb_article_get(
    desk: Desk, actor: Actor, article_id: int | str, *, revision: int | None = None
) -> KBArticlePublic:
    """An article (anyone may read), or one of its earlier revisions; counts the view."""
    del actor  # every role may read the KB; the parameter keeps the call shape of every tool
    article_id = parse_article_id(article_id)
    table = _ARTICLES
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
            raise _missing(article_id)
        article = await _require_article(session, article_id)
        rev: KBArticleRevision | None = None
        if revision is not None and revision != article.revision:
            rev = await _require_revision(session, article, revision)
            author_id = rev.author_id
        else:
            author_id = (
                await session.execute(
                    select(KBArticleRevision.author_id).where(
                        KBArticleRevision.article_id == article_id, KBArticleRevision.revision == article.revision
                    )
                )
            ).scalar_one_or_none() or article.author_id
        names = await _usernames(session, [author_id])
        public = _public(desk, article, view_count=int(views), author=names.get(author_id), rev=rev)
        public.indexed = await session.get(IndexOutbox, f"kb:{article_id}") is None
        return public


async def kb_article_update(desk: Desk, actor: Actor, article_id: int | str, data: KBArticleUpdate) -> KBArticlePublic:
    """Change an article from the revision the caller read, writing the next revision (admins only)."""
    permissions.require(actor, "kb.write", "editing KB articles (admins manage the KB)")
    article_id = parse_article_id(article_id)
    changes = data.model_dump(exclude_unset=True, exclude={"revision", "note"})
    if not changes:
        raise InvalidInputError("nothing to change: give at least one of title, body, url or tags")
    async with desk.sessions.begin() as session:
        article = await _require_article(session, article_id, lock=True)
        _check_revision(article, data.revision, "update")
        before = {key: getattr(article, key) for key in changes}
        for key, value in changes.items():
            setattr(article, key, value)
        article.revision = data.revision + 1
        article.updated_at = desk.clock()
        _write_revision(session, actor, article, data.note)
        await _flush_edit(session, article_id)
        record_event(
            session,
            actor,
            "kb.update",
            "kb_article",
            article.id,
            before={"revision": data.revision, **before},
            after={"revision": article.revision, **changes, "note": data.note},
        )
        return _public(desk, article, view_count=article.view_count, author=actor.username)


async def kb_article_restore(
    desk: Desk,
    actor: Actor,
    article_id: int | str,
    *,
    revision: int,
    expected_revision: int,
    note: str | None = None,
) -> KBArticlePublic:
    """Make an earlier revision current again by writing it as a new revision (admins only)."""
    permissions.require(actor, "kb.write", "restoring KB articles (admins manage the KB)")
    article_id = parse_article_id(article_id)
    if note is not None and len(note) > MAX_NOTE:
        raise InvalidInputError(f"note is longer than {MAX_NOTE} characters; shorten it")
    async with desk.sessions.begin() as session:
        article = await _require_article(session, article_id, lock=True)
        _check_revision(article, expected_revision, "restore")
        old = await _require_revision(session, article, revision)
        before = _snapshot(article)
        article.title, article.body, article.url, article.tags = old.title, old.body, old.url, list(old.tags or [])
        article.revision = expected_revision + 1
        article.updated_at = desk.clock()
        restored_note = f"restored from revision {revision}" + (f": {note}" if note else "")
        _write_revision(session, actor, article, restored_note[:MAX_NOTE])
        await _flush_edit(session, article_id)
        record_event(
            session,
            actor,
            "kb.restore",
            "kb_article",
            article.id,
            before={"revision": before["revision"], "title": before["title"]},
            after={"revision": article.revision, "restored_from": revision},
        )
        return _public(desk, article, view_count=article.view_count, author=actor.username)


async def kb_article_revisions(
    desk: Desk, actor: Actor, article_id: int | str, *, limit: int | None = None, cursor: str | None = None
) -> Page[KBRevisionPublic]:
    """An article's revisions, newest first, a page at a time (anyone may read)."""
    del actor
    article_id = parse_article_id(article_id)
    size, offset = page_limit(limit), decode_cursor(cursor)
    async with desk.sessions() as session:
        await _require_article(session, article_id)
        where = KBArticleRevision.article_id == article_id
        total = (await session.execute(select(func.count()).where(where))).scalar_one()
        rows = (
            await session.execute(
                select(KBArticleRevision, func.length(KBArticleRevision.body), User.username)
                .outerjoin(User, User.id == KBArticleRevision.author_id)
                .where(where)
                .order_by(KBArticleRevision.revision.desc())
                .offset(offset)
                .limit(size)
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
    nxt = encode_cursor(offset + size) if offset + size < total else None
    return Page[KBRevisionPublic](items=items, total=total, next_cursor=nxt)


async def kb_article_delete(
    desk: Desk, actor: Actor, article_id: int | str, *, revision: int | None = None
) -> KBArticleDeleted:
    """Delete an article with its revisions and ticket links; the audit log keeps its last revision (admins only)."""
    permissions.require(actor, "kb.write", "deleting KB articles (admins manage the KB)")
    article_id = parse_article_id(article_id)
    async with desk.sessions.begin() as session:
        article = await _require_article(session, article_id, lock=True)
        if revision is not None:
            _check_revision(article, revision, "delete")
        snapshot = _snapshot(article)
        revisions = (
            await session.execute(
                select(func.count()).select_from(KBArticleRevision).where(KBArticleRevision.article_id == article_id)
            )
        ).scalar_one()
        linked = (
            (await session.execute(select(TicketKBLink.ticket_id).where(TicketKBLink.article_id == article_id)))
            .scalars()
            .all()
        )
        snapshot["linked_ticket_ids"] = sorted(int(t) for t in linked)
        # The foreign keys cascade, but deleting children first keeps this independent of the
        # backend's cascade settings and lets the ORM's identity map stay truthful.
        await session.execute(delete(TicketKBLink).where(TicketKBLink.article_id == article_id))
        await session.execute(delete(KBArticleRevision).where(KBArticleRevision.article_id == article_id))
        await session.execute(delete(_ARTICLES).where(_ARTICLES.c.id == article_id))
        await enqueue(session, [f"kb:{article_id}"])  # a Core DELETE: the flush hook does not see it
        record_event(session, actor, "kb.delete", "kb_article", article_id, before=snapshot)
        logger.info("KB article %s deleted by %s", article_id, actor.username)
        return KBArticleDeleted(
            id=article_id,
            title=snapshot["title"],
            revision=snapshot["revision"],
            revisions_deleted=int(revisions),
            ticket_links_removed=len(linked),
        )


# --- search -------------------------------------------------------------------------------------------


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
    size, offset = page_limit(limit), decode_cursor(cursor)
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
        rows = (await session.execute(stmt.order_by(*order).offset(offset).limit(size))).scalars().all()
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
    nxt = encode_cursor(offset + size) if offset + size < total else None
    return Page[KBArticleSummary](items=items, total=total, next_cursor=nxt)


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


def kb_article_markdown(article: KBArticlePublic) -> str:
    """The article as a Markdown document (the kb:// resource)."""
    lines = [f"# {article.title}", ""]
    meta = [f"- Article: {article.id}, revision {article.revision} of {article.current_revision}"]
    if article.tags:
        meta.append("- Tags: " + ", ".join(article.tags))
    if article.url:
        meta.append(f"- URL: {article.url}")
    meta.append(f"- Updated: {article.updated_at.isoformat()}" + (f" by {article.author}" if article.author else ""))
    return "\n".join([*lines, *meta, "", article.body, ""])
