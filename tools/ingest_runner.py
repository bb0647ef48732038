"""Running ingestion jobs: in the caller's task (``wait``) or an ingestion worker's, recording how each
ended (ready, failed with a plain reason, or back in the queue when its server stops), and queueing again at
start-up the jobs a killed server left behind. The queue itself (claims, progress, slots) is
:mod:`tools.ingest_jobs`; one ingestion's steps are :mod:`tools.ingest_pipeline`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import datetime

from sqlalchemy import delete, select

from store.models_knowledge import Document, DocumentChunk
from tools.actor import Actor
from tools.desk import Desk
from tools.errors import DeskError
from tools.ingest_jobs import Claimed, queued_progress, running, wake, worker, write_progress
from tools.ingest_pipeline import failure_reason, process, report_progress
from tools.knowledge_models import IngestResult, Progress, Stage
from tools.knowledge_query import require_document
from tools.knowledge_service import EmbedderMismatchError, Knowledge
from tools.users import current_actor
from tools.workers import heartbeat, is_alive

logger = logging.getLogger(__name__)


def owned(doc: Document, now: datetime) -> bool:
    """Whether ``doc``'s ingestion is queued or a live process is running it (see :mod:`tools.workers`)."""
    return doc.status == "processing" and (doc.worker is None or is_alive(doc.worker, doc.heartbeat_at, now))


async def run_job(
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
        doc = await require_document(session, doc_id)
        filename, source_key = doc.filename, doc.source_key

    async def report(stage: Stage, done: int, total: int, pages: int | None, message: str) -> None:
        await write_progress(
            desk, doc_id, {"stage": stage, "done": done, "total": total, "pages": pages, "message": message}
        )
        await report_progress(progress, done, total, message)

    async def body() -> IngestResult:
        async with heartbeat(desk.sessions, doc_id, desk.clock):
            return await process(desk, knowledge, actor, doc_id, data, filename, source_key, report)

    async def guarded() -> IngestResult:
        # How the job ended is recorded inside its task, so whoever waits for the task sees the final row.
        try:
            return await body()
        except BaseException as exc:
            cancelled = isinstance(exc, asyncio.CancelledError)
            if background and cancelled and not await asyncio.shield(_cancel_asked(desk, doc_id)):
                await asyncio.shield(requeue(desk, knowledge, doc_id, "the server stopped; resuming"))
            else:
                await asyncio.shield(fail_job(desk, knowledge, doc_id, failure_reason(exc)))
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
        await fail_job(desk, knowledge, job.document_id, "the stored bytes of this document are gone; ingest it again")
        return None
    return await run_job(desk, knowledge, actor, job, data, None, background=True)


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


async def recover_interrupted(desk: Desk) -> list[int]:
    """At start-up: put back in the queue every ingestion no live process owns; their ids.

    A server killed mid-ingestion (SIGKILL, OOM, power) leaves its document ``processing``. Its chunks
    were never committed (they commit with ``ready``), so the job runs again from the stored bytes, in
    whichever server process's ingestion worker claims it first. Work of live processes is left alone.
    """
    now = desk.clock()
    async with desk.sessions() as session:
        stuck = (await session.execute(select(Document).where(Document.status == "processing"))).scalars().all()
        orphans = [d.id for d in stuck if not owned(d, now)]
    if orphans:
        knowledge = desk.require_knowledge()
        for doc_id in orphans:
            await requeue(desk, knowledge, doc_id, "resuming: the server stopped while this was being processed")
    return orphans


async def requeue(desk: Desk, knowledge: Knowledge, doc_id: int, message: str) -> None:
    """Hand a job back to the queue (no owner); an ingestion worker runs it again from the stored bytes."""
    async with desk.sessions.begin() as session:
        doc = await session.get(Document, doc_id)
        if doc is not None and doc.status == "processing":
            doc.worker, doc.heartbeat_at, doc.progress = None, None, queued_progress(message)
            doc.updated_at = desk.clock()
    wake(desk)
    logger.info("ingestion of document %s queued again: %s", doc_id, message)


async def fail_job(desk: Desk, knowledge: Knowledge, doc_id: int, reason: str) -> None:
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
