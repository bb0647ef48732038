"""The rules of a ticket's life: SLA targets, allowed status transitions, the pause clock, derived breaches.

Breaches are never stored: they are computed from timestamps against "now", in Python for one ticket
and as SQL expressions for list filters, with the same definition in both places:

* resolution breached  = coalesce(resolved_at, closed_at, paused_at, now) > sla_due_at
* first response breached = coalesce(first_response_at, resolved_at, closed_at, paused_at, now)
  > first_response_due_at

``paused_at`` is set while a ticket is pending, which freezes both clocks; leaving pending adds the paused
time to ``paused_seconds`` and pushes both due times out by it. A priority change recomputes the due
times from ``created_at`` + the new target + ``paused_seconds``, so paused time is never lost.

Time a ticket spends resolved or closed before it is reopened is *not* paused: a reopened ticket means
the problem was not solved, and its original target still applies.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal, get_args

from sqlalchemy import ColumnElement, case, func, literal, or_

from store.config import Settings
from store.models import Ticket
from store.types import UTCDateTime
from tools.errors import InvalidInputError

Priority = Literal["low", "medium", "high", "critical"]
Status = Literal["new", "open", "in_progress", "pending", "resolved", "closed"]
PRIORITIES: tuple[Priority, ...] = get_args(Priority)
STATUSES: tuple[Status, ...] = get_args(Status)
PRIORITY_RANK: dict[str, int] = {p: rank for rank, p in enumerate(PRIORITIES, start=1)}

TRANSITIONS: dict[Status, tuple[Status, ...]] = {
    "new": ("open", "in_progress", "pending", "resolved", "closed"),
    "open": ("in_progress", "pending", "resolved", "closed"),
    # Closing straight from work or waiting covers duplicates and tickets withdrawn by the requester.
    "in_progress": ("open", "pending", "resolved", "closed"),
    "pending": ("open", "in_progress", "resolved", "closed"),
    "resolved": ("closed", "open"),
    "closed": ("open",),
}
"""Allowed moves; ``resolved -> open`` and ``closed -> open`` are reopenings."""

DONE_STATUSES: frozenset[str] = frozenset({"resolved", "closed"})


def resolution_target(settings: Settings, priority: str) -> timedelta:
    return timedelta(hours=settings.sla_hours(priority))


def first_response_target(settings: Settings, priority: str) -> timedelta:
    return resolution_target(settings, priority) * settings.first_response_fraction


def set_due_times(settings: Settings, ticket: Ticket) -> None:
    """(Re)compute both due times from creation, the current priority and the time already paused."""
    paused = timedelta(seconds=ticket.paused_seconds or 0.0)
    ticket.sla_due_at = ticket.created_at + resolution_target(settings, ticket.priority) + paused
    ticket.first_response_due_at = ticket.created_at + first_response_target(settings, ticket.priority) + paused


def check_transition(number: str, current: str, new: str) -> None:
    """Raise :class:`InvalidInputError` naming the allowed moves unless ``current -> new`` is one of them."""
    if new not in STATUSES:
        raise InvalidInputError(f"status {new!r} is not valid; use one of: {', '.join(STATUSES)}")
    allowed = TRANSITIONS[current]  # type: ignore[index]
    if new not in allowed:
        raise InvalidInputError(
            f"ticket {number} cannot go from {current!r} to {new!r}; allowed from {current!r}: {', '.join(allowed)}"
        )


def apply_status(ticket: Ticket, new: str, now: datetime) -> None:
    """Move ``ticket`` to ``new`` (already checked), keeping timestamps and the pause clock consistent."""
    old = ticket.status
    if old == "pending" and ticket.paused_at is not None:
        _resume(ticket, now)
    if new == "pending":
        ticket.paused_at = now
    if new == "resolved":
        ticket.resolved_at = now
    elif new == "closed":
        ticket.closed_at = now
        if ticket.resolved_at is None:
            ticket.resolved_at = now
    elif old in DONE_STATUSES:
        ticket.resolved_at = None
        ticket.closed_at = None
    ticket.status = new


def _resume(ticket: Ticket, now: datetime) -> None:
    assert ticket.paused_at is not None
    paused = max(now - ticket.paused_at, timedelta(0))
    ticket.paused_seconds = (ticket.paused_seconds or 0.0) + paused.total_seconds()
    ticket.sla_due_at = ticket.sla_due_at + paused
    ticket.first_response_due_at = ticket.first_response_due_at + paused
    ticket.paused_at = None


# --- derived flags, for one loaded ticket -----------------------------------------------------------


def resolution_clock(ticket: Ticket, now: datetime) -> datetime:
    """The instant the resolution clock reads: stopped at resolution, closure or pause, else now."""
    return ticket.resolved_at or ticket.closed_at or ticket.paused_at or now


def first_response_clock(ticket: Ticket, now: datetime) -> datetime:
    return ticket.first_response_at or resolution_clock(ticket, now)


def sla_breached(ticket: Ticket, now: datetime) -> bool:
    return resolution_clock(ticket, now) > ticket.sla_due_at


def first_response_breached(ticket: Ticket, now: datetime) -> bool:
    return first_response_clock(ticket, now) > ticket.first_response_due_at


def sla_remaining_seconds(ticket: Ticket, now: datetime) -> float:
    """Seconds left to the resolution target (negative: overdue); frozen while paused and once resolved."""
    return (ticket.sla_due_at - resolution_clock(ticket, now)).total_seconds()


# --- the same definitions as SQL, for filters -----------------------------------------------------------


def _at(now: datetime) -> ColumnElement[datetime]:
    # Typed so SQLite receives the same naive-UTC text format the columns are stored in.
    return literal(now, UTCDateTime())


def sla_breached_sql(now: datetime) -> ColumnElement[bool]:
    return func.coalesce(Ticket.resolved_at, Ticket.closed_at, Ticket.paused_at, _at(now)) > Ticket.sla_due_at


def first_response_breached_sql(now: datetime) -> ColumnElement[bool]:
    clock = func.coalesce(Ticket.first_response_at, Ticket.resolved_at, Ticket.closed_at, Ticket.paused_at, _at(now))
    return clock > Ticket.first_response_due_at


def any_breached_sql(now: datetime) -> ColumnElement[bool]:
    return or_(sla_breached_sql(now), first_response_breached_sql(now))


def priority_rank_sql() -> ColumnElement[int]:
    return case(PRIORITY_RANK, value=Ticket.priority, else_=0)


# --- the same definitions as SQL text, for reports over stored instants ----------------------------------


def clocks_sql(*, first_response_at: str, stopped_at: str, paused_at: str, now: str) -> tuple[str, str]:
    """The first-response and resolution clocks as SQL text over the named columns.

    ``stopped_at`` is ``coalesce(resolved_at, closed_at)``; the clocks are those of :func:`first_response_clock`
    and :func:`resolution_clock`, so a breach is ``clock > due``, as in :func:`any_breached_sql`.
    """
    resolution = f"COALESCE({stopped_at}, {paused_at}, {now})"
    return f"COALESCE({first_response_at}, {stopped_at}, {paused_at}, {now})", resolution
