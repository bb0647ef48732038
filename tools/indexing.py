"""Indexing on write: drain the outbox of changed KB articles and tickets into the vector index.

Writers only record what changed (:mod:`store.outbox`, same transaction as the change). A worker in each
server process, and ``support-agent index drain`` for batch use, claim queued rows for a lease (``FOR
UPDATE SKIP LOCKED`` on PostgreSQL, so two processes never take the same row; SQLite has one writer at a
time), embed the items as they are now, and delete a row only if nobody changed the item meanwhile.
Failures are retried with backoff; searches never write.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, or_, select, update

from store.models import KBArticle, ResolutionStep, RootCause, Ticket
from store.models_knowledge import IndexOutbox
from store.outbox import RESOLVED_STATUSES
from store.types import utcnow
from store.vectors import Metadata
from tools.desk import Desk
from tools.knowledge_service import EmbedderMismatchError, Knowledge
from tools.workers import background, poll_forever

logger = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
"""How long a claim holds; a process killed mid-batch loses its rows to another worker after this."""
BATCH = 32
MAX_BACKOFF_S = 300.0
POLL_S = 0.5
"""How often the worker looks for changes written by any process."""
MISMATCH_PAUSE_S = 30.0
"""How long the worker waits before looking again while the index needs a rebuild for another embedder."""


@dataclass
class DrainResult:
    embedded: int = 0
    removed: int = 0
    failed: int = 0
    remaining: int = 0


def ticket_text(ticket: Ticket, cause: RootCause | None, steps: Sequence[ResolutionStep]) -> str:
    """What a resolved ticket is found by: problem, error, root cause and the steps that worked."""
    parts = [f"{ticket.number}: {ticket.subject}", ticket.description]
    if ticket.error_message:
        parts.append(f"Error: {ticket.error_message}")
    if cause is not None:
        parts.append(f"Root cause ({cause.cause_code}): {cause.description}")
    done = [s.instructions for s in steps if s.success is not False]
    if done:
        parts.append("Resolution: " + " ".join(done))
    return "\n".join(parts)


async def _claim(desk: Desk, batch: int) -> list[tuple[str, int]]:
    now = utcnow()  # real time, like the rows the flush hook writes (desk.clock may be a test clock)
    due = (IndexOutbox.available_at <= now) & or_(IndexOutbox.claimed_until.is_(None), IndexOutbox.claimed_until < now)
    pick = select(IndexOutbox.item_key).where(due).order_by(IndexOutbox.available_at, IndexOutbox.item_key)
    pick = pick.limit(batch)
    if desk.dialect == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    # The worker polls twice a second in every server process: an idle poll only reads, so it never takes
    # SQLite's write lock (or a PostgreSQL write transaction) when there is nothing to claim.
    async with desk.sessions() as session:
        if (await session.execute(select(IndexOutbox.item_key).where(due).limit(1))).first() is None:
            return []
    async with desk.sessions.begin() as session:
        rows = await session.execute(
            update(IndexOutbox)
            .where(IndexOutbox.item_key.in_(pick.scalar_subquery()), due)
            .values(claimed_until=now + LEASE)
            .returning(IndexOutbox.item_key, IndexOutbox.version)
        )
        return [(k, int(v)) for k, v in rows.all()]


async def _embed_items(desk: Desk, knowledge: Knowledge, keys: list[str]) -> tuple[int, int]:
    """Write the current vectors of these items (or remove them); returns (embedded, removed)."""
    coll = await knowledge.write_collection()
    kb_ids = [int(k[3:]) for k in keys if k.startswith("kb:")]
    ticket_ids = [int(k[7:]) for k in keys if k.startswith("ticket:")]
    ids: list[str] = []
    texts: list[str] = []
    metas: list[Metadata] = []
    async with desk.sessions() as session:
        if kb_ids:
            for a in (await session.execute(select(KBArticle).where(KBArticle.id.in_(kb_ids)))).scalars():
                ids.append(f"kb:{a.id}")
                texts.append(f"{a.title}\n{a.body}")
                metas.append({"source": "kb", "ref_id": a.id})
        if ticket_ids:
            tickets = list(
                (
                    await session.execute(
                        select(Ticket).where(Ticket.id.in_(ticket_ids), Ticket.status.in_(RESOLVED_STATUSES))
                    )
                ).scalars()
            )
            found = [t.id for t in tickets]
            causes = {
                c.ticket_id: c
                for c in (await session.execute(select(RootCause).where(RootCause.ticket_id.in_(found)))).scalars()
            }
            steps: dict[int, list[ResolutionStep]] = {}
            for s in (
                await session.execute(
                    select(ResolutionStep).where(ResolutionStep.ticket_id.in_(found)).order_by(ResolutionStep.position)
                )
            ).scalars():
                steps.setdefault(s.ticket_id, []).append(s)
            for t in tickets:
                ids.append(f"ticket:{t.id}")
                texts.append(ticket_text(t, causes.get(t.id), steps.get(t.id, [])))
                metas.append({"source": "ticket", "ref_id": t.id})
    gone = sorted(set(keys) - set(ids))
    if texts:
        vectors = await knowledge.embed(texts)
        await knowledge.vectors.upsert(coll, ids, vectors, metas)
    if gone:
        await knowledge.vectors.delete(coll, ids=gone)
    return len(ids), len(gone)


async def _finish(desk: Desk, claimed: list[tuple[str, int]]) -> None:
    """Drop rows whose version did not move; release the others (changed meanwhile: embed again)."""
    async with desk.sessions.begin() as session:
        for key, version in claimed:
            await session.execute(
                delete(IndexOutbox).where(IndexOutbox.item_key == key, IndexOutbox.version == version)
            )
        await session.execute(
            update(IndexOutbox).where(IndexOutbox.item_key.in_([k for k, _ in claimed])).values(claimed_until=None)
        )


async def _retry_later(desk: Desk, claimed: list[tuple[str, int]], error: str) -> None:
    now = utcnow()  # real time, like the rows the flush hook writes (desk.clock may be a test clock)
    async with desk.sessions.begin() as session:
        for row in (
            await session.execute(select(IndexOutbox).where(IndexOutbox.item_key.in_([k for k, _ in claimed])))
        ).scalars():
            row.attempts += 1
            row.last_error = error[:2000]
            row.available_at = now + timedelta(seconds=min(MAX_BACKOFF_S, 2.0**row.attempts))
            row.claimed_until = None


async def _release(desk: Desk, claimed: list[tuple[str, int]]) -> None:
    async with desk.sessions.begin() as session:
        await session.execute(
            update(IndexOutbox).where(IndexOutbox.item_key.in_([k for k, _ in claimed])).values(claimed_until=None)
        )


async def drain_once(desk: Desk, *, batch: int = BATCH) -> DrainResult:
    """Claim and index one batch of queued items."""
    knowledge = desk.require_knowledge()
    result = DrainResult()
    claimed = await _claim(desk, batch)
    if not claimed:
        return result
    try:
        result.embedded, result.removed = await _embed_items(desk, knowledge, [k for k, _ in claimed])
    except EmbedderMismatchError:
        await _release(desk, claimed)  # nothing can be indexed until the rebuild; keep the rows as they are
        raise
    except Exception as exc:  # the batch is retried later; the worker must outlive any one failure
        logger.exception("indexing %d queued items failed; retrying later", len(claimed))
        await _retry_later(desk, claimed, f"{type(exc).__name__}: {exc}")
        result.failed = len(claimed)
        return result
    await _finish(desk, claimed)
    return result


async def pending_count(desk: Desk) -> int:
    async with desk.sessions() as session:
        return int((await session.execute(select(func.count()).select_from(IndexOutbox))).scalar_one())


async def is_pending(desk: Desk, key: str) -> bool:
    """True while ``key`` (``kb:<id>``, ``ticket:<id>``) has a change not yet in the vector index."""
    async with desk.sessions() as session:
        return await session.get(IndexOutbox, key) is not None


async def drain(desk: Desk, *, batch: int = BATCH, max_batches: int = 10_000) -> DrainResult:
    """Index everything queued now (``support-agent index drain``, tests); stops when only retries are left."""
    total = DrainResult()
    for _ in range(max_batches):
        step = await drain_once(desk, batch=batch)
        total.embedded += step.embedded
        total.removed += step.removed
        total.failed += step.failed
        if step.embedded + step.removed + step.failed == 0:
            break
    total.remaining = await pending_count(desk)
    return total


async def run_worker(desk: Desk, *, poll_s: float = POLL_S) -> None:
    """The server process's background indexer: drain, then look again every ``poll_s`` seconds."""

    async def step() -> bool:
        try:
            done = await drain_once(desk)
        except EmbedderMismatchError as exc:
            logger.warning("index worker paused: %s", exc)
            await asyncio.sleep(MISMATCH_PAUSE_S)
            return True  # paused long enough: look again at once
        return done.embedded + done.removed + done.failed > 0

    await poll_forever(step, idle=lambda: asyncio.sleep(poll_s), what="index worker: draining the outbox", retry_s=5)


@contextlib.asynccontextmanager
async def index_worker(desk: Desk) -> AsyncIterator[asyncio.Task[None]]:
    """Run :func:`run_worker` for the duration of the block (the server's lifespan)."""
    async with background("index-worker", run_worker(desk)) as task:
        yield task
