"""Pydantic models of knowledge-base documents (public row, detail, ingest and reindex results) and the
callback types ingestion reports progress through; kept apart from the ORM."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, computed_field

from store.models_knowledge import Document

Stage = Literal["queued", "parsing", "embedding", "indexing"]
"""Where an ingestion job is: waiting for a worker, reading the file, embedding chunks, writing the index."""
Progress = Callable[[float, float, str], Awaitable[None]]
"""A caller's progress (MCP progress notifications): done, total, message."""
Report = Callable[[Stage, int, int, "int | None", str], Awaitable[None]]
"""A job's progress: stage, chunks done, chunks in all, pages, message (written to the document row)."""
DocStatus = Literal["processing", "ready", "failed"]


class IngestProgress(BaseModel):
    """How far a ``processing`` document's ingestion job has come."""

    stage: Stage
    """queued (waiting for a worker), parsing, embedding, indexing."""
    done: int
    """Chunks embedded so far."""
    total: int
    """Chunks in all (0 until the file is parsed)."""
    pages: int | None = None
    """Pages of the file, once parsed (PDF, slides)."""
    message: str


class DocumentPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    filename: str
    source_key: str
    doc_type: str | None
    sha256: str
    size_bytes: int
    status: DocStatus
    error: str | None
    pages: int | None
    chunk_count: int
    ocr_pages: list[int]
    warnings: list[str]
    embedder: str | None
    uploaded_by_id: int | None
    created_at: datetime
    updated_at: datetime
    job_id: str | None = None
    """The latest ingestion job of this document."""
    progress: IngestProgress | None = None
    """While ``processing``: how far its job has come."""
    cancel_requested: bool = False

    @computed_field  # type: ignore[prop-decorator]
    @property
    def indexed(self) -> bool:
        """True when its chunks are searchable (vectors and rows commit together when it turns ready)."""
        return self.status == "ready"


class ChunkPreview(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    ordinal: int
    kind: str
    page: int | None
    sheet: str | None
    heading_path: list[str]
    citation: str
    text: str


class DocumentDetail(DocumentPublic):
    chunks: list[ChunkPreview]
    """The first chunks, text cut to a preview."""


class IngestResult(BaseModel):
    document: DocumentPublic
    job_id: str | None = None
    """The ingestion job; follow it with document_get (``status``, ``progress``) or stop it with
    document_ingest_cancel."""
    waited: bool = False
    """True when the call ran the job to the end (``wait``); False when it returned with the job queued."""
    duplicate: bool = False
    """True when these exact bytes were already ingested: nothing was copied or re-indexed."""
    replaced_document_id: int | None = None
    """The previous version of the same source, now removed."""


class ReindexResult(BaseModel):
    documents: int
    chunks: int
    embedder: str
    collection: str


def document_public(doc: Document) -> DocumentPublic:
    return DocumentPublic.model_validate(doc)
