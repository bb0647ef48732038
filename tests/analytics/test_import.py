"""Ticket import: idempotent on external_id, original timestamps, history into the status history and the SLA
clock, per-line errors with line numbers, unknown people and categories created, and the CLI."""

from __future__ import annotations

import base64
import io
import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text

from store.models import Category, Ticket, User
from store.models_analytics import TicketStatusChange
from tests.conftest import MakeUser
from tests.mcp_helpers import call, client, error
from tests.servers import BIN, desk_env
from tools import metrics_queue
from tools.actor import Actor
from tools.analytics import analytics_tickets
from tools.desk import Desk
from tools.errors import ForbiddenError
from tools.indexing import drain
from tools.metrics import ensure_metrics, rebuild_metrics
from tools.search import knowledge_search
from tools.ticket_activity import ticket_comment
from tools.ticket_import import ImportReport, import_tickets
from tools.ticket_models import TicketCreate, TicketUpdate
from tools.ticket_query import ticket_list
from tools.tickets import ticket_create, ticket_get, ticket_update

VPN = {
    "external_id": "INC0000045",
    "subject": "VPN drops every hour",
    "description": "Since the update.",
    "priority": "medium",
    "status": "resolved",
    "category": "Network",
    "requester": "alice",
    "assignee": "priya.tech",
    "channel": "email",
    "created_at": "2016-02-29T01:00:00Z",
    "status_history": [
        ["2016-02-29T02:00:00Z", "open"],
        ["2016-02-29T03:00:00Z", "pending"],
        ["2016-02-29T07:00:00Z", "open"],
        ["2016-02-29T09:00:00Z", "resolved"],
    ],
    "comments": [
        {"author": "priya.tech", "body": "Which client version?", "created_at": "2016-02-29T02:00:00Z"},
        {"author": "alice", "body": "4.2", "created_at": "2016-02-29T07:00:00Z"},
    ],
    "tags": ["vpn"],
    "satisfaction": "good",
}


def jsonl(*lines: Any) -> io.BytesIO:
    return io.BytesIO(b"\n".join(x if isinstance(x, bytes) else json.dumps(x).encode() for x in lines) + b"\n")


async def _import(desk: Desk, admin: Actor, *lines: Any) -> ImportReport:
    return await import_tickets(desk, admin, jsonl(*lines))


async def test_import_keeps_history_timestamps_and_the_sla_clock(desk: Desk, admin: Actor) -> None:
    report = await _import(desk, admin, VPN)
    assert (report.created, report.failed, report.users_created, report.categories_created) == (1, 0, 2, 1)
    page = await ticket_list(desk, admin, text="INC0000045")
    [ticket] = page.items
    assert ticket.created_at == datetime(2016, 2, 29, 1, 0, tzinfo=UTC)
    assert ticket.resolved_at == datetime(2016, 2, 29, 9, 0, tzinfo=UTC)
    assert ticket.first_response_at == datetime(2016, 2, 29, 2, 0, tzinfo=UTC)  # priya's first public reply
    assert ticket.paused_seconds == 4 * 3600  # pending 03:00-07:00 paused the clock
    assert ticket.sla_due_at == datetime(2016, 3, 1, 5, 0, tzinfo=UTC)  # 24 h + 4 h paused
    assert (ticket.channel, ticket.category, ticket.assignee, ticket.requester) == (
        "email",
        "Network",
        "priya.tech",
        "alice",
    )
    detail = await ticket_get(desk, admin, ticket.number)
    assert [c.body for c in detail.comments] == ["Which client version?", "4.2"]
    async with desk.sessions() as session:
        roles = dict((await session.execute(select(User.username, User.role))).all())
        history = (
            (
                await session.execute(
                    select(TicketStatusChange.to_status)
                    .where(TicketStatusChange.ticket_id == ticket.id)
                    .order_by(TicketStatusChange.changed_at)
                )
            )
            .scalars()
            .all()
        )
    assert (roles["alice"], roles["priya.tech"]) == ("end_user", "technician")
    assert history == ["new", "open", "pending", "open", "resolved"]
    report_2016 = await analytics_tickets(
        desk, admin, start=datetime(2016, 2, 1, tzinfo=UTC), end=datetime(2016, 3, 1, tzinfo=UTC)
    )
    [row] = report_2016.rows
    assert (row.created, row.solved, row.full_resolution_hours.median, row.on_hold_hours.median) == (1, 1, 8.0, 4.0)
    assert row.requester_wait_hours.median == 4.0  # new 1 h + open 1 h + open 2 h


