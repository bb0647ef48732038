"""Which tickets an analytics report counts for its caller: every ticket, a team's, or the caller's own.

Who may read which is decided in :mod:`tools.permissions` (:func:`~tools.permissions.analytics_scope`,
:func:`~tools.permissions.team_refusal`); this module turns the caller's choice into the SQL condition every
report adds over ``t`` (``tickets`` or ``ticket_metrics``: both carry ``assignee_id``). A team is the set of
its members' user ids, looked up once here, so a team's numbers are ``t.assignee_id IN (those ids)``: the
same index walk as a technician's own numbers, and nothing about teams inside the reports' SQL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tools import permissions, teams
from tools.actor import Actor
from tools.desk import Desk
from tools.errors import ForbiddenError, InvalidInputError
from tools.permissions import AnalyticsScope


@dataclass
class Scope:
    """The caller's limit on tickets as SQL over ``t``, its parameters, and what it stands for."""

    condition: str = "1 = 1"
    params: dict[str, Any] = field(default_factory=dict)
    kind: AnalyticsScope = "all"
    teams: tuple[str, ...] = ()
    """The teams a ``team`` scope covers, by name."""

    def describe(self) -> str:
        """A short phrase for people: whose tickets these numbers are."""
        if self.kind == "own":
            return "your own tickets only"
        if self.kind == "team":
            return f"the tickets of team {', '.join(self.teams)}"
        return "every ticket"


def assignees_scope(user_ids: list[int], team_names: tuple[str, ...]) -> Scope:
    """Tickets assigned to any of ``user_ids`` (a team with no members counts nothing)."""
    if not user_ids:
        return Scope("1 = 0", kind="team", teams=team_names)
    return Scope("t.assignee_id IN :scope_members", {"scope_members": user_ids}, kind="team", teams=team_names)


async def resolve_scope(
    desk: Desk, actor: Actor, *, scope: AnalyticsScope | None = None, team: str | None = None
) -> Scope:
    """The tickets ``actor``'s report counts: ``scope`` (default: the widest their role reads), narrowed to one
    ``team`` when named (naming a team alone means ``scope='team'``).

    Technicians: ``own`` (default) or ``team`` (their teams, or one of them); managers and admins also ``all``
    and any team. Refusals say what to ask for instead.
    """
    team = (team or "").strip() or None
    kind = permissions.analytics_scope(actor, scope if scope is not None else ("team" if team else None))
    if kind == "own":
        if team is not None:
            raise InvalidInputError(
                f"team {team!r} was named with scope='own', which counts only your own tickets; "
                "use scope='team' for that team's numbers, or leave team out"
            )
        return Scope("t.assignee_id = :scope_user", {"scope_user": actor.user_id}, kind="own")
    if kind == "all" and team is None:
        return Scope()
    async with desk.sessions() as session:
        mine = await teams.teams_of(session, actor.user_id)
        if team is not None:
            found = await teams.require_team(session, team)
            why = permissions.team_refusal(actor, found.name, list(mine.values()))
            if why is not None:
                raise ForbiddenError(why)
            chosen = {found.id: found.name}
        elif mine:
            chosen = mine
        else:
            raise InvalidInputError(permissions.no_team_refusal(actor))
        members = await teams.member_ids(session, chosen)
    return assignees_scope(members, tuple(chosen.values()))


def check_grouping(actor: Actor, group_by: str) -> None:
    """``group_by='team'`` compares the desk's teams: managers and admins only."""
    if group_by == "team" and (why := permissions.team_grouping_refusal(actor)) is not None:
        raise ForbiddenError(why)
