"""Metric definitions as SQL: the per-ticket rollup, the business calendar, percentiles and buckets.

Everything here builds SQL that runs inside the database; nothing loads tickets into Python. The
definitions (docs/analytics.md has them in prose) are:

* durations are whole seconds between two stored instants (``epoch(b) - epoch(a)``);
* first response = ``tickets.first_response_at - created_at`` (the first public reply by staff other than the
  requester; the description a staff member typed when creating a ticket for someone is not a reply);
* a *solve* is a status change into resolved or closed from a status that is neither (so resolved -> closed
  is not a second solve); a *reopen* is a change out of resolved or closed;
* first resolution = first solve - created; full resolution = last solve - created, for tickets solved now;
* requester wait = time in new, open and in_progress; on-hold = time in pending; both over the completed
  spells of a ticket solved now (the desk's SLA clock is paused exactly while pending);
* public replies = public comments by staff other than the requester (one-touch: solved with at most one);
* business-hours twins (``*_bs``) of each duration use the configured calendar (:mod:`tools.business_hours`).

Percentiles use one interpolation everywhere, PostgreSQL's ``percentile_cont``: for the ``n`` values of a
group in ascending order ``x[0..n-1]``, ``pos = p * (n - 1)``, ``lo = floor(pos)``, and the result is
``x[lo] + (pos - lo) * (x[lo + 1] - x[lo])`` (just ``x[lo]`` when ``pos`` is whole). PostgreSQL runs
``percentile_cont`` itself; SQLite runs the same formula over ``row_number()`` and ``count()`` windows
(:func:`percentile_columns`), so both give the same numbers.

The facts (``ticket_metrics``) are recomputed by :func:`refresh_metrics` for the tickets a write queued
(:mod:`tools.metrics_queue` drains them before every analytics read and in the server's worker) and in each
import batch's transaction; the same call moves the rollup (:mod:`store.rollup`) by what the facts changed.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from store.config import Settings
from store.models_analytics import DONE_SQL as DONE
from store.models_analytics import REOPEN_SQL, SOLVE_SQL, TicketStatusChange
from store.rollup import DURATIONS, apply_sql, build_sql, events_sql, live_until, month_of
from tools import sla
from tools.business_hours import BusinessCalendar, parse_business_hours
from tools.desk import Desk

logger = logging.getLogger(__name__)

Bucket = Literal["none", "day", "week", "month"]
WORKING = "('new', 'open', 'in_progress')"
PENDING = "('pending')"
REFRESH_BATCH = 2000
ROLLUP_LOCK = 7_310_013
"""PostgreSQL advisory lock (held to commit) that queues the writers of the rollup's shared rows (queue drains,
import batches, rebuilds; not ticket writes), so two transactions never take out and put in overlapping rows in
opposite orders (a deadlock)."""
FACT_COLUMNS = (
    "created_at",
    "status",
    "priority",
    "channel",
    "requester_id",
    "assignee_id",
    "category_id",
    "first_response_at",
    "paused_at",
    "first_response_due_at",
    "sla_due_at",
)
"""Ticket columns copied into ``ticket_metrics`` as they are (plus ``resolution_stopped_at`` and the SLA states)."""
SLA_STATES = {
    "first_response_sla": "met (stopped by a reply or resolution within target), missed (its clock, stopped or "
    "paused, is past the due time), paused (pending before the due time) or running",
    "resolution_sla": "missed (stopped or paused past the due time), stopped (within it) or running",
}
"""Where each SLA clock of tools.sla stands at the ticket's last write: only a running clock depends on now,
so a report compares ``now`` with a due time for running clocks alone."""


@dataclass(frozen=True)
class Dialect:
    """The few spellings that differ between SQLite and PostgreSQL."""

    name: str

    @property
    def pg(self) -> bool:
        return self.name == "postgresql"

    def epoch(self, col: str) -> str:
        """Whole UTC epoch seconds of a stored timestamp (exact on both: no floating-point in the path)."""
        if self.pg:
            return f"CAST(EXTRACT(EPOCH FROM date_trunc('second', {col})) AS BIGINT)"
        return f"CAST(strftime('%s', {col}) AS INTEGER)"

    def scanned(self, col: str) -> str:
        """``col`` in a range test that should read the table in order rather than walk an index over it.

        SQLite's planner takes an index for any range; over most of the narrow facts table, a sequential scan is
        ten times faster than an index walk that looks each row up. ``+col`` keeps the range off the index (other
        indexed terms, such as an assignee's, still use theirs). PostgreSQL chooses by its statistics.
        """
        return col if self.pg else f"+{col}"

    def greatest(self, a: str, b: str) -> str:
        return f"GREATEST({a}, {b})" if self.pg else f"MAX({a}, {b})"

    def least(self, a: str, b: str) -> str:
        return f"LEAST({a}, {b})" if self.pg else f"MIN({a}, {b})"

    def floor_int(self, expr: str) -> str:
        # CAST(x AS INTEGER) rounds on PostgreSQL and truncates on SQLite; the values here are >= 0.
        return f"CAST(FLOOR({expr}) AS BIGINT)" if self.pg else f"CAST({expr} AS INTEGER)"

    def bucket(self, col: str, bucket: Bucket) -> str:
        """The start date (``YYYY-MM-DD``, UTC) of the day, ISO week (Monday) or month holding ``col``."""
        if bucket == "none":
            return "''"
        if self.pg:
            return f"to_char(date_trunc('{bucket}', {col} AT TIME ZONE 'UTC'), 'YYYY-MM-DD')"
        # SQLite stores UTC instants as 'YYYY-MM-DD HH:MM:SS.ffffff' text: a prefix is the day or month.
        if bucket == "day":
            return f"substr({col}, 1, 10)"
        if bucket == "week":
            return f"date({col}, 'weekday 0', '-6 days')"
        return f"substr({col}, 1, 7) || '-01'"

    def bucket_key(self, col: str, bucket: Bucket) -> str:
        """What rows are grouped by for :meth:`bucket` (cheaper to compute and compare on PostgreSQL: a timestamp,
        not text); :meth:`bucket_label` turns it into the ``YYYY-MM-DD`` label, once per output row."""
        if self.pg and bucket != "none":
            return f"date_trunc('{bucket}', {col} AT TIME ZONE 'UTC')"
        return self.bucket(col, bucket)

    def bucket_label(self, key: str, bucket: Bucket) -> str:
        return f"to_char({key}, 'YYYY-MM-DD')" if self.pg and bucket != "none" else key

    def business_at(self, epoch_expr: str) -> str:
        """Working seconds from the calendar's start to the instant ``epoch_expr`` (epoch seconds)."""
        inside = self.least(self.greatest(f"{epoch_expr} - bc.open_s", "0"), "bc.close_s - bc.open_s")
        return (
            f"COALESCE((SELECT bc.cum_before + {inside} FROM business_calendar bc "
            f"WHERE bc.open_s <= {epoch_expr} ORDER BY bc.open_s DESC LIMIT 1), 0)"
        )


# --- percentiles ------------------------------------------------------------------------------------------


def percentile_columns(dialect: Dialect, col: str, partition: str, name: str) -> list[str]:
    """Window columns an inner query adds so :func:`percentile_expr` can interpolate on SQLite."""
    if dialect.pg:
        return []
    return [
        f"ROW_NUMBER() OVER (PARTITION BY {partition}, ({col} IS NULL) ORDER BY {col}) AS rn_{name}",
        f"COUNT({col}) OVER (PARTITION BY {partition}) AS n_{name}",
    ]


def percentile_expr(dialect: Dialect, col: str, p: float, name: str) -> str:
    """The ``p`` percentile of ``col`` in a GROUP BY query (NULL for an empty group); see the module doc."""
    if dialect.pg:
        return f"percentile_cont({p!r}) WITHIN GROUP (ORDER BY {col})"
    pos = f"({p!r} * (n_{name} - 1))"
    lo = dialect.floor_int(pos)
    x_lo = f"MAX(CASE WHEN rn_{name} = {lo} + 1 THEN {col} END)"
    x_hi = f"MAX(CASE WHEN rn_{name} = {lo} + 2 THEN {col} END)"
    frac = f"MAX({pos} - {lo})"
    return f"({x_lo} + {frac} * (COALESCE({x_hi}, {x_lo}) - {x_lo}))"


# --- the business calendar ----------------------------------------------------------------------------


def calendar_of(settings: Settings) -> BusinessCalendar | None:
    return parse_business_hours(settings.business_hours) if settings.business_hours else None


async def sync_calendar(conn: AsyncConnection | AsyncSession, calendar: BusinessCalendar | None) -> bool:
    """Make ``business_calendar`` hold ``calendar``'s intervals; True when it had to be rebuilt."""
    stored = (await conn.execute(text("SELECT calendar_key FROM business_calendar LIMIT 1"))).scalar_one_or_none()
    wanted = calendar.key if calendar else None
    if stored == wanted:
        return False
    await conn.execute(text("DELETE FROM business_calendar"))
    if calendar is not None:
        rows = [{"o": o, "c": c, "b": b, "k": calendar.key} for o, c, b in calendar.intervals()]
        insert = text(
            "INSERT INTO business_calendar (open_s, close_s, cum_before, calendar_key) VALUES (:o, :c, :b, :k)"
        )
        for start in range(0, len(rows), 5000):
            await conn.execute(insert, rows[start : start + 5000])
    # Every stored business-hours figure was computed with the old calendar: mark them all for recomputing.
    await conn.execute(text("UPDATE ticket_metrics SET calendar_key = NULL WHERE calendar_key IS NOT NULL"))
    logger.info("business calendar rebuilt (%s)", calendar.spec if calendar else "none")
    return True


# --- the per-ticket rollup ------------------------------------------------------------------------------


def _refresh_sql(d: Dialect, calendar_key: str | None) -> str:
    e = d.epoch
    business = calendar_key is not None

    def spell(statuses: str, biz: bool) -> str:
        span = f"{d.business_at('next_s')} - {d.business_at('at_s')}" if biz else "next_s - at_s"
        return f"SUM(CASE WHEN to_status IN {statuses} AND next_s IS NOT NULL THEN {span} ELSE 0 END)"

    created = e("t.created_at")
    solved_now = f"t.status IN {DONE}"
    cols = {
        "first_solved_at": "a.first_solved_at",
        "last_solved_at": f"CASE WHEN {solved_now} THEN a.last_solved_at END",
        "solve_count": "COALESCE(a.solve_count, 0)",
        "reopen_count": "COALESCE(a.reopen_count, 0)",
        "public_replies": "COALESCE(r.n, 0)",
        "first_response_s": f"{e('t.first_response_at')} - {created}",
        "first_resolution_s": f"a.first_solved_s - {created}",
        "full_resolution_s": f"CASE WHEN {solved_now} THEN a.last_solved_s - {created} END",
        "wait_s": f"CASE WHEN {solved_now} THEN a.wait_s END",
        "on_hold_s": f"CASE WHEN {solved_now} THEN a.on_hold_s END",
    }
    if business:
        bc = d.business_at(created)
        cols |= {
            "first_response_bs": f"{d.business_at(e('t.first_response_at'))} - {bc}",
            "first_resolution_bs": f"{d.business_at('a.first_solved_s')} - {bc}",
            "full_resolution_bs": f"CASE WHEN {solved_now} THEN {d.business_at('a.last_solved_s')} - {bc} END",
            "wait_bs": f"CASE WHEN {solved_now} THEN a.wait_bs END",
            "on_hold_bs": f"CASE WHEN {solved_now} THEN a.on_hold_bs END",
        }
    else:
        cols |= {f"{name}_bs": "NULL" for name in DURATIONS}
    cols["calendar_key"] = "CAST(:calendar_key AS VARCHAR(64))"
    cols |= {name: f"t.{name}" for name in FACT_COLUMNS}
    cols["resolution_stopped_at"] = "COALESCE(t.resolved_at, t.closed_at)"
    cols["live_until"] = live_until("t.first_response_due_at", "t.sla_due_at")
    cols["created_month"] = month_of(d.pg, "t.created_at")
    fr_clock, res_clock = sla.clocks_sql(
        first_response_at="t.first_response_at",
        stopped_at="COALESCE(t.resolved_at, t.closed_at)",
        paused_at="t.paused_at",
        now="NULL",
    )
    cols["first_response_sla"] = (
        f"CASE WHEN {fr_clock} IS NULL THEN 'running' WHEN {fr_clock} > t.first_response_due_at THEN 'missed' "
        "WHEN COALESCE(t.first_response_at, t.resolved_at, t.closed_at) IS NOT NULL THEN 'met' ELSE 'paused' END"
    )
    cols["resolution_sla"] = (
        f"CASE WHEN {res_clock} IS NULL THEN 'running' WHEN {res_clock} > t.sla_due_at THEN 'missed' ELSE 'stopped' END"
    )
    business_aggs = f", {spell(WORKING, True)} AS wait_bs, {spell(PENDING, True)} AS on_hold_bs" if business else ""
    names = ", ".join(["ticket_id", *cols])
    values = ", ".join(["t.id", *cols.values()])
    updates = ", ".join(f"{c} = excluded.{c}" for c in cols)
    return f"""
WITH ch AS (
    SELECT sc.ticket_id, sc.from_status, sc.to_status, sc.changed_at, {e("sc.changed_at")} AS at_s,
           LEAD({e("sc.changed_at")}) OVER (PARTITION BY sc.ticket_id ORDER BY sc.changed_at, sc.id) AS next_s,
           CASE WHEN {SOLVE_SQL.format(sc="sc.")} THEN 1 ELSE 0 END AS solve,
           CASE WHEN {REOPEN_SQL.format(sc="sc.")} THEN 1 ELSE 0 END AS reopen
    FROM ticket_status_changes sc WHERE sc.ticket_id IN :ids
), a AS (
    SELECT ticket_id,
           MIN(CASE WHEN solve = 1 THEN changed_at END) AS first_solved_at,
           MAX(CASE WHEN solve = 1 THEN changed_at END) AS last_solved_at,
           MIN(CASE WHEN solve = 1 THEN at_s END) AS first_solved_s,
           MAX(CASE WHEN solve = 1 THEN at_s END) AS last_solved_s,
           SUM(solve) AS solve_count, SUM(reopen) AS reopen_count,
           {spell(WORKING, False)} AS wait_s, {spell(PENDING, False)} AS on_hold_s{business_aggs}
    FROM ch GROUP BY ticket_id
), r AS (
    SELECT c.ticket_id, COUNT(*) AS n
    FROM ticket_comments c JOIN tickets t2 ON t2.id = c.ticket_id JOIN users u ON u.id = c.author_id
    WHERE c.ticket_id IN :ids AND c.is_internal = :false AND c.author_id <> t2.requester_id
          AND u.role <> 'end_user'
    GROUP BY c.ticket_id
)
INSERT INTO ticket_metrics ({names})
SELECT {values}
FROM tickets t LEFT JOIN a ON a.ticket_id = t.id LEFT JOIN r ON r.ticket_id = t.id
WHERE t.id IN :ids
ON CONFLICT (ticket_id) DO UPDATE SET {updates}
"""


def add_status_change(
    session: AsyncSession, ticket_id: int, old: str | None, new: str, at: datetime, actor_id: int | None
) -> None:
    """Record that a ticket entered ``new`` (from ``old``; None at creation) in the status history."""
    session.add(
        TicketStatusChange(ticket_id=ticket_id, from_status=old, to_status=new, changed_at=at, actor_id=actor_id)
    )


async def refresh_metrics(
    session: AsyncSession, settings: Settings, ticket_ids: Sequence[int], *, rollup: bool = True
) -> None:
    """Recompute the facts of ``ticket_ids`` from their current state, inside the caller's transaction, and move
    the rollup with them: take out what their old facts and events added, put in what the new ones add.

    ``rollup=False`` leaves the rollup alone (:func:`rebuild_metrics` rebuilds it whole afterwards)."""
    ids = sorted(set(ticket_ids))
    if not ids:
        return
    bind = session.get_bind()
    d = Dialect(bind.dialect.name)
    calendar = calendar_of(settings)
    key = calendar.key if calendar else None
    if calendar is not None:
        await sync_calendar(session, calendar)
    if d.pg:
        # Another transaction writing the same ticket must commit first, so this statement's snapshot
        # sees its comment or status change: the rollup is never computed from a stale view. NO KEY UPDATE,
        # not UPDATE: the comment or status row this transaction (and a concurrent one) already inserted
        # holds a KEY SHARE lock on the ticket through its foreign key, and FOR UPDATE would wait on the
        # other's KEY SHARE while it waits on ours: a deadlock. NO KEY UPDATE still queues the refreshers.
        await session.execute(_LOCK_TICKETS, {"ids": ids})
        if rollup:
            await session.execute(_LOCK_ROLLUP, {"k": ROLLUP_LOCK})

    refresh, take_out, put_in, forget, record = _refresh_statements(d.name, key is not None)
    for start in range(0, len(ids), REFRESH_BATCH):
        batch = {"ids": ids[start : start + REFRESH_BATCH]}
        if rollup:
            for s in take_out:
                await session.execute(s, batch)
            await session.execute(forget, batch)
        await session.execute(refresh, batch | {"calendar_key": key, "false": False})
        if rollup:
            await session.execute(record, batch)
            for s in put_in:
                await session.execute(s, batch)


_LOCK_TICKETS = text("SELECT id FROM tickets WHERE id IN :ids ORDER BY id FOR NO KEY UPDATE").bindparams(
    bindparam("ids", expanding=True)
)
_LOCK_ROLLUP = text("SELECT pg_advisory_xact_lock(:k)")


@functools.cache
def _refresh_statements(dialect: str, business: bool) -> tuple[Any, list[Any], list[Any], Any, Any]:
    """The statements of :func:`refresh_metrics`, built once per dialect and calendar use: they run on every
    write to a ticket, and parsing their text for parameters cost more than a round trip."""
    d = Dialect(dialect)

    def stmt(sql: str) -> Any:
        return text(sql).bindparams(bindparam("ids", expanding=True))

    # Only whether a calendar is in use shapes the SQL; its key is a parameter.
    refresh = stmt(_refresh_sql(d, "calendar" if business else None))
    take_out = [stmt(s) for s in apply_sql(d.pg, "t.ticket_id IN :ids", -1)]
    put_in = [stmt(s) for s in apply_sql(d.pg, "t.ticket_id IN :ids", 1)]
    forget = stmt("DELETE FROM ticket_metric_events WHERE ticket_id IN :ids")
    record = stmt(events_sql(d.pg, "sc.ticket_id IN :ids"))
    return refresh, take_out, put_in, forget, record


async def ensure_metrics(desk: Desk) -> None:
    """Bring the calendar and the rollup up to date (first use, a changed calendar, tickets from before it).

    Runs its scan once per process and calendar; later writes keep the rollup current themselves.
    """
    calendar = calendar_of(desk.settings)
    key = calendar.key if calendar else None
    if desk.extras.get("metrics_ready") == (key,):
        return
    async with desk.sessions.begin() as session:
        await sync_calendar(session, calendar)
    stale = (
        "SELECT t.id FROM tickets t LEFT JOIN ticket_metrics m ON m.ticket_id = t.id "
        "WHERE t.id >= :first AND t.id <= :last_id AND (m.ticket_id IS NULL OR m.resolution_sla IS NULL"
    ) + (" OR m.calendar_key IS NULL OR m.calendar_key <> :key)" if key else ")")
    # Walk the tickets a range of ids at a time and refresh the stale ones in it: each look-up is an index range,
    # where asking "the next 2,000 stale tickets" re-ran the anti-join over the whole table for every batch.
    # Stale facts were never (or no longer rightly) counted in the rollup, and what the rollup holds for them is
    # unknown (the facts may have been emptied by hand): refresh them alone, then rebuild the rollup whole.
    refreshed = 0
    async for session, batch in _ticket_batches(desk):
        bounds = {"first": batch[0], "last_id": batch[-1], "key": key}
        ids = list((await session.execute(text(stale), bounds)).scalars())
        await refresh_metrics(session, desk.settings, ids, rollup=False)
        refreshed += len(ids)
    if refreshed:
        await rebuild_rollup(desk)
    desk.extras["metrics_ready"] = (key,)


async def _ticket_batches(desk: Desk) -> AsyncIterator[tuple[AsyncSession, list[int]]]:
    """Every ticket id, ``REFRESH_BATCH`` at a time in id order, each batch with its own write transaction."""
    last = 0
    while True:
        async with desk.sessions.begin() as session:
            batch = list(
                (
                    await session.execute(
                        text(f"SELECT id FROM tickets WHERE id > :last ORDER BY id LIMIT {REFRESH_BATCH}"),
                        {"last": last},
                    )
                ).scalars()
            )
            if not batch:
                return
            yield session, batch
        last = batch[-1]


async def rebuild_rollup(desk: Desk) -> None:
    """Rebuild the whole rollup from the facts in one transaction (ticket writers wait for it on PostgreSQL)."""
    async with desk.sessions.begin() as session:
        if desk.dialect == "postgresql":
            await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": ROLLUP_LOCK})
        for sql in build_sql(desk.dialect == "postgresql"):
            await session.execute(text(sql))


async def rebuild_metrics(desk: Desk) -> int:
    """Recompute every ticket's facts from its row, history and comments (``support-agent analytics rebuild``).

    Each batch is one transaction; writes going on meanwhile keep their own tickets' rows exact themselves.
    Returns the number of tickets recomputed.
    """
    async with desk.sessions.begin() as session:
        await sync_calendar(session, calendar_of(desk.settings))
    done = 0
    async for session, ids in _ticket_batches(desk):
        await refresh_metrics(session, desk.settings, ids, rollup=False)
        done += len(ids)
    await rebuild_rollup(desk)
    calendar = calendar_of(desk.settings)
    desk.extras["metrics_ready"] = (calendar.key if calendar else None,)
    return done
