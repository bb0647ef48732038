"""``analytics_tickets`` from the rollup: the same rows as the facts path, reading per-day and per-month rows.

:mod:`store.rollup` keeps three summaries exact in every ticket write; this module reads them back:

* counts, means and shares: ``ticket_rollup`` rows for the period's whole UTC days, plus the facts and the
  status history for the partial days at either end; the SLA figures that depend on ``now`` are stored as they
  will be once every due time has passed, and corrected from the facts for the tickets with a due time ahead
  (``live_until >= now``, an index range: tickets created in the last few days);
* exact percentiles by two-step selection: ``ticket_rollup_hist`` (whole months; the facts for the rest) gives
  each group's, bucket's and duration's count per log-scale bin, summed into running totals to find the bin
  that holds rank ``k`` (and ``k + 1`` for the interpolation); then only the facts inside those bins are
  ranked, through the index on each duration, for every group and bucket of the page in one statement. A bin
  one second wide holds one value and needs no second step.

:func:`rollup_answers` says when this path applies (the rest go to the facts path, docs/analytics.md).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from store.models_analytics import EVENTS_SQL, REOPEN_SQL, SOLVE_SQL
from store.rollup import (
    DIMS,
    DURATIONS,
    FACT_COLUMNS,
    NOW_DEPENDENT,
    RESOLUTION,
    ROLLUP_SUMS,
    bin_of,
    cohort_columns,
    cohort_counts,
    far,
    month_of,
)
from tools.metrics import Dialect

LABELS: dict[str, str] = {
    "none": "''",
    "priority": "g",
    "category": "COALESCE((SELECT name FROM categories WHERE id = CAST(g AS INTEGER)), '(none)')",
    "assignee": "COALESCE((SELECT username FROM users WHERE id = CAST(g AS INTEGER)), '(unassigned)')",
    "channel": "g",
}
"""Each rolled-up dimension's label over its text value ``g``, as the facts path labels it."""
MANY_GROUPS = ("category", "assignee")
"""Dimensions of many small groups: on PostgreSQL their percentiles come from the page's facts."""


def rollup_answers(*, group_by: str, bucket: str, hours_kind: str, filtered: bool, scoped: bool) -> bool:
    """The rollup has one dimension at a time (the whole desk's: no filters, no caller scope), calendar hours,
    and month-sized histograms."""
    whole_desk = group_by in DIMS and not filtered and not scoped
    return whole_desk and bucket in ("none", "month") and hours_kind == "calendar"


def _floor_day(t: datetime) -> datetime:
    return datetime(t.year, t.month, t.day, tzinfo=UTC)


def _floor_month(t: datetime) -> datetime:
    return datetime(t.year, t.month, 1, tzinfo=UTC)


