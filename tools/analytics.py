"""Analytics reports, computed in SQL inside the database by the definitions in docs/analytics.md.

Who may read: managers and admins read every number; technicians read their own (tickets assigned to
them) or their teams' (tickets assigned to their teams' members); end users none
(:func:`tools.analytics_scope.resolve_scope`). Every report:

1. checks the caller with :func:`~tools.analytics_scope.resolve_scope`, which returns the SQL condition that
   limits tickets to what the caller may count, and normalises the period (:func:`period`);
2. builds one SQL statement per figure family with :class:`tools.metrics.Dialect` (buckets, epoch seconds,
   percentiles via :func:`tools.metrics.percentile_expr`) and runs it with :func:`rows`;
3. returns a Pydantic model with one row per group and bucket, plus the short definitions it used.

Adding a report (the voice report is one): write ``analytics_<name>(desk, actor, *, start, end, bucket, ...)``
in its own module following those three steps, add its definitions to ``DEFINITIONS``-style constant and to
docs/analytics.md, register it in ``server/tools_analytics.py`` (toolset "analytics"), and add it to
:data:`tools.analytics_export.REPORTS` so ``analytics_export`` can produce it as CSV.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncSession

from store.models_analytics import EVENTS_SQL, REOPEN_SQL, SOLVE_SQL
from store.rollup import FACT_COLUMNS, cohort_counts
from store.types import UTCDateTime
from tools import metrics_queue
from tools.actor import Actor
from tools.analytics_rollup import rollup_answers, rollup_params, rollup_sql
from tools.analytics_scope import Scope, check_grouping, resolve_scope
from tools.desk import Desk
from tools.errors import InvalidInputError
from tools.metrics import (
    DURATIONS,
    Bucket,
    Dialect,
    calendar_of,
)
from tools.pagination import decode_cursor, encode_cursor
from tools.permissions import AnalyticsScope
from tools.sla import Priority

GroupBy = Literal["none", "priority", "category", "assignee", "requester", "channel", "team"]
Hours = Literal["calendar", "business"]
DEFAULT_DAYS = 30
MAX_DAYS = 3660
AT_RISK_HOURS = 4.0
DIGITS = 4
DEFAULT_GROUPS = 100
PG_WORK_MEM = "128MB"
MAX_GROUPS = 1000

TICKET_DEFINITIONS: dict[str, str] = {
    "created": "tickets created in the bucket",
    "solved": "solves in the bucket: moves into resolved or closed from an unsolved status",
    "reopened": "reopens in the bucket: moves out of resolved or closed",
    "backlog": "tickets created and not solved at the end of the bucket (created - solves + reopens, cumulative)",
    "tickets": "tickets created in the bucket: the cohort every per-ticket figure below is computed over",
    "first_response_hours": "created -> first public reply by staff other than the requester",
    "first_resolution_hours": "created -> first solve",
    "full_resolution_hours": "created -> last solve, for tickets solved now",
    "requester_wait_hours": "time in new, open and in_progress, for tickets solved now",
    "on_hold_hours": "time in pending (SLA clock paused), for tickets solved now",
    "sla_first_response_achievement": "met / (met + missed) first-response targets, by the desk's SLA clock",
    "sla_resolution_achievement": "met / (met + missed) resolution targets, by the desk's SLA clock",
    "breaching_now": "unsolved tickets past a first-response or resolution target now",
    "at_risk": "unsolved, running (not pending) tickets with a target due within at_risk_hours, not yet breached",
    "reopen_rate": "tickets reopened at least once / tickets solved at least once",
    "one_touch_rate": "tickets solved now with at most one public staff reply / tickets solved now",
    "median, mean, p90": "hours; p90 and median interpolate like PostgreSQL percentile_cont",
}


class TicketFilters(BaseModel):
    """Narrow the tickets counted; each field takes one value or a list."""

    model_config = ConfigDict(extra="forbid")

    priority: list[Priority] | None = None
    category: list[str] | None = Field(default=None, description="Category names; '(none)' for uncategorised.")
    assignee: list[str] | None = Field(default=None, description="Usernames; '(unassigned)' for no assignee.")
    requester: list[str] | None = Field(default=None, description="Usernames.")
    channel: list[str] | None = Field(default=None, description="chat, voice, mcp, ui, web, email, import.")


class Distribution(BaseModel):
    """A duration over the tickets that have it, in hours."""

    count: int
    median: float | None
    mean: float | None
    p90: float | None


class TicketMetricsRow(BaseModel):
    group: str | None = Field(description="The group's value (None when group_by is none).")
    bucket: str | None = Field(description="Start date of the day, ISO week or month (None when bucket is none).")
    created: int
    solved: int
    reopened: int
    backlog: int
    tickets: int
    first_response_hours: Distribution
    first_resolution_hours: Distribution
    full_resolution_hours: Distribution
    requester_wait_hours: Distribution
    on_hold_hours: Distribution
    sla_first_response_met: int
    sla_first_response_missed: int
    sla_first_response_achievement: float | None
    sla_resolution_met: int
    sla_resolution_missed: int
    sla_resolution_achievement: float | None
    breaching_now: int
    at_risk: int
    reopen_rate: float | None
    one_touch_rate: float | None


class TicketAnalytics(BaseModel):
    """Ticket figures per group and bucket, with the definitions they follow."""

    start: datetime
    end: datetime
    group_by: GroupBy
    bucket: Bucket
    hours: Hours
    rows: list[TicketMetricsRow] = Field(description="A page of groups (most tickets created first), each by bucket.")
    groups_total: int = Field(description="Groups in the whole report; rows hold at most limit of them.")
    next_cursor: str | None = Field(description="Pass back as cursor for the next page of groups; None at the end.")
    definitions: dict[str, str]


# --- scope and period, shared by every report ------------------------------------------------------------


def _aware(value: datetime | date) -> datetime:
    if not isinstance(value, datetime):
        value = datetime.combine(value, time(0), UTC)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def period(desk: Desk, start: datetime | date | None, end: datetime | date | None) -> tuple[datetime, datetime]:
    """[start, end) in UTC; defaults: the last 30 days up to now. A date alone means its midnight (UTC)."""
    stop = _aware(end) if end is not None else desk.clock()
    begin = _aware(start) if start is not None else stop - timedelta(days=DEFAULT_DAYS)
    if begin >= stop:
        raise InvalidInputError(f"start {begin.isoformat()} must be before end {stop.isoformat()}")
    if stop - begin > timedelta(days=MAX_DAYS):
        raise InvalidInputError(f"the period is longer than {MAX_DAYS} days; ask for at most ten years at a time")
    return begin, stop


def hours(seconds: Any) -> float | None:
    return None if seconds is None else round(float(seconds) / 3600.0, DIGITS)


def share(part: Any, whole: Any) -> float | None:
    return round(int(part or 0) / int(whole), DIGITS) if whole else None


async def rows(session: AsyncSession, sql: str, params: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Run one analytics statement; datetimes bind as UTC, lists as expanding IN parameters."""
    used = set(re.findall(r"(?<!:):(\w+)", sql))
    params = {k: v for k, v in params.items() if k in used}
    binds = []
    for name, value in params.items():
        if isinstance(value, datetime):
            binds.append(bindparam(name, value, type_=UTCDateTime()))
        elif isinstance(value, list | tuple):
            binds.append(bindparam(name, list(value), expanding=True))
    stmt = text(sql).bindparams(*binds)
    plain = {k: v for k, v in params.items() if not isinstance(v, datetime | list | tuple)}
    return [dict(r._mapping) for r in (await session.execute(stmt, plain)).all()]


