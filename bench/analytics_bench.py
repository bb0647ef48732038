"""Analytics at scale: build a large desk fast, measure the import path, time every analytics call.

    python bench/analytics_bench.py --count 1000000 --backend sqlite
    python bench/analytics_bench.py --count 100000 --backend postgresql --pg postgresql://postgres@127.0.0.1:5432/postgres
    python bench/analytics_bench.py --count 1000000 --runs 0 --backend postgresql --pg-db kept_1m   # build, keep
    python bench/analytics_bench.py --count 1000000 --backend postgresql --pg-db kept_1m             # time it again

First the import path's own rate (tickets/s) and peak memory (RSS), on ``--import-count`` generated lines into a
fresh desk. Then ``--count`` tickets with the same generated history are bulk-inserted straight into the tables
(bench/analytics_build.py: batches, COPY on PostgreSQL, the desk's own SLA rules and rollup refresh), and it prints
how long that took. Then for each analytics call (analytics_tickets with
every group_by, month buckets, over the generated year; satisfaction; the per-ticket export's first page) p50
and p95 over ``--runs`` calls, beside the same figure computed by a bare SQL query written by hand from the
tickets table (no rollup), and their ratio. The data: ``--agents`` technicians, ``--categories`` categories,
a year of creation dates, first replies, pending spells, reopens, closures and comments.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.analytics_build import YEAR, bulk_build, stories, ticket_line  # noqa: E402
from store.config import Settings  # noqa: E402
from store.migrate import upgrade  # noqa: E402
from tools.analytics import GROUP_SQL, analytics_tickets  # noqa: E402
from tools.analytics_export import analytics_export  # noqa: E402
from tools.desk import open_desk  # noqa: E402
from tools.satisfaction import analytics_satisfaction  # noqa: E402
from tools.ticket_import import import_tickets  # noqa: E402
from tools.users import ensure_actor  # noqa: E402


def generate(path: Path, count: int, agents: int, categories: int, seed: int = 1) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for i, story in enumerate(stories(count, agents, categories, seed)):
            fh.write(ticket_line(i, story) + "\n")


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


async def measure_import(settings: Settings, jsonl: Path) -> None:
    """The import path's own rate and peak memory, on a fresh desk (run before the bulk build, for the RSS)."""
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


async def run(
    settings: Settings, count: int, agents: int, categories: int, runs: int, build: bool = True, bare: bool = True
) -> None:
    await upgrade(settings)
    async with open_desk(settings) as desk:
        admin = await ensure_actor(desk, "admin", "admin")
        if build:
            phases = await bulk_build(desk, count, agents, categories)
            print(
                f"bulk build of {count} tickets: tables {phases['tables']:.0f} s, rollups {phases['rollups']:.0f} s, "
                f"ANALYZE {phases['analyze']:.0f} s",
                flush=True,
            )
        if runs:
            await timings(desk, admin, YEAR + timedelta(days=366), runs, bare)


async def timings(desk: Any, admin: Any, end: datetime, runs: int, with_bare: bool = True) -> None:
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

        label = "analytics_tickets group_by=" + group_by
        if not with_bare:
            print(f"{label:<44} {p50:8.0f} {p95:8.0f}", flush=True)
            continue
        b50, b95 = await timed(bare, runs)
        print(f"{label:<44} {p50:8.0f} {p95:8.0f} {b50:9.0f} {b95:9.0f} {p95 / b95:9.2f}", flush=True)
    p50, p95 = await timed(lambda: analytics_satisfaction(desk, admin, start=YEAR, end=end, bucket="month"), runs)
    print(f"{'analytics_satisfaction bucket=month':<44} {p50:8.0f} {p95:8.0f}")
    p50, p95 = await timed(lambda: analytics_export(desk, admin, report="tickets", start=YEAR, end=end), runs)
    print(f"{'analytics_export tickets (1000 rows/page)':<44} {p50:8.0f} {p95:8.0f}")


async def run_kept_pg(args: argparse.Namespace, tmp: Path) -> None:
    """Build into (or time again) the named PostgreSQL database, which is kept for later runs."""
    admin = await asyncpg.connect(args.pg)
    try:
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", args.pg_db)
        if not exists:
            await admin.execute(f'CREATE DATABASE "{args.pg_db}"')
    finally:
        await admin.close()
    url = f"{args.pg.rsplit('/', 1)[0]}/{args.pg_db}"
    conn = await asyncpg.connect(url)
    try:
        built = await conn.fetchval("SELECT to_regclass('tickets') IS NOT NULL") and await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM tickets)"
        )
    finally:
        await conn.close()
    settings = Settings(data_dir=args.data or tmp / "data", database_url=url, _env_file=None)  # type: ignore[call-arg]
    await run(settings, args.count, args.agents, args.categories, args.runs, build=not built, bare=args.bare)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--categories", type=int, default=50)
    parser.add_argument("--runs", type=int, default=10, help="Timed calls per figure (0: build only).")
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--import-count", type=int, default=20_000, help="Lines for the import rate (0: skip).")
    parser.add_argument("--keep", type=Path, help="Keep the generated JSONL file here.")
    parser.add_argument("--data", type=Path, help="SQLite: build here, or time the desk built here before.")
    parser.add_argument(
        "--no-bare", dest="bare", action="store_false", help="Skip the bare SQL timings (minutes each at 1M on SQLite)."
    )
    parser.add_argument(
        "--pg-db", help="PostgreSQL: build into this database (created if missing) and keep it, or time it if built."
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="analytics-bench-") as tmp:
        jsonl = args.keep or Path(tmp) / "tickets.jsonl"
        if args.import_count and not jsonl.exists():
            t0 = time.perf_counter()
            generate(jsonl, args.import_count, args.agents, args.categories)
            print(f"generated {args.import_count} import lines in {time.perf_counter() - t0:.1f} s")
        if args.backend == "sqlite":
            if args.import_count:
                await measure_import(Settings(data_dir=Path(tmp) / "import", _env_file=None), jsonl)  # type: ignore[call-arg]
            data = args.data or Path(tmp) / "data"
            build = not (data / "desk.sqlite3").exists()  # a desk built by an earlier --data run is timed again
            settings = Settings(data_dir=data, _env_file=None)  # type: ignore[call-arg]
            await run(settings, args.count, args.agents, args.categories, args.runs, build, args.bare)
            return
        if args.pg_db:
            await run_kept_pg(args, Path(tmp))
            return
        names = [f"sa_bench_{uuid.uuid4().hex[:8]}" for _ in range(2)]
        admin = await asyncpg.connect(args.pg)
        for name in names:
            await admin.execute(f'CREATE DATABASE "{name}"')
        await admin.close()
        base = args.pg.rsplit("/", 1)[0]
        try:
            if args.import_count:
                settings = Settings(data_dir=Path(tmp) / "import", database_url=f"{base}/{names[0]}", _env_file=None)  # type: ignore[call-arg]
                await measure_import(settings, jsonl)
            settings = Settings(data_dir=Path(tmp) / "data", database_url=f"{base}/{names[1]}", _env_file=None)  # type: ignore[call-arg]
            await run(settings, args.count, args.agents, args.categories, args.runs)
        finally:
            admin = await asyncpg.connect(args.pg)
            for name in names:
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
