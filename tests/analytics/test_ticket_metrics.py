"""analytics_tickets against figures worked out by hand, on SQLite and PostgreSQL alike.

The desk's own tools make the history (a fake clock moves time), so the status history, the SLA clock and
the rollup are the ones production writes.
"""

from __future__ import annotations

import random
import statistics
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import FakeClock, MakeUser
from tests.ticket_helpers import new_ticket
from tools.actor import Actor
from tools.analytics import TicketFilters, analytics_tickets
from tools.desk import Desk
from tools.errors import ForbiddenError, InvalidInputError
from tools.ticket_activity import ticket_comment
from tools.ticket_models import TicketUpdate
from tools.tickets import ticket_get, ticket_update

DAY = (datetime(2026, 3, 2, tzinfo=UTC), datetime(2026, 3, 3, tzinfo=UTC))


async def _status(desk: Desk, actor: Actor, number: str, status: str) -> None:
    version = (await ticket_get(desk, actor, number)).ticket.version
    await ticket_update(desk, actor, number, TicketUpdate(version=version, status=status))  # type: ignore[arg-type]


async def _story(desk: Desk, clock: FakeClock, make_user: MakeUser) -> dict[str, Actor]:
    """Monday 2 March 2026, 09:00-18:00 UTC; the figures each test expects are worked out in comments."""
    alice = await make_user("alice")
    priya = await make_user("priya", "technician")
    mona = await make_user("mona", "manager")
    # 09:00 A (medium: resolution 24 h, first response 6 h), B (high: 8 h / 2 h, created by staff for alice
    # and assigned to priya), C (low: 72 h / 18 h, never touched).
    a = (await new_ticket(desk, alice, "VPN drops", category=None)).number
    b = (await new_ticket(desk, priya, "Laptop fan", requester="alice", assignee="priya", priority="high")).number
    await new_ticket(desk, alice, "Old monitor", priority="low")
    clock.advance(hours=1)  # 10:00 first response on A (1 h); A new -> open
    await ticket_comment(desk, priya, a, body="Looking at it")
    clock.advance(hours=1)  # 11:00 A waits for the requester: the SLA clock pauses
    await _status(desk, priya, a, "pending")
    clock.advance(hours=1)  # 12:00 first response on B (3 h, late: due 11:00), then a second reply
    await ticket_comment(desk, priya, b, body="Ordering a fan")
    clock.advance(minutes=30)
    await ticket_comment(desk, priya, b, body="Fan arrives at one")
    clock.advance(minutes=30)  # 13:00 B solved: 4 h; waited new 3 h + open 1 h
    await _status(desk, priya, b, "resolved")
    clock.advance(hours=1)  # 14:00 alice answers: A pending -> open (3 h on hold)
    await ticket_comment(desk, alice, a, body="Here is the log")
    clock.advance(hours=1)  # 15:00 A solved the first time: 6 h
    await _status(desk, priya, a, "resolved")
    clock.advance(hours=1)  # 16:00 reopened
    await _status(desk, priya, a, "open")
    clock.advance(hours=2)  # 18:00 A solved again: full resolution 9 h; waited 1 + 1 + 1 + 2 = 5 h
    await _status(desk, priya, a, "resolved")
    return {"alice": alice, "priya": priya, "mona": mona}


async def test_every_ticket_metric_matches_the_hand_computed_figures(
    desk: Desk, clock: FakeClock, make_user: MakeUser
) -> None:
    people = await _story(desk, clock, make_user)
    report = await analytics_tickets(desk, people["mona"], start=DAY[0], end=DAY[1])
    [row] = report.rows
    assert (row.created, row.solved, row.reopened, row.backlog, row.tickets) == (3, 3, 1, 1, 3)
    fr, first, full = row.first_response_hours, row.first_resolution_hours, row.full_resolution_hours
    # A 1 h, B 3 h: median 2, p90 = 1 + 0.9 * (3 - 1)
    assert (fr.count, fr.median, fr.mean, fr.p90) == (2, 2.0, 2.0, 2.8)
    assert (first.median, first.p90) == (5.0, 5.8)  # A 6 h, B 4 h
    assert (full.median, full.mean, full.p90) == (6.5, 6.5, 8.5)  # A 9 h, B 4 h
    assert (row.requester_wait_hours.median, row.requester_wait_hours.p90) == (4.5, 4.9)  # A 5 h, B 4 h
    assert (row.on_hold_hours.median, row.on_hold_hours.p90) == (1.5, 2.7)  # A 3 h, B 0 h
    # First response: A met (10:00 <= 15:00 + 3 h paused), B missed (12:00 > 11:00), C still running.
    assert (row.sla_first_response_met, row.sla_first_response_missed) == (1, 1)
    assert row.sla_first_response_achievement == 0.5
    # Resolution: A at 18:00 <= 12:00 next day; B at 13:00 <= 17:00.
    assert (row.sla_resolution_met, row.sla_resolution_missed, row.sla_resolution_achievement) == (2, 0, 1.0)
    assert (row.breaching_now, row.at_risk) == (0, 0)
    assert row.reopen_rate == 0.5  # A of A and B
    assert row.one_touch_rate == 0.5  # A had one staff reply, B two
    # C's first response is due at 03:00 tomorrow: inside a 10 h window it is at risk.
    at_risk = await analytics_tickets(desk, people["mona"], start=DAY[0], end=DAY[1], at_risk_hours=10)
    assert at_risk.rows[0].at_risk == 1
    clock.advance(hours=10)  # 04:00 Tuesday: C's first response is now late
    late = await analytics_tickets(desk, people["mona"], start=DAY[0], end=DAY[1])
    assert (late.rows[0].breaching_now, late.rows[0].sla_first_response_missed) == (1, 2)


