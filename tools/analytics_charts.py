"""Two small figures the Admin › Analytics charts need besides the reports: duration histograms and queue counts.

Both are single GROUP BY queries; the same caller scope as every report applies
(:func:`tools.analytics_scope.resolve_scope`).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel

from tools import metrics_queue
from tools.actor import Actor
from tools.analytics import period, rows, ticket_conditions
from tools.analytics_scope import resolve_scope
from tools.desk import Desk
from tools.permissions import AnalyticsScope

HistogramMetric = Literal["first_response", "first_resolution", "full_resolution"]
BINS: tuple[tuple[str, int | None], ...] = (
    ("< 1 h", 3600),
    ("1-4 h", 4 * 3600),
    ("4-8 h", 8 * 3600),
    ("8-24 h", 24 * 3600),
    ("1-3 d", 72 * 3600),
    ("3-7 d", 168 * 3600),
    ("> 7 d", None),
)
"""Upper bounds (exclusive) of each bin, in seconds."""


class HistogramBin(BaseModel):
    metric: str
    bin: str
    tickets: int


async def duration_histogram(
    desk: Desk,
    actor: Actor,
    *,
    start: datetime | date | None = None,
    end: datetime | date | None = None,
    metrics_wanted: tuple[HistogramMetric, ...] = ("first_response", "full_resolution"),
    scope: AnalyticsScope | None = None,
    team: str | None = None,
) -> list[HistogramBin]:
    """How many tickets created in the period fall in each duration bin, per metric (calendar hours)."""
    limit_to = await resolve_scope(desk, actor, scope=scope, team=team)
    begin, stop = period(desk, start, end)
    await metrics_queue.up_to_date(desk)
    conds, params = ticket_conditions(limit_to, None)
    case = " ".join(f"WHEN v < {upper} THEN {i}" for i, (_, upper) in enumerate(BINS) if upper is not None)
    parts = [
        f"SELECT '{name}' AS metric, m.{name}_s AS v FROM tickets t JOIN ticket_metrics m ON m.ticket_id = t.id "
        f"WHERE t.created_at >= :start AND t.created_at < :end AND {' AND '.join(conds)}"
        for name in metrics_wanted
    ]
    sql = (
        f"SELECT metric, CASE {case} ELSE {len(BINS) - 1} END AS bin, COUNT(*) AS n "
        f"FROM ({' UNION ALL '.join(parts)}) x WHERE v IS NOT NULL GROUP BY 1, 2"
    )
    async with desk.sessions() as session:
        found = {
            (str(r["metric"]), int(r["bin"])): int(r["n"])
            for r in await rows(session, sql, params | {"start": begin, "end": stop})
        }
    return [
        HistogramBin(metric=name, bin=label, tickets=found.get((name, i), 0))
        for name in metrics_wanted
        for i, (label, _) in enumerate(BINS)
    ]
