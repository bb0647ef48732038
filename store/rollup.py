"""The analytics rollup as SQL: what each ticket adds to it, kept exact by subtracting and adding in the write.

Three tables summarise the per-ticket facts (``ticket_metrics``) so ``analytics_tickets`` over a long period
reads thousands of small rows instead of a row per ticket:

* ``ticket_rollup``: per UTC day and single dimension value (``none``, ``priority``, ``category``,
  ``assignee``, ``channel``), the cohort sums of the tickets created that day (counts, duration counts and sums,
  SLA and quality counts) and the solves and reopens that happened that day (by the ticket's current values);
* ``ticket_rollup_hist``: per UTC month, dimension value, duration and log-scale bin (:data:`BINS`), how many
  tickets created that month have a duration in the bin (:data:`RESOLUTION` bins per doubling, by dimension): the
  first step of an exact percentile;
* ``ticket_metric_events``: per ticket and UTC day, the solves and reopens the rollup counted for it, so a
  refresh can take out exactly what it put in even after the status history was rewritten (ticket import).

Figures that depend on ``now`` (SLA missed while a clock runs, breaching, at risk) are summed as they will be
once every due time has passed (:data:`FAR`); a report corrects the few tickets with a due time still ahead
(``live_until >= now``) from the facts. This module is below ``tools`` so the migration can build the same rows.
"""

from __future__ import annotations

from collections.abc import Mapping

from store.models_analytics import DONE_SQL, DURATION_NAMES, EVENTS_SQL, REOPEN_SQL, SOLVE_SQL

DURATIONS = DURATION_NAMES
DIMS: dict[str, str] = {
    "none": "''",
    "priority": "COALESCE(t.priority, '')",
    "category": "CAST(COALESCE(t.category_id, 0) AS VARCHAR(20))",
    "assignee": "CAST(COALESCE(t.assignee_id, 0) AS VARCHAR(20))",
    "channel": "COALESCE(t.channel, '')",
}
"""Each rolled-up dimension's value as text over the facts ``t`` (ids as decimal text, 0 for none)."""
FACT_COLUMNS: dict[str, str] = {
    "status": "t.status",
    "solve_count": "t.solve_count",
    "reopen_count": "t.reopen_count",
    "public_replies": "t.public_replies",
    "fr_at": "t.first_response_at",
    "paused_at": "t.paused_at",
    "fr_due": "t.first_response_due_at",
    "due": "t.sla_due_at",
    "fr_sla": "t.first_response_sla",
    "res_sla": "t.resolution_sla",
}
"""The facts columns :func:`cohort_counts` reads, by the names the facts path gives them."""


RESOLUTION: dict[str, int] = {"none": 64, "priority": 32, "channel": 32, "category": 8, "assignee": 8}
"""Histogram bins per doubling for each dimension. The second step of a percentile ranks the facts inside the
bin that holds the rank, over the whole period, so few large groups (none, priority, channel: a month's cell
holds ~20,000-80,000 tickets at 1M) get fine bins, whose histogram rows are still few; many small groups
(category, assignee) coarse ones, whose fine histogram would outnumber their facts."""


def bins(per_doubling: int) -> tuple[int, ...]:
    """Lower bounds: everything below 0, then 0, then ``per_doubling`` bins per doubling (whole seconds, so small
    ones merge)."""
    los = {int(2 ** (k / per_doubling)) for k in range(per_doubling * 40)}
    return (-(2**62), 0, *sorted(los))


BINS = {res: bins(res) for res in (8, 16, 32, 64)}
"""``analytics_bins`` per resolution: bin ``i`` holds the durations ``BINS[res][i] <= v < BINS[res][i + 1]`` (the
resolutions :data:`RESOLUTION` may choose: changing it means rebuilding the histogram, not the bins)."""


def bin_rows() -> list[dict[str, int]]:
    """Every row of ``analytics_bins`` (what the migration writes)."""
    rows = []
    for res, los in BINS.items():
        highs = (*los[1:], 2**62)
        rows += [{"res": res, "lo": lo, "hi": hi, "bin": i} for i, (lo, hi) in enumerate(zip(los, highs, strict=True))]
    return rows


def far(pg: bool) -> str:
    """An instant after every due time: what a running clock's figures become once it is past due."""
    return "CAST('9999-12-31 00:00:00+00' AS TIMESTAMPTZ)" if pg else "'9999-12-31 00:00:00.000000'"


