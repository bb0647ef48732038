"""Teams over MCP: admins create, rename and staff them; staff list them; a user's teams show in the user list."""

from __future__ import annotations

from tests.conftest import MakeUser
from tests.mcp_helpers import call, client, error
from tests.ticket_helpers import audit_events, new_ticket
from tools.actor import Actor
from tools.desk import Desk


async def test_an_admin_builds_teams_over_mcp(desk: Desk, admin: Actor, make_user: MakeUser) -> None:
    await make_user("priya", "technician")
    await make_user("mona", "manager")
    async with client(desk) as c:
        tools = {t.name: t for t in (await c.list_tools()).tools}
        assert {"team_create", "team_rename", "team_list", "team_member_add", "team_member_remove"} <= set(tools)
        assert tools["team_list"].annotations.read_only_hint is True  # type: ignore[union-attr]
        assert tools["team_member_remove"].annotations.destructive_hint is True  # type: ignore[union-attr]

        made = await call(c, "team_create", {"name": " Network "})
        assert (made["name"], made["members"]) == ("Network", [])
        await call(c, "team_create", {"name": "Apps"})
        assert "already exists" in await error(c, "team_create", {"name": "network"})

        await call(c, "team_member_add", {"team": "network", "username": "priya"})
        staffed = await call(c, "team_member_add", {"team": "Network", "username": "mona"})
        assert staffed["members"] == ["mona", "priya"]
        again = await call(c, "team_member_add", {"team": "Network", "username": "mona"})
        assert again["members"] == ["mona", "priya"]
        await call(c, "team_member_add", {"team": str(made["id"] + 1), "username": "priya"})  # Apps, by id

        renamed = await call(c, "team_rename", {"team": "Network", "name": "Network & VPN"})
        assert (renamed["id"], renamed["members"]) == (made["id"], ["mona", "priya"])
        assert "already exists" in await error(c, "team_rename", {"team": "Apps", "name": "NETWORK & vpn"})

        listed = await call(c, "team_list", {})
        assert [(t["name"], t["members"]) for t in listed["items"]] == [
            ("Apps", ["priya"]),
            ("Network & VPN", ["mona", "priya"]),
        ]
        assert [t["name"] for t in (await call(c, "team_list", {"member": "mona"}))["items"]] == ["Network & VPN"]

        users = {u["username"]: u["teams"] for u in (await call(c, "user_list", {}))["items"]}
        assert users == {"admin": [], "mona": ["Network & VPN"], "priya": ["Apps", "Network & VPN"]}

        removed = await call(c, "team_member_remove", {"team": "Network & VPN", "username": "priya"})
        assert removed["members"] == ["mona"]
        assert (await call(c, "team_member_remove", {"team": "Network & VPN", "username": "priya"}))["members"] == [
            "mona"
        ]
    actions = [e.action for e in await audit_events(desk) if e.action.startswith("team.")]
    assert actions == [
        "team.create",
        "team.create",
        "team.member_add",
        "team.member_add",
        "team.member_add",
        "team.rename",
        "team.member_remove",
    ]


async def test_team_tool_errors_say_what_to_do(desk: Desk, admin: Actor, make_user: MakeUser) -> None:
    await make_user("alice")
    await make_user("priya", "technician")
    async with client(desk) as c:
        await call(c, "team_create", {"name": "Network"})
        assert "team 'Nope' does not exist; call team_list" in await error(
            c, "team_member_add", {"team": "Nope", "username": "priya"}
        )
        assert "user 'ghost' does not exist" in await error(
            c, "team_member_add", {"team": "Network", "username": "ghost"}
        )
        refused = await error(c, "team_member_add", {"team": "Network", "username": "alice"})
        assert "'alice' is an end user; teams are for staff" in refused
        assert "must be 1-100 characters" in await error(c, "team_create", {"name": "   "})


async def test_technicians_list_teams_and_only_admins_change_them(
    desk: Desk, admin: Actor, make_user: MakeUser
) -> None:
    await make_user("alice")
    await make_user("priya", "technician")
    await make_user("mona", "manager")
    async with client(desk) as c:
        await call(c, "team_create", {"name": "Network"})
        await call(c, "team_member_add", {"team": "Network", "username": "priya"})
    for who in ("priya", "mona"):
        async with client(desk, who) as c:
            names = {t.name for t in (await c.list_tools()).tools}
            assert "team_list" in names and "team_create" not in names
            assert [t["members"] for t in (await call(c, "team_list", {}))["items"]] == [["priya"]]
            assert "team_create is not allowed" in await error(c, "team_create", {"name": "Mine"})
            assert "team_member_add is not allowed" in await error(
                c, "team_member_add", {"team": "Network", "username": who}
            )
    async with client(desk, "alice") as c:
        assert "team_list is not allowed" in await error(c, "team_list", {})


async def test_deleting_a_team_removes_its_members_and_their_tickets_fall_back_to_no_team(
    desk: Desk, admin: Actor, make_user: MakeUser
) -> None:
    await make_user("alice")
    await make_user("priya", "technician")
    await make_user("tess", "technician")
    for assignee in ("priya", "tess"):
        await new_ticket(desk, admin, f"Ticket of {assignee}", requester="alice", assignee=assignee)
    period = {"group_by": "team", "start": "2020-01-01", "end": "2029-12-01"}
    async with client(desk) as c:
        tools = {t.name: t for t in (await c.list_tools()).tools}
        assert tools["team_delete"].annotations.destructive_hint is True  # type: ignore[union-attr]
        for team, members in (("Network", ("priya", "tess")), ("Apps", ("tess",))):
            await call(c, "team_create", {"name": team})
            for member in members:
                await call(c, "team_member_add", {"team": team, "username": member})
        by_team = await call(c, "analytics_tickets", period)
        assert [(r["group"], r["created"]) for r in by_team["rows"]] == [("Network", 2), ("Apps", 1)]

        gone = await call(c, "team_delete", {"team": "network"})
        assert (gone["name"], gone["members"]) == ("Network", ["priya", "tess"])
        assert [t["name"] for t in (await call(c, "team_list", {}))["items"]] == ["Apps"]
        users = {u["username"]: u["teams"] for u in (await call(c, "user_list", {}))["items"]}
        assert users["priya"] == [] and users["tess"] == ["Apps"]
        by_team = await call(c, "analytics_tickets", period)
        assert [(r["group"], r["created"]) for r in by_team["rows"]] == [("(no team)", 1), ("Apps", 1)]
        assert "team 'Network' does not exist" in await error(c, "team_delete", {"team": "Network"})
    async with client(desk, "priya") as c:
        assert "team_delete is not allowed" in await error(c, "team_delete", {"team": "Apps"})
    async with client(desk, "tess") as c:
        assert (await call(c, "whoami"))["teams"] == ["Apps"]
    events = [e for e in await audit_events(desk) if e.action == "team.delete"]
    assert len(events) == 1
