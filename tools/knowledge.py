"""Documents in the knowledge base: ingest, list, read, delete, reindex; and the per-process Knowledge object.

Ingestion: bytes -> content hash (same bytes again = the existing document) -> processor in a worker
thread -> embeddings in batches (worker thread, progress per batch) -> vectors -> ONE transaction that
inserts the chunks, marks the document ready and removes the previous version of the same source. The
old version's vectors are deleted after that commit; searches validate every vector hit against the
database, so they see either the old document or the new one, never half of either.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, computed_field
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from store.embedder import slug
from store.models_knowledge import Document, DocumentChunk, IndexMeta, Upload
from store.outbox import enqueue_all
from store.vectors import Metadata, collection_name
from tools import permissions
from tools.actor import Actor
from tools.audit import record_event
from tools.common import MAX_ID, Page, decode_cursor, encode_cursor, page_limit, truncate
from tools.desk import Desk
from tools.errors import ConflictError, DeskError, ForbiddenError, InvalidInputError, NotFoundError
from tools.ingest_jobs import (
    Claimed,
    IngestCancelled,
    Stage,
    new_job_id,
    queued_progress,
    running,
    slots,
    wake,
    worker,
    write_progress,
)
from tools.knowledge_service import META_KEY, EmbedderMismatchError, Knowledge
from tools.users import current_actor
from tools.workers import heartbeat, is_alive, this_worker

if TYPE_CHECKING:
    from tools.ingest.base import Chunk, Extracted

logger = logging.getLogger(__name__)

Progress = Callable[[float, float, str], Awaitable[None]]
"""A caller's progress (MCP progress notifications): done, total, message."""
Report = Callable[[Stage, int, int, "int | None", str], Awaitable[None]]
"""A job's progress: stage, chunks done, chunks in all, pages, message (written to the document row)."""
DocStatus = Literal["processing", "ready", "failed"]

EMBED_BATCH = 64
CANCEL_WAIT_S = 30.0
"""How long document_ingest_cancel waits for a job running in this process to record that it stopped."""


def _owned(doc: Document, now: datetime) -> bool:
    """Whether ``doc``'s ingestion is queued or a live process is running it (see :mod:`tools.workers`)."""
    return doc.status == "processing" and (doc.worker is None or is_alive(doc.worker, doc.heartbeat_at, now))


def _busy(doc: Document) -> ConflictError:
    return ConflictError(
        f"these bytes are being ingested right now as document {doc.id} ({doc.filename!r}); "
        "wait for it to finish and call document_get"
    )


# --- public models ----------------------------------------------------------------------------------


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


# --- helpers -------------------------------------------------------------------------------------------


def vector_id(document_id: int, ordinal: int) -> str:
    return f"doc:{document_id}:{ordinal}"


def citation(chunk: Chunk, title: str) -> str:
    """The chunk's citation, without repeating the title when it is also the first heading."""
    from dataclasses import replace

    path = chunk.heading_path
    while path and path[0].strip().lower() == title.strip().lower():
        path = path[1:]
    return replace(chunk, heading_path=path).citation(title)


def embed_text(citation: str, text: str) -> str:
    """What the model sees for a chunk: where it comes from, then its text."""
    return f"{citation}\n{text}"


async def _report(progress: Progress | None, done: float, total: float, message: str) -> None:
    if progress is not None:
        await progress(done, total, message)


def _limits(desk: Desk) -> Any:
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


def _precheck_sync(data: bytes, filename: str, limits: Any) -> None:
    from tools.ingest.extract import detect_type
    from tools.ingest.guards import check_size

    check_size(data, limits)
    detect_type(data, filename, limits)


def _extract_sync(data: bytes, filename: str, limits: Any) -> Extracted:
    # extract() turns any parser failure into ExtractionError, so hostile files cannot crash the server.
    from tools.ingest.extract import extract

    return extract(data, filename, limits)


async def _embed_batches(
    knowledge: Knowledge, texts: list[str], progress: Progress | None, what: str
) -> list[list[float]]:
    vectors: list[list[float]] = []
    total = len(texts)
    for start in range(0, total, EMBED_BATCH):
        vectors.extend(await knowledge.embed(texts[start : start + EMBED_BATCH]))
        await _report(progress, len(vectors), total, f"embedded {len(vectors)}/{total} chunks of {what}")
    return vectors