def day_of(pg: bool, col: str) -> str:
    return f"to_char({col} AT TIME ZONE 'UTC', 'YYYY-MM-DD')" if pg else f"substr({col}, 1, 10)"


def month_of(pg: bool, col: str) -> str:
    return f"to_char({col} AT TIME ZONE 'UTC', 'YYYY-MM-01')" if pg else f"substr({col}, 1, 7) || '-01'"


def bin_of(value: str, res: int) -> str:
    return f"(SELECT b.bin FROM analytics_bins b WHERE b.res = {res} AND b.lo <= {value} ORDER BY b.lo DESC LIMIT 1)"


def live_until(fr_due: str, due: str) -> str:
    """The later of the two due times (either may be missing): after it no figure of the ticket depends on now."""
    return f"CASE WHEN {fr_due} IS NULL THEN {due} WHEN {due} IS NULL OR {fr_due} > {due} THEN {fr_due} ELSE {due} END"


def cohort_counts(c: Mapping[str, str], now: str, risk_at: str) -> dict[str, str]:
    """The SLA and quality figures of one ticket as 0/1 SQL over its facts ``c`` (docs/analytics.md)."""
    fr_missed = f"({c['fr_sla']} = 'missed' OR ({c['fr_sla']} = 'running' AND {now} > {c['fr_due']}))"
    res_missed = f"({c['res_sla']} = 'missed' OR ({c['res_sla']} = 'running' AND {now} > {c['due']}))"
    done, unsolved = f"{c['status']} IN {DONE_SQL}", f"{c['status']} NOT IN {DONE_SQL}"
    risky = f"({c['due']} <= {risk_at} OR ({c['fr_at']} IS NULL AND {c['fr_due']} <= {risk_at}))"
    cases = {
        "fr_met": f"{c['fr_sla']} = 'met'",
        "fr_missed": fr_missed,
        "res_met": f"{done} AND NOT ({res_missed})",
        "res_missed": res_missed,
        "breaching": f"{unsolved} AND ({fr_missed} OR {res_missed})",
        "at_risk": f"{unsolved} AND {c['paused_at']} IS NULL AND NOT ({fr_missed} OR {res_missed}) AND {risky}",
        "solved_ever": f"{c['solve_count']} > 0",
        "reopened_ever": f"{c['reopen_count']} > 0 AND {c['solve_count']} > 0",
        "solved_now": done,
        "one_touch": f"{done} AND {c['public_replies']} <= 1",
    }
    return {name: f"CASE WHEN {cond} THEN 1 ELSE 0 END" for name, cond in cases.items()}


NOW_DEPENDENT = ("fr_missed", "res_met", "res_missed", "breaching", "at_risk")
"""The cohort counts that change with ``now`` while a due time is ahead (corrected from the facts)."""


def cohort_columns(pg: bool) -> dict[str, str]:
    """Every ``ticket_rollup`` cohort column as SQL over one facts row ``t`` (the now-dependent ones at FAR)."""
    cols = {"tickets": "1"}
    cols |= cohort_counts(FACT_COLUMNS, far(pg), far(pg))
    for name in DURATIONS:
        cols[f"{name}_n"] = f"CASE WHEN t.{name}_s IS NOT NULL THEN 1 ELSE 0 END"
        cols[f"{name}_sum"] = f"COALESCE(t.{name}_s, 0)"
    return cols


ROLLUP_SUMS = (*cohort_columns(False), "solved", "reopened")
"""Every summed column of ``ticket_rollup``."""


