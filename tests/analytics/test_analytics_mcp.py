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
