"""My tickets: the requester rates a solved ticket from its thread, through the same rule as ``ticket_rate``."""

from __future__ import annotations

import pytest

from tests.conftest import FakeClock, MakeUser
from tests.ticket_helpers import new_ticket
from tools.actor import Actor
from tools.errors import ForbiddenError, InvalidInputError
from tools.satisfaction import ticket_rating
from tools.ticket_models import TicketUpdate
from tools.tickets import ticket_get, ticket_update
from ui.context import SignedIn
from ui.my_tickets import my_ticket_markdown, rate, rating_view


async def _solve(ui: SignedIn, admin: Actor, number: str) -> None:
    version = (await ticket_get(ui.desk(), admin, number)).ticket.version
    await ticket_update(ui.desk(), admin, number, TicketUpdate(version=version, status="resolved"))


async def test_the_requester_rates_a_solved_ticket_once_and_may_change_it_for_a_week(
    ui: SignedIn, admin: Actor, clock: FakeClock, make_user: MakeUser
) -> None:
    alice = await make_user("alice")
    ticket = (await new_ticket(ui.desk(), alice, "VPN drops every hour")).number
    as_alice = ui.ui.as_actor(alice)

    # Not solved yet: no rating offered, no link, and the handler is refused by the same rule.
    assert not (await rating_view(as_alice, ticket)).visible
    assert "Rate this resolution" not in await my_ticket_markdown(as_alice, ticket)
    with pytest.raises(InvalidInputError, match="once it is resolved"):
        await rate(as_alice, ticket, "good", "")

    await _solve(ui, admin, ticket)
    assert "Rate this resolution" in await my_ticket_markdown(as_alice, ticket)
    view = await rating_view(as_alice, ticket)
    assert (view.visible, view.rating, view.comment) == (True, None, "")
    assert "not rated" in view.note

    first = await rate(as_alice, ticket, "bad", "  took two days  ")
    assert (first.rating, first.comment) == ("bad", "took two days")
    view = await rating_view(as_alice, ticket)
    assert (view.visible, view.rating, view.comment) == (True, "bad", "took two days")
    assert "You rated it bad" in view.note and "change it until" in view.note

    clock.advance(days=6)
    changed = await rate(as_alice, ticket, "good", "")
    assert (changed.rating, changed.comment, changed.rated_at) == ("good", None, first.rated_at)
    offer = await ticket_rating(ui.desk(), alice, ticket)
    assert offer.may_rate and offer.current is not None and offer.current.rating == "good"

    clock.advance(days=2)
    view = await rating_view(as_alice, ticket)
    assert view.visible and "final" in view.note and view.rating == "good"
    with pytest.raises(InvalidInputError, match="final now"):
        await rate(as_alice, ticket, "bad", "")
    assert (await ticket_rating(ui.desk(), alice, ticket)).current.rating == "good"  # type: ignore[union-attr]


async def test_only_the_requester_is_offered_the_rating(ui: SignedIn, admin: Actor, make_user: MakeUser) -> None:
    alice, tess = await make_user("alice"), await make_user("tess", "technician")
    ticket = (await new_ticket(ui.desk(), alice, "Printer jams")).number
    await _solve(ui, admin, ticket)
    as_tess = ui.ui.as_actor(tess)
    offer = await ticket_rating(ui.desk(), tess, ticket)
    assert not offer.may_rate and "only the requester" in (offer.reason or "")
    assert not (await rating_view(as_tess, ticket)).visible
    with pytest.raises(ForbiddenError, match="only the requester"):
        await rate(as_tess, ticket, "good", "")
    with pytest.raises(InvalidInputError, match="use 'good' or 'bad'"):
        await rate(ui.ui.as_actor(alice), ticket, "", "")