# --- ticket dimensions and filters --------------------------------------------------------------------


GROUP_SQL: dict[str, tuple[str, str]] = {
    "none": ("''", ""),
    "priority": ("t.priority", ""),
    "category": ("COALESCE(cat.name, '(none)')", "LEFT JOIN categories cat ON cat.id = t.category_id"),
    "assignee": ("COALESCE(au.username, '(unassigned)')", "LEFT JOIN users au ON au.id = t.assignee_id"),
    "requester": ("ru.username", "JOIN users ru ON ru.id = t.requester_id"),
    "channel": ("t.channel", ""),
    # A ticket counts for each team its assignee belongs to; unassigned or teamless: "(no team)".
    "team": (
        "COALESCE(tmt.name, '(no team)')",
        "LEFT JOIN team_members tm ON tm.user_id = t.assignee_id LEFT JOIN teams tmt ON tmt.id = tm.team_id",
    ),
}


def ticket_conditions(scope: Scope, filters: TicketFilters | None) -> tuple[list[str], dict[str, Any]]:
    """SQL conditions over ``t`` for the caller's scope and the filters."""
    conds = [scope.condition]
    params = dict(scope.params)
    f = filters or TicketFilters()
    if f.priority:
        conds.append("t.priority IN :f_priority")
        params["f_priority"] = list(f.priority)
    if f.channel:
        conds.append("t.channel IN :f_channel")
        params["f_channel"] = [c.lower() for c in f.channel]
    for name, column, none_label in (
        ("category", "t.category_id", "(none)"),
        ("assignee", "t.assignee_id", "(unassigned)"),
        ("requester", "t.requester_id", None),
    ):
        values: list[str] | None = getattr(f, name)
        if not values:
            continue
        wanted = [v.lower() for v in values if v != none_label]
        table, col = ("categories", "name") if name == "category" else ("users", "username")
        parts = []
        if wanted:
            parts.append(f"{column} IN (SELECT id FROM {table} WHERE lower({col}) IN :f_{name})")
            params[f"f_{name}"] = wanted
        if none_label and none_label in values:
            parts.append(f"{column} IS NULL")
        conds.append("(" + " OR ".join(parts) + ")")
    return conds, params


