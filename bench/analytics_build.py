"""Generated ticket history for the analytics benchmark, as import lines or bulk-inserted straight into the tables.

One generator (:func:`generate_ticket`) makes each ticket's story: a year of creation dates, a first reply
by the assigned technician, pending spells, resolutions, reopens, closures, comments and ratings. The import
path writes it as JSON Lines (:func:`ticket_line`); :func:`bulk_build` writes the same stories straight into
``users``, ``categories``, ``tickets``, ``ticket_status_changes``, ``ticket_comments`` and ``ticket_ratings``
in batches (``COPY`` on PostgreSQL, ``executemany`` on SQLite), running the desk's own SLA rules
(:func:`tools.sla.apply_status`) on each story so due times and timestamps are what the desk would have
stored, then builds the rollups with the desk's own refresh (:func:`tools.metrics.ensure_metrics`), so
every figure a benchmark reads is the one the live desk would compute.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from store.models import Base
from tools import sla
from tools.desk import Desk
from tools.metrics import ensure_metrics
from tools.ticket_models import format_number

YEAR = datetime(2025, 1, 1, tzinfo=UTC)
PRIORITIES = (("low", 0.3), ("medium", 0.45), ("high", 0.2), ("critical", 0.05))
CHANNELS = ("email", "chat", "voice", "mcp", "web")
BATCH = 20_000


@dataclass
class Story:
    """One generated ticket: who, when, and every status it entered after ``new``."""

    created: datetime
    priority: str
    agent: int
    requester: int
    category: int
    channel: str
    history: list[tuple[datetime, str]] = field(default_factory=list)
    comments: list[tuple[str, datetime]] = field(default_factory=list)
    """``("agent" | "requester", at)``: public comments."""
    satisfaction: str | None = None

    @property
    def status(self) -> str:
        return self.history[-1][1] if self.history else "new"


def generate_ticket(rng: random.Random, agents: int, categories: int, requesters: int) -> Story:
    created = YEAR + timedelta(seconds=rng.randrange(365 * 86400))
    s = Story(
        created=created,
        priority=rng.choices([p for p, _ in PRIORITIES], [w for _, w in PRIORITIES])[0],
        agent=rng.randrange(agents),
        requester=rng.randrange(requesters),
        category=rng.randrange(categories),
        channel=rng.choice(CHANNELS),
    )
    t = created
    if rng.random() < 0.95:
        t += timedelta(minutes=rng.expovariate(1 / 180))
        s.history.append((t, "open"))
        s.comments.append(("agent", t))
        if rng.random() < 0.3:  # waits for the requester
            t += timedelta(minutes=rng.expovariate(1 / 120))
            s.history.append((t, "pending"))
            t += timedelta(minutes=rng.expovariate(1 / 600))
            s.history.append((t, "open"))
            s.comments.append(("requester", t))
        if rng.random() < 0.85:
            t += timedelta(minutes=rng.expovariate(1 / 900))
            s.history.append((t, "resolved"))
            if rng.random() < 0.1:  # reopened and solved again
                t += timedelta(hours=rng.expovariate(1 / 24))
                s.history.append((t, "open"))
                t += timedelta(minutes=rng.expovariate(1 / 600))
                s.history.append((t, "resolved"))
            if rng.random() < 0.5:
                t += timedelta(days=3)
                s.history.append((t, "closed"))
            if rng.random() < 0.3:
                s.satisfaction = "good" if rng.random() < 0.8 else "bad"
    # Whole seconds, as an import line carries them.
    s.created = s.created.replace(microsecond=0)
    s.history = [(at.replace(microsecond=0), st) for at, st in s.history]
    s.comments = [(who, at.replace(microsecond=0)) for who, at in s.comments]
    return s


def agent_name(i: int) -> str:
    return f"agent{i:03d}"


def requester_name(i: int) -> str:
    return f"user{i:05d}"


def category_name(i: int) -> str:
    return f"Category {i:02d}"


def iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def ticket_line(i: int, s: Story) -> str:
    names = {"agent": agent_name(s.agent), "requester": requester_name(s.requester)}
    bodies = {"agent": "Looking into it.", "requester": "Here is the detail."}
    line: dict[str, Any] = {
        "external_id": f"BENCH{i:08d}",
        "subject": f"Generated ticket {i}",
        "description": "Generated for the analytics benchmark.",
        "priority": s.priority,
        "status": s.status,
        "category": category_name(s.category),
        "requester": names["requester"],
        "assignee": names["agent"],
        "channel": s.channel,
        "created_at": iso(s.created),
        "status_history": [[iso(at), st] for at, st in s.history],
        "comments": [{"author": names[who], "body": bodies[who], "created_at": iso(at)} for who, at in s.comments],
    }
    if s.satisfaction:
        line["satisfaction"] = s.satisfaction
    return json.dumps(line)


def stories(count: int, agents: int, categories: int, seed: int = 1) -> Iterator[Story]:
    rng = random.Random(seed)
    requesters = max(100, count // 20)
    for _ in range(count):
        yield generate_ticket(rng, agents, categories, requesters)


# --- bulk build ---------------------------------------------------------------------------------------------


@dataclass
class Rows:
    tickets: list[dict[str, Any]] = field(default_factory=list)
    ticket_status_changes: list[dict[str, Any]] = field(default_factory=list)
    ticket_comments: list[dict[str, Any]] = field(default_factory=list)
    ticket_ratings: list[dict[str, Any]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.tickets)


async def _insert(conn: AsyncConnection, table: str, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        cols = list(rows[0])
        raw = await conn.get_raw_connection()
        await raw.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
            table, records=[tuple(r[c] for c in cols) for r in rows], columns=cols
        )
    else:
        await conn.execute(Base.metadata.tables[table].insert(), rows)


async def _flush(conn: AsyncConnection, rows: Rows) -> None:
    for name in ("tickets", "ticket_status_changes", "ticket_comments", "ticket_ratings"):
        await _insert(conn, name, getattr(rows, name))


async def _next_id(conn: AsyncConnection, table: str) -> int:
    return int((await conn.execute(text(f"SELECT COALESCE(MAX(id), 0) FROM {table}"))).scalar_one()) + 1


async def bulk_build(desk: Desk, count: int, agents: int, categories: int, seed: int = 1) -> dict[str, float]:
    """Insert ``count`` generated tickets with their history and rollups; returns the seconds each phase took."""
    settings = desk.settings
    now = YEAR + timedelta(days=400)
    requesters = max(100, count // 20)
    t0 = time.perf_counter()
    async with desk.engine.begin() as conn:
        uid = await _next_id(conn, "users")
        people = [(agent_name(i), "technician") for i in range(agents)]
        people += [(requester_name(i), "end_user") for i in range(requesters)]
        await _insert(
            conn,
            "users",
            [
                {
                    "id": uid + n,
                    "username": name,
                    "email": f"{name}@bench.example",
                    "display_name": name,
                    "role": role,
                    "is_active": True,
                    "created_at": YEAR,
                    "updated_at": YEAR,
                }
                for n, (name, role) in enumerate(people)
            ],
        )
        agent_id = {i: uid + i for i in range(agents)}
        requester_id = {i: uid + agents + i for i in range(requesters)}
        cid = await _next_id(conn, "categories")
        await _insert(
            conn,
            "categories",
            [{"id": cid + i, "name": category_name(i), "description": ""} for i in range(categories)],
        )
        tid = await _next_id(conn, "tickets")
        sid = await _next_id(conn, "ticket_status_changes")
        mid = await _next_id(conn, "ticket_comments")
        rows = Rows()
        for i, s in enumerate(stories(count, agents, categories, seed)):
            ticket_id = tid + i
            agent, requester = agent_id[s.agent], requester_id[s.requester]
            # The desk's own rules give the due times, the pause clock and the solved timestamps.
            t = SimpleNamespace(
                status="new",
                priority=s.priority,
                created_at=s.created,
                paused_seconds=0.0,
                paused_at=None,
                resolved_at=None,
                closed_at=None,
            )
            sla.set_due_times(settings, t)  # type: ignore[arg-type]
            rows.ticket_status_changes.append(
                {
                    "id": sid,
                    "ticket_id": ticket_id,
                    "from_status": None,
                    "to_status": "new",
                    "changed_at": s.created,
                    "actor_id": requester,
                }
            )
            sid += 1
            previous = "new"
            for at, status in s.history:
                sla.apply_status(t, status, at)  # type: ignore[arg-type]
                rows.ticket_status_changes.append(
                    {
                        "id": sid,
                        "ticket_id": ticket_id,
                        "from_status": previous,
                        "to_status": status,
                        "changed_at": at,
                        "actor_id": agent,
                    }
                )
                sid += 1
                previous = status
            first_response = next((at for who, at in s.comments if who == "agent"), None)
            for who, at in s.comments:
                rows.ticket_comments.append(
                    {
                        "id": mid,
                        "ticket_id": ticket_id,
                        "author_id": agent if who == "agent" else requester,
                        "body": "Looking into it." if who == "agent" else "Here is the detail.",
                        "is_internal": False,
                        "created_at": at,
                    }
                )
                mid += 1
            last = s.history[-1][0] if s.history else s.created
            rows.tickets.append(
                {
                    "id": ticket_id,
                    "number": format_number(ticket_id),
                    "requester_id": requester,
                    "assignee_id": agent,
                    "category_id": cid + s.category,
                    "priority": s.priority,
                    "status": t.status,
                    "subject": f"Generated ticket {i}",
                    "description": "Generated for the analytics benchmark.",
                    "tags": "[]" if conn.dialect.name == "postgresql" else [],
                    "channel": s.channel,
                    "created_at": s.created,
                    "updated_at": last,
                    "first_response_at": first_response,
                    "resolved_at": t.resolved_at,
                    "closed_at": t.closed_at,
                    "sla_due_at": t.sla_due_at,
                    "first_response_due_at": t.first_response_due_at,
                    "paused_at": t.paused_at,
                    "paused_seconds": t.paused_seconds,
                    "version": 1,
                }
            )
            if s.satisfaction and t.resolved_at is not None:
                rated = min(t.resolved_at + timedelta(hours=2), now)
                rows.ticket_ratings.append(
                    {
                        "ticket_id": ticket_id,
                        "rater_id": requester,
                        "rating": s.satisfaction,
                        "comment": None,
                        "created_at": rated,
                        "updated_at": rated,
                    }
                )
            if len(rows) >= BATCH:
                await _flush(conn, rows)
                rows = Rows()
        await _flush(conn, rows)
        if conn.dialect.name == "postgresql":
            for table in ("users", "categories", "tickets", "ticket_status_changes", "ticket_comments"):
                await conn.execute(
                    text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))")
                )
    t1 = time.perf_counter()
    await ensure_metrics(desk)
    t2 = time.perf_counter()
    async with desk.engine.begin() as conn:
        await conn.execute(text("ANALYZE"))
    return {"tables": t1 - t0, "rollups": t2 - t1, "analyze": time.perf_counter() - t2}
