"""One ingestion, start to end, once a job holds it: parse in a worker thread, embed in batches, write the
vectors, then ONE transaction that inserts the chunks, marks the document ready and removes the previous
version of the same source.

The old version's vectors are deleted after that commit; searches validate every vector hit against the
database, so they see either the old document or the new one, never half of either. Chunks commit only
with ``ready`` and vector ids are deterministic (``doc:<id>:<n>``), so a killed job is simply run again.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select

from store.models_knowledge import Document, DocumentChunk
from store.vectors import Metadata
from tools.actor import Actor
from tools.audit import record_event
from tools.desk import Desk
from tools.errors import ConflictError, DeskError
from tools.ingest_jobs import IngestCancelled
from tools.knowledge_models import IngestResult, Progress, Report, document_public
from tools.knowledge_service import Knowledge

if TYPE_CHECKING:
    from tools.ingest.base import Chunk, Extracted

logger = logging.getLogger(__name__)

EMBED_BATCH = 64


def vector_id(document_id: int, ordinal: int) -> str:
    return f"doc:{document_id}:{ordinal}"


def citation(chunk: Chunk, title: str) -> str:
    """The chunk's citation, without repeating the title when it is also the first heading."""
    path = chunk.heading_path
    while path and path[0].strip().lower() == title.strip().lower():
        path = path[1:]
    return replace(chunk, heading_path=path).citation(title)


def embed_text(citation: str, text: str) -> str:
    """What the model sees for a chunk: where it comes from, then its text."""
    return f"{citation}\n{text}"


async def report_progress(progress: Progress | None, done: float, total: float, message: str) -> None:
    if progress is not None:
        await progress(done, total, message)


def ingest_limits(desk: Desk) -> Any:
    from tools.ingest.base import Limits

    return Limits(max_bytes=int(desk.settings.max_upload_mb * 1024 * 1024))


CANCELLED = "cancelled"
INTERRUPTED = "interrupted: the server stopped while this was being processed; ingest it again"


def failure_reason(exc: BaseException) -> str:
    """What a failed document's row says: the desk's own message, or a plain sentence for the rest."""
    if isinstance(exc, DeskError):
        return str(exc)
    # A cancellation's text is the transport's (anyio cancel scopes name tasks and source paths).
    if isinstance(exc, asyncio.CancelledError):
        return CANCELLED
    if isinstance(exc, KeyboardInterrupt | SystemExit):
        return INTERRUPTED
    return f"internal error: {type(exc).__name__}: {exc}"


def precheck_sync(data: bytes, filename: str, limits: Any) -> None:
    from tools.ingest.extract import detect_type
    from tools.ingest.guards import check_size

    check_size(data, limits)
    detect_type(data, filename, limits)


def extract_sync(data: bytes, filename: str, limits: Any) -> Extracted:
    # extract() turns any parser failure into ExtractionError, so hostile files cannot crash the server.
    from tools.ingest.extract import extract

    return extract(data, filename, limits)


async def embed_batches(
    knowledge: Knowledge, texts: list[str], progress: Progress | None, what: str
) -> list[list[float]]:
    vectors: list[list[float]] = []
    total = len(texts)
    for start in range(0, total, EMBED_BATCH):
        vectors.extend(await knowledge.embed(texts[start : start + EMBED_BATCH]))
        await report_progress(progress, len(vectors), total, f"embedded {len(vectors)}/{total} chunks of {what}")
    return vectors