async def test_group_by_and_buckets_split_the_same_figures(desk: Desk, clock: FakeClock, make_user: MakeUser) -> None:
    people = await _story(desk, clock, make_user)
    report = await analytics_tickets(desk, people["mona"], start=DAY[0], end=DAY[1], group_by="priority")
    by = {r.group: r for r in report.rows}
    assert set(by) == {"low", "medium", "high"}
    assert (by["medium"].solved, by["medium"].reopened, by["medium"].backlog) == (2, 1, 0)
    assert (by["high"].first_response_hours.median, by["high"].full_resolution_hours.median) == (3.0, 4.0)
    assert (by["low"].backlog, by["low"].first_response_hours.count) == (1, 0)
    weekly = await analytics_tickets(
        desk, people["mona"], start=datetime(2026, 2, 1, tzinfo=UTC), end=DAY[1], bucket="week"
    )
    assert [(r.bucket, r.created) for r in weekly.rows] == [("2026-03-02", 3)]
    by_assignee = await analytics_tickets(desk, people["mona"], start=DAY[0], end=DAY[1], group_by="assignee")
    assert {r.group: r.created for r in by_assignee.rows} == {"(unassigned)": 2, "priya": 1}
    filtered = await analytics_tickets(
        desk, people["mona"], start=DAY[0], end=DAY[1], filters=TicketFilters(priority=["high", "low"])
    )
    assert filtered.rows[0].created == 2
    # The next day: backlog carries over from before the period (C is still open), nothing else happened.
    clock.advance(days=1)
    await new_ticket(desk, people["alice"], "Mouse")
    tuesday = await analytics_tickets(desk, people["mona"], start=DAY[1], end=DAY[1] + timedelta(days=1))
    assert (tuesday.rows[0].created, tuesday.rows[0].backlog) == (1, 2)


async def test_technicians_see_their_own_numbers_and_end_users_none(
    desk: Desk, clock: FakeClock, make_user: MakeUser
) -> None:
    people = await _story(desk, clock, make_user)
    own = await analytics_tickets(desk, people["priya"], start=DAY[0], end=DAY[1], group_by="assignee")
    assert [(r.group, r.created, r.solved) for r in own.rows] == [("priya", 1, 1)]
    with pytest.raises(ForbiddenError, match=r"technician.*manager, admin"):
        await analytics_tickets(desk, people["alice"], start=DAY[0], end=DAY[1])


async def test_bad_periods_and_missing_calendar_are_input_errors(desk: Desk, make_user: MakeUser) -> None:
    mona = await make_user("mona", "manager")
    with pytest.raises(InvalidInputError, match="must be before end"):
        await analytics_tickets(desk, mona, start=DAY[1], end=DAY[0])
    with pytest.raises(InvalidInputError, match="SUPPORT_BUSINESS_HOURS"):
        await analytics_tickets(desk, mona, start=DAY[0], end=DAY[1], hours_kind="business")


