"""Documents in the knowledge base: ingest, cancel an ingestion, delete, reindex (admins only).

``document_ingest`` refuses what needs no parsing (empty, too large, unsupported, archive bombs) before
storing anything, stores the bytes content-addressed (same bytes again = the existing document) and
either runs the job itself (``wait``) or leaves it queued for an ingestion worker
(:mod:`tools.ingest_runner`). Reading documents is :mod:`tools.knowledge_query`; the models are
:mod:`tools.knowledge_models`; the embedder and the index are the desk's :mod:`tools.knowledge_service`.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from store.embedder import slug
from store.models_knowledge import Document, DocumentChunk, IndexMeta, Upload
from store.outbox import enqueue_all
from store.vectors import collection_name
from tools import permissions
from tools.actor import Actor
from tools.audit import record_event
from tools.desk import Desk
from tools.errors import ConflictError, ForbiddenError, InvalidInputError, NotFoundError
from tools.ingest_jobs import Claimed, new_job_id, queued_progress, running, slots, wake
from tools.ingest_pipeline import (
    CANCELLED,
    embed_batches,
    embed_text,
    ingest_limits,
    precheck_sync,
    report_progress,
    vector_id,
)
from tools.ingest_runner import fail_job, owned, run_job
from tools.knowledge_models import DocumentPublic, IngestResult, Progress, ReindexResult, document_public
from tools.knowledge_query import require_document
from tools.knowledge_service import META_KEY, EmbedderMismatchError, Knowledge
from tools.workers import is_alive, this_worker

logger = logging.getLogger(__name__)

CANCEL_WAIT_S = 30.0
"""How long document_ingest_cancel waits for a job running in this process to record that it stopped."""


def _busy(doc: Document) -> ConflictError:
    return ConflictError(
        f"these bytes are being ingested right now as document {doc.id} ({doc.filename!r}); "
        "wait for it to finish and call document_get"
    )


async def _read_path(desk: Desk, path: str) -> tuple[bytes, str]:
    limit = desk.settings.max_upload_mb * 1024 * 1024

    roots = desk.settings.ingest_roots

    def read() -> tuple[bytes, str]:
        # Check and read the same resolved file, so a symlink cannot point the read outside the roots.
        p = Path(path).expanduser().resolve()
        if roots is not None and not any(p.is_relative_to(root.resolve()) for root in roots):
            raise ForbiddenError(
                f"reading {path!r} from the server is not allowed here; send the file's content (base64) "
                "instead, or ask the operator to list its folder in SUPPORT_INGEST_ROOTS"
            )
        if not p.is_file():
            raise InvalidInputError(f"{path!r} is not a readable file on the server; pass an existing file path")
        too_big = InvalidInputError(f"{p.name!r} is over the {desk.settings.max_upload_mb:g} MB limit")
        if p.stat().st_size > limit:
            raise too_big
        with p.open("rb") as fh:
            data = fh.read(int(limit) + 1)  # the file may have grown since stat()
        if len(data) > limit:
            raise too_big
        return data, str(p)

    return await asyncio.to_thread(read)


async def _read_upload(desk: Desk, upload_id: str) -> tuple[bytes, str]:
    """The bytes and file name of a ``POST /uploads`` upload."""
    async with desk.sessions() as session:
        upload = await session.get(Upload, upload_id.strip()) if len(upload_id) <= 64 else None
    if upload is None:
        raise NotFoundError(
            f"upload {upload_id!r} does not exist; send the file to POST /uploads and pass the upload_id it returns"
        )
    try:
        data = await asyncio.to_thread(desk.blobs.get, upload.blob_sha256)
    except FileNotFoundError as exc:
        raise NotFoundError(f"the bytes of upload {upload_id!r} are gone; upload the file again") from exc
    return data, upload.filename


async def document_ingest(
    desk: Desk,
    actor: Actor,
    *,
    data: bytes | None = None,
    path: str | None = None,
    upload_id: str | None = None,
    filename: str | None = None,
    source_key: str | None = None,
    wait: bool = True,
    progress: Progress | None = None,
) -> IngestResult:
    """Ingest one file (bytes, a server path or an upload id); admins only.

    With ``wait`` the call runs the job and returns the document ``ready`` (raising after recording a
    failed one); without, it returns at once with the document ``processing`` and its job id, and an
    ingestion worker (:func:`ingest_worker`, in every server process) runs the job.
    """
    permissions.require(actor, "knowledge.write", "document ingest")
    if sum(x is not None for x in (data, path, upload_id)) != 1:
        raise InvalidInputError(
            "pass exactly one of: data (the file's bytes), path (a file on the server) or upload_id "
            "(returned by POST /uploads)"
        )
    if path is not None:
        data, resolved = await _read_path(desk, path)
        filename = filename or Path(resolved).name
        source_key = source_key or resolved
    elif upload_id is not None:
        data, uploaded_name = await _read_upload(desk, upload_id)
        filename = filename or uploaded_name
    assert data is not None
    if not filename or not filename.strip():
        raise InvalidInputError("filename is required with content (it names the document and its type)")
    filename = Path(filename.strip()).name[:255] or "document"
    source_key = (source_key or filename)[:1000]
    limit = desk.settings.max_upload_mb * 1024 * 1024
    if len(data) > limit:
        raise InvalidInputError(
            f"{filename!r} is {len(data) / 1048576:.1f} MB, over the {desk.settings.max_upload_mb:g} MB limit"
        )
    # Refusals that need no parsing (empty, too large, a type the desk does not read, an archive bomb)
    # leave nothing behind: no document row and no stored bytes.
    await asyncio.to_thread(precheck_sync, data, filename, ingest_limits(desk))
    knowledge = desk.require_knowledge()
    sha = hashlib.sha256(data).hexdigest()
    await report_progress(progress, 0, 1, f"received {filename} ({len(data)} bytes)")

    now = desk.clock()
    async with desk.sessions() as session:
        existing = (await session.execute(select(Document).where(Document.sha256 == sha))).scalar_one_or_none()
        if existing is not None and existing.status == "ready":
            return IngestResult(document=document_public(existing), duplicate=True)
        if existing is not None and owned(existing, now):
            if wait:
                raise _busy(existing)
            return IngestResult(document=document_public(existing), job_id=existing.job_id)
    blob = await asyncio.to_thread(desk.blobs.put, data)
    job = new_job_id()
    try:
        async with desk.sessions.begin() as session:
            doc = (
                await session.execute(select(Document).where(Document.sha256 == sha).with_for_update())
            ).scalar_one_or_none()
            if doc is None:
                doc = Document(sha256=sha, created_at=now)
                session.add(doc)
            elif doc.status == "ready":
                return IngestResult(document=document_public(doc), duplicate=True)
            elif owned(doc, now):
                if wait:
                    raise _busy(doc)
                return IngestResult(document=document_public(doc), job_id=doc.job_id)
            # A failed attempt, or one no live process owns any more, is retried in place.
            doc.title, doc.filename, doc.source_key = filename, filename, source_key
            doc.size_bytes, doc.status, doc.error, doc.doc_type = len(data), "processing", None, None
            doc.pages, doc.chunk_count, doc.ocr_pages, doc.warnings = None, 0, [], []
            doc.blob_sha256, doc.uploaded_by_id, doc.updated_at = blob, actor.user_id, now
            doc.job_id, doc.progress, doc.cancel_requested = job, queued_progress(), False
            # Waiting: this call owns the job. Otherwise it is queued (no worker) for an ingestion worker.
            doc.worker, doc.heartbeat_at = (this_worker(), now) if wait else (None, None)
            await session.flush()
            doc_id = doc.id
            queued = document_public(doc)
    except IntegrityError:
        # Someone inserted the same bytes between our read and write: theirs is the document.
        async with desk.sessions() as session:
            doc = (await session.execute(select(Document).where(Document.sha256 == sha))).scalar_one()
            return IngestResult(document=document_public(doc), duplicate=True, job_id=doc.job_id)

    if not wait:
        wake(desk)
        logger.info("queued %s as document %s (job %s)", filename, doc_id, job)
        return IngestResult(document=queued, job_id=job)
    async with slots(desk):
        result = await run_job(desk, knowledge, actor, Claimed(doc_id, job), data, progress, background=False)
    return result.model_copy(update={"waited": True})


async def document_ingest_cancel(desk: Desk, actor: Actor, document_id: int) -> DocumentPublic:
    """Stop a document's ingestion: it ends ``failed`` with the reason "cancelled" (admins only)."""
    permissions.require(actor, "knowledge.write", "document ingest cancel")
    knowledge = desk.require_knowledge()
    now = desk.clock()
    async with desk.sessions.begin() as session:
        doc = await require_document(session, document_id)
        if doc.status != "processing":
            raise InvalidInputError(
                f"document {document_id} is {doc.status!r}, not being ingested; only a processing document can be "
                "cancelled (delete it with document_delete instead)"
            )
        doc.cancel_requested = True
        owned = doc.worker is not None and is_alive(doc.worker, doc.heartbeat_at, now)
        record_event(session, actor, "document.ingest_cancel", "document", document_id, after={"job": doc.job_id})
    task = running(desk).get(document_id)
    if task is not None:
        task.cancel()
        await asyncio.wait([task], timeout=CANCEL_WAIT_S)
    elif not owned:
        await fail_job(desk, knowledge, document_id, CANCELLED)  # queued: nobody is running it
    # Run by another process: it stops at its next progress step (within one embedding batch).
    async with desk.sessions() as session:
        return document_public(await require_document(session, document_id))


