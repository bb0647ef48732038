"""ORM models for the knowledge base (issue 3): documents, their chunks, and the vector index's record.

Imported at the end of ``store.models`` so one ``Base.metadata`` describes the whole schema.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from store.fulltext import DOCUMENT_CHUNKS
from store.models import NO_REUSE, Base, BigId, keep_search_terms
from store.types import utcnow

__all__ = ["DOCUMENT_CHUNKS", "Document", "DocumentChunk", "IndexMeta", "Upload"]
# DOCUMENT_CHUNKS: the full-text index on chunks; the citation carries the title and headings, so they match too.


class Document(Base):
    __tablename__ = "documents"
    __table_args__ = (Index("ix_documents_source_key_status", "source_key", "status"), NO_REUSE)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    filename: Mapped[str] = mapped_column(String(255))
    source_key: Mapped[str] = mapped_column(String(1000))
    """What makes two uploads "the same source" (server path, or file name); a new version replaces the old."""
    doc_type: Mapped[str | None] = mapped_column(String(16))
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), index=True)
    """processing, ready or failed."""
    error: Mapped[str | None] = mapped_column(Text)
    pages: Mapped[int | None] = mapped_column(Integer)
    chunk_count: Mapped[int] = mapped_column(Integer, default=0)
    ocr_pages: Mapped[list[Any]] = mapped_column(JSON, default=list)
    warnings: Mapped[list[Any]] = mapped_column(JSON, default=list)
    blob_sha256: Mapped[str | None] = mapped_column(String(64))
    """The original bytes, content-addressed in the blob store."""
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    embedder: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    worker: Mapped[str | None] = mapped_column(String(200))
    """While ``processing``: the process doing it (``host:pid:start``), so a restart can tell orphans apart."""
    heartbeat_at: Mapped[datetime | None] = mapped_column()
    """While ``processing``: refreshed by the worker; a stale heartbeat means no live process owns the work."""
    job_id: Mapped[str | None] = mapped_column(String(32))
    """The current ingestion attempt (a new one each time the document is queued again)."""
    progress: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """While ``processing``: ``stage``, ``done`` and ``total`` (chunks), ``pages``, ``message``."""
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    """Set by document_ingest_cancel; the process running the job stops at its next step."""


class DocumentChunk(Base):
    __tablename__ = "document_chunks"
    __table_args__ = (UniqueConstraint("document_id", "ordinal"), NO_REUSE)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), index=True)
    ordinal: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16))
    heading_path: Mapped[list[Any]] = mapped_column(JSON, default=list)
    page: Mapped[int | None] = mapped_column(Integer)
    sheet: Mapped[str | None] = mapped_column(String(255))
    citation: Mapped[str] = mapped_column(Text)
    search_terms: Mapped[str | None] = mapped_column(Text)
    """Parts of compound identifiers in the citation and text, for full-text search."""


class IndexMeta(Base):
    """Small key/value records about the vector index: the embedder in use, sync marks."""

    __tablename__ = "index_meta"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    embedder: Mapped[str | None] = mapped_column(String(200))
    dimension: Mapped[int | None] = mapped_column(Integer)
    collection: Mapped[str | None] = mapped_column(String(200))
    value: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class IndexOutbox(Base):
    """KB articles and tickets whose vectors are out of date: written in the transaction of the change.

    One row per item (``kb:<id>``, ``ticket:<id>``); every change bumps ``version``. A worker claims rows
    for a lease, embeds the items as they are then, and deletes a row only if its version did not move in
    the meantime, so a change made while the item was being embedded is embedded again, never lost.
    """

    __tablename__ = "index_outbox"

    item_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    available_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    """Not before this time (retries back off)."""
    claimed_until: Mapped[datetime | None] = mapped_column()
    """A worker's lease; an expired lease (a killed process) may be claimed again."""
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Upload(Base):
    """A file streamed in through ``POST /uploads`` (bytes in the blob store), waiting for document_ingest."""

    __tablename__ = "uploads"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    """Random and unguessable: it is handed to document_ingest as ``upload_id``."""
    blob_sha256: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(255))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


keep_search_terms(DocumentChunk, "citation", "text")