def _public(doc: Document) -> DocumentPublic:
    return DocumentPublic.model_validate(doc)


async def _require_document(session: AsyncSession, document_id: int) -> Document:
    doc = await session.get(Document, document_id) if 0 <= document_id <= MAX_ID else None
    if doc is None:
        raise NotFoundError(f"document {document_id} does not exist; call document_list to see the documents")
    return doc


# --- ingest ----------------------------------------------------------------------------------------------


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
    await asyncio.to_thread(_precheck_sync, data, filename, _limits(desk))
    knowledge = desk.require_knowledge()
    sha = hashlib.sha256(data).hexdigest()
    await _report(progress, 0, 1, f"received {filename} ({len(data)} bytes)")

    now = desk.clock()
    async with desk.sessions() as session:
        existing = (await session.execute(select(Document).where(Document.sha256 == sha))).scalar_one_or_none()
        if existing is not None and existing.status == "ready":
            return IngestResult(document=_public(existing), duplicate=True)
        if existing is not None and _owned(existing, now):
            if wait:
                raise _busy(existing)
            return IngestResult(document=_public(existing), job_id=existing.job_id)
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
                return IngestResult(document=_public(doc), duplicate=True)
            elif _owned(doc, now):
                if wait:
                    raise _busy(doc)
                return IngestResult(document=_public(doc), job_id=doc.job_id)
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
            queued = _public(doc)
    except IntegrityError:
        # Someone inserted the same bytes between our read and write: theirs is the document.
        async with desk.sessions() as session:
            doc = (await session.execute(select(Document).where(Document.sha256 == sha))).scalar_one()
            return IngestResult(document=_public(doc), duplicate=True, job_id=doc.job_id)

    if not wait:
        wake(desk)
        logger.info("queued %s as document %s (job %s)", filename, doc_id, job)
        return IngestResult(document=queued, job_id=job)
    async with slots(desk):
        result = await _run_job(desk, knowledge, actor, Claimed(doc_id, job), data, progress, background=False)
    return result.model_copy(update={"waited": True})


async def _run_job(
    desk: Desk,
    knowledge: Knowledge,
    actor: Actor | None,
    job: Claimed,
    data: bytes,
    progress: Progress | None,
    *,
    background: bool,
) -> IngestResult:
    """Run one claimed job in its own task (so document_ingest_cancel can stop it); record how it ended.

    A background job stopped by its server shutting down goes back to the queue; a waiting caller that
    goes away (client disconnect), or a cancel, leaves the document failed with reason "cancelled".
    """
    doc_id = job.document_id
    async with desk.sessions() as session:
        doc = await _require_document(session, doc_id)
        filename, source_key = doc.filename, doc.source_key

    async def report(stage: Stage, done: int, total: int, pages: int | None, message: str) -> None:
        await write_progress(
            desk, doc_id, {"stage": stage, "done": done, "total": total, "pages": pages, "message": message}
        )
        await _report(progress, done, total, message)

    async def body() -> IngestResult:
        async with heartbeat(desk.sessions, doc_id, desk.clock):
            return await _process(desk, knowledge, actor, doc_id, data, filename, source_key, report)

    async def guarded() -> IngestResult:
        # How the job ended is recorded inside its task, so whoever waits for the task sees the final row.
        try:
            return await body()
        except BaseException as exc:
            cancelled = isinstance(exc, asyncio.CancelledError)
            if background and cancelled and not await asyncio.shield(_cancel_asked(desk, doc_id)):
                await asyncio.shield(_requeue(desk, knowledge, doc_id, "the server stopped; resuming"))
            else:
                await asyncio.shield(_fail(desk, knowledge, doc_id, failure_reason(exc)))
            raise

    task = asyncio.create_task(guarded(), name=f"ingest-job-{doc_id}")
    jobs = running(desk)
    jobs[doc_id] = task
    try:
        # Cancelling this await (a client gone, the worker stopping) cancels the task too.
        return await task
    finally:
        if jobs.get(doc_id) is task:
            del jobs[doc_id]


