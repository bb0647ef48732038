"""The audit trail: written in the write's own transaction, read by admins with filters and pages."""

from __future__ import annotations

from datetime import timedelta

import pytest

from store.models import User
from store.types import utcnow
from tests.conftest import MakeUser
from tests.ticket_helpers import audit_events, new_ticket
from tools.actor import Actor
from tools.audit import audit_list, record_event
from tools.desk import Desk
from tools.errors import ForbiddenError, InvalidInputError, NotFoundError


async def test_an_event_commits_or_rolls_back_with_its_change(desk: Desk, admin: Actor) -> None:
    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        async with desk.sessions.begin() as session:
            session.add(User(username="ghost", email="g@example.com", display_name="G", role="end_user"))
            await session.flush()
            record_event(session, admin, "user.create", "user", 99, after={"username": "ghost"})
            raise Boom
    assert await audit_events(desk, "user.create") == []
    async with desk.sessions.begin() as session:
        record_event(session, admin, "auth.sign_in", "user", admin.user_id, address="10.0.0.7")
    (event,) = await audit_events(desk, "auth.sign_in")
    assert event.address == "10.0.0.7" and event.actor_id == admin.user_id


async def test_audit_list_filters_and_pages(desk: Desk, admin: Actor, make_user: MakeUser) -> None:
    alice = await make_user("alice")
    start = utcnow()  # events carry the wall-clock time they were written at
    first = await new_ticket(desk, alice, subject="Laptop fan noisy")
    async with desk.sessions.begin() as session:
        record_event(session, alice, "ticket.note", "ticket", first.id, at=start + timedelta(hours=2))
    await new_ticket(desk, admin, subject="Projector broken")

    by_alice = await audit_list(desk, admin, by="alice")
    assert [e.action for e in by_alice.items] == ["ticket.note", "ticket.create"]  # newest first
    assert all(e.actor == "alice" for e in by_alice.items)
    tickets = await audit_list(desk, admin, action="ticket", target_type="ticket", target_id=str(first.id))
    assert {e.action for e in tickets.items} == {"ticket.create", "ticket.note"}
    late = await audit_list(desk, admin, since=(start + timedelta(hours=1)).replace(tzinfo=None))
    assert [e.action for e in late.items] == ["ticket.note"]

    total = (await audit_list(desk, admin)).total
    page = await audit_list(desk, admin, limit=2)
    assert len(page.items) == 2 and page.next_cursor
    rest = await audit_list(desk, admin, limit=100, cursor=page.next_cursor)
    assert len(rest.items) == total - 2 and rest.next_cursor is None
    assert not {e.id for e in page.items} & {e.id for e in rest.items}


async def test_audit_list_is_for_admins_and_checks_its_input(desk: Desk, admin: Actor, make_user: MakeUser) -> None:
    manager = await make_user("meg", "manager")
    with pytest.raises(ForbiddenError, match="audit log"):
        await audit_list(desk, manager)
    with pytest.raises(NotFoundError, match="'nobody'"):
        await audit_list(desk, admin, by="nobody")
    clock_now = desk.clock()
    with pytest.raises(InvalidInputError, match="swap"):
        await audit_list(desk, admin, since=clock_now, until=clock_now - timedelta(days=1))
