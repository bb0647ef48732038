"""SQLAlchemy ORM models: the desk's relational schema.

Alembic migrations in ``store/migrations`` are the source of truth for the database; these models must
match them (a test compares the two).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
    inspect,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from store.fulltext import identifier_terms
from store.types import UTCDateTime, utcnow

# BIGINT primary keys on PostgreSQL (a sequence: never reused), INTEGER on SQLite (a rowid alias). Every
# table with such an id declares ``sqlite_autoincrement`` so SQLite never hands out a deleted row's id again:
# ids are shown to people and stored elsewhere (ticket numbers, citations, vector ids, audit events).
BigId = BigInteger().with_variant(Integer(), "sqlite")
NO_REUSE: dict[str, Any] = {"sqlite_autoincrement": True}


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
        list[str]: JSON(),
    }


class User(Base):
    __tablename__ = "users"
    __table_args__ = NO_REUSE

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16), index=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Category(Base):
    __tablename__ = "categories"
    __table_args__ = NO_REUSE

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        Index("ix_tickets_status_priority", "status", "priority"),
        Index("ix_tickets_sla_due_at", "sla_due_at"),
        Index("ix_tickets_created_at", "created_at"),
        NO_REUSE,
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    requester_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"), index=True)
    priority: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    contact_email: Mapped[str | None] = mapped_column(String(254))
    preferred_contact: Mapped[str | None] = mapped_column(String(16))
    affected_system: Mapped[str | None] = mapped_column(String(200))
    business_impact: Mapped[str | None] = mapped_column(Text)
    steps_taken: Mapped[str | None] = mapped_column(Text)
    error_message: Mapped[str | None] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(default=list)
    channel: Mapped[str] = mapped_column(String(16), default="mcp", index=True)
    """Where the ticket came from: mcp, chat, voice, ui, web, email, import."""
    external_id: Mapped[str | None] = mapped_column(String(100), unique=True, index=True)
    """The ticket's id in the desk it was imported from (``ticket_import``); None for tickets made here."""
    import_sha256: Mapped[str | None] = mapped_column(String(64))
    """Hash of the import line last applied: re-importing an unchanged line changes nothing."""

    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    first_response_at: Mapped[datetime | None] = mapped_column()
    resolved_at: Mapped[datetime | None] = mapped_column()
    closed_at: Mapped[datetime | None] = mapped_column()
    sla_due_at: Mapped[datetime] = mapped_column()
    first_response_due_at: Mapped[datetime] = mapped_column()
    paused_at: Mapped[datetime | None] = mapped_column()
    """Set while the ticket is pending: the SLA clock is stopped."""
    paused_seconds: Mapped[float] = mapped_column(default=0.0)
    """SLA time already spent paused; due times include it."""

    escalated_at: Mapped[datetime | None] = mapped_column()
    handoff_reason: Mapped[str | None] = mapped_column(String(32), index=True)
    handoff_summary: Mapped[str | None] = mapped_column(Text)

    version: Mapped[int] = mapped_column(Integer, default=1)
    search_terms: Mapped[str | None] = mapped_column(Text)
    """Parts of compound identifiers in the text, for full-text search (kept by :func:`keep_search_terms`)."""

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012

    requester: Mapped[User] = relationship(foreign_keys=[requester_id], lazy="raise")
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id], lazy="raise")
    category: Mapped[Category | None] = relationship(lazy="raise")


class TicketComment(Base):
    __tablename__ = "ticket_comments"
    __table_args__ = NO_REUSE

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    is_internal: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ResolutionStep(Base):
    __tablename__ = "resolution_steps"
    __table_args__ = (UniqueConstraint("ticket_id", "position"), NO_REUSE)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    instructions: Mapped[str] = mapped_column(Text)
    success: Mapped[bool | None] = mapped_column(Boolean)
    performed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    performed_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RootCause(Base):
    __tablename__ = "root_causes"
    __table_args__ = NO_REUSE

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), unique=True)
    cause_code: Mapped[str] = mapped_column(String(32), index=True)
    description: Mapped[str] = mapped_column(Text)
    set_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class KBArticle(Base):
    __tablename__ = "kb_articles"
    __table_args__ = NO_REUSE

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(String(2000))
    tags: Mapped[list[str]] = mapped_column(default=list)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    view_count: Mapped[int] = mapped_column(Integer, default=0)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    """Number of the current revision; also the optimistic-lock version."""
    search_terms: Mapped[str | None] = mapped_column(Text)
    """Parts of compound identifiers in the text, for full-text search (kept by :func:`keep_search_terms`)."""

    __mapper_args__ = {"version_id_col": revision, "version_id_generator": False}  # noqa: RUF012


class KBArticleRevision(Base):
    __tablename__ = "kb_article_revisions"
    __table_args__ = (UniqueConstraint("article_id", "revision"), NO_REUSE)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("kb_articles.id", ondelete="CASCADE"), index=True)
    revision: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(String(2000))
    tags: Mapped[list[str]] = mapped_column(default=list)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    note: Mapped[str | None] = mapped_column(String(500))


class TicketKBLink(Base):
    __tablename__ = "ticket_kb_links"

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    article_id: Mapped[int] = mapped_column(
        ForeignKey("kb_articles.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    linked_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Attachment(Base):
    __tablename__ = "attachments"
    __table_args__ = NO_REUSE

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    """Bytes live content-addressed under ``data_dir/blobs/``."""
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_target", "target_type", "target_id"), NO_REUSE)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    target_type: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[str] = mapped_column(String(64))
    before: Mapped[dict[str, Any] | None] = mapped_column()
    after: Mapped[dict[str, Any] | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    address: Mapped[str | None] = mapped_column(String(64))
    """The client's network address, for events that came over the network (sign-ins, token use)."""


class ApiToken(Base):
    __tablename__ = "api_tokens"
    __table_args__ = NO_REUSE

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()
    expires_at: Mapped[datetime | None] = mapped_column()
    """None: never expires (until revoked)."""
    scopes: Mapped[list[str] | None] = mapped_column(JSON)
    """None: everything the user's role allows; otherwise only these scopes."""
    last_used_address: Mapped[str | None] = mapped_column(String(64))


def keep_search_terms(cls: type[Base], *sources: str) -> None:
    """Keep ``cls.search_terms`` (the parts of compound identifiers in ``sources``) current on every ORM write."""

    def on_insert(_mapper: Any, _connection: Any, target: Any) -> None:
        target.search_terms = identifier_terms(*(getattr(target, c) for c in sources))

    def on_update(mapper: Any, connection: Any, target: Any) -> None:
        state = inspect(target)
        if any(state.attrs[c].history.has_changes() for c in sources):
            on_insert(mapper, connection, target)

    event.listen(cls, "before_insert", on_insert)
    event.listen(cls, "before_update", on_update)


keep_search_terms(Ticket, "subject", "description", "error_message", "affected_system")
keep_search_terms(KBArticle, "title", "body")

from store import models_analytics, models_auth, models_knowledge, models_voice  # noqa: E402,F401