async def _cancel_asked(desk: Desk, doc_id: int) -> bool:
    async with desk.sessions() as session:
        return bool((await session.execute(select(Document.cancel_requested).where(Document.id == doc_id))).scalar())


async def run_claimed(desk: Desk, job: Claimed) -> IngestResult | None:
    """Run a job an ingestion worker claimed, from the bytes stored when it was queued."""
    knowledge = desk.require_knowledge()
    async with desk.sessions() as session:
        doc = await session.get(Document, job.document_id)
        if doc is None or doc.status != "processing":
            return None
        blob, uploader = doc.blob_sha256, doc.uploaded_by_id
    actor: Actor | None = None
    if uploader is not None:
        with contextlib.suppress(DeskError):
            actor = await current_actor(desk, uploader)
    try:
        if blob is None:
            raise FileNotFoundError(blob)
        data = await asyncio.to_thread(desk.blobs.get, blob)
    except (FileNotFoundError, ValueError):
        await _fail(desk, knowledge, job.document_id, "the stored bytes of this document are gone; ingest it again")
        return None
    return await _run_job(desk, knowledge, actor, job, data, None, background=True)


@contextlib.asynccontextmanager
async def ingest_worker(desk: Desk) -> AsyncIterator[asyncio.Task[None]]:
    """Run queued and orphaned ingestion jobs for the duration of the block (a server's lifespan).

    It starts by queueing again the work a killed server left behind (:func:`recover_interrupted`).
    """

    async def execute(job: Claimed) -> None:
        await run_claimed(desk, job)

    try:
        await recover_interrupted(desk)
    except Exception:  # the worker claims orphans by itself as well; a failed sweep must not stop start-up
        logger.exception("queueing interrupted ingestion jobs again failed")
    async with worker(desk, execute) as task:
        yield task


async def document_ingest_cancel(desk: Desk, actor: Actor, document_id: int) -> DocumentPublic:
    """Stop a document's ingestion: it ends ``failed`` with the reason "cancelled" (admins only)."""
    permissions.require(actor, "knowledge.write", "document ingest cancel")
    knowledge = desk.require_knowledge()
    now = desk.clock()
    async with desk.sessions.begin() as session:
        doc = await _require_document(session, document_id)
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
        await _fail(desk, knowledge, document_id, CANCELLED)  # queued: nobody is running it
    # Run by another process: it stops at its next progress step (within one embedding batch).
    async with desk.sessions() as session:
        return _public(await _require_document(session, document_id))


