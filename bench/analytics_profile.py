"""Where the rollup's statement spends its time: each step (CTE) timed on its own, the plan, the compile cost.

    python bench/analytics_profile.py --data /path/to/sqlite-desk --group-by priority
    python bench/analytics_profile.py --pg-db speed_100k --group-by none --explain
    python bench/analytics_profile.py --demo /tmp/demo-desk          # the demo desk (loaded once), last 30 days

For the desk built by bench/analytics_bench.py the period is its generated year (month buckets); for the demo desk
the default period (the last 30 days). Prints the whole call on each path (rollup, facts) and, for the rollup,
the time to run ``WITH <steps up to s> SELECT COUNT(*) FROM s`` for every step ``s`` (cumulative: the steps it
reads run again), the rows it holds, and on SQLite the time to compile the statement without running it
(``EXPLAIN``). ``--explain`` adds the plan (``EXPLAIN QUERY PLAN`` / ``EXPLAIN (ANALYZE, BUFFERS)``).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.analytics_build import YEAR  # noqa: E402
from store.config import Settings  # noqa: E402
from tools.analytics import analytics_tickets, rows  # noqa: E402
from tools.analytics_rollup import rollup_params, rollup_parts  # noqa: E402
from tools.desk import open_desk  # noqa: E402
from tools.metrics import ensure_metrics  # noqa: E402
from tools.users import ensure_actor  # noqa: E402


async def _ms(fn: Any, runs: int) -> float:
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        await fn()
        samples.append((time.perf_counter() - t0) * 1000)
    return statistics.median(samples)


async def profile(settings: Settings, args: argparse.Namespace, demo: bool) -> None:
    async with open_desk(settings) as desk:
        admin = await ensure_actor(desk, "admin", "admin")
        if demo:
            from tools import demo as demo_desk

            async def no_documents(*_: Any) -> int:
                return 0

            demo_desk._ingest_knowledge = no_documents  # type: ignore[assignment]  # the timings need no documents
            await demo_desk.load_demo_into(desk, settings)
            end = desk.clock()
            start = end - timedelta(days=30)
        else:
            start, end = YEAR, YEAR + timedelta(days=366)
        await ensure_metrics(desk)
        ask = {"start": start, "end": end, "group_by": args.group_by, "bucket": args.bucket}
        await analytics_tickets(desk, admin, **ask)  # warm
        for label, use in (("rollup", True), ("facts", False), ("default", None)):
            await analytics_tickets(desk, admin, **ask, use_rollup=use)  # warm (and prepared once)
            ms = await _ms(lambda use=use: analytics_tickets(desk, admin, **ask, use_rollup=use), args.runs)
            print(f"analytics_tickets {args.group_by}/{args.bucket} {label:<8} {ms:9.1f} ms", flush=True)
        now = desk.clock()
        params: dict[str, Any] = {"start": start, "end": end, "now": now, "risk_at": now + timedelta(hours=4)}
        params |= {"page_limit": 100, "page_offset": 0} | rollup_params(start, end, args.group_by)
        ctes, tail = rollup_parts(desk.dialect, args.group_by, args.bucket)
        pg = desk.dialect == "postgresql"
        async with desk.sessions() as session:
            if pg:
                await session.execute(text("SET work_mem = '128MB'"))
            whole = f"WITH {', '.join(ctes)} {tail}"
            print(f"statement: {len(whole):,} characters, {len(ctes)} steps")
            fresh = iter(range(10**6))
            # A new comment each time: the driver's statement cache cannot serve it, so it is prepared anew.
            ms = await _ms(lambda: rows(session, f"/* {next(fresh)} */ " + whole, params), args.runs)
            print(f"  whole statement, prepared each time {ms:9.1f} ms")
            ms = await _ms(lambda: rows(session, whole, params), args.runs)
            print(f"  whole statement, prepared once      {ms:9.1f} ms")
            for i, cte in enumerate(ctes):
                name = cte.split(" AS ", 1)[0]
                sql = f"WITH {', '.join(ctes[: i + 1])} SELECT COUNT(*) AS n FROM {name}"
                n = (await rows(session, sql, params))[0]["n"]
                ms = await _ms(lambda sql=sql: rows(session, sql, params), args.runs)
                cold = await _ms(lambda sql=sql: rows(session, f"/* {next(fresh)} */ " + sql, params), 1)
                print(f"  up to {name:<18} {n:>10,} rows {ms:9.1f} ms (prepared anew {cold:7.1f} ms)", flush=True)
            if args.explain:
                how = "EXPLAIN (ANALYZE, BUFFERS) " if pg else "EXPLAIN QUERY PLAN "
                for r in await rows(session, how + whole, params):
                    print("   ", " | ".join(str(v) for v in r.values()))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, help="SQLite desk directory (bench/analytics_bench.py --data).")
    parser.add_argument("--pg-db", help="PostgreSQL database built by bench/analytics_bench.py --pg-db.")
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--demo", type=Path, help="Load the demo desk here (SQLite, once) and profile it.")
    parser.add_argument("--demo-pg", help="Load the demo desk into this (existing) PostgreSQL database.")
    parser.add_argument("--group-by", default="none")
    parser.add_argument("--bucket", default="month")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--explain", action="store_true")
    args = parser.parse_args()
    if args.pg_db or args.demo_pg:
        url = f"{args.pg}/{args.pg_db or args.demo_pg}"
        settings = Settings(data_dir=Path("/tmp/analytics-profile"), database_url=url, _env_file=None)  # type: ignore[call-arg]
    else:
        data = args.data or args.demo
        settings = Settings(data_dir=data, _env_file=None)  # type: ignore[call-arg]
    await profile(settings, args, demo=bool(args.demo or args.demo_pg))


if __name__ == "__main__":
    asyncio.run(main())
