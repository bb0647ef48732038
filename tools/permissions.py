"""Who may do what: the role table and the ticket-visibility rule, in one place.

Every check in ``tools/`` goes through :func:`require` (an action needs a capability, a capability belongs
to roles) and every ticket query goes through :func:`visible_tickets`, whether it is an ORM query, a
count or a full-text search. The MCP surface (which tools a caller sees in ``tools/list``) and the web UI
(which tabs a person sees) read the same table through :func:`allows`, so hiding and refusing can never
disagree.
"""

from __future__ import annotations

from typing import Any, Literal, get_args

from sqlalchemy import ColumnElement, Select, select, true

from store.models import Ticket, TicketComment
from tools.actor import ROLES, Actor, Role
from tools.errors import ForbiddenError

Capability = Literal[
    "tickets.read",
    "tickets.write",
    "tickets.work",
    "kb.read",
    "kb.write",
    "knowledge.read",
    "knowledge.write",
    "people.read",
    "people.write",
    "agent.ask",
    "analytics.read",
    "analytics.own",
    "tickets.import",
    "voice.use",
    "tokens.manage",
    "audit.read",
]
CAPABILITIES: tuple[Capability, ...] = get_args(Capability)

_END_USER: frozenset[Capability] = frozenset(
    {"tickets.read", "tickets.write", "kb.read", "knowledge.read", "agent.ask", "voice.use"}
)
_TECHNICIAN: frozenset[Capability] = _END_USER | {"tickets.work", "people.read", "analytics.own"}
_MANAGER: frozenset[Capability] = _TECHNICIAN | {"analytics.read"}
_ADMIN: frozenset[Capability] = frozenset(CAPABILITIES)

ROLE_CAPABILITIES: dict[Role, frozenset[Capability]] = {
    "end_user": _END_USER,
    "technician": _TECHNICIAN,
    "manager": _MANAGER,
    "admin": _ADMIN,
}
"""The role table. ``tickets.read``/``tickets.write`` reach only the tickets :func:`visible_tickets` admits
(an end user's own); ``tickets.work`` is the staff side (assigning, internal notes, steps, root causes)."""


def allows(role: Role, capability: Capability) -> bool:
    """Whether ``role`` has ``capability``."""
    return capability in ROLE_CAPABILITIES[role]


def roles_with(capability: Capability) -> tuple[Role, ...]:
    return tuple(r for r in ROLES if allows(r, capability))


def refusal(actor: Actor, capability: Capability, action: str) -> str | None:
    """Why ``actor`` may not do ``action`` (naming the roles that may), or None when their role has ``capability``."""
    if allows(actor.role, capability):
        return None
    return (
        f"{action} is not allowed for {actor.username!r} (role {actor.role!r}); "
        f"it needs one of: {', '.join(roles_with(capability))}"
    )


def require(actor: Actor, capability: Capability, action: str) -> None:
    """Raise :class:`ForbiddenError` saying why (:func:`refusal`), unless ``actor`` has ``capability``."""
    if (why := refusal(actor, capability, action)) is not None:
        raise ForbiddenError(why)


AnalyticsScope = Literal["all", "team", "own"]
"""The tickets an analytics report counts: every ticket, those assigned to the members of a team, or those
assigned to the caller."""


def analytics_scope(actor: Actor, wanted: AnalyticsScope | None = None) -> AnalyticsScope:
    """The scope of ``actor``'s analytics: ``wanted``, by default the widest their role reads (``all`` with
    ``analytics.read``, ``own`` with ``analytics.own``); :class:`ForbiddenError` saying why when it is not theirs.

    ``team`` is open to everyone with ``analytics.own``; which teams they may name is :func:`team_refusal`."""
    if not allows(actor.role, "analytics.own"):
        raise ForbiddenError(
            f"analytics are not available to {actor.username!r} (role {actor.role!r}); they need one of: "
            f"{', '.join(roles_with('analytics.own'))} (own and team numbers) or "
            f"{', '.join(roles_with('analytics.read'))}"
        )
    widest: AnalyticsScope = "all" if allows(actor.role, "analytics.read") else "own"
    if wanted is None:
        return widest
    if wanted == "all" and widest != "all":
        raise ForbiddenError(
            f"analytics over every ticket (scope='all') are not available to {actor.username!r} (role "
            f"{actor.role!r}); they need one of: {', '.join(roles_with('analytics.read'))}. Use scope='own' "
            "(the tickets assigned to you) or scope='team' (the tickets assigned to your teams' members)"
        )
    return wanted


def team_refusal(actor: Actor, team: str, mine: list[str]) -> str | None:
    """Why ``actor`` may not read team ``team``'s numbers, or None: ``analytics.read`` reads any team, everyone
    else only the teams they belong to (``mine``)."""
    if allows(actor.role, "analytics.read") or team in mine:
        return None
    yours = f"your teams are: {', '.join(mine)}" if mine else "you belong to no team"
    return (
        f"{actor.username!r} is not a member of team {team!r} ({yours}); a {actor.role} reads the numbers of their "
        "own teams only: leave team out for all of your teams, or ask an admin to add you to that team"
    )


def no_team_refusal(actor: Actor) -> str:
    """What to do instead of ``scope='team'`` when ``actor`` belongs to no team."""
    instead = "scope='own'" if not allows(actor.role, "analytics.read") else "name a team (team=...) or scope='all'"
    return (
        f"{actor.username!r} belongs to no team, so scope='team' has no tickets to count; ask an admin to add you "
        f"to a team (team_member_add), or use {instead}"
    )


def team_grouping_refusal(actor: Actor) -> str | None:
    """Why ``actor`` may not group by team (a breakdown across the whole desk's teams), or None."""
    if allows(actor.role, "analytics.read"):
        return None
    return (
        f"group_by='team' compares every team and needs one of: {', '.join(roles_with('analytics.read'))}; "
        "use scope='team' for your teams' numbers"
    )


def is_team_member_role(role: Role) -> bool:
    """Teams are groups of staff (technicians, managers, admins): an end user cannot join one."""
    return allows(role, "tickets.work")


def is_staff(actor: Actor) -> bool:
    """Staff work every ticket (and see internal notes); everyone else only their own tickets."""
    return allows(actor.role, "tickets.work")


def visible_tickets(actor: Actor) -> ColumnElement[bool]:
    """The one condition on ``tickets`` rows ``actor`` may see: all for staff, their own for end users."""
    if is_staff(actor):
        return true()
    return Ticket.requester_id == actor.user_id


def visible_ticket_ids(actor: Actor) -> Select[Any] | None:
    """``SELECT id FROM tickets WHERE visible_tickets(actor)``, for raw full-text queries to restrict by;
    None for staff, who see every ticket (no id list to build on each search)."""
    return None if is_staff(actor) else select(Ticket.id).where(visible_tickets(actor))


def visible_comments(actor: Actor) -> ColumnElement[bool]:
    """Comments ``actor`` may read on a ticket they can see: internal notes are for staff."""
    return true() if is_staff(actor) else TicketComment.is_internal.is_(False)
