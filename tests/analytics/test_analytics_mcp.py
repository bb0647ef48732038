"""The analytics tools over MCP: schemas, results and errors as a client sees them."""

from __future__ import annotations

from tests.conftest import MakeUser
from tests.mcp_helpers import call, client, error
from tests.ticket_helpers import new_ticket
from tools.desk import Desk


async def test_analytics_tickets_over_mcp(desk: Desk, make_user: MakeUser) -> None:
    alice = await make_user("alice")
    await make_user("mona", "manager")
    await new_ticket(desk, alice, "VPN drops", priority="high")
    await new_ticket(desk, alice, "Printer", priority="low")
    async with client(desk, "mona") as c:
        tools = {t.name: t for t in (await c.list_tools()).tools}
        assert tools["analytics_tickets"].annotations.read_only_hint is True  # type: ignore[union-attr]
        assert tools["analytics_tickets"].output_schema is not None
        result = await call(
            c,
            "analytics_tickets",
            {"start": "2026-03-01", "end": "2026-03-03", "group_by": "priority", "filters": {"priority": ["high"]}},
        )
        assert [(r["group"], r["created"], r["backlog"]) for r in result["rows"]] == [("high", 1, 1)]
        assert "first_response_hours" in result["definitions"]
        message = await error(c, "analytics_tickets", {"start": "2026-03-03", "end": "2026-03-01"})
        assert "must be before end" in message
    async with client(desk, "alice") as c:
        assert "analytics_tickets is not allowed" in await error(c, "analytics_tickets", {})


async def test_each_role_reads_the_analytics_its_scope_allows_over_mcp(desk: Desk, make_user: MakeUser) -> None:
    alice = await make_user("alice")
    mona = await make_user("mona", "manager")
    await make_user("priya", "technician")
    await make_user("tess", "technician")
    await new_ticket(desk, mona, "VPN drops", requester="alice", assignee="priya")
    await new_ticket(desk, mona, "Printer", requester="alice", assignee="tess")
    await new_ticket(desk, alice, "Mouse")
    period = {"start": "2026-03-01", "end": "2026-03-03", "group_by": "assignee"}
    async with client(desk, "mona") as c:
        rows = (await call(c, "analytics_tickets", period))["rows"]
        assert [(r["group"], r["created"]) for r in rows] == [("(unassigned)", 1), ("priya", 1), ("tess", 1)]
        assert "handoffs_by_reason" in await call(c, "analytics_agent", {"start": "2026-03-01", "end": "2026-03-03"})
    async with client(desk, "priya") as c:
        names = {t.name for t in (await c.list_tools()).tools}
        assert {"analytics_tickets", "analytics_satisfaction", "analytics_export"} <= names
        assert "analytics_agent" not in names and "analytics_knowledge" not in names
        rows = (await call(c, "analytics_tickets", period))["rows"]
        assert [(r["group"], r["created"]) for r in rows] == [("priya", 1)]
        exported = await call(c, "analytics_export", {"report": "tickets", "start": "2026-03-01", "end": "2026-03-03"})
        assert exported["rows"] == 1 and ",priya,alice," in exported["csv"] and "tess" not in exported["csv"]
        assert "analytics_agent is not allowed" in await error(c, "analytics_agent", {})
    async with client(desk, "alice") as c:
        assert "analytics_tickets is not allowed" in await error(c, "analytics_tickets", {})
        assert "analytics_satisfaction is not allowed" in await error(c, "analytics_satisfaction", {})