# --- analytics_tickets -------------------------------------------------------------------------------------

FACT_GROUPS: dict[str, tuple[str, str]] = {
    "none": ("''", "''"),
    "priority": ("t.priority", "g"),
    "category": ("COALESCE(t.category_id, 0)", "COALESCE((SELECT name FROM categories WHERE id = g), '(none)')"),
    "assignee": ("COALESCE(t.assignee_id, 0)", "COALESCE((SELECT username FROM users WHERE id = g), '(unassigned)')"),
    "requester": ("t.requester_id", "(SELECT username FROM users WHERE id = g)"),
    "channel": ("t.channel", "g"),
    "team": ("COALESCE(tm.team_id, 0)", "COALESCE((SELECT name FROM teams WHERE id = g), '(no team)')"),
}
"""Per group_by: the group key over the facts table ``t`` (never NULL: ids start at 1, 0 stands for none),
and its label as SQL over the key ``g``, looked up once per group after the figures are aggregated."""
FACT_JOINS: dict[str, str] = {"team": "LEFT JOIN team_members tm ON tm.user_id = t.assignee_id"}
"""Per group_by, what its key needs joined to the facts: a ticket counts once for each team of its assignee."""


def _percentile_ctes(d: Dialect) -> list[str]:
    """SQLite: one sorted pass per duration numbers its values; the (at most four) both percentiles need are kept.

    The count comes from ``agg``, so the window is a plain ``row_number()`` that streams (a count over the whole
    partition would make SQLite buffer every partition and read it twice).
    """
    if d.pg:
        return []
    ctes = []
    for n in DURATIONS:
        cols = []
        for p, label in ((0.5, "median"), (0.9, "p90")):
            pos = f"({p!r} * (cnt - 1))"
            lo = d.floor_int(pos)
            x_lo = f"MAX(CASE WHEN rn = {lo} + 1 THEN v END)"
            x_hi = f"MAX(CASE WHEN rn = {lo} + 2 THEN v END)"
            cols.append(f"({x_lo} + MAX({pos} - {lo}) * (COALESCE({x_hi}, {x_lo}) - {x_lo})) AS {n}_{label}")
        picks = " OR ".join(f"rn = {d.floor_int(f'({p!r} * (cnt - 1))')} + {k}" for p in (0.5, 0.9) for k in (1, 2))
        ctes.append(
            f"p_{n} AS (SELECT g, bk, {', '.join(cols)} FROM ("
            f"SELECT r.g, r.bk, r.v, r.rn, a.{n}_n AS cnt FROM (SELECT g, bk, {n} AS v, "
            f"ROW_NUMBER() OVER (PARTITION BY g, bk ORDER BY {n}) AS rn FROM paged WHERE {n} IS NOT NULL) r "
            f"JOIN agg a ON a.g = r.g AND a.bk = r.bk) x WHERE {picks} GROUP BY g, bk)"
        )
    return ctes