async def test_business_hours_skip_the_weekend_and_a_holiday(desk: Desk, clock: FakeClock, make_user: MakeUser) -> None:
    original = desk.settings
    desk.settings = original.model_copy(update={"business_hours": "Mon-Fri 09:00-17:00 UTC; holidays 2026-03-06"})
    try:
        alice, priya = await make_user("alice"), await make_user("priya", "technician")
        mona = await make_user("mona", "manager")
        clock.now = datetime(2026, 3, 5, 16, 0, tzinfo=UTC)  # Thursday 16:00
        number = (await new_ticket(desk, alice, "Printer")).number
        clock.now = datetime(2026, 3, 9, 10, 0, tzinfo=UTC)  # Monday 10:00, after a holiday Friday
        await ticket_comment(desk, priya, number, body="On it")
        clock.advance(hours=1)
        await _status(desk, priya, number, "resolved")
        period = {"start": datetime(2026, 3, 5, tzinfo=UTC), "end": datetime(2026, 3, 10, tzinfo=UTC)}
        business = (await analytics_tickets(desk, mona, **period, hours_kind="business")).rows[0]  # type: ignore[arg-type]
        calendar = (await analytics_tickets(desk, mona, **period)).rows[0]  # type: ignore[arg-type]
    finally:
        desk.settings = original
    # Thursday 16-17 (1 h) + Monday 09-10 (1 h); resolution one more hour; waiting new 2 h + open 1 h.
    assert business.first_response_hours.median == 2.0
    assert business.full_resolution_hours.median == 3.0
    assert business.requester_wait_hours.median == 3.0
    assert calendar.first_response_hours.median == 90.0
    assert calendar.full_resolution_hours.median == 91.0


async def test_percentiles_and_means_equal_a_reference_on_random_histories(
    desk: Desk, clock: FakeClock, make_user: MakeUser
) -> None:
    """Both databases must give exactly the percentile_cont figures; Python's inclusive quantiles are that."""
    rng = random.Random(7)
    alice, priya = await make_user("alice"), await make_user("priya", "technician")
    mona = await make_user("mona", "manager")
    start = clock.now
    expected: dict[str, list[float]] = {"low": [], "high": []}
    for i in range(40):
        clock.now = start + timedelta(minutes=7 * i)
        priority = "low" if i % 2 else "high"
        number = (await new_ticket(desk, alice, f"Problem {i}", priority=priority)).number
        clock.advance(seconds=rng.randint(60, 90_000))
        await ticket_comment(desk, priya, number, body="Hello")
        expected[priority].append((clock.now - (start + timedelta(minutes=7 * i))).total_seconds())
    report = await analytics_tickets(desk, mona, start=start, end=start + timedelta(days=3), group_by="priority")
    for row in report.rows:
        values = expected[str(row.group)]
        deciles = statistics.quantiles(values, n=10, method="inclusive")
        assert row.first_response_hours.median == round(statistics.median(values) / 3600, 4)
        assert row.first_response_hours.p90 == round(deciles[8] / 3600, 4)
        assert row.first_response_hours.mean == round(statistics.fmean(values) / 3600, 4)


async def test_many_groups_come_a_page_at_a_time_busiest_first(
    desk: Desk, clock: FakeClock, make_user: MakeUser
) -> None:
    mona = await make_user("mona", "manager")
    priya = await make_user("priya", "technician")
    # Requesters with 4, 3, 2, 1 and 1 tickets this month; carol's oldest is solved, so she has a solve too.
    counts = {"dave": 4, "carol": 3, "bob": 2, "erin": 1, "alice": 1}
    firsts = {}
    for name, n in counts.items():
        person = await make_user(name)
        for i in range(n):
            ticket = await new_ticket(desk, person, f"Problem {i} of {name}")
            firsts.setdefault(name, ticket.number)
            clock.advance(minutes=5)
    await ticket_comment(desk, priya, firsts["carol"], body="Restart the router")
    await _status(desk, priya, firsts["carol"], "resolved")
    period = {"start": datetime(2026, 1, 1, tzinfo=UTC), "end": clock.now + timedelta(days=1)}
    whole = await analytics_tickets(desk, mona, **period, group_by="requester", bucket="month")
    assert (whole.groups_total, whole.next_cursor) == (5, None)
    assert [r.group for r in whole.rows] == ["dave", "carol", "bob", "alice", "erin"]  # ties: by name

    seen, cursor, pages = [], None, 0
    while True:
        page = await analytics_tickets(
            desk, mona, **period, group_by="requester", bucket="month", limit=2, cursor=cursor
        )
        assert len({r.group for r in page.rows}) <= 2 and page.groups_total == 5
        seen += page.rows
        pages += 1
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert pages == 3 and seen == whole.rows  # every group once, with the same figures as in one page
    [carol] = [r for r in seen if r.group == "carol"]
    assert (carol.created, carol.solved, carol.backlog, carol.first_response_hours.count) == (3, 1, 2, 1)

    with pytest.raises(InvalidInputError, match="limit must be between 1 and 1000"):
        await analytics_tickets(desk, mona, **period, group_by="requester", limit=0)
    with pytest.raises(InvalidInputError, match="cursor"):
        await analytics_tickets(desk, mona, **period, group_by="requester", cursor="not-a-cursor")
