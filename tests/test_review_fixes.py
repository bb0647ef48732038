"""Regressions found in review: ids that are not ids, all-digit usernames, over-long filters, NUL characters."""

from __future__ import annotations

import pytest
from mcp.shared.exceptions import MCPError

from tests.conftest import MakeUser
from tests.mcp_helpers import client, error
from tests.ticket_helpers import new_article, new_ticket
from tools import users
from tools.actor import Actor
from tools.desk import Desk

HUGE = 10**30
HUGE_TEXT = "99999999999999999999999"


async def test_upserting_an_all_digit_username_creates_a_user_and_leaves_the_one_with_that_id(
    desk: Desk, admin: Actor, make_user: MakeUser
) -> None:
    alice = await make_user("alice", "technician")
    n = 0
    while alice.user_id < 10:  # usernames have at least two characters, so the target id needs two digits
        n += 1
        alice = await make_user(f"alice{n}", "technician")
    data = users.UserUpsert(
        username=str(alice.user_id), email="digits@example.com", display_name="Digits", role="end_user"
    )
    created = await users.user_upsert(desk, admin, data)
    assert created.id != alice.user_id
    async with desk.sessions() as session:
        kept = await users.get_user(session, ref=alice.user_id)
        assert kept is not None and (kept.username, kept.role) == (alice.username, "technician")
        # A digit string names the username first, then (when no one has it) the id.
        by_name = await users.get_user(session, ref=str(alice.user_id))
        assert by_name is not None and by_name.id == created.id


async def test_an_all_digit_actor_is_never_the_user_whose_id_it_spells(desk: Desk, admin: Actor) -> None:
    actor = await users.ensure_actor(desk, str(admin.user_id), "end_user")
    assert actor.user_id != admin.user_id
    assert (actor.username, actor.role) == (str(admin.user_id), "end_user")


async def test_ids_out_of_range_or_not_ascii_are_not_found_errors(desk: Desk, admin: Actor) -> None:
    ticket = await new_ticket(desk, admin)
    article = await new_article(desk, admin, "VPN", "Reconnect the VPN.")
    async with client(desk) as c:
        for ref in (HUGE, HUGE_TEXT, "²"):
            assert "does not exist" in await error(c, "ticket_get", {"ticket": ref})
        assert "does not exist" in await error(c, "ticket_list", {"category": HUGE_TEXT})
        assert "does not exist" in await error(c, "ticket_list", {"assignee": HUGE_TEXT})
        assert "does not exist" in await error(c, "ticket_list", {"requester": "²"})
        assert "does not exist" in await error(
            c, "ticket_update", {"ticket": ticket.number, "version": 1, "category": "²"}
        )
        assert "does not exist" in await error(c, "ticket_link_kb", {"ticket": ticket.number, "article_id": HUGE})
        assert "position must be between" in await error(
            c, "ticket_add_resolution_step", {"ticket": ticket.number, "instructions": "x", "position": HUGE}
        )
        assert "does not exist" in await error(c, "ticket_suggest", {"subject": "x", "exclude": HUGE_TEXT})
        assert "does not exist" in await error(c, "kb_article_get", {"article_id": HUGE})
        assert "does not exist" in await error(c, "document_get", {"document_id": HUGE})
        big_cursor = "eyJvIjogMTAwMDAwMDAwMDAwMDAwMDAwMDAwMDB9"  # {"o": 10**24}
        assert "cursor" in await error(c, "ticket_list", {"cursor": big_cursor})
        for uri in (f"ticket://{HUGE_TEXT}", "ticket://²", f"kb://{HUGE_TEXT}", f"document://{HUGE_TEXT}"):
            with pytest.raises(MCPError, match=r"does not exist|must be a number"):
                await c.read_resource(uri)
        # The real ones still resolve.
        assert not (await c.call_tool("kb_article_get", {"article_id": article})).is_error
        assert not (await c.call_tool("ticket_get", {"ticket": str(ticket.id)})).is_error


async def test_over_long_list_filters_are_input_errors(desk: Desk, admin: Actor) -> None:
    await new_ticket(desk, admin)  # a row for the substring fallback to scan
    async with client(desk) as c:
        assert "at most 1000" in await error(c, "ticket_list", {"text": "x" * 100_000})
        assert "at most 50" in await error(c, "ticket_list", {"tag": "x" * 100_000})


async def test_nul_characters_are_refused_with_a_clear_error(desk: Desk, admin: Actor) -> None:
    ticket = await new_ticket(desk, admin)
    async with client(desk) as c:
        assert "NUL" in await error(c, "ticket_update", {"ticket": ticket.number, "version": 1, "subject": "a\x00b"})
        assert "NUL" in await error(c, "ticket_list", {"text": "\x00"})
        assert "NUL" in await error(c, "ticket_list", {"tag": "\x00abc"})
        assert "NUL" in await error(c, "ticket_create", {"subject": "s", "description": "d", "tags": ["a\x00"]})
