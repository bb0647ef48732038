"""Team analytics per role over MCP: a technician reads their own or their teams' numbers, a manager any team's.

The desk: teams Network (priya, tess) and Apps (tess, omar); one ticket each for priya, tess and omar, and one
unassigned. zed is a technician in no team.
"""

from __future__ import annotations

from typing import Any

from tests.conftest import MakeUser
from tests.mcp_helpers import call, client, error
from tests.ticket_helpers import new_ticket
from tools.actor import Actor
from tools.desk import Desk
from tools.satisfaction import ticket_rate
from tools.teams import team_create, team_member_add
from tools.ticket_models import TicketUpdate
from tools.tickets import ticket_update

PERIOD = {"start": "2026-03-01", "end": "2026-03-03"}


async def _desk_with_teams(desk: Desk, admin: Actor, make_user: MakeUser) -> None:
    alice = await make_user("alice")
    mona = await make_user("mona", "manager")
    for tech in ("priya", "tess", "omar", "zed"):
        await make_user(tech, "technician")
    for team, members in (("Network", ("priya", "tess")), ("Apps", ("tess", "omar"))):
        await team_create(desk, admin, name=team)
        for member in members:
            await team_member_add(desk, admin, team, member)
    for assignee in ("priya", "tess", "omar", None):
        ticket = await new_ticket(desk, mona, f"Ticket of {assignee}", requester="alice", assignee=assignee)
        if assignee in ("priya", "omar"):
            update = TicketUpdate(version=ticket.version, status="resolved")
            await ticket_update(desk, mona, ticket.number, update)
            await ticket_rate(desk, alice, ticket.number, rating="good" if assignee == "priya" else "bad")


async def _by_assignee(c: Any, **args: Any) -> list[tuple[str, int]]:
    rows = (await call(c, "analytics_tickets", PERIOD | {"group_by": "assignee"} | args))["rows"]
    return [(r["group"], r["created"]) for r in rows]


async def test_a_technician_reads_their_own_numbers_by_default_and_their_teams_when_asked(
    desk: Desk, admin: Actor, make_user: MakeUser
) -> None:
    await _desk_with_teams(desk, admin, make_user)
    async with client(desk, "priya") as c:
        assert await _by_assignee(c) == [("priya", 1)]
        assert await _by_assignee(c, scope="own") == [("priya", 1)]
        assert await _by_assignee(c, scope="team") == [("priya", 1), ("tess", 1)]
        assert await _by_assignee(c, team="network") == [("priya", 1), ("tess", 1)]
        exported = await call(c, "analytics_export", PERIOD | {"report": "tickets", "scope": "team"})
        assert exported["rows"] == 2 and ",omar," not in exported["csv"] and ",tess," in exported["csv"]
        sat = await call(c, "analytics_satisfaction", PERIOD | {"scope": "team"})
        assert [(r["good"], r["bad"]) for r in sat["rows"]] == [(1, 0)]
        metrics = await call(c, "analytics_export", PERIOD | {"report": "ticket_metrics", "team": "Network"})
        assert metrics["rows"] == 1 and metrics["csv"].splitlines()[1].split(",")[2] == "2"  # created
    async with client(desk, "tess") as c:
        # tess is in both teams: every ticket of either team, each once.
        assert await _by_assignee(c, scope="team") == [("omar", 1), ("priya", 1), ("tess", 1)]
        assert await _by_assignee(c, team="Apps") == [("omar", 1), ("tess", 1)]


async def test_a_technician_is_refused_other_teams_and_the_whole_desk_with_what_to_do(
    desk: Desk, admin: Actor, make_user: MakeUser
) -> None:
    await _desk_with_teams(desk, admin, make_user)
    async with client(desk, "priya") as c:
        other = await error(c, "analytics_tickets", PERIOD | {"team": "Apps"})
        assert "'priya' is not a member of team 'Apps' (your teams are: Network)" in other
        assert "ask an admin to add you" in other
        for tool in ("analytics_satisfaction", "analytics_export"):
            args = PERIOD | {"team": "Apps"} | ({"report": "tickets"} if tool == "analytics_export" else {})
            assert "not a member of team 'Apps'" in await error(c, tool, args)
        everything = await error(c, "analytics_tickets", PERIOD | {"scope": "all"})
        assert "scope='all'" in everything and "Use scope='own'" in everything
        assert "group_by='team'" in await error(c, "analytics_tickets", PERIOD | {"group_by": "team"})
        mixed = await error(c, "analytics_tickets", PERIOD | {"scope": "own", "team": "Network"})
        assert "use scope='team' for that team's numbers" in mixed
        assert "team 'Ghosts' does not exist" in await error(c, "analytics_tickets", PERIOD | {"team": "Ghosts"})
    async with client(desk, "zed") as c:
        assert await _by_assignee(c) == []
        lonely = await error(c, "analytics_tickets", PERIOD | {"scope": "team"})
        assert "'zed' belongs to no team" in lonely and "ask an admin to add you" in lonely
        assert "use scope='own'" in lonely
        assert "belongs to no team" in await error(c, "analytics_satisfaction", PERIOD | {"scope": "team"})
    async with client(desk, "alice") as c:
        for tool in ("analytics_tickets", "analytics_satisfaction", "analytics_export"):
            args = {"scope": "team"} | ({"report": "tickets"} if tool == "analytics_export" else {})
            assert f"{tool} is not allowed" in await error(c, tool, args)


async def test_a_manager_reads_every_team_filters_by_one_and_groups_by_team(
    desk: Desk, admin: Actor, make_user: MakeUser
) -> None:
    await _desk_with_teams(desk, admin, make_user)
    async with client(desk, "mona") as c:
        assert await _by_assignee(c) == [("(unassigned)", 1), ("omar", 1), ("priya", 1), ("tess", 1)]
        assert await _by_assignee(c, team="Apps") == [("omar", 1), ("tess", 1)]
        assert await _by_assignee(c, scope="all", team="Network") == [("priya", 1), ("tess", 1)]
        # mona is in no team: "her teams" are none, and the error says to name one.
        lonely = await error(c, "analytics_tickets", PERIOD | {"scope": "team"})
        assert "name a team (team=...) or scope='all'" in lonely
        grouped = (await call(c, "analytics_tickets", PERIOD | {"group_by": "team", "bucket": "day"}))["rows"]
        # tess's ticket counts for both of her teams; the unassigned one for none.
        assert [(r["group"], r["bucket"], r["created"], r["solved"], r["backlog"]) for r in grouped] == [
            ("Apps", "2026-03-02", 2, 1, 1),
            ("Network", "2026-03-02", 2, 1, 1),
            ("(no team)", "2026-03-02", 1, 0, 1),
        ]
        sat = await call(c, "analytics_satisfaction", PERIOD | {"group_by": "team"})
        assert [(r["group"], r["good"], r["bad"]) for r in sat["rows"]] == [("Apps", 0, 1), ("Network", 1, 0)]
        csv = (await call(c, "analytics_export", PERIOD | {"report": "satisfaction", "group_by": "team"}))["csv"]
        assert csv.splitlines()[1:] == ["Apps,,0,1,0.0,0", "Network,,1,0,1.0,0"]
