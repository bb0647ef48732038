"""MCP tools of the "analytics" toolset: thin wrappers over :mod:`tools.analytics` and friends.

All of them only read. ``ticket_rate`` (toolset "tickets") and ``ticket_import`` (toolset "admin") live here
too because they feed these numbers.
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import Annotated

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from server.context import CurrentActor, CurrentDesk
from server.surface import Registrar
from tools import analytics, analytics_usage, satisfaction
from tools import analytics_export as export_mod
from tools import ticket_import as import_mod
from tools.common import decode_base64
from tools.metrics import Bucket
from tools.permissions import AnalyticsScope
from tools.ticket_models import TicketRef

StartArg = Annotated[
    datetime | None,
    Field(description="Start of the period (ISO date or time, UTC if no offset); default: 30 days ago."),
]
EndArg = Annotated[datetime | None, Field(description="End of the period, exclusive; default: now.")]
BucketArg = Annotated[Bucket, Field(description="none, day, week or month (UTC calendar).")]
HoursArg = Annotated[analytics.Hours, Field(description="calendar, or business (needs SUPPORT_BUSINESS_HOURS).")]
ScopeArg = Annotated[
    AnalyticsScope | None,
    Field(
        description="Whose tickets: own (assigned to you; a technician's default), team (assigned to your teams' "
        "members, or to team's), all (managers and admins; their default)."
    ),
]
TeamArg = Annotated[
    str | None,
    Field(description="One team's tickets (its name, see team_list); technicians: one of their own teams."),
]


def register(reg: Registrar) -> None:
    # analytics.own: technicians get their own numbers, managers and admins everyone's (tools/permissions.py).
    @reg.tool(toolset="analytics", capability="analytics.own", kind="read", title="Ticket analytics")
    async def analytics_tickets(
        desk: CurrentDesk,
        actor: CurrentActor,
        start: StartArg = None,
        end: EndArg = None,
        group_by: Annotated[
            analytics.GroupBy,
            Field(
                description="none, priority, category, assignee, requester, channel or team (managers and admins; "
                "a ticket counts for each team of its assignee)."
            ),
        ] = "none",
        bucket: BucketArg = "none",
        filters: Annotated[
            analytics.TicketFilters | None,
            Field(description="Only these priorities, categories, assignees, requesters or channels."),
        ] = None,
        hours: HoursArg = "calendar",
        at_risk_hours: Annotated[
            float, Field(description="A ticket due within this many hours is at risk.", ge=0, le=720)
        ] = analytics.AT_RISK_HOURS,
        cursor: Annotated[
            str | None, Field(description="next_cursor from the previous call, for the next page of groups.")
        ] = None,
        limit: Annotated[
            int,
            Field(
                description="Groups per page, most tickets first (each with all its buckets).",
                ge=1,
                le=analytics.MAX_GROUPS,
            ),
        ] = analytics.DEFAULT_GROUPS,
        scope: ScopeArg = None,
        team: TeamArg = None,
    ) -> analytics.TicketAnalytics:
        """Report ticket volume, backlog, response and resolution times and SLA achievement per group and period."""
        return await analytics.analytics_tickets(
            desk,
            actor,
            start=start,
            end=end,
            group_by=group_by,
            bucket=bucket,
            filters=filters,
            hours_kind=hours,
            at_risk_hours=at_risk_hours,
            cursor=cursor,
            limit=limit,
            scope=scope,
            team=team,
        )

    @reg.tool(toolset="analytics", capability="analytics.own", kind="read", title="Satisfaction analytics")
    async def analytics_satisfaction(
        desk: CurrentDesk,
        actor: CurrentActor,
        start: StartArg = None,
        end: EndArg = None,
        group_by: Annotated[
            satisfaction.SatisfactionGroup,
            Field(description="none, assignee, category, priority, channel or team (managers and admins)."),
        ] = "none",
        bucket: BucketArg = "none",
        scope: ScopeArg = None,
        team: TeamArg = None,
    ) -> satisfaction.SatisfactionAnalytics:
        """Report CSAT (good / rated) per group and period from the requesters' ratings."""
        return await satisfaction.analytics_satisfaction(
            desk, actor, start=start, end=end, group_by=group_by, bucket=bucket, scope=scope, team=team
        )

    @reg.tool(toolset="analytics", capability="analytics.read", kind="read", title="Support agent analytics")
    async def analytics_agent(
        desk: CurrentDesk, actor: CurrentActor, start: StartArg = None, end: EndArg = None, bucket: BucketArg = "none"
    ) -> analytics_usage.AgentAnalytics:
        """Report the support agent's conversations, confirmed and assumed resolutions, tickets and handoffs."""
        return await analytics_usage.analytics_agent(desk, actor, start=start, end=end, bucket=bucket)

    @reg.tool(toolset="analytics", capability="analytics.read", kind="read", title="Knowledge analytics")
    async def analytics_knowledge(
        desk: CurrentDesk,
        actor: CurrentActor,
        start: StartArg = None,
        end: EndArg = None,
        limit: Annotated[int, Field(description="Rows per list, 1-500.", ge=1, le=500)] = 20,
    ) -> analytics_usage.KnowledgeAnalytics:
        """Report searches, zero-result queries (most frequent first), most-cited sources and article views."""
        return await analytics_usage.analytics_knowledge(desk, actor, start=start, end=end, limit=limit)

    @reg.tool(toolset="analytics", capability="analytics.own", kind="read", title="Export analytics as CSV")
    async def analytics_export(
        desk: CurrentDesk,
        actor: CurrentActor,
        report: Annotated[
            export_mod.Report,
            Field(
                description="tickets (one row per ticket, paged), ticket_metrics, satisfaction, agent, handoffs, "
                "zero_result_queries."
            ),
        ],
        format: Annotated[str, Field(description="csv (the only format).")] = "csv",
        start: StartArg = None,
        end: EndArg = None,
        group_by: Annotated[analytics.GroupBy, Field(description="For ticket_metrics and satisfaction.")] = "none",
        bucket: BucketArg = "none",
        filters: Annotated[analytics.TicketFilters | None, Field(description="For tickets and ticket_metrics.")] = None,
        hours: HoursArg = "calendar",
        cursor: Annotated[str | None, Field(description="next_cursor of the previous page (report=tickets).")] = None,
        limit: Annotated[int, Field(description="Rows per page for report=tickets, 1-10000.", ge=1, le=10000)] = 1000,
        scope: ScopeArg = None,
        team: TeamArg = None,
    ) -> export_mod.ExportResult:
        """Export an analytics report as CSV text; report=tickets gives one row per ticket, a page at a time."""
        if format != "csv":
            raise ToolError(f"format {format!r} is not available; use 'csv'")
        return await export_mod.analytics_export(
            desk,
            actor,
            report=report,
            start=start,
            end=end,
            group_by=group_by,
            bucket=bucket,
            filters=filters,
            hours_kind=hours,
            cursor=cursor,
            limit=limit,
            scope=scope,
            team=team,
        )

    @reg.tool(toolset="tickets", capability="tickets.write", kind="write", title="Rate a ticket", idempotent=True)
    async def ticket_rate(
        desk: CurrentDesk,
        actor: CurrentActor,
        ticket: Annotated[TicketRef, Field(description="Ticket number (TCK-000042) or numeric id.")],
        rating: Annotated[satisfaction.Rating, Field(description="good or bad.")],
        comment: Annotated[str | None, Field(description="Optional remark.", max_length=2000)] = None,
    ) -> satisfaction.RatingPublic:
        """Rate your resolved or closed ticket good or bad; you can change the rating within 7 days."""
        return await satisfaction.ticket_rate(desk, actor, ticket, rating=rating, comment=comment)

    # Destructive: a changed line overwrites the imported ticket's fields and status history.
    @reg.tool(
        toolset="admin",
        capability="tickets.import",
        kind="ingest",
        title="Import tickets",
        destructive=True,
        idempotent=True,
    )
    async def ticket_import(
        desk: CurrentDesk,
        actor: CurrentActor,
        ctx: Context,
        path: Annotated[
            str | None, Field(description="A JSON Lines file on the server (under SUPPORT_INGEST_ROOTS).")
        ] = None,
        content_base64: Annotated[str | None, Field(description="The JSON Lines file's bytes, base64-encoded.")] = None,
    ) -> import_mod.ImportReport:
        """Import tickets from another desk, one JSON object per line, idempotent on external_id (admins only)."""
        if (path is None) == (content_base64 is None):
            raise ToolError("pass exactly one of: path (a file on the server) or content_base64")

        async def progress(done: float, total: float | None, message: str) -> None:
            await ctx.report_progress(done, total, message)

        if content_base64 is not None:
            data = decode_base64(content_base64, field="content_base64", max_mb=desk.settings.max_upload_mb)
            return await import_mod.import_tickets(
                desk, actor, io.BytesIO(data), progress=progress, total_bytes=len(data)
            )
        assert path is not None
        return await import_mod.import_path(desk, actor, path, progress=progress)