async def document_delete(desk: Desk, actor: Actor, document_id: int) -> DocumentPublic:
    """Delete a document, its chunks and its vectors (admins only)."""
    permissions.require(actor, "knowledge.write", "document delete")
    knowledge = desk.require_knowledge()
    async with desk.sessions.begin() as session:
        doc = await require_document(session, document_id)
        public = document_public(doc)
        await session.execute(delete(DocumentChunk).where(DocumentChunk.document_id == document_id))
        await session.delete(doc)
        record_event(session, actor, "document.delete", "document", document_id, before={"filename": public.filename})
    # Vectors of every collection this process knows of: the row is gone, so stale hits are filtered anyway.
    for name in await knowledge.document_collections():
        await knowledge.vectors.delete(name, where={"document_id": document_id})
    return public


async def document_reindex(
    desk: Desk, actor: Actor, document_id: int | None = None, *, progress: Progress | None = None
) -> ReindexResult:
    """Re-embed one document, or every document into a fresh collection (after an embedder change)."""
    permissions.require(actor, "knowledge.write", "document reindex")
    knowledge = desk.require_knowledge()
    emb = knowledge.embedder
    if document_id is not None:
        async with desk.sessions() as session:
            doc = await require_document(session, document_id)
            if doc.status != "ready":
                raise InvalidInputError(f"document {document_id} is {doc.status!r}; only ready documents are indexed")
        try:
            coll = await knowledge.write_collection()
        except EmbedderMismatchError as exc:
            raise EmbedderMismatchError(f"{exc} (reindexing one document cannot change the model)") from exc
        n = await _reindex_documents(desk, knowledge, coll, [document_id], progress)
        return ReindexResult(documents=1, chunks=n, embedder=emb.name, collection=coll)

    async with knowledge.index_lock:
        async with desk.sessions() as session:
            row = await session.get(IndexMeta, META_KEY)
            old = row.collection if row is not None else None
            generation = int((row.value or {}).get("generation", 0)) + 1 if row is not None else 1
            ids = list(
                (
                    await session.execute(select(Document.id).where(Document.status == "ready").order_by(Document.id))
                ).scalars()
            )
        coll = collection_name(slug(emb.name), emb.dimension, generation)
        await knowledge.vectors.drop(coll)
        n = await _reindex_documents(desk, knowledge, coll, ids, progress)
        async with desk.sessions.begin() as session:
            row = await session.get(IndexMeta, META_KEY)
            if row is None:
                row = IndexMeta(key=META_KEY)
                session.add(row)
            before = {"embedder": row.embedder, "collection": row.collection}
            row.embedder, row.dimension, row.collection = emb.name, emb.dimension, coll
            row.value, row.updated_at = {"generation": generation}, desk.clock()
            if ids:
                for doc in (await session.execute(select(Document).where(Document.id.in_(ids)))).scalars():
                    doc.embedder = emb.name
            # KB articles and tickets are embedded into the new collection by the index worker.
            await enqueue_all(session)
            record_event(
                session, actor, "document.reindex", "index", META_KEY, before=before, after={"collection": coll}
            )
        if old and old != coll:
            await knowledge.vectors.drop(old)
    return ReindexResult(documents=len(ids), chunks=n, embedder=emb.name, collection=coll)


async def _reindex_documents(
    desk: Desk, knowledge: Knowledge, coll: str, ids: list[int], progress: Progress | None
) -> int:
    total = 0
    for number, doc_id in enumerate(ids, 1):
        async with desk.sessions() as session:
            rows = list(
                (
                    await session.execute(
                        select(DocumentChunk).where(DocumentChunk.document_id == doc_id).order_by(DocumentChunk.ordinal)
                    )
                ).scalars()
            )
        vectors = await embed_batches(
            knowledge, [embed_text(c.citation, c.text) for c in rows], None, f"document {doc_id}"
        )
        await knowledge.vectors.delete(coll, where={"document_id": doc_id})
        await knowledge.vectors.upsert(
            coll,
            [vector_id(doc_id, c.ordinal) for c in rows],
            vectors,
            [{"source": "document", "document_id": doc_id, "ordinal": c.ordinal} for c in rows],
        )
        total += len(rows)
        await report_progress(progress, number, len(ids), f"reindexed document {doc_id} ({len(rows)} chunks)")
    return total
