"""The rollup stays exact through every kind of write, and answers as the facts do, on SQLite and PostgreSQL.

A random month and a half of desk life through the desk's own tools (replies, pending spells, solves, reopens,
closures, reassignment, category and priority changes) plus late imports of old tickets; then every rolled-up
``group_by`` and bucket is asked of the rollup and of the facts alone, over whole months and over a period
with partial days at both ends, and the incrementally kept rollup is compared with one rebuilt from scratch.
"""

from __future__ import annotations

import io
import json
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, text

from store.models import Category
from store.rollup import BINS, RESOLUTION, ROLLUP_SUMS, bin_rows
from store.types import UTCDateTime
from tests.conftest import FakeClock, MakeUser
from tests.ticket_helpers import new_ticket
from tools import metrics_queue
from tools.actor import Actor
from tools.analytics import TicketFilters, analytics_tickets
from tools.analytics_rollup import rollup_answers
from tools.desk import Desk
from tools.metrics import rebuild_rollup
from tools.sla import TRANSITIONS
from tools.teams import team_create, team_member_add
from tools.ticket_activity import ticket_comment
from tools.ticket_import import import_tickets
from tools.ticket_models import TicketUpdate
from tools.tickets import ticket_get, ticket_update

START = datetime(2026, 3, 1, tzinfo=UTC)
MOVES = ("open", "pending", "open", "resolved", "closed", "open", "in_progress", "resolved")


async def _update(desk: Desk, actor: Actor, number: str, **change: Any) -> None:
    version = (await ticket_get(desk, actor, number)).ticket.version
    await ticket_update(desk, actor, number, TicketUpdate(version=version, **change))