def _tickets_sql(d: Dialect, group_by: str, where: str, bucket: Bucket, suffix: str, *, narrow: bool = False) -> str:
    """One statement over ``ticket_metrics`` (the facts) and the status history: a page of groups, every figure.

    ``narrow``: ``where`` keeps a few assignees' tickets (a technician's own or a team's numbers). SQLite then
    reaches the history through those tickets (the assignee index, then each ticket's changes) instead of
    walking the whole period's solves and reopens and dropping the other assignees'.
    """
    at = d.scanned("sc.changed_at") if narrow else "sc.changed_at"
    key, label = FACT_GROUPS[group_by]
    join = FACT_JOINS.get(group_by, "")
    durations = [f"t.{n}_{suffix} AS {n}" for n in DURATIONS]
    base = (
        f"SELECT {key} AS g, {d.bucket_key('t.created_at', bucket)} AS bk, t.status, t.solve_count, t.reopen_count, "
        "t.public_replies, t.first_response_at AS fr_at, t.resolution_stopped_at AS stop_at, t.paused_at, "
        "t.first_response_due_at AS fr_due, t.sla_due_at AS due, t.first_response_sla AS fr_sla, "
        f"t.resolution_sla AS res_sla, {', '.join(durations)} "
        f"FROM ticket_metrics t {join} WHERE {d.scanned('t.created_at')} >= :start "
        f"AND {d.scanned('t.created_at')} < :end "
        f"AND {where}"
    )
    # The facts say where each clock stands (tools.metrics.SLA_STATES); only a running clock depends on now.
    aggs = ["COUNT(*) AS tickets"]
    for n in DURATIONS:
        aggs += [f"COUNT({n}) AS {n}_n", f"AVG({n}) AS {n}_mean"]
        if d.pg:
            aggs.append(f"percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY {n}) AS {n}_pct")
    counts = cohort_counts({c: c for c in FACT_COLUMNS}, ":now", ":risk_at")
    aggs += [f"SUM({expr}) AS {name}" for name, expr in counts.items()]
    solve, reopen = SOLVE_SQL.format(sc="sc."), REOPEN_SQL.format(sc="sc.")
    # EVENTS_SQL is the condition of the partial index ix_ticket_status_changes_events: the history is read from it.
    changes = (
        f"FROM ticket_status_changes sc JOIN ticket_metrics t ON t.ticket_id = sc.ticket_id {join} "
        f"WHERE ({EVENTS_SQL}) AND {where} AND "
    )
    ctes = [
        f"base AS MATERIALIZED ({base})",
        "ev AS (SELECT g, bk, 1 AS created, 0 AS solved, 0 AS reopened FROM base UNION ALL "
        f"SELECT {key} AS g, {d.bucket_key('sc.changed_at', bucket)} AS bk, 0, CASE WHEN {solve} THEN 1 ELSE 0 END, "
        f"CASE WHEN {reopen} THEN 1 ELSE 0 END {changes} {at} >= :start AND {at} < :end)",
        "v AS (SELECT g, bk, SUM(created) AS created, SUM(solved) AS solved, SUM(reopened) AS reopened "
        "FROM ev GROUP BY g, bk)",
        f"b AS (SELECT g, SUM(n) AS n FROM (SELECT {key} AS g, 1 AS n FROM ticket_metrics t {join} "
        f"WHERE t.created_at < :start AND {where} UNION ALL SELECT {key} AS g, CASE WHEN {solve} THEN -1 ELSE 1 END "
        f"{changes} {at} < :start) e GROUP BY g)",
        "vol AS (SELECT v.g, v.bk, v.created, v.solved, v.reopened, COALESCE(b.n, 0) + "
        "SUM(v.created - v.solved + v.reopened) OVER (PARTITION BY v.g ORDER BY v.bk ROWS UNBOUNDED PRECEDING) "
        "AS backlog FROM v LEFT JOIN b ON b.g = v.g)",
        f"grp AS (SELECT g, n, {label} AS label FROM (SELECT g, SUM(created) AS n FROM vol GROUP BY g) s)",
        "page AS (SELECT g AS k, n, label FROM grp ORDER BY n DESC, label LIMIT :page_limit OFFSET :page_offset)",
        # The figures that cost (percentiles above all) only for the page's groups: a page of requesters reads
        # a few thousand facts, not the period's million.
        "paged AS MATERIALIZED (SELECT * FROM base WHERE g IN (SELECT k FROM page))",
        f"agg AS MATERIALIZED (SELECT g, bk, {', '.join(aggs)} FROM paged GROUP BY g, bk)",
        *_percentile_ctes(d),
    ]
    agg_cols = [c.split(" AS ")[-1] for c in aggs if not c.endswith("_pct")]
    cols = ["page.label", "page.n AS volume", "(SELECT COUNT(*) FROM grp) AS groups_total"]
    cols += [
        "vol.g",
        f"{d.bucket_label('vol.bk', bucket)} AS bk",
        "vol.created",
        "vol.solved",
        "vol.reopened",
        "vol.backlog",
    ]
    cols += [f"agg.{c}" for c in agg_cols]
    joins = "LEFT JOIN agg ON agg.g = vol.g AND agg.bk = vol.bk"
    for n in DURATIONS:
        if d.pg:
            cols += [f"agg.{n}_pct[1] AS {n}_median", f"agg.{n}_pct[2] AS {n}_p90"]
        else:
            cols += [f"p_{n}.{n}_median", f"p_{n}.{n}_p90"]
            joins += f" LEFT JOIN p_{n} ON p_{n}.g = vol.g AND p_{n}.bk = vol.bk"
    return (
        f"WITH {', '.join(ctes)} SELECT {', '.join(cols)} FROM page JOIN vol ON vol.g = page.k {joins} "
        "ORDER BY page.n DESC, page.label, vol.bk"
    )


