"""Satisfaction (CSAT): the requester rates a solved ticket good or bad, and the analytics over the ratings.

* Only the ticket's requester may rate it, and only while it is resolved or closed.
* One rating per ticket; the requester may change it (value or comment) within ``CHANGE_WINDOW`` of the
  first rating, after which it is final.
* CSAT = good / (good + bad), over ratings first given in the period, with their current value.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, Literal, get_args

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import Ticket
from store.models_analytics import TicketRating
from tools import sla
from tools.actor import Actor
from tools.analytics import GROUP_SQL, period, rows, share, ticket_conditions
from tools.analytics_scope import check_grouping, resolve_scope
from tools.audit import record_event
from tools.desk import Desk
from tools.errors import DeskError, ForbiddenError, InvalidInputError
from tools.metrics import Bucket, Dialect
from tools.permissions import AnalyticsScope
from tools.ticket_models import TicketRef
from tools.tickets import require_ticket

Rating = Literal["good", "bad"]
SatisfactionGroup = Literal["none", "assignee", "category", "priority", "channel", "team"]
SATISFACTION_GROUPS: tuple[str, ...] = get_args(SatisfactionGroup)
CHANGE_WINDOW = timedelta(days=7)
MAX_COMMENT = 2000

SATISFACTION_DEFINITIONS = {
    "good": "ratings 'good' first given in the bucket (current value)",
    "bad": "ratings 'bad' first given in the bucket (current value)",
    "csat": "good / (good + bad)",
    "comments": "ratings with a comment",
}


class RatingPublic(BaseModel):
    ticket: str
    rating: Rating
    comment: str | None
    rated_at: datetime = Field(description="When the ticket was first rated.")
    updated_at: datetime
    changeable_until: datetime = Field(description="The rating can be changed until then.")


class RatingOffer(BaseModel):
    """Whether the caller may rate a ticket now, and the rating it has."""

    ticket: str
    requester: bool = Field(description="True when the caller is the ticket's requester.")
    may_rate: bool = Field(description="True when ticket_rate would accept a rating (or a change) from the caller.")
    reason: str | None = Field(description="Why not, when may_rate is false.")
    current: RatingPublic | None


def _public(number: str, row: TicketRating) -> RatingPublic:
    return RatingPublic(
        ticket=number,
        rating=row.rating,  # type: ignore[arg-type]
        comment=row.comment,
        rated_at=row.created_at,
        updated_at=row.updated_at,
        changeable_until=row.created_at + CHANGE_WINDOW,
    )


def _refusal(actor: Actor, ticket: Ticket, existing: TicketRating | None, now: datetime) -> DeskError | None:
    """The one rule of who may rate when: the requester, a solved ticket, within the change window."""
    if ticket.requester_id != actor.user_id:
        return ForbiddenError(f"only the requester of {ticket.number} may rate it")
    if ticket.status not in sla.DONE_STATUSES:
        return InvalidInputError(
            f"ticket {ticket.number} is {ticket.status}; it can be rated once it is resolved or closed"
        )
    if existing is not None and now > existing.created_at + CHANGE_WINDOW:
        until = existing.created_at + CHANGE_WINDOW
        return InvalidInputError(
            f"the rating of {ticket.number} was given on {existing.created_at:%Y-%m-%d} and could be changed "
            f"until {until:%Y-%m-%d %H:%M} UTC; it is final now"
        )
    return None


async def _rating_of(session: AsyncSession, ticket: Ticket) -> TicketRating | None:
    return (await session.execute(select(TicketRating).where(TicketRating.ticket_id == ticket.id))).scalar_one_or_none()


async def ticket_rating(desk: Desk, actor: Actor, ref: TicketRef) -> RatingOffer:
    """The rating of a ticket the caller can see, and whether the caller may rate (or re-rate) it now."""
    async with desk.sessions() as session:
        ticket = await require_ticket(session, actor, ref)
        existing = await _rating_of(session, ticket)
        refusal = _refusal(actor, ticket, existing, desk.clock())
        return RatingOffer(
            ticket=ticket.number,
            requester=ticket.requester_id == actor.user_id,
            may_rate=refusal is None,
            reason=None if refusal is None else str(refusal),
            current=None if existing is None else _public(ticket.number, existing),
        )


async def ticket_rate(
    desk: Desk, actor: Actor, ref: TicketRef, *, rating: Rating, comment: str | None = None
) -> RatingPublic:
    """Rate a resolved or closed ticket good or bad (its requester only); change it within 7 days."""
    if rating not in ("good", "bad"):
        raise InvalidInputError(f"rating {rating!r} is not valid; use 'good' or 'bad'")
    comment = (comment or "").strip() or None
    if comment is not None and len(comment) > MAX_COMMENT:
        raise InvalidInputError(f"comment is {len(comment)} characters long; the limit is {MAX_COMMENT}")
    now = desk.clock()
    async with desk.sessions.begin() as session:
        ticket = await require_ticket(session, actor, ref)
        existing = await _rating_of(session, ticket)
        refusal = _refusal(actor, ticket, existing, now)
        if refusal is not None:
            raise refusal
        before: dict[str, Any] | None = None
        if existing is None:
            existing = TicketRating(
                ticket_id=ticket.id,
                rater_id=actor.user_id,
                rating=rating,
                comment=comment,
                created_at=now,
                updated_at=now,
            )
            session.add(existing)
        else:
            before = {"rating": existing.rating, "comment": existing.comment}
            existing.rating, existing.comment, existing.updated_at = rating, comment, now
        await session.flush()
        record_event(
            session,
            actor,
            "ticket.rate",
            "ticket",
            ticket.id,
            before=before,
            after={"rating": rating, "comment": comment},
        )
        return _public(ticket.number, existing)


class SatisfactionRow(BaseModel):
    group: str | None
    bucket: str | None
    good: int
    bad: int
    csat: float | None = Field(description="good / (good + bad), 0..1.")
    comments: int


class SatisfactionAnalytics(BaseModel):
    start: datetime
    end: datetime
    group_by: SatisfactionGroup
    bucket: Bucket
    rows: list[SatisfactionRow]
    definitions: dict[str, str]


async def analytics_satisfaction(
    desk: Desk,
    actor: Actor,
    *,
    start: datetime | date | None = None,
    end: datetime | date | None = None,
    group_by: SatisfactionGroup = "none",
    bucket: Bucket = "none",
    scope: AnalyticsScope | None = None,
    team: str | None = None,
) -> SatisfactionAnalytics:
    """CSAT per group (the ticket's assignee, category, priority, channel or the assignee's teams) and bucket,
    in SQL, over the tickets ``scope`` and ``team`` choose (:func:`tools.analytics_scope.resolve_scope`)."""
    limit_to = await resolve_scope(desk, actor, scope=scope, team=team)
    begin, stop = period(desk, start, end)
    if group_by not in SATISFACTION_GROUPS:
        raise InvalidInputError(f"group_by {group_by!r} is not valid; use one of: {', '.join(SATISFACTION_GROUPS)}")
    check_grouping(actor, group_by)
    d = Dialect(desk.dialect)
    group, joins = GROUP_SQL[group_by]
    conds, params = ticket_conditions(limit_to, None)
    sql = (
        f"SELECT {group} AS g, {d.bucket('r.created_at', bucket)} AS bk, "
        "SUM(CASE WHEN r.rating = 'good' THEN 1 ELSE 0 END) AS good, "
        "SUM(CASE WHEN r.rating = 'bad' THEN 1 ELSE 0 END) AS bad, "
        "SUM(CASE WHEN r.comment IS NOT NULL THEN 1 ELSE 0 END) AS comments "
        f"FROM ticket_ratings r JOIN tickets t ON t.id = r.ticket_id {joins} "
        f"WHERE r.created_at >= :start AND r.created_at < :end AND {' AND '.join(conds)} "
        "GROUP BY 1, 2 ORDER BY 1, 2"
    )
    async with desk.sessions() as session:
        result = await rows(session, sql, params | {"start": begin, "end": stop})
    return SatisfactionAnalytics(
        start=begin,
        end=stop,
        group_by=group_by,
        bucket=bucket,
        rows=[
            SatisfactionRow(
                group=None if group_by == "none" else str(r["g"]),
                bucket=None if bucket == "none" else str(r["bk"]),
                good=int(r["good"] or 0),
                bad=int(r["bad"] or 0),
                csat=share(r["good"], int(r["good"] or 0) + int(r["bad"] or 0)),
                comments=int(r["comments"] or 0),
            )
            for r in result
        ],
        definitions=SATISFACTION_DEFINITIONS,
    )
