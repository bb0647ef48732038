"""Ticket writes queue their analytics work instead of doing it; reports and the server's worker drain the queue.

What a desk's people would notice: a technician's reply does not wait for a manager's report or for other
writers' rollup work, and the report still counts every reply and status change committed before it.
"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from tests.conftest import MakeUser
from tests.ticket_helpers import new_ticket
from tools import metrics_queue
from tools.actor import Actor
from tools.analytics import analytics_tickets
from tools.desk import Desk
from tools.errors import ConflictError
from tools.metrics import ROLLUP_LOCK
from tools.ticket_activity import ticket_comment
from tools.ticket_models import TicketUpdate
from tools.tickets import ticket_get, ticket_update
from tools.workers import background


async def _facts(desk: Desk, ticket_id: int) -> tuple[int, str] | None:
    async with desk.sessions() as session:
        row = (
            await session.execute(
                text("SELECT public_replies, priority FROM ticket_metrics WHERE ticket_id = :id"), {"id": ticket_id}
            )
        ).first()
    return (row[0], row[1]) if row else None


async def test_a_report_counts_every_write_committed_before_it(desk: Desk, admin: Actor, make_user: MakeUser) -> None:
    tech = await make_user("tina.tech", "technician")
    alice = await make_user("alice")
    first = await new_ticket(desk, alice, "VPN drops every hour")
    second = await new_ticket(desk, alice, "Printer offline", priority="low")
    await ticket_comment(desk, tech, first.id, body="Which client version?")
    version = (await ticket_get(desk, admin, second.id)).ticket.version
    await ticket_update(desk, admin, second.id, TicketUpdate(version=version, priority="high"))
    assert await metrics_queue.pending_count(desk) == 4  # two creates, a reply, an update: queued, not done
    assert await _facts(desk, first.id) is None

    period = {"start": desk.clock().replace(hour=0, minute=0), "end": desk.clock().replace(hour=23, minute=59)}
    report = await analytics_tickets(desk, admin, **period, group_by="priority")
    assert {r.group: r.created for r in report.rows} == {"medium": 1, "high": 1}
    assert await metrics_queue.pending_count(desk) == 0
    assert await _facts(desk, first.id) == (1, "medium") and await _facts(desk, second.id) == (0, "high")


async def test_a_write_that_fails_queues_nothing(desk: Desk, admin: Actor) -> None:
    t = await new_ticket(desk, admin)
    await metrics_queue.drain(desk)
    with pytest.raises(ConflictError):
        await ticket_update(desk, admin, t.id, TicketUpdate(version=t.version + 5, priority="critical"))
    assert await metrics_queue.pending_count(desk) == 0


async def test_ticket_writes_do_not_wait_for_the_rollup_lock(desk: Desk, admin: Actor, make_user: MakeUser) -> None:
    """PostgreSQL: a drain (or a rebuild) holds the rollup's advisory lock; replies and updates go on meanwhile."""
    if desk.dialect != "postgresql":
        pytest.skip("SQLite has one writer at a time whatever the rollup does")
    alice = await make_user("alice")
    t = await new_ticket(desk, alice, "Outlook keeps asking for my password")
    async with desk.engine.connect() as holder:
        await holder.begin()
        await holder.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": ROLLUP_LOCK})
        async with asyncio.timeout(15):  # before the queue, each of these waited for the lock's holder to commit
            await ticket_comment(desk, alice, t.id, body="It started after the update.")
            again = await new_ticket(desk, alice, "Teams has no sound")
            version = (await ticket_get(desk, admin, again.id)).ticket.version
            await ticket_update(desk, admin, again.id, TicketUpdate(version=version, status="open"))
        await holder.rollback()
    assert await metrics_queue.drain(desk) == 4  # two creates, a reply, an update
    assert await _facts(desk, t.id) == (0, "medium")  # the requester's own reply is not a staff reply


async def test_the_server_worker_drains_the_queue(desk: Desk, admin: Actor) -> None:
    t = await new_ticket(desk, admin, "Laptop fan is loud")
    async with background("metrics-worker", metrics_queue.run_worker(desk, poll_s=0.05)):
        async with asyncio.timeout(20):
            while await metrics_queue.pending_count(desk):  # noqa: ASYNC110  (the queue is a table, not an event)
                await asyncio.sleep(0.05)
    assert await _facts(desk, t.id) == (0, "medium")