def _dist(r: Mapping[str, Any] | None, name: str) -> Distribution:
    if r is None:
        return Distribution(count=0, median=None, mean=None, p90=None)
    return Distribution(
        count=int(r[f"{name}_n"] or 0),
        median=hours(r[f"{name}_median"]),
        mean=hours(r[f"{name}_mean"]),
        p90=hours(r[f"{name}_p90"]),
    )


ROLLUP_FROM = 20_000
"""Tickets created in the period from which the rollup answers by default (measured: on a demo desk of a
dozen tickets the facts take ~10 ms a call and the rollup's statement ~1 s; at 100k the rollup wins)."""


async def _period_holds(session: AsyncSession, begin: datetime, stop: datetime, n: int) -> bool:
    """Whether at least ``n`` tickets were created in [begin, stop): a bounded walk of the created_at index."""
    sql = text(
        "SELECT COUNT(*) FROM (SELECT 1 FROM ticket_metrics WHERE created_at >= :start AND created_at < :end "
        "LIMIT :n) x"
    ).bindparams(bindparam("start", type_=UTCDateTime()), bindparam("end", type_=UTCDateTime()))
    found = (await session.execute(sql, {"start": begin, "end": stop, "n": n})).scalar_one()
    return int(found) >= n


def _num(r: Mapping[str, Any] | None, key: str) -> int:
    return int(r[key] or 0) if r is not None else 0


