"""What each role sees in the UI, My tickets, Users and tokens, and handlers resolving the signed-in person."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from tests.conftest import MakeUser
from tests.ticket_helpers import new_ticket
from tools.actor import Actor
from tools.errors import ForbiddenError, InvalidInputError, NotFoundError
from tools.passwords import password_set
from tools.tickets import ticket_get
from tools.web_sessions import sign_in, sign_out
from ui.admin_people import create_token, revoke_token, set_access, tokens_table, users_table
from ui.admin_teams import create_team, rename_team, set_teams, team_names, teams_table
from ui.context import SESSION_COOKIE, SignedIn
from ui.my_tickets import my_table, my_ticket_markdown, my_tickets, reply
from ui.sections import visible_sections


async def test_each_role_sees_its_sections(make_user: MakeUser) -> None:
    seen = {role: visible_sections(await make_user(f"u-{role}", role)) for role in ("end_user", "technician")}
    seen["manager"] = visible_sections(await make_user("u-manager", "manager"))
    seen["admin"] = visible_sections(await make_user("u-admin", "admin"))
    assert seen["end_user"] == {"chat", "voice", "my_tickets"}
    assert seen["technician"] == seen["end_user"] | {"queue", "voice_admin", "analytics"}
    assert seen["manager"] == seen["technician"]
    assert seen["admin"] == seen["manager"] | {"knowledge", "articles", "people"}


async def test_my_tickets_lists_only_mine_and_lets_me_reply(ui: SignedIn, admin: Actor, make_user: MakeUser) -> None:
    alice, bob = await make_user("alice"), await make_user("bob")
    mine = await new_ticket(ui.desk(), alice, "Printer jams on tray 2")
    await new_ticket(ui.desk(), bob, "Bob's laptop will not boot")
    as_alice = ui.ui.as_actor(alice)

    listing, line = my_table(await my_tickets(as_alice))
    assert list(listing["Number"]) == [mine.number]
    assert "1 ticket(s)" in line and listing["SLA due"][0]

    await reply(as_alice, mine.number, "It happens with every paper type.")
    thread = await my_ticket_markdown(as_alice, mine.number)
    assert "Printer jams on tray 2" in thread and "every paper type" in thread
    detail = await ticket_get(ui.desk(), admin, mine.number)
    assert [c.author for c in detail.comments] == ["alice"]

    as_bob = ui.ui.as_actor(bob)
    with pytest.raises(NotFoundError, match="does not exist"):  # not hers to read, and not even said to exist
        await my_ticket_markdown(as_bob, mine.number)
    with pytest.raises(NotFoundError, match="does not exist"):
        await reply(as_bob, mine.number, "let me in")
    empty, text = my_table(await my_tickets(ui.ui.as_actor(await make_user("carol"))))
    assert empty.empty and "no tickets" in text


async def test_users_and_tokens_for_admins_only(ui: SignedIn, make_user: MakeUser) -> None:
    tess = await make_user("tess", "technician")
    listing, line = await users_table(ui)
    assert {"admin", "tess"} <= set(listing["Username"]) and "user(s)" in line
    changed = await set_access(ui, "tess", "manager", False)
    assert (changed.role, changed.is_active) == ("manager", False)
    made = await create_token(ui, "admin", "ci", "30d", ["desk:read"])
    assert made.token.startswith("sa_")
    listed, line = await tokens_table(ui, "admin")
    assert list(listed["ID"]) == [made.info.id] and list(listed["Status"]) == ["active"] and "1 token(s)" in line
    assert list(listed["Scopes"]) == ["desk:read"]
    await revoke_token(ui, made.info.id)
    listed, _ = await tokens_table(ui)
    assert list(listed["Status"]) == ["revoked"]

    as_tech = ui.ui.as_actor(tess)
    with pytest.raises(ForbiddenError):
        await set_access(as_tech, "admin", "end_user", True)
    with pytest.raises(ForbiddenError):
        await create_token(as_tech, "tess", "mine")
    with pytest.raises(ForbiddenError):
        await tokens_table(as_tech)
    with pytest.raises(ForbiddenError):
        await revoke_token(as_tech, made.info.id)


async def test_admins_set_a_users_teams_in_users_and_tokens(ui: SignedIn, make_user: MakeUser) -> None:
    tess = await make_user("tess", "technician")
    await make_user("alice")
    await create_team(ui, "Network")
    await create_team(ui, "Apps")
    assert await set_teams(ui, "tess", ["Network", "Apps"]) == ["Apps", "Network"]
    listing, _ = await users_table(ui)
    assert dict(zip(listing["Username"], listing["Teams"], strict=True))["tess"] == "Apps, Network"
    assert await set_teams(ui, "tess", ["Apps"]) == ["Apps"]
    await rename_team(ui, "Apps", "Applications")
    assert await team_names(ui) == ["Applications", "Network"]
    teams = await teams_table(ui)
    assert dict(zip(teams["Team"], teams["Members"], strict=True)) == {"Applications": "tess", "Network": ""}
    with pytest.raises(InvalidInputError, match="is an end user"):
        await set_teams(ui, "alice", ["Network"])
    with pytest.raises(ForbiddenError):
        await set_teams(ui.ui.as_actor(tess), "tess", ["Network"])


async def test_handlers_act_as_the_person_on_the_request_cookie(
    ui: SignedIn, admin: Actor, make_user: MakeUser
) -> None:
    alice = await make_user("alice")
    await password_set(ui.desk(), admin, "alice", "alice-password")
    opened = await sign_in(ui.desk(), identifier="alice", password="alice-password", address="127.0.0.1")
    request = SimpleNamespace(cookies={SESSION_COOKIE: opened.token})
    assert (await ui.ui.signed_in(request)).person == alice
    await sign_out(ui.desk(), opened.token)
    with pytest.raises(ForbiddenError, match="sign in again"):
        await ui.ui.signed_in(request)
    with pytest.raises(ForbiddenError, match="sign in again"):
        await ui.ui.signed_in(SimpleNamespace(cookies={}))
