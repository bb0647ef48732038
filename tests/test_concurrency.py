"""Concurrent updates of one ticket from the same version: exactly one wins, nothing is silently lost."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import text

from store.models import Ticket
from tests.ticket_helpers import audit_events, new_ticket
from tools import metrics_queue, tickets
from tools import ticket_activity as tickets_activity
from tools.actor import Actor
from tools.desk import Desk
from tools.errors import ConflictError
from tools.ticket_models import TicketPublic, TicketUpdate
from tools.tickets import ticket_get, ticket_update
from tools.voice_conversations import find_or_start


async def test_ten_concurrent_updates_from_one_version(desk: Desk, admin: Actor) -> None:
    t = await new_ticket(desk, admin)

    async def attempt(i: int) -> TicketPublic | ConflictError:
        try:
            return await ticket_update(desk, admin, t.id, TicketUpdate(version=t.version, subject=f"change {i}"))
        except ConflictError as exc:
            return exc

    results = await asyncio.wait_for(asyncio.gather(*(attempt(i) for i in range(10))), timeout=120)
    winners = [r for r in results if isinstance(r, TicketPublic)]
    conflicts = [r for r in results if isinstance(r, ConflictError)]
    assert len(winners) == 1 and len(conflicts) == 9
    assert all("read it again with ticket_get" in str(c) for c in conflicts)
    final = (await ticket_get(desk, admin, t.id)).ticket
    assert final.subject == winners[0].subject
    assert final.version == t.version + 1 == winners[0].version
    [event] = await audit_events(desk, "ticket.update")
    assert event.after is not None and event.after["subject"] == winners[0].subject


async def test_a_commit_racing_past_the_version_check_is_a_conflict(
    desk: Desk, admin: Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both writers pass the version check; the database's version column decides (PostgreSQL only:
    SQLite's BEGIN IMMEDIATE serialises the two transactions, so the race cannot happen there)."""
    if desk.dialect != "postgresql":
        pytest.skip("SQLite serialises writers; the explicit version check covers it")
    t = await new_ticket(desk, admin)
    original = tickets._apply

    async def racing(session: Any, desk_: Desk, ticket: Ticket, changes: dict[str, Any], now: Any) -> Any:
        monkeypatch.setattr(tickets, "_apply", original)
        await ticket_update(desk, admin, t.id, TicketUpdate(version=t.version, description="the other writer"))
        return await original(session, desk_, ticket, changes, now)

    monkeypatch.setattr(tickets, "_apply", racing)
    with pytest.raises(ConflictError, match=rf"ticket {t.number} was changed by someone else at the same time"):
        await ticket_update(desk, admin, t.id, TicketUpdate(version=t.version, description="mine"))
    final = (await ticket_get(desk, admin, t.id)).ticket
    assert final.description == "the other writer" and final.version == t.version + 1
    assert len(await audit_events(desk, "ticket.update")) == 1


async def test_a_read_does_not_wait_for_an_open_write_transaction(desk: Desk, admin: Actor) -> None:
    t = await new_ticket(desk, admin, subject="Before the write")
    async with desk.sessions.begin() as writer:
        row = await writer.get(Ticket, t.id)
        assert row is not None
        row.subject = "During the write"
        await writer.flush()  # the writer now holds the write lock (SQLite) / the row lock (PostgreSQL)
        read = asyncio.create_task(ticket_get(desk, admin, t.id))
        # Bounded: a read that queues behind the writer never finishes while the writer stays open.
        done, _ = await asyncio.wait({read}, timeout=20)
        assert read in done, "a read waited for a write transaction to end"
        assert read.result().ticket.subject == "Before the write"  # it reads the last committed state
    assert (await ticket_get(desk, admin, t.id)).ticket.subject == "During the write"


async def test_a_read_then_write_call_waits_for_an_open_writer_instead_of_failing(desk: Desk, admin: Actor) -> None:
    """Starting a voice conversation reads first, then writes: it must wait its turn, not hit 'database is locked'."""
    t = await new_ticket(desk, admin, subject="Before the write")
    async with desk.sessions.begin() as writer:
        row = await writer.get(Ticket, t.id)
        assert row is not None
        row.subject = "During the write"
        await writer.flush()
        started = asyncio.create_task(find_or_start(desk, admin, "conv-during-a-write"))
        await asyncio.sleep(0.5)  # let it begin (and, in a read transaction, read) while the writer holds the lock
    voice_id, last_reply = await asyncio.wait_for(started, timeout=30)
    assert voice_id > 0 and last_reply is None
    assert (await find_or_start(desk, admin, "conv-during-a-write"))[0] == voice_id


async def test_replies_and_status_changes_racing_on_one_ticket_all_land(
    desk: Desk, admin: Actor, make_user: Any
) -> None:
    """Replies and status changes posted at once on one ticket all succeed (no deadlock between the rows
    they add and the ticket lock the analytics rollup takes), and the rollup counts every staff reply."""
    requester = await make_user("rosa.requester", "end_user")
    tech = await make_user("teo.tech", "technician")
    t = await new_ticket(desk, requester)

    async def reply(i: int) -> None:
        author = tech if i % 2 else requester
        await tickets_activity.ticket_comment(desk, author, t.id, body=f"reply {i}")

    async def set_status(status: str) -> None:
        for _ in range(20):  # a version conflict is the caller's to retry; any other error fails the test
            current = (await ticket_get(desk, admin, t.id)).ticket
            try:
                await ticket_update(desk, tech, t.id, TicketUpdate(version=current.version, status=status))
                return
            except ConflictError:
                continue
        raise AssertionError(f"status {status!r} never applied")

    work = [reply(i) for i in range(16)] + [set_status(s) for s in ("open", "in_progress", "pending")]
    async with asyncio.timeout(120), asyncio.TaskGroup() as group:  # a failure cancels the others
        for job in work:
            group.create_task(job)
    await metrics_queue.drain(desk)  # the writes queued their ticket; the drain recomputes its facts
    async with desk.sessions() as session:
        replies = (
            await session.execute(text("SELECT public_replies FROM ticket_metrics WHERE ticket_id = :id"), {"id": t.id})
        ).scalar_one()
    assert replies == 8