def _next_month(t: datetime) -> datetime:
    return datetime(t.year + t.month // 12, t.month % 12 + 1, 1, tzinfo=UTC)


def bounds(begin: datetime, stop: datetime) -> dict[str, Any]:
    """The whole days ``[d0, d1)`` and months ``[m0, m1)`` inside ``[begin, stop)``; the rest comes from the facts."""
    begin, stop = begin.astimezone(UTC), stop.astimezone(UTC)
    d0 = begin if begin == _floor_day(begin) else _floor_day(begin) + timedelta(days=1)
    d1 = _floor_day(stop)
    if d0 >= d1:
        d0 = d1 = stop
    m0 = begin if begin == _floor_month(begin) else _next_month(begin)
    m1 = _floor_month(stop)
    if m0 >= m1:
        m0 = m1 = stop
    dlo = _floor_day(begin)
    out: dict[str, Any] = {"d0": d0, "d1": d1, "m0": m0, "m1": m1, "dlo": dlo}
    out |= {f"{k}_key": v.strftime("%Y-%m-%d") for k, v in list(out.items())}
    return out


def _row(values: dict[str, str], key: str, bk: str) -> str:
    return f"{key} AS g, {bk} AS bk, " + ", ".join(f"{values.get(c, '0')} AS {c}" for c in ROLLUP_SUMS)


def rollup_sql(dialect: str, group_by: str, bucket: str) -> str:
    """One statement: a page of groups with every figure (the facts path's columns), from the rollup."""
    ctes, tail = rollup_parts(dialect, group_by, bucket)
    return f"WITH {', '.join(ctes)} {tail}"


def rollup_parts(dialect: str, group_by: str, bucket: str) -> tuple[list[str], str]:
    """:func:`rollup_sql` as its named steps (``name AS (...)``) and the final SELECT (bench/ profiles each)."""
    d = Dialect(dialect)
    pg = d.pg
    key = DIMS[group_by]
    by_day = "''" if bucket == "none" else "substr(day, 1, 7) || '-01'"
    by_month = "''" if bucket == "none" else "month"

    def by_ts(col: str) -> str:
        return "''" if bucket == "none" else month_of(pg, col)

    solve, reopen = SOLVE_SQL.format(sc="sc."), REOPEN_SQL.format(sc="sc.")
    edge_days = "((t.created_at >= :start AND t.created_at < :d0) OR (t.created_at >= :d1 AND t.created_at < :end))"
    edge_changes = (
        "((sc.changed_at >= :start AND sc.changed_at < :d0) OR (sc.changed_at >= :d1 AND sc.changed_at < :end))"
    )
    history = "FROM ticket_status_changes sc JOIN ticket_metrics t ON t.ticket_id = sc.ticket_id"
    actual = cohort_counts(FACT_COLUMNS, ":now", ":risk_at")
    eventual = cohort_counts(FACT_COLUMNS, far(pg), far(pg))
    correction = {c: f"({actual[c]}) - ({eventual[c]})" for c in NOW_DEPENDENT}
    stored = {c: c for c in ROLLUP_SUMS}
    events = {"solved": f"CASE WHEN {solve} THEN 1 ELSE 0 END", "reopened": f"CASE WHEN {reopen} THEN 1 ELSE 0 END"}
    src = [
        f"SELECT {_row(stored, 'value', by_day)} FROM ticket_rollup "
        "WHERE dim = :dim AND day >= :d0_key AND day < :d1_key",
        f"SELECT {_row(cohort_columns(pg), key, by_ts('t.created_at'))} FROM ticket_metrics t WHERE {edge_days}",
        f"SELECT {_row(events, key, by_ts('sc.changed_at'))} {history} WHERE ({EVENTS_SQL}) AND {edge_changes}",
        # Tickets with a due time ahead: their stored SLA figures are those of a clock past due; correct them.
        f"SELECT {_row(correction, key, by_ts('t.created_at'))} FROM ticket_metrics t WHERE t.live_until >= :now "
        f"AND {d.scanned('t.created_at')} >= :start AND {d.scanned('t.created_at')} < :end",
    ]
    sums = ", ".join(f"SUM({c}) AS {c}" for c in ROLLUP_SUMS)
    backlog = (
        "SELECT value AS g, tickets - solved + reopened AS n FROM ticket_rollup WHERE dim = :dim AND day < :dlo_key "
        f"UNION ALL SELECT {key}, 1 FROM ticket_metrics t WHERE t.created_at >= :dlo AND t.created_at < :start "
        f"UNION ALL SELECT {key}, CASE WHEN {solve} THEN -1 ELSE 1 END {history} "
        f"WHERE ({EVENTS_SQL}) AND sc.changed_at >= :dlo AND sc.changed_at < :start"
    )
    ctes = [
        f"allv AS MATERIALIZED (SELECT g, bk, {sums} FROM ({' UNION ALL '.join(src)}) s GROUP BY g, bk)",
        "v AS (SELECT g, bk, tickets AS created, solved, reopened FROM allv "
        "WHERE tickets <> 0 OR solved <> 0 OR reopened <> 0)",
        f"b AS (SELECT g, SUM(n) AS n FROM ({backlog}) e GROUP BY g)",
        "vol AS MATERIALIZED (SELECT v.g, v.bk, v.created, v.solved, v.reopened, COALESCE(b.n, 0) + "
        "SUM(v.created - v.solved + v.reopened) OVER (PARTITION BY v.g ORDER BY v.bk ROWS UNBOUNDED PRECEDING) "
        "AS backlog FROM v LEFT JOIN b ON b.g = v.g)",
        f"grp AS MATERIALIZED (SELECT g, n, {LABELS[group_by]} AS label "
        "FROM (SELECT g, SUM(created) AS n FROM vol GROUP BY g) s)",
        # Read by many steps: materialised once, not planned again inside each (SQLite's compile time grows with it).
        "page AS MATERIALIZED (SELECT g AS k, n, label FROM grp ORDER BY n DESC, label "
        "LIMIT :page_limit OFFSET :page_offset)",
        "agg AS MATERIALIZED (SELECT * FROM allv WHERE tickets <> 0 AND g IN (SELECT k FROM page))",
    ]
    # PostgreSQL sorts and hashes a page of many small groups faster than it ranks inside their many bins.
    facts_percentiles = pg and group_by in MANY_GROUPS
    if facts_percentiles:
        pcts = ", ".join(
            f"percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY t.{n}_s) AS {n}_pct" for n in DURATIONS
        )
        ctes.append(
            f"fp AS MATERIALIZED (SELECT {key} AS g, {by_ts('t.created_at')} AS bk, {pcts} FROM ticket_metrics t "
            f"WHERE t.created_at >= :start AND t.created_at < :end AND {key} IN (SELECT k FROM page) GROUP BY 1, 2)"
        )
    else:
        ctes += _percentile_ctes(d, key, by_month, by_ts, RESOLUTION[group_by])
    cols = ["page.label", "page.n AS volume", "(SELECT COUNT(*) FROM grp) AS groups_total", "vol.g", "vol.bk"]
    cols += ["vol.created", "vol.solved", "vol.reopened", "vol.backlog", "agg.tickets"]
    cols += [f"agg.{c}" for c in cohort_columns(pg) if c != "tickets" and not c.endswith(("_n", "_sum"))]
    real = "DOUBLE PRECISION" if pg else "REAL"
    joins = "LEFT JOIN agg ON agg.g = vol.g AND agg.bk = vol.bk"
    for n in DURATIONS:
        cols += [f"agg.{n}_n", f"CAST(agg.{n}_sum AS {real}) / NULLIF(agg.{n}_n, 0) AS {n}_mean"]
        if facts_percentiles:
            cols += [f"fp.{n}_pct[1] AS {n}_median", f"fp.{n}_pct[2] AS {n}_p90"]
        else:
            cols += [f"pw.{n}_median", f"pw.{n}_p90"]
    joins += (
        " LEFT JOIN fp ON fp.g = vol.g AND fp.bk = vol.bk"
        if facts_percentiles
        else " LEFT JOIN pw ON pw.g = vol.g AND pw.bk = vol.bk"
    )
    order = "ORDER BY page.n DESC, page.label, vol.bk"
    tail = f"SELECT {', '.join(cols)} FROM page JOIN vol ON vol.g = page.k {joins} {order}"
    return ctes, tail


def _pos(d: Dialect, p: float) -> str:
    return f"(CAST({p!r} AS DOUBLE PRECISION) * (cnt - 1))" if d.pg else f"({p!r} * (cnt - 1))"


def _percentile_ctes(d: Dialect, key: str, by_month: str, by_ts: Any, res: int) -> list[str]:
    """The bins holding the ranks each cell and duration needs; the values at those ranks; the interpolation.

    No step joins two derived tables on a range or through a compound select (SQLite indexes neither): the
    ranks are computed on each running-total row from its cell's count, and the values are looked up by key.
    """
    lo50, lo90 = d.floor_int(_pos(d, 0.5)), d.floor_int(_pos(d, 0.9))
    edge = "((t.created_at >= :start AND t.created_at < :m0) OR (t.created_at >= :m1 AND t.created_at < :end))"
    hist = [
        f"SELECT value AS g, {by_month} AS bk, duration AS dur, bin, n FROM ticket_rollup_hist "
        "WHERE dim = :dim AND value IN (SELECT k FROM page) AND month >= :m0_key AND month < :m1_key"
    ]
    hist += [
        f"SELECT {key}, {by_ts('t.created_at')}, '{n}', {bin_of(f't.{n}_s', res)}, 1 FROM ticket_metrics t "
        f"WHERE {edge} AND t.{n}_s IS NOT NULL AND {key} IN (SELECT k FROM page)"
        for n in DURATIONS
    ]
    wanted = " UNION ALL ".join(
        f"SELECT g, bk, dur, cnt, {lo} + {k} AS r, bin, upto - n AS below FROM cum "
        f"WHERE upto - n < {lo} + {k} AND {lo} + {k} <= upto"
        for lo in (lo50, lo90)
        for k in (1, 2)
    )
    ctes = [
        f"h AS (SELECT g, bk, dur, bin, CAST(SUM(n) AS BIGINT) AS n FROM ({' UNION ALL '.join(hist)}) x "
        "GROUP BY g, bk, dur, bin HAVING SUM(n) > 0)",
        "cum AS MATERIALIZED (SELECT g, bk, dur, bin, n, "
        "CAST(SUM(n) OVER (PARTITION BY g, bk, dur ORDER BY bin ROWS UNBOUNDED PRECEDING) AS BIGINT) AS upto, "
        "CAST(SUM(n) OVER (PARTITION BY g, bk, dur) AS BIGINT) AS cnt FROM h)",
        "targets AS MATERIALIZED (SELECT DISTINCT w.g, w.bk, w.dur, w.cnt, w.r, w.bin, w.below, ab.lo, ab.hi "
        f"FROM ({wanted}) w JOIN analytics_bins ab ON ab.res = {res} AND ab.bin = w.bin)",
    ]
    # The facts of a target bin are read a month at a time (ix_ticket_metrics_<duration>_month: the month, then
    # the duration), so a month's cell reads its own month's tickets in the bin, not the whole period's.
    months = "t.created_month = tb.bk" if by_month != "''" else "t.created_month IN :months"
    at = d.scanned("t.created_at")  # SQLite would rather walk the period by created_at and probe the bins
    candidates = " UNION ALL ".join(
        f"SELECT '{n}' AS dur, {key} AS g, tb.bk, tb.bin, t.{n}_s AS v "
        f"FROM (SELECT DISTINCT bk, bin, lo, hi FROM targets WHERE dur = '{n}' AND hi - lo > 1) tb "
        f"JOIN ticket_metrics t ON {months} AND t.{n}_s >= tb.lo AND t.{n}_s < tb.hi "
        f"WHERE {at} >= :start AND {at} < :end"
        for n in DURATIONS
    )
    # SQLite ranks only the candidates in their own group's and bucket's target bin (IN is a hashed look-up);
    # PostgreSQL would guess that filter leaves one row and loop over the candidates per target.
    own_bins = "" if d.pg else " WHERE (dur, g, bk, bin) IN (SELECT dur, g, bk, bin FROM targets)"
    # One step for every duration (the candidates of each read through its own index): SQLite plans each step
    # of a statement anew, and five ranking steps cost it more to plan than to run on a small desk.
    ctes += [
        f"c AS ({candidates})",
        "r AS MATERIALIZED (SELECT dur, g, bk, bin, v, "
        f"ROW_NUMBER() OVER (PARTITION BY dur, g, bk, bin ORDER BY v) AS rn FROM c{own_bins})",
    ]
    picks = [
        "SELECT g, bk, dur, cnt, r, lo AS v FROM targets WHERE hi - lo = 1",
        "SELECT x.g, x.bk, x.dur, x.cnt, x.r, y.v FROM targets x JOIN r y ON y.dur = x.dur AND y.g = x.g "
        "AND y.bk = x.bk AND y.bin = x.bin AND y.rn = x.r - x.below WHERE x.hi - x.lo > 1",
    ]
    real = "DOUBLE PRECISION" if d.pg else "REAL"
    cols = []
    for label, lo, p in (("median", lo50, 0.5), ("p90", lo90, 0.9)):
        x_lo = f"CAST(MAX(CASE WHEN r = {lo} + 1 THEN v END) AS {real})"
        x_hi = f"CAST(MAX(CASE WHEN r = {lo} + 2 THEN v END) AS {real})"
        cols.append(f"({x_lo} + ({_pos(d, p)} - {lo}) * (COALESCE({x_hi}, {x_lo}) - {x_lo})) AS {label}")
    ctes.append(
        f"pct AS MATERIALIZED (SELECT g, bk, dur, {', '.join(cols)} FROM ({' UNION ALL '.join(picks)}) v "
        "GROUP BY g, bk, dur, cnt)"
    )
    # One row per cell with every duration's figures: the final SELECT joins one step, not one per duration (each
    # join of a step costs SQLite its planning again).
    wide = ", ".join(
        f"MAX(CASE WHEN dur = '{n}' THEN {label} END) AS {n}_{label}" for n in DURATIONS for label in ("median", "p90")
    )
    ctes.append(f"pw AS (SELECT g, bk, {wide} FROM pct GROUP BY g, bk)")
    return ctes


def rollup_params(begin: datetime, stop: datetime, group_by: str) -> dict[str, Any]:
    months, m = [], _floor_month(begin.astimezone(UTC))
    while m < stop:
        months.append(m.strftime("%Y-%m-%d"))
        m = _next_month(m)
    return bounds(begin, stop) | {"dim": group_by, "months": months}
