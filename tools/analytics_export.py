"""analytics_export: any analytics report as CSV, and one row per ticket (``report="tickets"``) a page at a time.

The per-ticket export pages by keyset (ticket id), so it is as fast on the last page as on the first and is
never capped: follow ``next_cursor`` until it is None. Each page is one SQL query over ``tickets`` and the
rollup; figures are the same as ``analytics_tickets`` computes.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from tools import metrics_queue
from tools.actor import Actor
from tools.analytics import (
    MAX_GROUPS,
    GroupBy,
    Hours,
    TicketFilters,
    analytics_tickets,
    hours,
    period,
    rows,
    ticket_conditions,
)
from tools.analytics_scope import resolve_scope
from tools.analytics_usage import analytics_agent, analytics_knowledge
from tools.desk import Desk
from tools.errors import InvalidInputError
from tools.metrics import DURATIONS, Bucket
from tools.pagination import decode_cursor, encode_cursor
from tools.permissions import AnalyticsScope
from tools.satisfaction import SATISFACTION_GROUPS, SatisfactionGroup, analytics_satisfaction

Report = Literal["tickets", "ticket_metrics", "satisfaction", "agent", "handoffs", "zero_result_queries"]
REPORTS: tuple[str, ...] = ("tickets", "ticket_metrics", "satisfaction", "agent", "handoffs", "zero_result_queries")
DEFAULT_PAGE = 1000
MAX_PAGE = 10_000

TICKET_COLUMNS = (
    "number",
    "external_id",
    "created_at",
    "status",
    "priority",
    "category",
    "assignee",
    "requester",
    "channel",
    "first_response_at",
    "first_solved_at",
    "last_solved_at",
    "first_response_hours",
    "first_resolution_hours",
    "full_resolution_hours",
    "requester_wait_hours",
    "on_hold_hours",
    "solves",
    "reopens",
    "public_replies",
    "sla_due_at",
    "rating",
)


class ExportResult(BaseModel):
    """One page of CSV (header included on every page) and the cursor for the next one."""

    report: str
    format: Literal["csv"] = "csv"
    rows: int = Field(description="Data rows in this page (the header is not counted).")
    csv: str
    next_cursor: str | None = Field(description="Pass back as cursor for the next page; None at the end.")


def to_csv(header: Sequence[str], data: Sequence[Sequence[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in data:
        writer.writerow(["" if v is None else (v.isoformat() if isinstance(v, datetime) else v) for v in row])
    return out.getvalue()


async def export_tickets(
    desk: Desk,
    actor: Actor,
    *,
    start: datetime | date | None,
    end: datetime | date | None,
    filters: TicketFilters | None,
    hours_kind: Hours,
    cursor: str | None,
    limit: int,
    scope: AnalyticsScope | None = None,
    team: str | None = None,
) -> ExportResult:
    limit_to = await resolve_scope(desk, actor, scope=scope, team=team)
    begin, stop = period(desk, start, end)
    await metrics_queue.up_to_date(desk)
    after = decode_cursor(cursor)
    conds, params = ticket_conditions(limit_to, filters)
    s = "bs" if hours_kind == "business" else "s"
    sql = (
        "SELECT t.id, t.number, t.external_id, t.created_at, t.status, t.priority, cat.name AS category, "
        "au.username AS assignee, ru.username AS requester, t.channel, t.first_response_at, m.first_solved_at, "
        f"m.last_solved_at, m.first_response_{s}, m.first_resolution_{s}, m.full_resolution_{s}, m.wait_{s}, "
        f"m.on_hold_{s}, m.solve_count, m.reopen_count, m.public_replies, t.sla_due_at, r.rating "
        "FROM tickets t JOIN ticket_metrics m ON m.ticket_id = t.id "
        "LEFT JOIN categories cat ON cat.id = t.category_id LEFT JOIN users au ON au.id = t.assignee_id "
        "JOIN users ru ON ru.id = t.requester_id LEFT JOIN ticket_ratings r ON r.ticket_id = t.id "
        f"WHERE t.created_at >= :start AND t.created_at < :end AND t.id > :after AND {' AND '.join(conds)} "
        f"ORDER BY t.id LIMIT {limit + 1}"
    )
    async with desk.sessions() as session:
        result = await rows(session, sql, params | {"start": begin, "end": stop, "after": after})
    page = result[:limit]
    data = []
    for r in page:
        data.append(
            [
                r["number"],
                r["external_id"],
                _dt(r["created_at"]),
                r["status"],
                r["priority"],
                r["category"],
                r["assignee"],
                r["requester"],
                r["channel"],
                _dt(r["first_response_at"]),
                _dt(r["first_solved_at"]),
                _dt(r["last_solved_at"]),
                *(hours(r[f"{name}_{s}"]) for name in DURATIONS),
                r["solve_count"],
                r["reopen_count"],
                r["public_replies"],
                _dt(r["sla_due_at"]),
                r["rating"],
            ]
        )
    next_cursor = encode_cursor(int(page[-1]["id"])) if len(result) > limit else None
    return ExportResult(report="tickets", rows=len(data), csv=to_csv(TICKET_COLUMNS, data), next_cursor=next_cursor)


def _dt(value: Any) -> str | None:
    """Timestamps as ISO 8601 UTC, whichever way the driver returned them."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        return value.isoformat() + "Z"
    return value.isoformat()


