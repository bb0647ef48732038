"""ids never reused on SQLite; identifier parts indexed for full-text; ingestion ownership

Revision ID: 0003
Revises: 0006_analytics
Create Date: 2026-12-01

- SQLite hands out the id of a deleted last row again unless the table is AUTOINCREMENT, so every table
  with an integer id is rebuilt that way (batch mode: copy, drop, rename). The counters start above the
  highest id any audit event names, so ids deleted before this upgrade are not reused either.
  PostgreSQL's BIGSERIAL sequences never go back; nothing to do there.
- ``search_terms`` on tickets, KB articles and document chunks holds the parts of compound identifiers
  (``System.OutOfMemoryException`` -> system, outofmemoryexception, out, of, memory, exception), filled
  here for existing rows and indexed with the rest of the text on both databases.
- ``documents.worker`` and ``documents.heartbeat_at`` say which process is ingesting a document, so a
  start-up can tell work no live process owns.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

import store.types
from store.fulltext import FtsIndex, create_ddl, drop_ddl, identifier_terms

revision = "0003"
down_revision = "0006_analytics"
branch_labels = None
depends_on = None

# Frozen here so that later changes to store.fulltext cannot change what this revision built.
OLD_FTS = (
    FtsIndex("tickets", ("number", "subject", "description", "error_message", "affected_system")),
    FtsIndex("kb_articles", ("title", "body")),
    FtsIndex("document_chunks", ("citation", "text")),
)
NEW_FTS = (
    FtsIndex("tickets", ("number", "subject", "description", "error_message", "affected_system", "search_terms")),
    FtsIndex("kb_articles", ("title", "body", "search_terms")),
    FtsIndex("document_chunks", ("citation", "text", "search_terms")),
)
TERM_SOURCES = {
    "tickets": ("subject", "description", "error_message", "affected_system"),
    "kb_articles": ("title", "body"),
    "document_chunks": ("citation", "text"),
}
ID_TABLES = (
    "users",
    "categories",
    "tickets",
    "ticket_comments",
    "resolution_steps",
    "root_causes",
    "kb_articles",
    "kb_article_revisions",
    "attachments",
    "audit_events",
    "api_tokens",
    "documents",
    "document_chunks",
    "ticket_status_changes",
    "search_log",
    "agent_turns",
)
AUDIT_TARGETS = {
    "user": "users",
    "category": "categories",
    "ticket": "tickets",
    "kb_article": "kb_articles",
    "api_token": "api_tokens",
    "document": "documents",
}


def _columns_added(table: str) -> list[sa.Column[Any]]:
    columns: list[sa.Column[Any]] = []
    if table in TERM_SOURCES:
        columns.append(sa.Column("search_terms", sa.Text(), nullable=True))
    if table == "documents":
        columns.append(sa.Column("worker", sa.String(length=200), nullable=True))
        columns.append(sa.Column("heartbeat_at", store.types.UTCDateTime(timezone=True), nullable=True))
    return columns


def upgrade() -> None:
    bind = op.get_bind()
    dialect = bind.dialect.name
    for index in OLD_FTS:
        for statement in drop_ddl(index, dialect):
            op.execute(statement)
    for table in ID_TABLES:
        sqlite = dialect == "sqlite"
        columns = _columns_added(table)
        if not columns and not sqlite:
            continue
        with op.batch_alter_table(
            table,
            recreate="always" if sqlite else "auto",
            table_kwargs={"sqlite_autoincrement": True} if sqlite else {},
        ) as batch:
            for column in columns:
                batch.add_column(column)
    _fill_search_terms(bind)
    for index in NEW_FTS:
        for statement in create_ddl(index, dialect):
            op.execute(statement)
    if dialect == "sqlite":
        _start_counters_above_audited_ids(bind)


def _fill_search_terms(bind: sa.Connection) -> None:
    for table, sources in TERM_SOURCES.items():
        rows = bind.execute(sa.text(f"SELECT id, {', '.join(sources)} FROM {table}")).all()
        updates = [{"id": row[0], "terms": identifier_terms(*row[1:])} for row in rows]
        if updates:
            bind.execute(sa.text(f"UPDATE {table} SET search_terms = :terms WHERE id = :id"), updates)


def _start_counters_above_audited_ids(bind: sa.Connection) -> None:
    highest: dict[str, int] = {}
    for target_type, target_id in bind.execute(sa.text("SELECT DISTINCT target_type, target_id FROM audit_events")):
        table = AUDIT_TARGETS.get(target_type)
        if table and str(target_id).isdigit():
            highest[table] = max(highest.get(table, 0), int(target_id))
    for table, top in highest.items():
        seq = bind.execute(sa.text("SELECT seq FROM sqlite_sequence WHERE name = :t"), {"t": table}).scalar()
        if seq is None:
            bind.execute(sa.text("INSERT INTO sqlite_sequence (name, seq) VALUES (:t, :s)"), {"t": table, "s": top})
        elif seq < top:
            bind.execute(sa.text("UPDATE sqlite_sequence SET seq = :s WHERE name = :t"), {"t": table, "s": top})


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for index in NEW_FTS:
        for statement in drop_ddl(index, dialect):
            op.execute(statement)
    for table in reversed(ID_TABLES):
        sqlite = dialect == "sqlite"
        columns = _columns_added(table)
        if not columns and not sqlite:
            continue
        with op.batch_alter_table(
            table,
            recreate="always" if sqlite else "auto",
            table_kwargs={"sqlite_autoincrement": False} if sqlite else {},
        ) as batch:
            for column in reversed(columns):
                batch.drop_column(column.name)
    for index in OLD_FTS:
        for statement in create_ddl(index, dialect):
            op.execute(statement)
