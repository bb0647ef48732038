"""Satisfaction, agent and knowledge analytics and the CSV export, against hand-counted small data."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from store.models_analytics import AgentTurn
from tests.conftest import FakeClock, MakeUser
from tests.mcp_helpers import call, client
from tests.ticket_helpers import new_ticket
from tools.actor import Actor
from tools.analytics_export import analytics_export
from tools.analytics_usage import analytics_agent, analytics_knowledge
from tools.desk import Desk
from tools.errors import ForbiddenError, InvalidInputError
from tools.satisfaction import analytics_satisfaction, ticket_rate
from tools.search_models import SearchHit
from tools.ticket_models import TicketUpdate
from tools.tickets import ticket_get, ticket_update
from tools.usage_log import log_search

WEEK = (datetime(2026, 3, 2, tzinfo=UTC), datetime(2026, 3, 9, tzinfo=UTC))


async def _solve(desk: Desk, actor: Actor, number: str) -> None:
    version = (await ticket_get(desk, actor, number)).ticket.version
    await ticket_update(desk, actor, number, TicketUpdate(version=version, status="resolved"))


async def test_ratings_once_by_the_requester_changeable_for_seven_days(
    desk: Desk, clock: FakeClock, make_user: MakeUser
) -> None:
    alice, bob = await make_user("alice"), await make_user("bob")
    priya, mona = await make_user("priya", "technician"), await make_user("mona", "manager")
    a = (await new_ticket(desk, priya, "VPN", requester="alice", assignee="priya")).number
    b = (await new_ticket(desk, bob, "Mail")).number
    c = (await new_ticket(desk, alice, "Phone")).number
    with pytest.raises(InvalidInputError, match="once it is resolved"):
        await ticket_rate(desk, alice, a, rating="good")
    for n in (a, b, c):
        await _solve(desk, priya, n)
    with pytest.raises(ForbiddenError, match="only the requester"):
        await ticket_rate(desk, priya, a, rating="good")
    await ticket_rate(desk, alice, a, rating="bad", comment="slow")
    clock.advance(days=6)
    changed = await ticket_rate(desk, alice, a, rating="good", comment="fixed in the end")
    assert changed.rating == "good" and changed.rated_at == WEEK[0] + timedelta(hours=9)
    await ticket_rate(desk, bob, b, rating="bad")
    await ticket_rate(desk, alice, c, rating="good")
    clock.advance(days=2)
    with pytest.raises(InvalidInputError, match="final now"):
        await ticket_rate(desk, alice, a, rating="bad")
    report = await analytics_satisfaction(desk, mona, start=WEEK[0], end=WEEK[1] + timedelta(days=7))
    [row] = report.rows
    assert (row.good, row.bad, row.csat, row.comments) == (2, 1, 0.6667, 1)
    daily = await analytics_satisfaction(desk, mona, start=WEEK[0], end=WEEK[1] + timedelta(days=7), bucket="day")
    assert [(r.bucket, r.good, r.bad) for r in daily.rows] == [("2026-03-02", 1, 0), ("2026-03-08", 1, 1)]
    own = await analytics_satisfaction(desk, priya, start=WEEK[0], end=WEEK[1] + timedelta(days=7), group_by="assignee")
    assert [(r.group, r.good, r.csat) for r in own.rows] == [("priya", 1, 1.0)]
    with pytest.raises(ForbiddenError):
        await analytics_satisfaction(desk, alice)
    async with client(desk, "bob") as mcp:
        assert (await call(mcp, "ticket_rate", {"ticket": b, "rating": "good"}))["rating"] == "good"


async def _turn(desk: Desk, conversation: str, caller: str, at: datetime, **extra: object) -> None:
    async with desk.sessions.begin() as session:
        session.add(AgentTurn(conversation_id=conversation, caller=caller, created_at=at, **extra))


async def test_agent_resolutions_tickets_and_handoffs(desk: Desk, clock: FakeClock, make_user: MakeUser) -> None:
    mona = await make_user("mona", "manager")
    t0 = WEEK[0] + timedelta(hours=9)
    # c1 answered and thanked: confirmed. c2 answered, bob never came back: assumed. c3 made a ticket, c4 and
    # c7 handed off. c6 answered, but dave came back 5 h later (c7): not assumed. c5 is too recent to tell.
    await _turn(desk, "c1", "alice", t0, intent="question", answered=True)
    await _turn(desk, "c1", "alice", t0 + timedelta(minutes=1), intent="thanks")
    await _turn(desk, "c2", "bob", t0, intent="question", answered=True)
    await _turn(desk, "c3", "alice", t0 + timedelta(hours=2), intent="create_ticket", ticket_created="TCK-000001")
    await _turn(desk, "c4", "carol", t0, intent="escalate", handoff_reason="customer_asked")
    await _turn(desk, "c6", "dave", t0, intent="question", answered=True)
    await _turn(desk, "c7", "dave", t0 + timedelta(hours=5), intent="escalate", handoff_reason="missing_knowledge")
    clock.now = t0 + timedelta(days=3)
    await _turn(desk, "c5", "erin", clock.now - timedelta(hours=1), intent="question", answered=True)
    report = await analytics_agent(desk, mona, start=WEEK[0], end=WEEK[1])
    [row] = report.rows
    assert (row.conversations, row.turns, row.answered) == (7, 8, 4)
    assert (row.tickets_created, row.handoffs) == (1, 2)
    # c1 confirmed; c2 assumed (bob never came back); c6 not (dave came back 5 h later); c5 undecided.
    assert (row.confirmed_resolutions, row.assumed_resolutions, row.undecided) == (1, 1, 1)
    assert row.resolution_rate == round(2 / 7, 4)
    assert [(r.key, r.count) for r in report.handoffs_by_reason] == [("customer_asked", 1), ("missing_knowledge", 1)]
    tech = await make_user("priya", "technician")
    with pytest.raises(ForbiddenError, match="managers and admins"):
        await analytics_agent(desk, tech)


async def test_knowledge_searches_and_zero_result_queries(desk: Desk, clock: FakeClock, make_user: MakeUser) -> None:
    mona = await make_user("mona", "manager")

    def Hit(ref: str, title: str) -> SearchHit:
        return SearchHit(source="kb", id=ref, title=title, text="", citation=title, score=1.0)

    for q in ("Printer  jam", "printer jam", "badge", "vpn"):
        await log_search(desk, mona, q, [])
    await log_search(desk, mona, "vpn reset", [Hit("kb:7", "Reset VPN"), Hit("kb:8", "Other")])
    await log_search(desk, mona, "vpn password", [Hit("kb:7", "Reset VPN")])
    report = await analytics_knowledge(desk, mona, start=WEEK[0], end=WEEK[1])
    assert (report.searches, report.zero_result_searches, report.zero_result_rate) == (6, 4, 0.6667)
    assert [(r.key, r.count) for r in report.zero_result_queries] == [("printer jam", 2), ("badge", 1), ("vpn", 1)]
    assert [(c.ref, c.title, c.count) for c in report.most_cited] == [("kb:7", "Reset VPN", 2)]


async def test_export_tickets_pages_every_row_and_reports_as_csv(desk: Desk, make_user: MakeUser) -> None:
    alice, mona = await make_user("alice"), await make_user("mona", "manager")
    numbers = [(await new_ticket(desk, alice, f"Problem {i}")).number for i in range(5)]
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        page = await analytics_export(desk, mona, report="tickets", start=WEEK[0], end=WEEK[1], limit=2, cursor=cursor)
        rows = list(csv.DictReader(io.StringIO(page.csv)))
        assert len(rows) == page.rows
        seen += [r["number"] for r in rows]
        pages += 1
        if not (cursor := page.next_cursor):
            break
    assert (sorted(seen), pages) == (sorted(numbers), 3)
    summary = await analytics_export(
        desk, mona, report="ticket_metrics", start=WEEK[0], end=WEEK[1], group_by="priority"
    )
    [row] = list(csv.DictReader(io.StringIO(summary.csv)))
    assert (row["group"], row["created"], row["backlog"]) == ("medium", "5", "5")
    assert "first_response_hours_median" in row
    async with client(desk, "mona") as mcp:
        result = await call(mcp, "analytics_export", {"report": "tickets", "start": "2026-03-01", "end": "2026-03-09"})
        assert result["rows"] == 5 and result["next_cursor"] is None