def _rollup_sql(pg: bool, where: str, sign: int) -> str:
    cohort = cohort_columns(pg)
    branches = []
    for dim, value in DIMS.items():
        branches.append(
            f"SELECT {day_of(pg, 't.created_at')} AS day, '{dim}' AS dim, {value} AS value, "
            + ", ".join(f"{expr} AS {name}" for name, expr in cohort.items())
            + f", 0 AS solved, 0 AS reopened FROM ticket_metrics t WHERE {where} AND t.created_at IS NOT NULL"
        )
        branches.append(
            f"SELECT e.day, '{dim}', {value}, "
            + ", ".join("0" for _ in cohort)
            + f", e.solved, e.reopened FROM ticket_metric_events e JOIN ticket_metrics t ON t.ticket_id = e.ticket_id "
            f"WHERE {where}"
        )
    sums = ", ".join(f"{sign} * SUM({c})" for c in ROLLUP_SUMS)
    updates = ", ".join(f"{c} = ticket_rollup.{c} + excluded.{c}" for c in ROLLUP_SUMS)
    # Sorted keys: concurrent writers on PostgreSQL lock the rows they share in one order.
    return (
        f"INSERT INTO ticket_rollup (day, dim, value, {', '.join(ROLLUP_SUMS)}) "
        f"SELECT day, dim, value, {sums} FROM ({' UNION ALL '.join(branches)}) x WHERE true "
        f"GROUP BY day, dim, value ORDER BY day, dim, value "
        f"ON CONFLICT (day, dim, value) DO UPDATE SET {updates}"
    )


def _hist_sql(pg: bool, where: str, sign: int, resolution: Mapping[str, int] = RESOLUTION) -> str:
    resolutions = sorted(set(resolution.values()))
    bins = ", ".join(f"{bin_of(f't.{d}_s', r)} AS b_{d}_{r}" for d in DURATIONS for r in resolutions)
    values = ", ".join(f"{value} AS v_{dim}" for dim, value in DIMS.items())
    facts = (
        f"SELECT {month_of(pg, 't.created_at')} AS month, {values}, {bins} "
        f"FROM ticket_metrics t WHERE {where} AND t.created_at IS NOT NULL"
    )
    branches = [
        f"SELECT month, '{dim}' AS dim, v_{dim} AS value, '{d}' AS duration, b_{d}_{resolution[dim]} AS bin FROM f "
        f"WHERE b_{d}_{resolution[dim]} IS NOT NULL"
        for dim in DIMS
        for d in DURATIONS
    ]
    return (
        f"WITH f AS MATERIALIZED ({facts}) "
        "INSERT INTO ticket_rollup_hist (month, dim, value, duration, bin, n) "
        f"SELECT month, dim, value, duration, bin, {sign} * COUNT(*) FROM ({' UNION ALL '.join(branches)}) x "
        "WHERE true GROUP BY month, dim, value, duration, bin ORDER BY month, dim, value, duration, bin "
        "ON CONFLICT (dim, value, duration, month, bin) DO UPDATE SET n = ticket_rollup_hist.n + excluded.n"
    )


def apply_sql(pg: bool, where: str, sign: int) -> list[str]:
    """Add (``sign`` 1) or take out (-1) the contributions of the facts rows matching ``where`` (over ``t``)."""
    return [_rollup_sql(pg, where, sign), _hist_sql(pg, where, sign)]


def events_sql(pg: bool, where: str) -> str:
    """Record the solves and reopens of the tickets matching ``where`` (over ``sc``) per UTC day."""
    solve, reopen = SOLVE_SQL.format(sc="sc."), REOPEN_SQL.format(sc="sc.")
    day = day_of(pg, "sc.changed_at")
    return (
        "INSERT INTO ticket_metric_events (ticket_id, day, solved, reopened) "
        f"SELECT sc.ticket_id, {day}, SUM(CASE WHEN {solve} THEN 1 ELSE 0 END), "
        f"SUM(CASE WHEN {reopen} THEN 1 ELSE 0 END) FROM ticket_status_changes sc "
        f"WHERE ({EVENTS_SQL}) AND {where} GROUP BY sc.ticket_id, {day}"
    )


def build_sql(pg: bool, *, histogram: bool = True) -> list[str]:
    """Rebuild every rollup row from the facts and the status history (empty tables first).

    ``histogram=False`` leaves ``ticket_rollup_hist`` alone (migration 0013, whose bins 0014 replaced)."""
    rollup = [
        "DELETE FROM ticket_rollup",
        "DELETE FROM ticket_metric_events",
        events_sql(pg, "1 = 1"),
        _rollup_sql(pg, "1 = 1", 1),
    ]
    return [*rollup, *hist_build_sql(pg)] if histogram else rollup


def hist_build_sql(pg: bool, resolution: Mapping[str, int] = RESOLUTION) -> list[str]:
    """Rebuild ``ticket_rollup_hist`` from the facts (``resolution``: bins per doubling by dimension)."""
    return ["DELETE FROM ticket_rollup_hist", _hist_sql(pg, "1 = 1", 1, resolution)]