def _late_line(i: int, rng: random.Random) -> str:
    created = START - timedelta(days=rng.randint(1, 40), hours=rng.randint(0, 23))
    history = [[(created + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ"), "open"]]
    if rng.random() < 0.7:
        history.append([(created + timedelta(hours=rng.randint(3, 60))).strftime("%Y-%m-%dT%H:%M:%SZ"), "resolved"])
    line = {
        "external_id": f"LATE{i}",
        "subject": f"Imported {i}",
        "created_at": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "priority": rng.choice(["low", "medium", "high"]),
        "category": rng.choice(["Network", "Hardware"]),
        "requester": "carol",
        "assignee": "priya",
        "channel": "email",
        "status": history[-1][1],
        "status_history": history,
        "comments": [{"author": "priya", "body": "On it", "created_at": history[0][0]}],
    }
    return json.dumps(line)


async def _random_desk(desk: Desk, clock: FakeClock, make_user: MakeUser) -> Actor:
    rng = random.Random(11)
    requesters = [await make_user(n) for n in ("alice", "bob", "carol")]
    techs = [await make_user(n, "technician") for n in ("priya", "tom")]
    admin = await make_user("root", "admin")
    async with desk.sessions.begin() as session:
        session.add_all([Category(name="Network", description=""), Category(name="Hardware", description="")])
    clock.now = START - timedelta(days=3)
    tickets: list[str] = []
    for step in range(70):
        clock.advance(hours=rng.randint(1, 20), minutes=rng.randint(0, 59), seconds=rng.randint(0, 59))
        roll = rng.random()
        if roll < 0.3 or not tickets:
            extra: dict[str, Any] = {"priority": rng.choice(["low", "medium", "high", "critical"])}
            if rng.random() < 0.6:
                extra["category"] = rng.choice(["Network", "Hardware"])
            ticket = await new_ticket(desk, rng.choice(requesters), f"Problem {step}", **extra)
            tickets.append(ticket.number)
            continue
        number = rng.choice(tickets)
        status = (await ticket_get(desk, admin, number)).ticket.status
        if roll < 0.45:
            await ticket_comment(desk, rng.choice(techs), number, body="Looking into it")
        elif roll < 0.55:
            await _update(desk, admin, number, assignee=rng.choice(["priya", "tom", "unassigned"]))
        elif roll < 0.62:
            await _update(desk, admin, number, category=rng.choice(["Network", "Hardware", "none"]))
        elif roll < 0.67:
            await _update(desk, admin, number, priority=rng.choice(["low", "high"]))
        else:
            options = [s for s in MOVES if s in TRANSITIONS[status]]  # type: ignore[index]
            if options:
                await _update(desk, admin, number, status=rng.choice(options))
    # Late imports (tickets from before the desk's first one), one of them changed by a second import.
    lines = [_late_line(i, rng) for i in range(6)]
    await import_tickets(desk, admin, io.BytesIO(("\n".join(lines) + "\n").encode()))
    changed = json.loads(lines[0]) | {"assignee": "tom", "priority": "critical"}
    await import_tickets(desk, admin, io.BytesIO((json.dumps(changed) + "\n").encode()))
    return admin


async def _rollup_rows(desk: Desk) -> tuple[list[Any], list[Any]]:
    await metrics_queue.drain(desk)  # what every analytics read does first
    sums = " OR ".join(f"{c} <> 0" for c in ROLLUP_SUMS)
    async with desk.sessions() as session:
        rollup = (await session.execute(text(f"SELECT * FROM ticket_rollup WHERE {sums} ORDER BY 1, 2, 3"))).all()
        hist = (
            await session.execute(text("SELECT * FROM ticket_rollup_hist WHERE n <> 0 ORDER BY 1, 2, 3, 4, 5"))
        ).all()
    return [tuple(r) for r in rollup], [tuple(r) for r in hist]


async def test_the_rollup_answers_exactly_what_the_facts_answer(
    desk: Desk, clock: FakeClock, make_user: MakeUser
) -> None:
    admin = await _random_desk(desk, clock, make_user)
    clock.advance(hours=1)
    await new_ticket(desk, admin, "Fresh one", priority="low", requester="alice")
    clock.advance(hours=2)
    await metrics_queue.drain(desk)
    async with desk.sessions() as session:
        stmt = text("SELECT COUNT(*) FROM ticket_metrics WHERE live_until >= :now")
        live = (await session.execute(stmt.bindparams(bindparam("now", clock.now, type_=UTCDateTime())))).scalar_one()
    assert live >= 2  # tickets with a due time ahead: their now-dependent SLA figures come from the facts
    periods = [
        (datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 5, 1, tzinfo=UTC)),  # whole months
        (datetime(2026, 2, 10, 13, 17, tzinfo=UTC), clock.now - timedelta(hours=5)),  # partial days and months
        (datetime(2026, 3, 5, 6, tzinfo=UTC), datetime(2026, 3, 5, 20, tzinfo=UTC)),  # inside one day
    ]
    compared = 0
    for start, end in periods:
        for group_by in ("none", "priority", "category", "assignee", "channel"):
            for bucket in ("none", "month"):
                assert rollup_answers(
                    group_by=group_by, bucket=bucket, hours_kind="calendar", filtered=False, scoped=False
                )
                ask = {"start": start, "end": end, "group_by": group_by, "bucket": bucket, "at_risk_hours": 48.0}
                rolled = await analytics_tickets(desk, admin, **ask, use_rollup=True)  # type: ignore[arg-type]
                facts = await analytics_tickets(desk, admin, **ask, use_rollup=False)  # type: ignore[arg-type]
                assert rolled == facts, (start, end, group_by, bucket)
                compared += len(rolled.rows)
    assert compared > 60
    # Taking out and putting in, write after write, left exactly what a rebuild from the facts gives.
    kept = await _rollup_rows(desk)
    await rebuild_rollup(desk)
    assert await _rollup_rows(desk) == kept and kept[0] and kept[1]


async def test_a_late_import_moves_old_months_and_the_backlog(
    desk: Desk, clock: FakeClock, make_user: MakeUser
) -> None:
    admin = await make_user("root", "admin")
    clock.now = datetime(2026, 3, 10, tzinfo=UTC)
    await new_ticket(desk, await make_user("alice"), "Printer")
    period = {"start": datetime(2026, 1, 1, tzinfo=UTC), "end": datetime(2026, 4, 1, tzinfo=UTC), "bucket": "month"}
    before = await analytics_tickets(desk, admin, **period, use_rollup=True)  # type: ignore[arg-type]
    assert [(r.bucket, r.created, r.backlog) for r in before.rows] == [("2026-03-01", 1, 1)]
    line = {
        "external_id": "OLD1",
        "subject": "From the old desk",
        "created_at": "2026-01-20T10:00:00Z",
        "status": "resolved",
        "status_history": [["2026-01-20T11:00:00Z", "open"], ["2026-02-03T09:00:00Z", "resolved"]],
    }
    await import_tickets(desk, admin, io.BytesIO((json.dumps(line) + "\n").encode()))
    after = await analytics_tickets(desk, admin, **period, use_rollup=True)  # type: ignore[arg-type]
    assert [(r.bucket, r.created, r.solved, r.backlog) for r in after.rows] == [
        ("2026-01-01", 1, 0, 1),
        ("2026-02-01", 0, 1, 0),
        ("2026-03-01", 1, 0, 1),
    ]
    assert after.rows[0].full_resolution_hours.median == round((14 * 24 - 1) / 1, 4)
    assert after == await analytics_tickets(desk, admin, **period, use_rollup=False)  # type: ignore[arg-type]


async def test_a_team_and_a_technician_read_what_the_whole_desk_filtered_to_them_reads(
    desk: Desk, clock: FakeClock, make_user: MakeUser
) -> None:
    admin = await _random_desk(desk, clock, make_user)
    await team_create(desk, admin, name="Network")
    await team_member_add(desk, admin, "Network", "priya")
    priya = await make_user("priya", "technician")
    only_priya = TicketFilters(assignee=["priya"])
    # A period that starts after some solves and reopens: the backlog reads the history before it too.
    period = {"start": START + timedelta(days=9), "end": clock.now + timedelta(days=1)}
    for group_by in ("none", "priority", "category", "assignee", "channel"):
        for bucket in ("none", "day", "month"):
            ask: dict[str, Any] = period | {"group_by": group_by, "bucket": bucket}
            whole = await analytics_tickets(desk, admin, **ask, filters=only_priya)
            assert whole.rows and any(r.solved for r in whole.rows), (group_by, bucket)
            assert await analytics_tickets(desk, admin, **ask, team="Network") == whole, (group_by, bucket)
            assert await analytics_tickets(desk, priya, **ask) == whole, (group_by, bucket)


async def test_percentiles_inside_wide_and_fine_bins_with_ties(
    desk: Desk, clock: FakeClock, make_user: MakeUser
) -> None:
    admin = await make_user("root", "admin")
    clock.now = datetime(2026, 3, 10, tzinfo=UTC)

    def at(t: datetime) -> str:
        return t.strftime("%Y-%m-%dT%H:%M:%SZ")

    lines = []
    for i in range(60):
        created = datetime(2026, 1, 5, tzinfo=UTC) + timedelta(hours=7 * i)
        # First responses 10,000-10,090 s, many equal: a few fine bins (~110 s wide at 64 per doubling) and one
        # coarse bin (~900 s at 8) hold every rank, so each percentile is ranked inside a bin, among ties.
        replied = created + timedelta(seconds=10_000 + (i * 7) % 13 * 7)
        solved = created + timedelta(seconds=40_000 + (i % 5) * 1_000)
        line = {
            "external_id": f"TIE{i}",
            "subject": f"Tie {i}",
            "created_at": at(created),
            "priority": ("low", "high")[i % 2],
            "channel": ("email", "chat", "voice")[i % 3],
            "requester": "carol",
            "assignee": ("priya", "tom")[i % 2],
            "status": "resolved",
            "first_response_at": at(replied),
            "status_history": [[at(replied), "open"], [at(solved), "resolved"]],
        }
        lines.append(json.dumps(line))
    report = await import_tickets(desk, admin, io.BytesIO(("\n".join(lines) + "\n").encode()))
    assert report.failed == 0
    for start, end in (
        (datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC)),
        (datetime(2026, 1, 9, 5, tzinfo=UTC), datetime(2026, 2, 11, 17, tzinfo=UTC)),
    ):
        for group_by in ("none", "priority", "category", "assignee", "channel"):
            for bucket in ("none", "month"):
                ask = {"start": start, "end": end, "group_by": group_by, "bucket": bucket}
                rolled = await analytics_tickets(desk, admin, **ask, use_rollup=True)  # type: ignore[arg-type]
                assert rolled == await analytics_tickets(desk, admin, **ask, use_rollup=False), ask  # type: ignore[arg-type]
                assert all(r.first_response_hours.median for r in rolled.rows)


async def test_the_bins_table_holds_every_resolution_the_histogram_uses(desk: Desk) -> None:
    async with desk.sessions() as session:
        stored = (await session.execute(text("SELECT res, lo, hi, bin FROM analytics_bins ORDER BY res, lo"))).all()
    assert [tuple(r) for r in stored] == [(b["res"], b["lo"], b["hi"], b["bin"]) for b in bin_rows()]
    assert set(RESOLUTION.values()) <= {r for r, *_ in stored} == set(BINS)
    for res, los in BINS.items():
        # Each resolution partitions the integers: bins are contiguous, and a bin's bounds are whole seconds.
        assert list(los) == sorted(set(los)) and los[1] == 0 and los[2] == 1, res