async def process(
    desk: Desk,
    knowledge: Knowledge,
    actor: Actor | None,
    doc_id: int,
    data: bytes,
    filename: str,
    source_key: str,
    report: Report,
) -> IngestResult:
    from tools.ingest.base import ExtractionError

    await report("parsing", 0, 0, None, f"reading {filename}")
    extracted = await asyncio.to_thread(extract_sync, data, filename, ingest_limits(desk))
    chunks: list[Chunk] = [c for c in extracted.chunks if c.text.strip()]
    if not chunks:
        raise ExtractionError(f"{filename!r} yielded no text; nothing to index (is it a scan without OCR?)")
    title = (extracted.title or filename).strip()[:300] or filename
    citations = [citation(c, title) for c in chunks]
    pages = extracted.pages
    await report("embedding", 0, len(chunks), pages, f"parsed {filename}: {len(chunks)} chunks")
    texts = [embed_text(ci, c.text) for ci, c in zip(citations, chunks, strict=True)]
    vectors: list[list[float]] = []
    for start in range(0, len(texts), EMBED_BATCH):
        vectors.extend(await knowledge.embed(texts[start : start + EMBED_BATCH]))
        n = len(vectors)
        await report("embedding", n, len(texts), pages, f"embedded {n}/{len(texts)} chunks of {filename}")
    await report("indexing", len(chunks), len(chunks), pages, f"indexing {len(chunks)} chunks of {filename}")

    async with knowledge.index_lock:
        coll = await knowledge.write_collection()
        # A re-run (after a kill) writes the same vector ids again; anything left of the last attempt goes first.
        await knowledge.vectors.delete(coll, where={"document_id": doc_id})
        metas: list[Metadata] = [
            {"source": "document", "document_id": doc_id, "ordinal": i} for i in range(len(chunks))
        ]
        await knowledge.vectors.upsert(coll, [vector_id(doc_id, i) for i in range(len(chunks))], vectors, metas)
        replaced: list[int] = []
        async with desk.sessions.begin() as session:
            doc = await session.get(Document, doc_id, with_for_update=True)
            if doc is None:
                raise ConflictError(f"document {doc_id} was deleted while it was being ingested")
            if doc.cancel_requested:
                raise IngestCancelled(CANCELLED)
            # Chunks and ``ready`` commit together, so a job killed before this line left no chunks behind.
            await session.execute(delete(DocumentChunk).where(DocumentChunk.document_id == doc_id))
            session.add_all(
                DocumentChunk(
                    document_id=doc_id,
                    ordinal=i,
                    text=c.text,
                    kind=c.kind,
                    heading_path=list(c.heading_path),
                    page=c.page,
                    sheet=c.sheet,
                    citation=citations[i],
                )
                for i, c in enumerate(chunks)
            )
            olds = (
                await session.execute(
                    select(Document.id).where(
                        Document.source_key == source_key, Document.id != doc_id, Document.status == "ready"
                    )
                )
            ).scalars()
            replaced = list(olds)
            if replaced:
                await session.execute(delete(DocumentChunk).where(DocumentChunk.document_id.in_(replaced)))
                await session.execute(delete(Document).where(Document.id.in_(replaced)))
            doc.title, doc.doc_type, doc.pages = title, extracted.doc_type, extracted.pages
            doc.ocr_pages, doc.warnings = list(extracted.ocr_pages), list(extracted.warnings)
            doc.chunk_count, doc.status, doc.error = len(chunks), "ready", None
            doc.worker, doc.heartbeat_at, doc.progress = None, None, None
            doc.embedder, doc.updated_at = knowledge.embedder.name, desk.clock()
            record_event(
                session,
                actor,
                "document.ingest",
                "document",
                doc_id,
                after={"filename": filename, "replaced": replaced},
            )
            public = document_public(doc)
        for old in replaced:
            await knowledge.vectors.delete(coll, where={"document_id": old})
    await report_done(report, len(chunks), pages, f"{filename} is ready: {len(chunks)} chunks")
    logger.info("ingested %s as document %s (%d chunks)", filename, doc_id, len(chunks))
    return IngestResult(document=public, job_id=public.job_id, replaced_document_id=replaced[0] if replaced else None)


async def report_done(report: Report, chunks: int, pages: int | None, message: str) -> None:
    # The row is ready now (write_progress no longer touches it); only the caller's progress hears this.
    await report("indexing", chunks, chunks, pages, message)
