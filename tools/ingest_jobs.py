"""Ingestion jobs: the document row is the job; any server process may claim one and run it.

``document_ingest`` stores the bytes and leaves the document ``processing`` with a ``job_id`` and no
``worker``: queued. A worker in each server process (:func:`run_jobs`) claims queued documents, and ones
whose worker died (SIGKILL, OOM: :func:`tools.workers.is_alive`), by compare-and-set on ``worker``,
after ``FOR UPDATE SKIP LOCKED`` on PostgreSQL so two processes never take the same one. A job writes
its progress to the row as it goes and stops at its next step once ``cancel_requested`` is set. Chunks
only commit together with ``ready`` (see :mod:`tools.knowledge`), so a job that dies is simply run again
from its stored bytes: never half-indexed.

At most ``settings.ingest_workers`` jobs run at once per process (background and waiting callers share
the slots); parsing and embedding run in worker threads, so the event loop keeps serving other calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update

from store.models_knowledge import Document
from tools.desk import Desk
from tools.errors import DeskError
from tools.workers import background, is_alive, poll_forever, this_worker

logger = logging.getLogger(__name__)

POLL_S = 1.0
"""How often an idle worker looks for jobs queued by another process (its own wake it at once)."""
CLAIM_SCAN = 20


class IngestCancelled(DeskError):
    """The job's document was asked to stop (document_ingest_cancel)."""


@dataclass
class Claimed:
    document_id: int
    job_id: str


def new_job_id() -> str:
    return uuid.uuid4().hex


def queued_progress(message: str = "waiting for an ingestion worker") -> dict[str, Any]:
    return {"stage": "queued", "done": 0, "total": 0, "pages": None, "message": message}


# --- per-process state: slots, the wake-up event, running jobs ----------------------------------------


def slots(desk: Desk) -> asyncio.Semaphore:
    """The process's ingestion slots (``settings.ingest_workers``), shared by the worker and waiting callers."""
    sem = desk.extras.get("ingest_slots")
    if not isinstance(sem, asyncio.Semaphore):
        sem = desk.extras["ingest_slots"] = asyncio.Semaphore(desk.settings.ingest_workers)
    return sem


def _wake_event(desk: Desk) -> asyncio.Event:
    event = desk.extras.get("ingest_wake")
    if not isinstance(event, asyncio.Event):
        event = desk.extras["ingest_wake"] = asyncio.Event()
    return event


def wake(desk: Desk) -> None:
    """Tell this process's worker a job was queued (other processes find it by polling)."""
    _wake_event(desk).set()


def running(desk: Desk) -> dict[int, asyncio.Task[Any]]:
    """Jobs running in this process, by document id (so a cancel can stop one at once)."""
    tasks = desk.extras.get("ingest_tasks")
    if not isinstance(tasks, dict):
        tasks = desk.extras["ingest_tasks"] = {}
    return tasks


# --- the row: claim, progress, cancellation -------------------------------------------------------------


async def claim_next(desk: Desk) -> Claimed | None:
    """Take one queued or orphaned job for this process, or None when there is none."""
    now = desk.clock()
    # An idle poll only reads (no write lock on SQLite, no write transaction on PostgreSQL).
    async with desk.sessions() as session:
        rows = (
            await session.execute(
                select(Document.id, Document.worker, Document.heartbeat_at)
                .where(Document.status == "processing")
                .order_by(Document.updated_at, Document.id)
                .limit(CLAIM_SCAN)
            )
        ).all()
    candidates = [doc_id for doc_id, worker, beat in rows if not is_alive(worker, beat, now)]
    if not candidates:
        return None
    me = this_worker()
    async with desk.sessions.begin() as session:
        pick = select(Document.id, Document.worker, Document.heartbeat_at, Document.job_id).where(
            Document.id.in_(candidates), Document.status == "processing"
        )
        if desk.dialect == "postgresql":
            pick = pick.with_for_update(skip_locked=True)
        for doc_id, worker, beat, job_id in (await session.execute(pick.order_by(Document.id))).all():
            if is_alive(worker, beat, now):
                continue
            # Compare-and-set on the owner: of two processes that saw the same orphan, one wins.
            owner = Document.worker.is_(None) if worker is None else Document.worker == worker
            job = job_id or new_job_id()
            taken = await session.execute(
                update(Document)
                .where(Document.id == doc_id, Document.status == "processing", owner)
                .values(worker=me, heartbeat_at=now, job_id=job)
            )
            if taken.rowcount == 1:  # type: ignore[attr-defined]
                logger.info("claimed ingestion job %s (document %s)%s", job, doc_id, " after a restart" * bool(worker))
                return Claimed(doc_id, job)
    return None


async def write_progress(desk: Desk, document_id: int, progress: dict[str, Any]) -> None:
    """Record a job's progress; raises :class:`IngestCancelled` once a cancel was asked for."""
    async with desk.sessions.begin() as session:
        row = (
            await session.execute(
                update(Document)
                .where(Document.id == document_id, Document.status == "processing")
                .values(progress=progress)
                .returning(Document.cancel_requested)
            )
        ).first()
    if row is not None and row[0]:
        raise IngestCancelled("cancelled")


# --- the worker loop ---------------------------------------------------------------------------------------


async def run_jobs(desk: Desk, execute: Callable[[Claimed], Awaitable[Any]], *, poll_s: float = POLL_S) -> None:
    """Claim jobs while a slot is free and run each with ``execute``; forever (cancel to stop)."""
    sem = slots(desk)
    event = _wake_event(desk)
    active: set[asyncio.Task[None]] = set()

    async def run(job: Claimed) -> None:
        try:
            await execute(job)
        except DeskError:
            pass  # recorded on the document by ``execute``
        except Exception:  # one job's failure (recorded on its document) must not end the worker
            logger.exception("ingestion job %s (document %s) failed", job.job_id, job.document_id)
        finally:
            sem.release()
            event.set()  # a slot is free: look again at once

    async def claim() -> bool:
        """Claim a job for a free slot and start it; the slot goes back unless a job now holds it."""
        await sem.acquire()
        job: Claimed | None = None
        try:
            event.clear()
            job = await claim_next(desk)
        finally:
            if job is None:
                sem.release()
        if job is None:
            return False
        task = asyncio.create_task(run(job), name=f"ingest-{job.document_id}")
        active.add(task)
        task.add_done_callback(active.discard)
        return True

    async def idle() -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), poll_s)

    try:
        await poll_forever(claim, idle=idle, what="ingestion worker: claiming a job", retry_s=poll_s)
    finally:
        for task in list(active):
            task.cancel()
        if active:
            await asyncio.gather(*active, return_exceptions=True)


@contextlib.asynccontextmanager
async def worker(desk: Desk, execute: Callable[[Claimed], Awaitable[Any]]) -> AsyncIterator[asyncio.Task[None]]:
    """Run :func:`run_jobs` for the duration of the block (a server's lifespan)."""
    async with background("ingest-worker", run_jobs(desk, execute)) as task:
        yield task