async def test_reimport_is_idempotent_and_a_changed_line_updates(desk: Desk, admin: Actor) -> None:
    await _import(desk, admin, VPN)
    again = await _import(desk, admin, VPN)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 1)
    changed = VPN | {
        "subject": "VPN drops every hour on Wi-Fi",
        "status": "closed",
        "closed_at": "2016-03-02T00:00:00Z",
    }
    report = await _import(desk, admin, changed)
    assert (report.updated, report.created) == (1, 0)
    # The history ended in resolved but the status is closed: a final change is added and reported.
    assert "added a change to 'closed'" in report.warnings[0].error
    async with desk.sessions() as session:
        tickets = (await session.execute(select(Ticket))).scalars().all()
    assert len(tickets) == 1
    assert (tickets[0].subject, tickets[0].status) == ("VPN drops every hour on Wi-Fi", "closed")
    assert tickets[0].closed_at == datetime(2016, 3, 2, tzinfo=UTC)
    detail = await ticket_get(desk, admin, tickets[0].number)
    assert len(detail.comments) == 2  # not duplicated


async def test_malformed_lines_are_reported_by_number_and_the_rest_imports(desk: Desk, admin: Actor) -> None:
    good = {"external_id": "A-1", "subject": "Printer", "created_at": "2026-01-05T10:00:00"}  # no offset: UTC
    report = await _import(
        desk,
        admin,
        good,
        b"{not json",
        {"external_id": "A-2", "created_at": "2026-01-05T10:00:00Z"},
        {"external_id": "A-3", "subject": "x", "created_at": "2026-01-05T10:00:00Z", "priority": "urgent"},
        {
            "external_id": "A-4",
            "subject": "x",
            "created_at": "2026-01-05T10:00:00Z",
            "status_history": [["2026-01-04T00:00:00Z", "open"]],
        },
        {"external_id": "A-5", "subject": "Offset", "created_at": "2026-01-05T12:00:00+02:00", "requester": "Bad Name"},
        {"external_id": "A-6", "subject": "Offset", "created_at": "2026-01-05T12:00:00+02:00"},
    )
    assert (report.lines, report.created, report.failed) == (7, 2, 5)
    by_line = {e.line: e.error for e in report.errors}
    assert "not valid JSON" in by_line[2]
    assert "subject" in by_line[3]
    assert "priority" in by_line[4]
    assert "before created_at" in by_line[5]
    assert "valid username" in by_line[6]
    async with desk.sessions() as session:
        created = dict((await session.execute(select(Ticket.external_id, Ticket.created_at))).all())
    assert created == {
        "A-1": datetime(2026, 1, 5, 10, 0, tzinfo=UTC),
        "A-6": datetime(2026, 1, 5, 10, 0, tzinfo=UTC),
    }


async def test_duplicate_external_ids_in_one_file_update_in_order(desk: Desk, admin: Actor) -> None:
    first = {"external_id": "D-1", "subject": "First", "created_at": "2026-01-05T10:00:00Z", "category": "net"}
    second = first | {"subject": "Second", "category": "Net"}
    report = await _import(desk, admin, first, second)
    assert (report.created, report.updated, report.categories_created) == (1, 1, 1)
    async with desk.sessions() as session:
        assert (await session.execute(select(Ticket.subject))).scalars().all() == ["Second"]
        assert (await session.execute(select(func.count()).select_from(Category))).scalar_one() == 1


async def test_import_is_for_admins_over_mcp_with_base64_and_paths(
    desk: Desk, admin: Actor, make_user: MakeUser, tmp_path: Path
) -> None:
    tech = await make_user("tom", "technician")
    with pytest.raises(ForbiddenError):
        await _import(desk, tech, VPN)
    content = base64.b64encode(json.dumps(VPN).encode()).decode()
    async with client(desk, "admin") as c:
        result = await call(c, "ticket_import", {"content_base64": content})
        assert result["created"] == 1
        assert "exactly one" in await error(c, "ticket_import", {})
    file = tmp_path / "t.jsonl"
    file.write_text(json.dumps(VPN | {"external_id": "INC2"}) + "\n")
    desk.settings = (original := desk.settings).model_copy(update={"ingest_roots": [tmp_path / "elsewhere"]})
    try:
        async with client(desk, "admin") as c:
            assert "SUPPORT_INGEST_ROOTS" in await error(c, "ticket_import", {"path": str(file)})
    finally:
        desk.settings = original
    async with client(desk, "admin") as c:
        assert (await call(c, "ticket_import", {"path": str(file)}))["created"] == 1


