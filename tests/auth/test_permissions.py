"""The role table and the one ticket-visibility rule, applied by every way of reaching a ticket."""

from __future__ import annotations

import itertools

import pytest

from tests.conftest import MakeUser
from tests.ticket_helpers import new_ticket
from tools import permissions
from tools.actor import ROLES, Actor
from tools.desk import Desk
from tools.errors import ForbiddenError, NotFoundError
from tools.search import knowledge_search
from tools.suggest import ticket_suggest
from tools.ticket_models import TicketUpdate
from tools.ticket_query import ticket_list
from tools.tickets import ticket_get, ticket_update


def test_role_table_is_cumulative_and_admins_hold_everything() -> None:
    for lower, higher in itertools.pairwise(ROLES):
        assert permissions.ROLE_CAPABILITIES[lower] <= permissions.ROLE_CAPABILITIES[higher]
    assert permissions.ROLE_CAPABILITIES["admin"] == set(permissions.CAPABILITIES)
    assert not permissions.allows("end_user", "tickets.work")
    assert permissions.allows("manager", "analytics.read") and not permissions.allows("technician", "analytics.read")
    assert permissions.roles_with("audit.read") == ("admin",)


def test_require_names_the_roles_that_may() -> None:
    bob = Actor(user_id=7, username="bob", role="technician")
    with pytest.raises(
        ForbiddenError, match=r"reading the audit log is not allowed for 'bob' \(role 'technician'\).*admin"
    ):
        permissions.require(bob, "audit.read", "reading the audit log")
    permissions.require(bob, "tickets.work", "working tickets")


async def test_every_ticket_path_hides_other_peoples_tickets(desk: Desk, admin: Actor, make_user: MakeUser) -> None:
    alice = await make_user("alice")
    carol = await make_user("carol")
    tech = await make_user("tech", "technician")
    mine = await new_ticket(desk, alice, subject="Zebra scanner offline", description="zebra scanner dead")
    theirs = await new_ticket(desk, carol, subject="Zebra printer offline", description="zebra printer dead")
    for t in (mine, theirs):
        await ticket_update(desk, tech, t.id, TicketUpdate(version=1, status="resolved"))

    assert {t.number for t in (await ticket_list(desk, alice)).items} == {mine.number}
    assert {t.number for t in (await ticket_list(desk, alice, text="zebra")).items} == {mine.number}
    assert {t.number for t in (await ticket_list(desk, tech, text="zebra")).items} == {mine.number, theirs.number}
    with pytest.raises(NotFoundError):
        await ticket_get(desk, alice, theirs.number)
    assert (await ticket_get(desk, alice, mine.number)).ticket.number == mine.number

    suggested = await ticket_suggest(desk, alice, subject="zebra offline")
    assert {t.number for t in suggested.tickets} == {mine.number}

    found = await knowledge_search(desk, alice, "zebra offline", sources=("tickets",), method="fulltext")
    assert {h.title.split(":")[0] for h in found.hits} == {mine.number}
    found = await knowledge_search(desk, tech, "zebra offline", sources=("tickets",), method="fulltext")
    assert {h.title.split(":")[0] for h in found.hits} == {mine.number, theirs.number}
