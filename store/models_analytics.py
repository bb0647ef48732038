"""ORM models for analytics (issue 10): status history, per-ticket metrics, satisfaction, search and agent logs.

Imported at the end of ``store.models`` so one ``Base.metadata`` describes the whole schema.

``ticket_metrics`` is a rollup: one row per ticket, recomputed in SQL from the ticket, its status history
and its comments for every ticket a write queued in ``ticket_metrics_pending`` (drained before each analytics
read and by the server's worker) and inside each import batch, so every report sees every committed write.
``business_calendar`` holds the working intervals of the configured ``SUPPORT_BUSINESS_HOURS`` as UTC epoch
seconds with a running total, so business time between two instants is two index look-ups.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from store.models import NO_REUSE, Base, BigId
from store.types import utcnow

DONE_SQL = "('resolved', 'closed')"
SOLVE_SQL = f"{{sc}}to_status IN {DONE_SQL} AND ({{sc}}from_status IS NULL OR {{sc}}from_status NOT IN {DONE_SQL})"
"""A solve in the status history, as SQL (``{sc}`` is the table's prefix, e.g. ``"sc."``)."""
REOPEN_SQL = f"{{sc}}from_status IN {DONE_SQL} AND {{sc}}to_status NOT IN {DONE_SQL}"
EVENTS_SQL = f"({SOLVE_SQL}) OR ({REOPEN_SQL})".format(sc="")
DURATION_NAMES = ("first_response", "first_resolution", "full_resolution", "wait", "on_hold")
"""The per-ticket durations, each stored as ``<name>_s`` (calendar) and ``<name>_bs`` (business)."""
"""Solves and reopens: the rows of the partial index analytics reads the history's volume from."""


class TicketStatusChange(Base):
    """Every status a ticket entered, when and by whom; the first row (from_status None) is its creation."""

    __tablename__ = "ticket_status_changes"
    __table_args__ = (
        Index("ix_ticket_status_changes_ticket_at", "ticket_id", "changed_at"),
        Index("ix_ticket_status_changes_changed_at", "changed_at"),
        Index(
            "ix_ticket_status_changes_events",
            "changed_at",
            "ticket_id",
            "from_status",
            "to_status",
            sqlite_where=text(EVENTS_SQL),
            postgresql_where=text(EVENTS_SQL),
        ),
        NO_REUSE,
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    changed_at: Mapped[datetime] = mapped_column()
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class TicketMetrics(Base):
    """The per-ticket facts analytics reads: durations in whole seconds (``*_s`` calendar, ``*_bs`` business),
    event counts, and the ticket's group keys and SLA clock as of its last write."""

    __tablename__ = "ticket_metrics"
    __table_args__ = (
        Index("ix_ticket_metrics_created_at", "created_at"),
        Index("ix_ticket_metrics_assignee_created", "assignee_id", "created_at"),
        Index("ix_ticket_metrics_requester_created", "requester_id", "created_at"),
        Index("ix_ticket_metrics_live_until", "live_until"),
        # The second step of an exact percentile reads the facts of one month inside one histogram bin.
        *(Index(f"ix_ticket_metrics_{d}_month", "created_month", f"{d}_s") for d in DURATION_NAMES),
    )

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    first_solved_at: Mapped[datetime | None] = mapped_column()
    last_solved_at: Mapped[datetime | None] = mapped_column()
    solve_count: Mapped[int] = mapped_column(Integer, default=0)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    public_replies: Mapped[int] = mapped_column(Integer, default=0)
    first_response_s: Mapped[int | None] = mapped_column(BigInteger)
    first_resolution_s: Mapped[int | None] = mapped_column(BigInteger)
    full_resolution_s: Mapped[int | None] = mapped_column(BigInteger)
    wait_s: Mapped[int | None] = mapped_column(BigInteger)
    on_hold_s: Mapped[int | None] = mapped_column(BigInteger)
    first_response_bs: Mapped[int | None] = mapped_column(BigInteger)
    first_resolution_bs: Mapped[int | None] = mapped_column(BigInteger)
    full_resolution_bs: Mapped[int | None] = mapped_column(BigInteger)
    wait_bs: Mapped[int | None] = mapped_column(BigInteger)
    on_hold_bs: Mapped[int | None] = mapped_column(BigInteger)
    calendar_key: Mapped[str | None] = mapped_column(String(64))
    """Which business calendar the ``*_bs`` columns were computed with (None: none configured)."""
    # The ticket's facts as of its last write: what analytics groups, filters and checks the SLA by.
    created_at: Mapped[datetime | None] = mapped_column()
    status: Mapped[str | None] = mapped_column(String(16))
    priority: Mapped[str | None] = mapped_column(String(16))
    channel: Mapped[str | None] = mapped_column(String(16))
    requester_id: Mapped[int | None] = mapped_column(BigId)
    assignee_id: Mapped[int | None] = mapped_column(BigId)
    category_id: Mapped[int | None] = mapped_column(BigId)
    first_response_at: Mapped[datetime | None] = mapped_column()
    resolution_stopped_at: Mapped[datetime | None] = mapped_column()
    """``coalesce(resolved_at, closed_at)``: where the resolution clock stopped, if it did."""
    paused_at: Mapped[datetime | None] = mapped_column()
    first_response_due_at: Mapped[datetime | None] = mapped_column()
    sla_due_at: Mapped[datetime | None] = mapped_column()
    first_response_sla: Mapped[str | None] = mapped_column(String(8))
    """met, missed, paused or running (tools.metrics.SLA_STATES); NULL: not computed yet."""
    resolution_sla: Mapped[str | None] = mapped_column(String(8))
    live_until: Mapped[datetime | None] = mapped_column()
    """The later due time: while it is ahead, the ticket's SLA figures depend on now (store.rollup)."""
    created_month: Mapped[str | None] = mapped_column(String(10))
    """The UTC month of ``created_at`` as ``YYYY-MM-01`` (the histogram's month), so an index can start with it."""


class TicketRollup(Base):
    """Per UTC day and dimension value: the cohort sums of the tickets created that day, and that day's solves
    and reopens (store.rollup has the definitions; every column but the key is a sum)."""

    __tablename__ = "ticket_rollup"

    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    dim: Mapped[str] = mapped_column(String(10), primary_key=True)
    value: Mapped[str] = mapped_column(String(40), primary_key=True)
    # The sums, in store.rollup.ROLLUP_SUMS order (a test keeps the two lists equal).
    tickets: Mapped[int] = mapped_column(BigInteger, default=0)
    fr_met: Mapped[int] = mapped_column(BigInteger, default=0)
    fr_missed: Mapped[int] = mapped_column(BigInteger, default=0)
    res_met: Mapped[int] = mapped_column(BigInteger, default=0)
    res_missed: Mapped[int] = mapped_column(BigInteger, default=0)
    breaching: Mapped[int] = mapped_column(BigInteger, default=0)
    at_risk: Mapped[int] = mapped_column(BigInteger, default=0)
    solved_ever: Mapped[int] = mapped_column(BigInteger, default=0)
    reopened_ever: Mapped[int] = mapped_column(BigInteger, default=0)
    solved_now: Mapped[int] = mapped_column(BigInteger, default=0)
    one_touch: Mapped[int] = mapped_column(BigInteger, default=0)
    first_response_n: Mapped[int] = mapped_column(BigInteger, default=0)
    first_response_sum: Mapped[int] = mapped_column(BigInteger, default=0)
    first_resolution_n: Mapped[int] = mapped_column(BigInteger, default=0)
    first_resolution_sum: Mapped[int] = mapped_column(BigInteger, default=0)
    full_resolution_n: Mapped[int] = mapped_column(BigInteger, default=0)
    full_resolution_sum: Mapped[int] = mapped_column(BigInteger, default=0)
    wait_n: Mapped[int] = mapped_column(BigInteger, default=0)
    wait_sum: Mapped[int] = mapped_column(BigInteger, default=0)
    on_hold_n: Mapped[int] = mapped_column(BigInteger, default=0)
    on_hold_sum: Mapped[int] = mapped_column(BigInteger, default=0)
    solved: Mapped[int] = mapped_column(BigInteger, default=0)
    reopened: Mapped[int] = mapped_column(BigInteger, default=0)


class TicketRollupHist(Base):
    """Per UTC month, dimension value, duration and bin (``analytics_bins``): tickets created that month."""

    __tablename__ = "ticket_rollup_hist"
    # Read by key ranges only: on SQLite the rows live in the key's B-tree (one look-up per row, not two).
    __table_args__ = ({"sqlite_with_rowid": False},)

    dim: Mapped[str] = mapped_column(String(10), primary_key=True)
    value: Mapped[str] = mapped_column(String(40), primary_key=True)
    duration: Mapped[str] = mapped_column(String(20), primary_key=True)
    month: Mapped[str] = mapped_column(String(10), primary_key=True)
    bin: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    n: Mapped[int] = mapped_column(BigInteger, default=0)


class TicketMetricEvent(Base):
    """The solves and reopens ``ticket_rollup`` counted for a ticket on a UTC day."""

    __tablename__ = "ticket_metric_events"

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    solved: Mapped[int] = mapped_column(Integer, default=0)
    reopened: Mapped[int] = mapped_column(Integer, default=0)


class TicketMetricsPending(Base):
    """A ticket whose facts and rollup rows are still to be recomputed: written in the ticket's own write
    transaction (one insert, no shared row), drained in batches by :mod:`tools.metrics_queue`.

    Rows are only ever inserted by writers and deleted by id by the drain, so a change committed while a drain
    runs keeps its own row and is drained next time; no ticket id is unique here for that reason."""

    __tablename__ = "ticket_metrics_pending"
    __table_args__ = NO_REUSE

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(BigId)
    """No foreign key: a ticket deleted meanwhile leaves a row the drain simply finds nothing for."""
    queued_at: Mapped[datetime] = mapped_column(default=utcnow)


class AnalyticsBin(Base):
    """A histogram bin of durations: ``lo <= seconds < hi``, one of ``res`` per doubling (store.rollup.BINS)."""

    __tablename__ = "analytics_bins"
    __table_args__ = (UniqueConstraint("res", "bin", name="uq_analytics_bins_res_bin"),)

    res: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    lo: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hi: Mapped[int] = mapped_column(BigInteger)
    bin: Mapped[int] = mapped_column(Integer)


class BusinessCalendarInterval(Base):
    """One working interval in UTC epoch seconds; ``cum_before`` is the working time of all earlier ones."""

    __tablename__ = "business_calendar"

    open_s: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    close_s: Mapped[int] = mapped_column(BigInteger)
    cum_before: Mapped[int] = mapped_column(BigInteger)
    calendar_key: Mapped[str] = mapped_column(String(64))


class TicketRating(Base):
    """A requester's satisfaction rating of a solved ticket: one per ticket, changeable for a while."""

    __tablename__ = "ticket_ratings"

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    rater_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    rating: Mapped[str] = mapped_column(String(8))
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class SearchLog(Base):
    """One knowledge search: the query, how many results it had, and the top result."""

    __tablename__ = "search_log"
    __table_args__ = NO_REUSE

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    query: Mapped[str] = mapped_column(String(500))
    normalized: Mapped[str] = mapped_column(String(500), index=True)
    result_count: Mapped[int] = mapped_column(Integer)
    top_kind: Mapped[str | None] = mapped_column(String(16))
    top_ref: Mapped[str | None] = mapped_column(String(64))
    top_title: Mapped[str | None] = mapped_column(String(300))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class AgentTurn(Base):
    """One turn of a support-agent conversation, as the analytics need it (not the transcript)."""

    __tablename__ = "agent_turns"
    __table_args__ = (Index("ix_agent_turns_conversation_at", "conversation_id", "created_at"), NO_REUSE)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    conversation_id: Mapped[str] = mapped_column(String(200))
    caller: Mapped[str] = mapped_column(String(200), index=True)
    intent: Mapped[str | None] = mapped_column(String(32))
    answered: Mapped[bool] = mapped_column(Boolean, default=False)
    """The reply cited knowledge."""
    ticket_created: Mapped[str | None] = mapped_column(String(20))
    handoff_reason: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
