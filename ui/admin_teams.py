"""Admin › Users and tokens › Teams: the desk's teams with their members; create, rename, and set a user's teams.

Every change goes through :mod:`tools.teams` as the signed-in admin (the same functions as the MCP tools).
"""

from __future__ import annotations

import pandas as pd

from tools import teams
from ui.context import SignedIn
from ui.format import table

TEAM_HEADERS = ["Team", "Members"]
PAGE = 100


async def team_names(ctx: SignedIn) -> list[str]:
    """Every team's name, for the pickers."""
    return [t.name for t in (await teams.team_list(ctx.desk(), await ctx.actor(), limit=PAGE)).items]


async def teams_table(ctx: SignedIn) -> pd.DataFrame:
    page = await teams.team_list(ctx.desk(), await ctx.actor(), limit=PAGE)
    return table([[t.name, ", ".join(t.members)] for t in page.items], TEAM_HEADERS)


async def create_team(ctx: SignedIn, name: str) -> teams.TeamPublic:
    return await teams.team_create(ctx.desk(), await ctx.actor(), name=name)


async def rename_team(ctx: SignedIn, team: str, name: str) -> teams.TeamPublic:
    return await teams.team_rename(ctx.desk(), await ctx.actor(), team, name=name)


async def set_teams(ctx: SignedIn, username: str, wanted: list[str]) -> list[str]:
    """Make ``username`` a member of exactly ``wanted``: joins the new teams, leaves the dropped ones."""
    desk, actor = ctx.desk(), await ctx.actor()
    current = [t.name for t in (await teams.team_list(desk, actor, member=username, limit=PAGE)).items]
    for name in sorted(set(wanted) - set(current)):
        await teams.team_member_add(desk, actor, name, username)
    for name in sorted(set(current) - set(wanted)):
        await teams.team_member_remove(desk, actor, name, username)
    return sorted(set(wanted))
