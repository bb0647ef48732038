"""The metrics queue: ticket writes note which tickets changed; a drain recomputes their facts and rollup rows.

A ticket write (create, update, comment) inserts the ticket's id into ``ticket_metrics_pending`` in its own
transaction, so the note commits or rolls back with the change, and moves on. It no longer recomputes the
facts (``ticket_metrics``) and the shared rollup rows (``ticket_rollup``, ``ticket_rollup_hist``) itself: on
PostgreSQL that needed one advisory lock from the refresh to the commit (two writers adding to the same day's
rows otherwise deadlock), so every ticket write of every process queued behind every other.

:func:`drain` recomputes the queued tickets a batch at a time with :func:`tools.metrics.refresh_metrics` (the
same statements as before), each batch in one transaction under that lock, which now only drains contend for.
The server runs :func:`metrics_worker` (a drain every ``POLL_S``), and every analytics read drains first
(:func:`up_to_date`), so a report counts every ticket write committed before it started: the rollup stays exact,
only the work moved out of the writer's transaction. A process killed mid-drain loses nothing: the batch's rows
are deleted in the transaction that applied them. Imports still refresh inside each batch's transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence

from sqlalchemy import bindparam, delete, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from store.models_analytics import TicketMetricsPending
from tools.desk import Desk
from tools.metrics import ROLLUP_LOCK, ensure_metrics, refresh_metrics
from tools.workers import background, poll_forever

logger = logging.getLogger(__name__)

DRAIN_BATCH = 200
"""Tickets recomputed per transaction: small enough that a batch's row locks are brief for concurrent writers."""
POLL_S = 1.0
"""How often the server's worker looks for queued tickets."""


async def mark(session: AsyncSession, ticket_ids: Sequence[int]) -> None:
    """Queue ``ticket_ids`` for recomputation, inside the caller's write transaction."""
    ids = sorted(set(ticket_ids))
    if ids:
        await session.execute(insert(TicketMetricsPending), [{"ticket_id": i} for i in ids])


async def drain_once(desk: Desk, *, batch: int = DRAIN_BATCH) -> int:
    """Recompute the oldest ``batch`` queued notes' tickets in one transaction; returns how many notes it took."""
    async with desk.sessions() as peek:
        # An empty queue (the worker's usual look, every report's first step) costs one read, not a write
        # transaction: on SQLite that would queue behind the writers, on PostgreSQL wait for the rollup's lock.
        if (await peek.execute(select(TicketMetricsPending.id).limit(1))).first() is None:
            return 0
    async with desk.sessions.begin() as session:
        if desk.dialect == "postgresql":
            # Taken before reading the queue, so two drains never recompute the same batch one after the other.
            await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": ROLLUP_LOCK})
        rows = (
            await session.execute(
                select(TicketMetricsPending.id, TicketMetricsPending.ticket_id)
                .order_by(TicketMetricsPending.id)
                .limit(batch)
            )
        ).all()
        if not rows:
            return 0
        await refresh_metrics(session, desk.settings, [r.ticket_id for r in rows])
        # Exactly the notes read: one a writer committed meanwhile (a higher or a lower id) stays for next time.
        await session.execute(
            delete(TicketMetricsPending).where(TicketMetricsPending.id.in_(bindparam("ids", expanding=True))),
            {"ids": [r.id for r in rows]},
        )
        return len(rows)


async def drain(desk: Desk, *, batch: int = DRAIN_BATCH) -> int:
    """Recompute every ticket queued now; returns how many notes were taken."""
    taken = 0
    while done := await drain_once(desk, batch=batch):
        taken += done
    return taken


async def pending_count(desk: Desk) -> int:
    async with desk.sessions() as session:
        return int((await session.execute(select(func.count()).select_from(TicketMetricsPending))).scalar_one())


async def up_to_date(desk: Desk) -> None:
    """What every analytics read calls first: the queue drained, then the calendar and rollup checked.

    Draining first matters: a ticket created since the last drain has no facts yet, and
    :func:`~tools.metrics.ensure_metrics` would take it for stale and rebuild the whole rollup."""
    await drain(desk)
    await ensure_metrics(desk)


async def run_worker(desk: Desk, *, poll_s: float = POLL_S) -> None:
    """The server process's metrics worker: drain, then look again every ``poll_s`` seconds."""

    async def step() -> bool:
        return await drain_once(desk) > 0

    await poll_forever(step, idle=lambda: asyncio.sleep(poll_s), what="metrics worker: draining the queue", retry_s=5)


@contextlib.asynccontextmanager
async def metrics_worker(desk: Desk) -> AsyncIterator[asyncio.Task[None]]:
    """Run :func:`run_worker` for the duration of the block (the server's lifespan)."""
    async with background("metrics-worker", run_worker(desk)) as task:
        yield task
