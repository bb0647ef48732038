"""The index outbox, written in the same transaction as the change it records.

A flush that inserts, edits or deletes a KB article, a ticket's searchable text, its root cause or its
resolution steps also upserts ``index_outbox`` rows (see :class:`store.models_knowledge.IndexOutbox`), so
the change and the note "re-embed this" commit or roll back together. Writes that bypass the ORM (a Core
``DELETE``) call :func:`enqueue` themselves.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from store.models import KBArticle, ResolutionStep, RootCause, Ticket
from store.models_knowledge import IndexOutbox
from store.types import utcnow

RESOLVED_STATUSES = ("resolved", "closed")
"""Tickets in these states are searchable (their text carries a worked solution)."""
TICKET_TEXT = ("number", "subject", "description", "error_message", "status")
"""Ticket fields the indexed text is made of (plus root cause and steps); other edits do not re-embed."""
KB_TEXT = ("title", "body")


def upsert_statement(dialect: str, keys: Iterable[str], now: datetime) -> Any:
    """INSERT the keys, or bump the version of rows already queued (a lease in progress is kept)."""
    rows = [{"item_key": k, "version": 1, "attempts": 0, "available_at": now, "updated_at": now} for k in sorted(keys)]
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(IndexOutbox).values(rows)
    return stmt.on_conflict_do_update(
        index_elements=[IndexOutbox.item_key],
        set_={
            "version": IndexOutbox.version + 1,
            "attempts": 0,
            "last_error": None,
            "available_at": stmt.excluded.available_at,
            "updated_at": stmt.excluded.updated_at,
        },
    )


async def enqueue(session: AsyncSession, keys: Iterable[str]) -> None:
    """Queue items for (re)embedding in ``session``'s transaction."""
    wanted = set(keys)
    if wanted:
        dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
        await session.execute(upsert_statement(dialect, wanted, utcnow()))


def _changed(obj: object, fields: tuple[str, ...]) -> bool:
    state = inspect(obj)
    return any(state.attrs[f].history.has_changes() for f in fields)


def _status_was_resolved(ticket: Ticket) -> bool:
    history = inspect(ticket).attrs.status.history
    return any(s in RESOLVED_STATUSES for s in (*history.deleted, *history.added, ticket.status))


def changed_keys(session: Session) -> set[str]:
    """Outbox keys for what this flush writes (called after the flush, when ids are known)."""
    keys: set[str] = set()
    for obj in session.new:
        if isinstance(obj, KBArticle):
            keys.add(f"kb:{obj.id}")
        elif isinstance(obj, Ticket) and obj.status in RESOLVED_STATUSES:
            keys.add(f"ticket:{obj.id}")
        elif isinstance(obj, RootCause | ResolutionStep):
            keys.add(f"ticket:{obj.ticket_id}")
    for obj in session.dirty:
        if isinstance(obj, KBArticle) and _changed(obj, KB_TEXT):
            keys.add(f"kb:{obj.id}")
        elif isinstance(obj, Ticket) and _changed(obj, TICKET_TEXT) and _status_was_resolved(obj):
            keys.add(f"ticket:{obj.id}")
        elif isinstance(obj, RootCause | ResolutionStep) and session.is_modified(obj):
            keys.add(f"ticket:{obj.ticket_id}")
    for obj in session.deleted:
        if isinstance(obj, KBArticle):
            keys.add(f"kb:{obj.id}")
        elif isinstance(obj, Ticket):
            keys.add(f"ticket:{obj.id}")
        elif isinstance(obj, RootCause | ResolutionStep):
            keys.add(f"ticket:{obj.ticket_id}")
    return keys


@event.listens_for(Session, "after_flush")
def _record_changes(session: Session, _context: object) -> None:
    keys = changed_keys(session)
    if keys:
        connection: Connection = session.connection()
        connection.execute(upsert_statement(connection.dialect.name, keys, utcnow()))


async def enqueue_all(session: AsyncSession) -> int:
    """Queue every KB article and searchable ticket (a new collection starts empty); returns how many."""
    from sqlalchemy import select

    keys = [f"kb:{i}" for i in (await session.execute(select(KBArticle.id))).scalars()]
    keys += [
        f"ticket:{i}"
        for i in (await session.execute(select(Ticket.id).where(Ticket.status.in_(RESOLVED_STATUSES)))).scalars()
    ]
    for start in range(0, len(keys), 500):
        await enqueue(session, keys[start : start + 500])
    return len(keys)
