"""Analytics at scale: generate tickets with realistic history, import them, time every analytics call.

    python bench/analytics_bench.py --count 1000000 --backend sqlite
    python bench/analytics_bench.py --count 100000 --backend postgresql --pg postgresql://postgres@127.0.0.1:5432/postgres

Prints the import rate (tickets/s) and peak memory (RSS), then for each analytics call (analytics_tickets with
every group_by, month buckets, over the generated year; satisfaction; the per-ticket export's first page) p50
and p95 over ``--runs`` calls, beside the same figure computed by a bare SQL query written by hand from the
tickets table (no rollup), and their ratio. The data: ``--agents`` technicians, ``--categories`` categories,
a year of creation dates, first replies, pending spells, reopens, closures and comments.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from store.config import Settings  # noqa: E402
from store.migrate import upgrade  # noqa: E402
from tools.analytics import GROUP_SQL, analytics_tickets  # noqa: E402
from tools.analytics_export import analytics_export  # noqa: E402
from tools.desk import open_desk  # noqa: E402
from tools.satisfaction import analytics_satisfaction  # noqa: E402
from tools.ticket_import import import_tickets  # noqa: E402
from tools.users import ensure_actor  # noqa: E402

YEAR = datetime(2025, 1, 1, tzinfo=UTC)
PRIORITIES = (("low", 0.3), ("medium", 0.45), ("high", 0.2), ("critical", 0.05))
CHANNELS = ("email", "chat", "voice", "mcp", "web")


def iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def ticket_line(i: int, rng: random.Random, agents: int, categories: int, requesters: int) -> str:
    created = YEAR + timedelta(seconds=rng.randrange(365 * 86400))
    priority = rng.choices([p for p, _ in PRIORITIES], [w for _, w in PRIORITIES])[0]
    agent = f"agent{rng.randrange(agents):03d}"
    requester = f"user{rng.randrange(requesters):05d}"
    t = created
    history: list[list[str]] = []
    comments: list[dict[str, Any]] = []
    status = "new"
    if rng.random() < 0.95:
        t += timedelta(minutes=rng.expovariate(1 / 180))
        history.append([iso(t), "open"])
        comments.append({"author": agent, "body": "Looking into it.", "created_at": iso(t)})
        status = "open"
        if rng.random() < 0.3:  # waits for the requester
            t += timedelta(minutes=rng.expovariate(1 / 120))
            history.append([iso(t), "pending"])
            t += timedelta(minutes=rng.expovariate(1 / 600))
            history.append([iso(t), "open"])
            comments.append({"author": requester, "body": "Here is the detail.", "created_at": iso(t)})
        if rng.random() < 0.85:
            t += timedelta(minutes=rng.expovariate(1 / 900))
            history.append([iso(t), "resolved"])
            status = "resolved"
            if rng.random() < 0.1:  # reopened and solved again
                t += timedelta(hours=rng.expovariate(1 / 24))
                history.append([iso(t), "open"])
                t += timedelta(minutes=rng.expovariate(1 / 600))
                history.append([iso(t), "resolved"])
            if rng.random() < 0.5:
                t += timedelta(days=3)
                history.append([iso(t), "closed"])
                status = "closed"
    line: dict[str, Any] = {
        "external_id": f"BENCH{i:08d}",
        "subject": f"Generated ticket {i}",
        "description": "Generated for the analytics benchmark.",
        "priority": priority,
        "status": status,
        "category": f"Category {rng.randrange(categories):02d}",
        "requester": requester,
        "assignee": agent,
        "channel": rng.choice(CHANNELS),
        "created_at": iso(created),
        "status_history": history,
        "comments": comments,
    }
    if status in ("resolved", "closed") and rng.random() < 0.3:
        line["satisfaction"] = "good" if rng.random() < 0.8 else "bad"
    return json.dumps(line)


def generate(path: Path, count: int, agents: int, categories: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    requesters = max(100, count // 20)
    with path.open("w", encoding="utf-8") as fh:
        for i in range(count):
            fh.write(ticket_line(i, rng, agents, categories, requesters) + "\n")


def percentile(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1] if len(values) > 1 else values[0]


async def timed(fn: Callable[[], Awaitable[Any]], runs: int) -> tuple[float, float]:
    await fn()  # warm
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        await fn()
        samples.append((time.perf_counter() - t0) * 1000)
    return percentile(samples, 50), percentile(samples, 95)


def bare_sql(dialect: str, group_by: str) -> str:
    """What one would write by hand: volume and median/p90 first response per group, from tickets alone."""
    group, joins = GROUP_SQL[group_by]
    if dialect == "postgresql":
        fr = "EXTRACT(EPOCH FROM (t.first_response_at - t.created_at))"
        month = "date_trunc('month', t.created_at AT TIME ZONE 'UTC')"
        return (
            f"SELECT {group} AS g, {month} AS bk, COUNT(*), "
            f"percentile_cont(0.5) WITHIN GROUP (ORDER BY {fr}), percentile_cont(0.9) WITHIN GROUP (ORDER BY {fr}), "
            f"AVG({fr}) FROM tickets t {joins} WHERE t.created_at >= :start AND t.created_at < :end GROUP BY 1, 2"
        )
    fr = "(julianday(t.first_response_at) - julianday(t.created_at)) * 86400"
    return (
        f"SELECT g, bk, COUNT(*), AVG(fr), MAX(CASE WHEN rn = CAST(0.5 * (n - 1) AS INTEGER) + 1 THEN fr END) "
        f"FROM (SELECT {group} AS g, strftime('%Y-%m-01', t.created_at) AS bk, {fr} AS fr, "
        f"ROW_NUMBER() OVER (PARTITION BY {group}, strftime('%Y-%m-01', t.created_at), t.first_response_at IS NULL "
        f"ORDER BY {fr}) AS rn, COUNT(t.first_response_at) OVER (PARTITION BY {group}, "
        f"strftime('%Y-%m-01', t.created_at)) AS n FROM tickets t {joins} "
        "WHERE t.created_at >= :start AND t.created_at < :end) x GROUP BY g, bk"
    )


async def run(settings: Settings, jsonl: Path, runs: int) -> None:
    await upgrade(settings)
    async with open_desk(settings) as desk:
        admin = await ensure_actor(desk, "admin", "admin")
        size = jsonl.stat().st_size  # noqa: ASYNC240 (a benchmark, one call)
        t0 = time.perf_counter()
        with jsonl.open("rb") as fh:
            report = await import_tickets(desk, admin, fh, total_bytes=size)
        elapsed = time.perf_counter() - t0
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"import: {report.lines} lines, {report.created} created, {report.failed} failed in {elapsed:.1f} s "
            f"= {report.created / elapsed:.0f} tickets/s; peak RSS {peak_mb:.0f} MB"
        )
        end = YEAR + timedelta(days=366)
        print(f"{'call':<44} {'p50 ms':>8} {'p95 ms':>8} {'bare p50':>9} {'bare p95':>9} {'ratio p95':>9}")
        for group_by in GROUP_SQL:
            p50, p95 = await timed(
                lambda g=group_by: analytics_tickets(desk, admin, start=YEAR, end=end, group_by=g, bucket="month"),  # type: ignore[misc]
                runs,
            )
            sql = bare_sql(desk.dialect, group_by)

            async def bare(sql: str = sql) -> None:
                async with desk.engine.connect() as conn:
                    stmt = text(sql).bindparams(start=YEAR, end=end)
                    if desk.dialect == "sqlite":
                        stmt = text(sql).bindparams(
                            start=YEAR.strftime("%Y-%m-%d %H:%M:%S"), end=end.strftime("%Y-%m-%d %H:%M:%S")
                        )
                    (await conn.execute(stmt)).all()

            b50, b95 = await timed(bare, runs)
            label = "analytics_tickets group_by=" + group_by
            print(f"{label:<44} {p50:8.0f} {p95:8.0f} {b50:9.0f} {b95:9.0f} {p95 / b95:9.2f}")
        p50, p95 = await timed(lambda: analytics_satisfaction(desk, admin, start=YEAR, end=end, bucket="month"), runs)
        print(f"{'analytics_satisfaction bucket=month':<44} {p50:8.0f} {p95:8.0f}")
        p50, p95 = await timed(lambda: analytics_export(desk, admin, report="tickets", start=YEAR, end=end), runs)
        print(f"{'analytics_export tickets (1000 rows/page)':<44} {p50:8.0f} {p95:8.0f}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--categories", type=int, default=50)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--keep", type=Path, help="Keep the generated JSONL file here.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="analytics-bench-") as tmp:
        jsonl = args.keep or Path(tmp) / "tickets.jsonl"
        if not jsonl.exists():
            t0 = time.perf_counter()
            generate(jsonl, args.count, args.agents, args.categories)
            print(
                f"generated {args.count} tickets in {time.perf_counter() - t0:.1f} s "
                f"({jsonl.stat().st_size / 1e6:.0f} MB)"
            )
        if args.backend == "sqlite":
            await run(Settings(data_dir=Path(tmp) / "data", _env_file=None), jsonl, args.runs)  # type: ignore[call-arg]
            return
        name = f"sa_bench_{uuid.uuid4().hex[:8]}"
        admin = await asyncpg.connect(args.pg)
        await admin.execute(f'CREATE DATABASE "{name}"')
        await admin.close()
        try:
            url = args.pg.rsplit("/", 1)[0] + f"/{name}"
            await run(Settings(data_dir=Path(tmp) / "data", database_url=url, _env_file=None), jsonl, args.runs)  # type: ignore[call-arg]
        finally:
            admin = await asyncpg.connect(args.pg)
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