def _flatten(model: BaseModel) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in model.model_dump().items():
        if isinstance(value, dict):
            for sub, v in value.items():
                flat[f"{key}_{sub}"] = v
        else:
            flat[key] = value
    return flat


async def analytics_export(
    desk: Desk,
    actor: Actor,
    *,
    report: Report,
    start: datetime | date | None = None,
    end: datetime | date | None = None,
    group_by: GroupBy = "none",
    bucket: Bucket = "none",
    filters: TicketFilters | None = None,
    hours_kind: Hours = "calendar",
    cursor: str | None = None,
    limit: int | None = None,
    scope: AnalyticsScope | None = None,
    team: str | None = None,
) -> ExportResult:
    """The rows of an analytics report as CSV; ``tickets`` is one row per ticket, paged by cursor.

    ``scope`` and ``team`` choose whose tickets the ticket reports count (the agent's and knowledge reports are
    the whole desk's)."""
    size = limit or DEFAULT_PAGE
    if not 1 <= size <= MAX_PAGE:
        raise InvalidInputError(f"limit must be between 1 and {MAX_PAGE}, got {size}")
    if report == "tickets":
        return await export_tickets(
            desk,
            actor,
            start=start,
            end=end,
            filters=filters,
            hours_kind=hours_kind,
            cursor=cursor,
            limit=size,
            scope=scope,
            team=team,
        )
    if cursor and report != "ticket_metrics":
        raise InvalidInputError(
            f"report {report!r} fits in one page; cursor is only for report='tickets' and 'ticket_metrics'"
        )
    flat: list[dict[str, Any]]
    next_cursor = None
    if report == "ticket_metrics":
        # Paged by groups like analytics_tickets (limit groups per page, each with all its buckets).
        result = await analytics_tickets(
            desk,
            actor,
            start=start,
            end=end,
            group_by=group_by,
            bucket=bucket,
            filters=filters,
            hours_kind=hours_kind,
            cursor=cursor,
            limit=min(size, MAX_GROUPS),
            scope=scope,
            team=team,
        )
        flat = [_flatten(r) for r in result.rows]
        next_cursor = result.next_cursor
    elif report == "satisfaction":
        if group_by not in SATISFACTION_GROUPS:
            raise InvalidInputError(f"satisfaction groups by one of: {', '.join(SATISFACTION_GROUPS)}")
        sat_group: SatisfactionGroup = group_by  # type: ignore[assignment]
        sat = await analytics_satisfaction(
            desk, actor, start=start, end=end, group_by=sat_group, bucket=bucket, scope=scope, team=team
        )
        flat = [r.model_dump() for r in sat.rows]
    elif report == "agent":
        flat = [r.model_dump() for r in (await analytics_agent(desk, actor, start=start, end=end, bucket=bucket)).rows]
    elif report == "handoffs":
        agent = await analytics_agent(desk, actor, start=start, end=end)
        flat = [{"reason": r.key, "conversations": r.count} for r in agent.handoffs_by_reason]
    elif report == "zero_result_queries":
        know = await analytics_knowledge(desk, actor, start=start, end=end, limit=500)
        flat = [{"query": r.key, "searches": r.count} for r in know.zero_result_queries]
    else:
        raise InvalidInputError(f"report {report!r} is not valid; use one of: {', '.join(REPORTS)}")
    if not flat:
        return ExportResult(report=report, rows=0, csv="", next_cursor=None)
    header = list(flat[0])
    data = [[r.get(h) for h in header] for r in flat]
    return ExportResult(report=report, rows=len(data), csv=to_csv(header, data), next_cursor=next_cursor)


__all__ = ["REPORTS", "ExportResult", "analytics_export", "period"]