def test_cli_imports_a_file_and_reports_bad_lines(tmp_path: Path) -> None:
    file = tmp_path / "export.jsonl"
    file.write_text(json.dumps(VPN) + "\n{oops\n", encoding="utf-8")
    env = desk_env(tmp_path / "data")
    done = subprocess.run(
        [str(BIN), "import", "tickets", str(file)], env=env, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 1, done.stderr
    assert "2 lines: 1 created" in done.stdout and "line 2: not valid JSON" in done.stdout
    again = subprocess.run(
        [str(BIN), "import", "tickets", str(file)], env=env, capture_output=True, text=True, timeout=180
    )
    assert "0 created, 0 updated, 1 unchanged" in again.stdout


async def test_imported_tickets_are_found_by_identifier_parts_and_indexed_for_search(desk: Desk, admin: Actor) -> None:
    crash = VPN | {
        "external_id": "INC0000077",
        "subject": "Payroll export throws System.OutOfMemoryException",
        "description": "The nightly payroll export stops with ERR_HEAP_EXHAUSTED.",
    }
    report = await _import(desk, admin, crash)
    assert (report.created, report.failed) == (1, 0)
    async with desk.sessions() as session:
        terms = (await session.execute(select(Ticket.search_terms).where(Ticket.external_id == "INC0000077"))).scalar()
    assert terms and {"out", "memory", "exception", "heap", "exhausted"} <= set(terms.split())
    [found] = (await ticket_list(desk, admin, text="memory exception")).items
    assert found.subject == crash["subject"]

    # The import queued the resolved ticket for the vector index in its own transaction; a drain embeds it.
    await drain(desk)
    hits = (await knowledge_search(desk, admin, "payroll export out of memory", sources=("tickets",))).hits
    assert [h.citation for h in hits] == [f"{found.number}: {crash['subject']}"]


async def test_another_persons_external_id_does_not_hide_my_own_matches(
    desk: Desk, admin: Actor, make_user: MakeUser
) -> None:
    await _import(desk, admin, VPN | {"external_id": "INC0000099", "requester": "bob"})
    alice = await make_user("alice")
    mine = await ticket_create(
        desk, alice, TicketCreate(subject="Same fault as INC0000099", description="Bob's ticket INC0000099 again.")
    )
    assert [t.number for t in (await ticket_list(desk, alice, text="INC0000099")).items] == [mine.number]
    assert [t.subject for t in (await ticket_list(desk, admin, text="INC0000099")).items] == [VPN["subject"]]


async def _rollup(desk: Desk) -> list[tuple[Any, ...]]:
    await metrics_queue.drain(desk)  # what every analytics read does first
    async with desk.sessions() as session:
        return [
            tuple(r) for r in (await session.execute(text("SELECT * FROM ticket_metrics ORDER BY ticket_id"))).all()
        ]


async def test_the_rollup_stays_exact_through_changes_and_a_late_import(
    desk: Desk, admin: Actor, make_user: MakeUser
) -> None:
    await make_user("priya.tech", "technician")
    alice = await make_user("alice")
    live = await ticket_create(desk, alice, TicketCreate(subject="Printer jams", description="Tray 2."))
    await ticket_comment(desk, admin, live.number, body="Which tray?")
    for status in ("resolved", "open", "pending", "resolved"):
        version = (await ticket_get(desk, admin, live.number)).ticket.version
        await ticket_update(desk, admin, live.number, TicketUpdate(version=version, status=status))
    version = (await ticket_get(desk, admin, live.number)).ticket.version
    await ticket_update(desk, admin, live.number, TicketUpdate(version=version, assignee="priya.tech", priority="high"))
    # Imported late (created a month before the live ticket), then changed by a second import of its line.
    late = json.loads(json.dumps(VPN).replace("2016-02-29", "2026-02-02"))
    await _import(desk, admin, late)
    await _import(desk, admin, late | {"status": "closed", "closed_at": "2026-02-04T00:00:00Z"})
    period = {"start": datetime(2026, 1, 1, tzinfo=UTC), "end": desk.clock() + timedelta(days=1)}
    kept = await _rollup(desk)
    report = await analytics_tickets(desk, admin, **period, group_by="assignee", bucket="month")
    # Throw the rollup away and build it from the tickets and their history alone: nothing differs.
    async with desk.sessions.begin() as session:
        await session.execute(text("DELETE FROM ticket_metrics"))
    desk.extras.pop("metrics_ready", None)
    await ensure_metrics(desk)
    assert len(kept) == 2 and await _rollup(desk) == kept
    assert await analytics_tickets(desk, admin, **period, group_by="assignee", bucket="month") == report
    # Figures follow the ticket's current group: the reassigned, re-prioritised live ticket counts as high.
    by_priority = await analytics_tickets(desk, admin, **period, group_by="priority")
    assert {r.group: r.created for r in by_priority.rows} == {"high": 1, VPN["priority"]: 1}
    # Facts gone wrong (a restore of an older backup, a hand edit) are put right by `support-agent analytics rebuild`.
    async with desk.sessions.begin() as session:
        await session.execute(text("UPDATE ticket_metrics SET priority = 'low', first_response_s = NULL"))
    assert await rebuild_metrics(desk) == 2 and await _rollup(desk) == kept
    [vpn] = [r for r in report.rows if r.bucket == "2026-02-01"]
    assert (vpn.group, vpn.created, vpn.on_hold_hours.median, vpn.first_resolution_hours.median) == (
        "priya.tech",
        1,
        4.0,
        8.0,
    )
