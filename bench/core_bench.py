"""Core desk benchmark (issue 2): run by hand, prints figures.

    .venv/bin/python bench/core_bench.py [--ops 300] [--list-rows 100000] [--backends sqlite,postgresql]

For each backend: ticket_create and ticket_get through the in-memory MCP client and over streamable HTTP
on loopback, each against the same operation done directly with SQLAlchemy (the overhead ratio is the
figure); then ticket_list with filters over --list-rows tickets.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import asyncpg
import httpx
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from sqlalchemy import insert, select

from server.app import build_server
from store.config import Settings
from store.migrate import upgrade
from store.models import Ticket, User
from tools.desk import Desk, open_desk
from tools.ticket_query import ticket_list
from tools.tokens import token_create
from tools.users import ensure_actor

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def summary(name: str, seconds: list[float]) -> dict[str, float]:
    ordered = sorted(seconds)
    p50 = statistics.median(ordered)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    ops = len(ordered) / sum(ordered)
    print(f"  {name:<34} {ops:9.1f} ops/s   p50 {p50 * 1000:7.2f} ms   p99 {p99 * 1000:7.2f} ms")
    return {"ops": ops, "p50": p50, "p99": p99}


async def timed(n: int, op: Callable[[int], Awaitable[object]]) -> list[float]:
    out = []
    for i in range(n):
        t0 = time.perf_counter()
        await op(i)
        out.append(time.perf_counter() - t0)
    return out


async def direct_create(desk: Desk, requester_id: int, i: int) -> str:
    now = desk.clock()
    async with desk.sessions.begin() as session:
        t = Ticket(
            number=f"TMP-{uuid.uuid4().hex[:12]}",
            requester_id=requester_id,
            priority="medium",
            status="new",
            subject=f"Direct ticket {i}",
            description="Benchmark ticket created with SQLAlchemy directly.",
            tags=[],
            sla_due_at=now + timedelta(hours=24),
            first_response_due_at=now + timedelta(hours=6),
        )
        session.add(t)
        await session.flush()
        t.number = f"TCK-{t.id:06d}"
        return t.number


async def direct_get(desk: Desk, number: str) -> None:
    async with desk.sessions() as session:
        (await session.execute(select(Ticket).where(Ticket.number == number))).scalar_one()


def create_args(i: int) -> dict[str, object]:
    return {
        "subject": f"Benchmark ticket {i}",
        "description": "Laptop cannot reach the VPN gateway.",
        "priority": "medium",
    }


async def bench_mcp(client: Client, label: str, n: int) -> tuple[dict[str, float], dict[str, float]]:
    numbers: list[str] = []

    async def create(i: int) -> None:
        r = await client.call_tool("ticket_create", create_args(i))
        assert not r.is_error, r.content
        assert r.structured_content is not None
        numbers.append(r.structured_content["number"])

    async def get(i: int) -> None:
        r = await client.call_tool("ticket_get", {"ticket": numbers[i % len(numbers)]})
        assert not r.is_error, r.content

    c = summary(f"ticket_create {label}", await timed(n, create))
    g = summary(f"ticket_get {label}", await timed(n, get))
    return c, g


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def bulk_tickets(desk: Desk, rows: int, requester_id: int, tech_id: int) -> None:
    now = desk.clock()
    statuses = ["new", "open", "in_progress", "pending", "resolved", "closed"]
    priorities = ["low", "medium", "high", "critical"]
    words = ["vpn", "printer", "outlook", "password", "laptop", "wifi", "excel", "teams", "monitor", "dock"]
    batch = 5000
    async with desk.sessions() as session:
        start = (await session.execute(select(Ticket.id).order_by(Ticket.id.desc()).limit(1))).scalar() or 0
    for base in range(0, rows, batch):
        values = []
        for j in range(base, min(rows, base + batch)):
            created = now - timedelta(minutes=j)
            w = words[j % len(words)]
            values.append(
                {
                    "number": f"TCK-{start + j + 1:06d}",
                    "requester_id": requester_id,
                    "assignee_id": tech_id if j % 3 else None,
                    "priority": priorities[j % 4],
                    "status": statuses[(j // 4) % 6],
                    "subject": f"{w} problem number {j}",
                    "description": f"The {w} stopped working after the update; error E{j % 997:04d}.",
                    "tags": [],
                    "channel": "mcp",
                    "created_at": created,
                    "updated_at": created,
                    "sla_due_at": created + timedelta(hours=24),
                    "first_response_due_at": created + timedelta(hours=6),
                    "paused_seconds": 0.0,
                    "version": 1,
                }
            )
        async with desk.sessions.begin() as session:
            await session.execute(insert(Ticket), values)


async def run_backend(name: str, settings: Settings, ops: int, list_rows: int) -> None:
    print(f"\n== {name}")
    await upgrade(settings)
    async with open_desk(settings) as desk:
        admin = await ensure_actor(desk, "admin", "admin")
        async with desk.sessions() as session:
            requester_id = (await session.execute(select(User.id).where(User.username == "admin"))).scalar_one()
        numbers: list[str] = []

        async def dcreate(i: int) -> None:
            numbers.append(await direct_create(desk, requester_id, i))

        async def dget(i: int) -> None:
            await direct_get(desk, numbers[i % len(numbers)])

        dc = summary("create direct SQLAlchemy", await timed(ops, dcreate))
        dg = summary("get direct SQLAlchemy", await timed(ops, dget))

        async with Client(build_server(settings, desk=desk)) as client:
            mc, mg = await bench_mcp(client, "in-memory MCP", ops)

        port = free_port()
        env = {**os.environ, "SUPPORT_DATA_DIR": str(settings.data_dir), "HF_HUB_OFFLINE": "1"}
        if settings.database_url:
            env["DATABASE_URL"] = settings.database_url
        proc = subprocess.Popen(  # noqa: ASYNC220 - started once, before timing
            [str(Path(sys.executable).parent / "support-agent"), "serve", "--no-ui", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 60
            async with httpx.AsyncClient() as http:
                while True:
                    try:
                        if (await http.get(f"http://127.0.0.1:{port}/health")).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    if time.monotonic() > deadline:
                        raise RuntimeError("server did not start")
                    await asyncio.sleep(0.2)
            admin = await ensure_actor(desk, "admin", "admin")
            token = (await token_create(desk, admin, username="admin", name="core-bench")).token
            http2 = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=60)
            async with (
                http2,
                Client(streamable_http_client(f"http://127.0.0.1:{port}/mcp", http_client=http2)) as client,
            ):
                hc, hg = await bench_mcp(client, "HTTP MCP (loopback, API token)", ops)
        finally:
            proc.terminate()
            proc.wait(timeout=20)

        print("  overhead ratio (MCP p50 / direct p50):")
        for label, c, g in (("in-memory", mc, mg), ("HTTP", hc, hg)):
            print(f"    {label:<10} create x{c['p50'] / dc['p50']:.1f}   get x{g['p50'] / dg['p50']:.1f}")

        if list_rows:
            tech = await ensure_actor(desk, "bench.tech", "technician")
            t0 = time.perf_counter()
            await bulk_tickets(desk, list_rows, requester_id, tech.user_id)
            print(f"  bulk-loaded {list_rows} tickets in {time.perf_counter() - t0:.1f} s")
            queries: list[tuple[str, dict[str, object]]] = [
                ("no filter, newest first", {}),
                ("status=open priority=high", {"status": ["open"], "priority": "high"}),
                ("breached", {"breached": True}),
                ("assignee + status", {"assignee": "bench.tech", "status": ["in_progress"]}),
                ("free text 'printer update'", {"text": "printer update"}),
                ("free text error code E0042", {"text": "E0042"}),
                ("sort sla_due_at, page 50", {"sort": "sla_due_at", "cursor_pages": 50}),
            ]
            for label, q in queries:
                kwargs = dict(q)
                pages = int(kwargs.pop("cursor_pages", 0))  # type: ignore[call-overload]
                samples = []
                for _ in range(5):
                    t0 = time.perf_counter()
                    page = await ticket_list(desk, admin, **kwargs)  # type: ignore[arg-type]
                    for _ in range(pages):
                        if not page.next_cursor:
                            break
                        page = await ticket_list(desk, admin, **kwargs, cursor=page.next_cursor)  # type: ignore[arg-type]
                    samples.append(time.perf_counter() - t0)
                print(
                    f"  ticket_list {label:<32} median {statistics.median(samples) * 1000:8.1f} ms  total={page.total}"
                )


async def main() -> None:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    for noisy in ("httpx", "mcp", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    parser = argparse.ArgumentParser()
    parser.add_argument("--ops", type=int, default=300)
    parser.add_argument("--list-rows", type=int, default=100_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    for backend in args.backends.split(","):
        tmp = Path(tempfile.mkdtemp(prefix=f"bench-{backend}-"))
        if backend == "sqlite":
            await run_backend("SQLite", Settings(data_dir=tmp, _env_file=None), args.ops, args.list_rows)  # type: ignore[call-arg]
            continue
        name = f"sa_bench_{uuid.uuid4().hex[:8]}"
        conn = await asyncpg.connect(PG_ADMIN)
        await conn.execute(f'CREATE DATABASE "{name}"')
        await conn.close()
        try:
            url = PG_ADMIN.rsplit("/", 1)[0] + "/" + name
            settings = Settings(data_dir=tmp, database_url=url, _env_file=None)  # type: ignore[call-arg]
            await run_backend("PostgreSQL", settings, args.ops, args.list_rows)
        finally:
            conn = await asyncpg.connect(PG_ADMIN)
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await conn.close()


if __name__ == "__main__":
    asyncio.run(main())
