"""MCP tools of the "analytics" toolset: thin wrappers over :mod:`tools.analytics` and friends.

All of them only read, except ``ticket_rate`` and ``ticket_import``, which are registered with the tickets
they change.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field

from server.context import CurrentActor, CurrentDesk
from server.surface import Registrar
from tools import analytics
from tools.metrics import Bucket

StartArg = Annotated[
    datetime | None,
    Field(description="Start of the period (ISO date or time, UTC if no offset); default: 30 days ago."),
]
EndArg = Annotated[datetime | None, Field(description="End of the period, exclusive; default: now.")]
BucketArg = Annotated[Bucket, Field(description="none, day, week or month (UTC calendar).")]


def register(reg: Registrar) -> None:
    # analytics.own: technicians get their own numbers, managers and admins everyone's (tools/permissions.py).
    @reg.tool(toolset="analytics", capability="analytics.own", kind="read", title="Ticket analytics")
    async def analytics_tickets(
        desk: CurrentDesk,
        actor: CurrentActor,
        start: StartArg = None,
        end: EndArg = None,
        group_by: Annotated[
            analytics.GroupBy, Field(description="none, priority, category, assignee, requester or channel.")
        ] = "none",
        bucket: BucketArg = "none",
        filters: Annotated[
            analytics.TicketFilters | None,
            Field(description="Only these priorities, categories, assignees, requesters or channels."),
        ] = None,
        hours: Annotated[
            analytics.Hours, Field(description="calendar, or business (needs SUPPORT_BUSINESS_HOURS).")
        ] = "calendar",
        at_risk_hours: Annotated[
            float, Field(description="A ticket due within this many hours is at risk.", ge=0, le=720)
        ] = analytics.AT_RISK_HOURS,
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
        )