async def _process(
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
    extracted = await asyncio.to_thread(_extract_sync, data, filename, _limits(desk))
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
            public = _public(doc)
        for old in replaced:
            await knowledge.vectors.delete(coll, where={"document_id": old})
    await _report_done(report, len(chunks), pages, f"{filename} is ready: {len(chunks)} chunks")
    logger.info("ingested %s as document %s (%d chunks)", filename, doc_id, len(chunks))
    return IngestResult(document=public, job_id=public.job_id, replaced_document_id=replaced[0] if replaced else None)


async def _report_done(report: Report, chunks: int, pages: int | None, message: str) -> None:
    # The row is ready now (write_progress no longer touches it); only the caller's progress hears this.
    await report("indexing", chunks, chunks, pages, message)


async def recover_interrupted(desk: Desk) -> list[int]:
    """At start-up: put back in the queue every ingestion no live process owns; their ids.

    A server killed mid-ingestion (SIGKILL, OOM, power) leaves its document ``processing``. Its chunks
    were never committed (they commit with ``ready``), so the job runs again from the stored bytes, in
    whichever server process's ingestion worker claims it first. Work of live processes is left alone.
    """
    now = desk.clock()
    async with desk.sessions() as session:
        stuck = (await session.execute(select(Document).where(Document.status == "processing"))).scalars().all()
        orphans = [d.id for d in stuck if not _owned(d, now)]
    if orphans:
        knowledge = desk.require_knowledge()
        for doc_id in orphans:
            await _requeue(desk, knowledge, doc_id, "resuming: the server stopped while this was being processed")
    return orphans


async def _requeue(desk: Desk, knowledge: Knowledge, doc_id: int, message: str) -> None:
    """Hand a job back to the queue (no owner); an ingestion worker runs it again from the stored bytes."""
    async with desk.sessions.begin() as session:
        doc = await session.get(Document, doc_id)
        if doc is not None and doc.status == "processing":
            doc.worker, doc.heartbeat_at, doc.progress = None, None, queued_progress(message)
            doc.updated_at = desk.clock()
    wake(desk)
    logger.info("ingestion of document %s queued again: %s", doc_id, message)


async def _fail(desk: Desk, knowledge: Knowledge, doc_id: int, reason: str) -> None:
    """Record why, and leave no chunks or vectors of this attempt behind."""
    async with desk.sessions.begin() as session:
        doc = await session.get(Document, doc_id, with_for_update=True)
        if doc is None or doc.status != "processing":
            return  # it turned ready (or was deleted) just before the failure or cancel arrived
        await session.execute(delete(DocumentChunk).where(DocumentChunk.document_id == doc_id))
        doc.status, doc.error, doc.chunk_count, doc.updated_at = "failed", reason[:4000], 0, desk.clock()
        doc.worker, doc.heartbeat_at, doc.progress = None, None, None
    try:
        coll = await knowledge.write_collection()
        await knowledge.vectors.delete(coll, where={"document_id": doc_id})
    except EmbedderMismatchError:
        pass  # another model's index: this attempt never wrote to it
    logger.warning("ingestion of document %s failed: %s", doc_id, reason)


# --- read, delete, reindex -----------------------------------------------------------------------------


async def document_list(
    desk: Desk,
    actor: Actor,
    *,
    status: DocStatus | None = None,
    query: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[DocumentPublic]:
    """Documents, newest first, a page at a time."""
    del actor  # everyone may see what the knowledge base holds
    size, offset = page_limit(limit), decode_cursor(cursor)
    stmt = select(Document)
    if status:
        stmt = stmt.where(Document.status == status)
    if query:
        like = f"%{query.lower()}%"
        stmt = stmt.where(func.lower(Document.title).like(like) | func.lower(Document.filename).like(like))
    async with desk.sessions() as session:
        total = (await session.execute(select(func.count()).select_from(stmt.subquery()))).scalar_one()
        rows = (
            await session.execute(
                stmt.order_by(Document.created_at.desc(), Document.id.desc()).offset(offset).limit(size)
            )
        ).scalars()
        items = [_public(d) for d in rows]
    nxt = encode_cursor(offset + size) if offset + size < total else None
    return Page[DocumentPublic](items=items, total=total, next_cursor=nxt)


async def document_get(desk: Desk, actor: Actor, document_id: int, *, chunk_limit: int = 20) -> DocumentDetail:
    """A document with previews of its first chunks."""
    del actor
    if not 0 <= chunk_limit <= 200:
        raise InvalidInputError(f"chunk_limit must be between 0 and 200, got {chunk_limit}")
    async with desk.sessions() as session:
        doc = await _require_document(session, document_id)
        chunks = (
            await session.execute(
                select(DocumentChunk)
                .where(DocumentChunk.document_id == document_id)
                .order_by(DocumentChunk.ordinal)
                .limit(chunk_limit)
            )
        ).scalars()
        previews = [
            ChunkPreview(
                ordinal=c.ordinal,
                kind=c.kind,
                page=c.page,
                sheet=c.sheet,
                heading_path=list(c.heading_path or []),
                citation=c.citation,
                text=truncate(c.text, 400) or "",
            )
            for c in chunks
        ]
        return DocumentDetail(**_public(doc).model_dump(), chunks=previews)


async def document_delete(desk: Desk, actor: Actor, document_id: int) -> DocumentPublic:
    """Delete a document, its chunks and its vectors (admins only)."""
    permissions.require(actor, "knowledge.write", "document delete")
    knowledge = desk.require_knowledge()
    async with desk.sessions.begin() as session:
        doc = await _require_document(session, document_id)
        public = _public(doc)
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
            doc = await _require_document(session, document_id)
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
        vectors = await _embed_batches(
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
        await _report(progress, number, len(ids), f"reindexed document {doc_id} ({len(rows)} chunks)")
    return total
