"""Knowledge-base articles: create, edit with full revision history, restore, delete (admins only).

Every edit is kept: an article row holds the current content and ``revision`` (its optimistic-lock
version), and ``kb_article_revisions`` holds one row per revision, so any earlier state can be read
or restored. Restoring writes a *new* revision; history is never rewritten. Admins manage the KB;
everyone may read and search it (:mod:`tools.kb_query`). The models are in :mod:`tools.kb_models`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any, cast

from sqlalchemy import Table, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from store.models import KBArticle, KBArticleRevision, TicketKBLink, User
from store.outbox import enqueue
from tools import permissions
from tools.actor import Actor
from tools.audit import record_event
from tools.common import parse_id, truncate
from tools.desk import Desk
from tools.errors import ConflictError, InvalidInputError, NotFoundError
from tools.kb_models import (
    MAX_NOTE,
    KBArticleCreate,
    KBArticleDeleted,
    KBArticlePublic,
    KBArticleUpdate,
)

logger = logging.getLogger(__name__)

ARTICLES = cast(Table, KBArticle.__table__)
"""The table itself, for Core statements that must bypass the ORM's version check."""


# --- helpers (shared with tools.kb_query) -------------------------------------------------------------


def parse_article_id(value: int | str) -> int:
    """An article id from an int or a digit string (resource URIs carry strings)."""
    article_id = parse_id(value)
    if article_id is None:
        raise NotFoundError(f"KB article {value!r} does not exist; article ids are numbers, e.g. kb://12")
    return article_id


def missing_article(article_id: int) -> NotFoundError:
    return NotFoundError(f"KB article {article_id} does not exist; call kb_article_search to find articles")


async def require_article(session: AsyncSession, article_id: int, *, lock: bool = False) -> KBArticle:
    stmt = select(KBArticle).where(KBArticle.id == article_id)
    if lock and session.bind.dialect.name == "postgresql":  # type: ignore[union-attr]
        stmt = stmt.with_for_update()
    article = (await session.execute(stmt)).scalar_one_or_none()
    if article is None:
        raise missing_article(article_id)
    return article


async def require_revision(session: AsyncSession, article: KBArticle, revision: int) -> KBArticleRevision:
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


async def usernames(session: AsyncSession, ids: Iterable[int]) -> dict[int, str]:
    wanted = set(ids)
    if not wanted:
        return {}
    rows = (await session.execute(select(User.id, User.username).where(User.id.in_(wanted)))).all()
    return {int(r[0]): str(r[1]) for r in rows}


def article_public(
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


# --- commands -----------------------------------------------------------------------------------------


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
        return article_public(desk, article, view_count=0, author=actor.username)


async def kb_article_update(desk: Desk, actor: Actor, article_id: int | str, data: KBArticleUpdate) -> KBArticlePublic:
    """Change an article from the revision the caller read, writing the next revision (admins only)."""
    permissions.require(actor, "kb.write", "editing KB articles (admins manage the KB)")
    article_id = parse_article_id(article_id)
    changes = data.model_dump(exclude_unset=True, exclude={"revision", "note"})
    if not changes:
        raise InvalidInputError("nothing to change: give at least one of title, body, url or tags")
    async with desk.sessions.begin() as session:
        article = await require_article(session, article_id, lock=True)
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
        return article_public(desk, article, view_count=article.view_count, author=actor.username)


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
        article = await require_article(session, article_id, lock=True)
        _check_revision(article, expected_revision, "restore")
        old = await require_revision(session, article, revision)
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
        return article_public(desk, article, view_count=article.view_count, author=actor.username)


async def kb_article_delete(
    desk: Desk, actor: Actor, article_id: int | str, *, revision: int | None = None
) -> KBArticleDeleted:
    """Delete an article with its revisions and ticket links; the audit log keeps its last revision (admins only)."""
    permissions.require(actor, "kb.write", "deleting KB articles (admins manage the KB)")
    article_id = parse_article_id(article_id)
    async with desk.sessions.begin() as session:
        article = await require_article(session, article_id, lock=True)
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
        await session.execute(delete(ARTICLES).where(ARTICLES.c.id == article_id))
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