async def analytics_tickets(
    desk: Desk,
    actor: Actor,
    *,
    start: datetime | date | None = None,
    end: datetime | date | None = None,
    group_by: GroupBy = "none",
    bucket: Bucket = "none",
    filters: TicketFilters | None = None,
    hours_kind: Hours = "calendar",
    at_risk_hours: float = AT_RISK_HOURS,
    cursor: str | None = None,
    limit: int = DEFAULT_GROUPS,
    scope: AnalyticsScope | None = None,
    team: str | None = None,
    use_rollup: bool | None = None,
) -> TicketAnalytics:
    """Ticket volume, times, SLA achievement and quality per group and bucket, computed in SQL.

    Groups come a page at a time (``limit`` groups, most tickets created first; ``next_cursor`` for more).
    ``scope`` and ``team`` choose whose tickets (:func:`~tools.analytics_scope.resolve_scope`).
    The rollup answers what it can (:func:`tools.analytics_rollup.rollup_answers`), the facts the rest;
    By default the rollup is used once the period holds ``ROLLUP_FROM`` tickets: below that the facts answer in
    milliseconds and the rollup's statement costs more to plan than to run. ``use_rollup`` True or False forces
    one path (the tests compare the two).
    """
    limit_to = await resolve_scope(desk, actor, scope=scope, team=team)
    check_grouping(actor, group_by)
    begin, stop = period(desk, start, end)
    if group_by not in FACT_GROUPS:
        raise InvalidInputError(f"group_by {group_by!r} is not valid; use one of: {', '.join(FACT_GROUPS)}")
    if bucket not in ("none", "day", "week", "month"):
        raise InvalidInputError(f"bucket {bucket!r} is not valid; use none, day, week or month")
    if hours_kind == "business" and calendar_of(desk.settings) is None:
        raise InvalidInputError(
            "business hours need a calendar: set SUPPORT_BUSINESS_HOURS (e.g. 'Mon-Fri 09:00-17:00 Europe/Berlin'), "
            "or ask for hours='calendar'"
        )
    if not 0 <= at_risk_hours <= 24 * 30:
        raise InvalidInputError(f"at_risk_hours must be between 0 and 720, got {at_risk_hours}")
    if not 1 <= limit <= MAX_GROUPS:
        raise InvalidInputError(f"limit must be between 1 and {MAX_GROUPS} groups per page, got {limit}")
    offset = decode_cursor(cursor)
    await metrics_queue.up_to_date(desk)
    d = Dialect(desk.dialect)
    conds, params = ticket_conditions(limit_to, filters)
    now = desk.clock()
    params |= {"start": begin, "end": stop, "now": now, "risk_at": now + timedelta(hours=at_risk_hours)}
    params |= {"page_limit": limit, "page_offset": offset}
    suffix = "bs" if hours_kind == "business" else "s"
    filtered = any(getattr(filters, f) for f in TicketFilters.model_fields) if filters else False
    rolled = use_rollup is not False and rollup_answers(
        group_by=group_by, bucket=bucket, hours_kind=hours_kind, filtered=filtered, scoped=limit_to.condition != "1 = 1"
    )
    async with desk.sessions() as session:
        if rolled and use_rollup is None:
            rolled = await _period_holds(session, begin, stop, ROLLUP_FROM)
        if rolled:
            sql = rollup_sql(desk.dialect, group_by, bucket)
            params |= rollup_params(begin, stop, group_by)
        else:
            narrow = limit_to.condition != "1 = 1"
            sql = _tickets_sql(d, group_by, " AND ".join(conds), bucket, suffix, narrow=narrow)
        if d.pg:
            # The statement sorts the period's facts (and materialises them once): in memory, not in temp files.
            await session.execute(text(f"SET LOCAL work_mem = '{PG_WORK_MEM}'"))
        result = await rows(session, sql, params)
    total = int(result[0]["groups_total"]) if result else 0
    out = []
    for c in result:
        out.append(
            TicketMetricsRow(
                group=None if group_by == "none" else str(c["label"]),
                bucket=None if bucket == "none" else str(c["bk"]),
                created=_num(c, "created"),
                solved=_num(c, "solved"),
                reopened=_num(c, "reopened"),
                backlog=_num(c, "backlog"),
                tickets=_num(c, "tickets"),
                first_response_hours=_dist(c, "first_response"),
                first_resolution_hours=_dist(c, "first_resolution"),
                full_resolution_hours=_dist(c, "full_resolution"),
                requester_wait_hours=_dist(c, "wait"),
                on_hold_hours=_dist(c, "on_hold"),
                sla_first_response_met=_num(c, "fr_met"),
                sla_first_response_missed=_num(c, "fr_missed"),
                sla_first_response_achievement=share(_num(c, "fr_met"), _num(c, "fr_met") + _num(c, "fr_missed")),
                sla_resolution_met=_num(c, "res_met"),
                sla_resolution_missed=_num(c, "res_missed"),
                sla_resolution_achievement=share(_num(c, "res_met"), _num(c, "res_met") + _num(c, "res_missed")),
                breaching_now=_num(c, "breaching"),
                at_risk=_num(c, "at_risk"),
                reopen_rate=share(_num(c, "reopened_ever"), _num(c, "solved_ever")),
                one_touch_rate=share(_num(c, "one_touch"), _num(c, "solved_now")),
            )
        )
    return TicketAnalytics(
        start=begin,
        end=stop,
        group_by=group_by,
        bucket=bucket,
        hours=hours_kind,
        rows=out,
        groups_total=total,
        next_cursor=encode_cursor(offset + limit) if offset + limit < total else None,
        definitions=TICKET_DEFINITIONS,
    )


__all__: Sequence[str] = ["Scope", "TicketAnalytics", "TicketFilters", "analytics_tickets"]
