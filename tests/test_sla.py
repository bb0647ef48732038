"""SLA targets, the pause clock and derived breaches, with a fake clock (no sleeping)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.conftest import FakeClock, MakeUser
from tests.ticket_helpers import new_ticket
from tools.actor import Actor
from tools.desk import Desk
from tools.ticket_activity import ticket_comment
from tools.ticket_models import TicketPublic, TicketUpdate
from tools.ticket_query import ticket_list
from tools.tickets import ticket_get, ticket_update


async def _set(desk: Desk, actor: Actor, t: TicketPublic, **changes: object) -> TicketPublic:
    return await ticket_update(desk, actor, t.number, TicketUpdate(version=t.version, **changes))  # type: ignore[arg-type]


@pytest.mark.parametrize(("priority", "hours"), [("critical", 4), ("high", 8), ("medium", 24), ("low", 72)])
async def test_due_times_follow_priority(desk: Desk, admin: Actor, clock: FakeClock, priority: str, hours: int) -> None:
    t = await new_ticket(desk, admin, priority=priority)
    assert t.status == "new"
    assert t.created_at == clock.now
    assert t.sla_due_at == clock.now + timedelta(hours=hours)
    assert t.first_response_due_at == clock.now + timedelta(hours=hours / 4)
    assert t.sla_remaining_seconds == hours * 3600
    assert not t.sla_breached and not t.first_response_breached


async def test_default_priority_is_medium(desk: Desk, admin: Actor, clock: FakeClock) -> None:
    t = await new_ticket(desk, admin)
    assert t.priority == "medium"
    assert t.sla_due_at - t.created_at == timedelta(hours=24)


async def test_breach_is_derived_from_the_clock(desk: Desk, admin: Actor, clock: FakeClock) -> None:
    t = await new_ticket(desk, admin, priority="high")
    clock.advance(hours=1, minutes=59)
    fresh = (await ticket_get(desk, admin, t.id)).ticket
    assert not fresh.first_response_breached and not fresh.sla_breached
    clock.advance(minutes=2)
    fresh = (await ticket_get(desk, admin, t.id)).ticket
    assert fresh.first_response_breached and not fresh.sla_breached
    clock.advance(hours=6)
    fresh = (await ticket_get(desk, admin, t.id)).ticket
    assert fresh.sla_breached
    assert fresh.sla_remaining_seconds == -60  # 8 h 01 min elapsed of 8 h


async def test_pending_pauses_and_resuming_pushes_due_times_out(desk: Desk, admin: Actor, clock: FakeClock) -> None:
    t = await new_ticket(desk, admin, priority="medium")
    created = t.created_at
    clock.advance(hours=2)
    t = await _set(desk, admin, t, status="pending")
    assert t.paused_at == created + timedelta(hours=2)
    clock.advance(hours=30)  # longer than the whole target: paused, so no breach
    t = (await ticket_get(desk, admin, t.id)).ticket
    assert not t.sla_breached and not t.first_response_breached
    assert t.sla_remaining_seconds == 22 * 3600
    t = await _set(desk, admin, t, status="open")
    assert t.paused_at is None
    assert t.paused_seconds == 30 * 3600
    assert t.sla_due_at == created + timedelta(hours=24 + 30)
    assert t.first_response_due_at == created + timedelta(hours=6 + 30)
    clock.advance(hours=21, minutes=59)
    assert not (await ticket_get(desk, admin, t.id)).ticket.sla_breached
    clock.advance(minutes=2)
    assert (await ticket_get(desk, admin, t.id)).ticket.sla_breached


async def test_two_pauses_add_up(desk: Desk, admin: Actor, clock: FakeClock) -> None:
    t = await new_ticket(desk, admin, priority="critical")
    for hours in (1, 3):
        t = await _set(desk, admin, t, status="pending")
        clock.advance(hours=hours)
        t = await _set(desk, admin, t, status="in_progress")
    assert t.paused_seconds == 4 * 3600
    assert t.sla_due_at == t.created_at + timedelta(hours=4 + 4)


async def test_priority_change_keeps_paused_time(desk: Desk, admin: Actor, clock: FakeClock) -> None:
    t = await new_ticket(desk, admin, priority="low")
    clock.advance(hours=1)
    t = await _set(desk, admin, t, status="pending")
    clock.advance(hours=10)
    t = await _set(desk, admin, t, status="open")
    t = await _set(desk, admin, t, priority="critical")
    assert t.sla_due_at == t.created_at + timedelta(hours=4 + 10)
    assert t.first_response_due_at == t.created_at + timedelta(hours=1 + 10)
    # A priority change while pending keeps the running pause too: it is added on resume.
    t = await _set(desk, admin, t, status="pending")
    clock.advance(hours=5)
    t = await _set(desk, admin, t, priority="high")
    assert t.sla_due_at == t.created_at + timedelta(hours=8 + 10)
    t = await _set(desk, admin, t, status="open")
    assert t.sla_due_at == t.created_at + timedelta(hours=8 + 15)


async def test_resolution_stops_the_clock_and_a_late_resolution_stays_breached(
    desk: Desk, admin: Actor, clock: FakeClock
) -> None:
    on_time = await new_ticket(desk, admin, priority="critical", subject="On time")
    late = await new_ticket(desk, admin, priority="critical", subject="Late")
    clock.advance(hours=3)
    on_time = await _set(desk, admin, on_time, status="resolved")
    clock.advance(hours=2)
    late = await _set(desk, admin, late, status="resolved")
    clock.advance(days=10)
    assert not (await ticket_get(desk, admin, on_time.id)).ticket.sla_breached
    assert (await ticket_get(desk, admin, on_time.id)).ticket.sla_remaining_seconds == 3600
    assert (await ticket_get(desk, admin, late.id)).ticket.sla_breached


async def test_first_response_is_the_first_public_staff_reply(
    desk: Desk, admin: Actor, clock: FakeClock, make_user: MakeUser
) -> None:
    alice = await make_user("alice")
    tech = await make_user("tech", "technician")
    t = await new_ticket(desk, alice, priority="high")  # first response due in 2 h
    clock.advance(minutes=10)
    await ticket_comment(desk, alice, t.id, body="Any news?")
    await ticket_comment(desk, tech, t.id, body="Looks like the fuser", internal=True)
    assert (await ticket_get(desk, tech, t.id)).ticket.first_response_at is None
    clock.advance(minutes=50)
    result = await ticket_comment(desk, tech, t.id, body="On it, checking the printer now.")
    assert result.ticket.first_response_at == clock.now
    assert result.ticket.status == "open"
    clock.advance(hours=3)
    await ticket_comment(desk, tech, t.id, body="Second reply")
    fresh = (await ticket_get(desk, tech, t.id)).ticket
    assert fresh.first_response_at == clock.now - timedelta(hours=3)
    assert not fresh.first_response_breached


async def test_requester_reply_on_pending_ticket_resumes_the_clock(
    desk: Desk, clock: FakeClock, make_user: MakeUser
) -> None:
    alice = await make_user("alice")
    tech = await make_user("tech", "technician")
    t = await new_ticket(desk, alice)
    t = await _set(desk, tech, t, status="pending")
    clock.advance(hours=5)
    result = await ticket_comment(desk, alice, t.id, body="Here is the screenshot you asked for.")
    assert result.ticket.status == "open"
    assert result.ticket.paused_seconds == 5 * 3600


async def test_breached_filter_runs_in_sql_and_matches_the_flags(
    desk: Desk, admin: Actor, clock: FakeClock, make_user: MakeUser
) -> None:
    tech = await make_user("tech", "technician")
    resolution_late = await new_ticket(desk, admin, priority="critical", subject="resolution late")
    response_late = await new_ticket(desk, admin, priority="high", subject="response late")
    fine = await new_ticket(desk, admin, priority="low", subject="fine")
    answered = await new_ticket(desk, admin, priority="high", subject="answered")
    paused = await new_ticket(desk, admin, priority="critical", subject="paused")
    await ticket_comment(desk, tech, fine.id, body="Looking into it")
    await ticket_comment(desk, tech, answered.id, body="Looking into it")
    await _set(desk, admin, paused, status="pending")
    clock.advance(hours=5)
    page = await ticket_list(desk, admin, breached=True)
    assert {t.subject for t in page.items} == {resolution_late.subject, response_late.subject}
    assert page.total == 2
    assert all(t.sla_breached or t.first_response_breached for t in page.items)
    rest = await ticket_list(desk, admin, breached=False)
    assert {t.subject for t in rest.items} == {fine.subject, answered.subject, paused.subject}
    assert not any(t.sla_breached or t.first_response_breached for t in rest.items)
