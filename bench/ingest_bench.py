"""Ingestion as background work: ``ticket_get`` latency idle and during a large ingestion, and pages/s.

Usage: ``python bench/ingest_bench.py [--eval-dir DIR] [--docs N] [--data-dir DIR] [--calls N]``

One process as ``support-agent serve`` runs it (SQLite + embedded Chroma + the ONNX MiniLM embedder, the
ingestion worker with ``SUPPORT_INGEST_WORKERS`` slots): ``ticket_get`` through an in-memory MCP client,
first idle, then continuously while the worker ingests the N largest 10-Q PDFs queued with
``document_ingest`` (wait=false). Prints p50/p99 of both, their ratio (target: within 2x), and the
ingestion's pages/s and chunks/s, with the machine's load average.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mcp import Client  # noqa: E402

from server.app import build_server  # noqa: E402
from store.config import Settings  # noqa: E402
from tools.desk import open_desk  # noqa: E402
from tools.ingest_runner import ingest_worker  # noqa: E402
from tools.knowledge import document_ingest  # noqa: E402
from tools.knowledge_query import document_get  # noqa: E402
from tools.ticket_models import TicketCreate  # noqa: E402
from tools.tickets import ticket_create  # noqa: E402
from tools.users import ensure_actor  # noqa: E402


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def timed_get(c: Client, number: str) -> float:
    t0 = time.perf_counter()
    result = await c.call_tool("ticket_get", {"ticket": number})
    assert not result.is_error, result.content
    return time.perf_counter() - t0


def largest_pdfs(eval_dir: str, n: int) -> list[Path]:
    return sorted(Path(eval_dir, "docs").glob("*.pdf"), key=lambda p: p.stat().st_size, reverse=True)[:n]


async def run(args: argparse.Namespace, pdfs: list[Path]) -> dict[str, Any]:
    # The bench calls ticket_get back to back: lift the per-identity read limit it would otherwise hit.
    settings = Settings(
        data_dir=Path(args.data_dir),
        rate_limit_read="1000000/minute",
        _env_file=None,  # type: ignore[call-arg]
    )
    report: dict[str, Any] = {"docs": [p.name for p in pdfs], "ingest_workers": settings.ingest_workers}
    async with open_desk(settings) as desk:
        admin = await ensure_actor(desk, "admin", "admin")
        kn = desk.require_knowledge()
        await kn.embed(["warm up the model"])
        ticket = await ticket_create(desk, admin, TicketCreate(subject="VPN drops", description="Every hour."))
        async with Client(build_server(settings, desk=desk, with_agent=False)) as c:
            for _ in range(20):
                await timed_get(c, ticket.number)
            idle = [await timed_get(c, ticket.number) for _ in range(args.calls)]
            async with ingest_worker(desk):
                t0 = time.perf_counter()
                ids = [(await document_ingest(desk, admin, path=str(p), wait=False)).document.id for p in pdfs]
                busy: list[float] = []
                while True:
                    busy.append(await timed_get(c, ticket.number))
                    if len(busy) % 20 == 0:
                        states = [(await document_get(desk, admin, i, chunk_limit=0)).status for i in ids]
                        if "processing" not in states:
                            break
                elapsed = time.perf_counter() - t0
            docs = [await document_get(desk, admin, i, chunk_limit=0) for i in ids]
    pages = sum(d.pages or 0 for d in docs)
    chunks = sum(d.chunk_count for d in docs)
    report.update(
        statuses=[d.status for d in docs],
        pages=pages,
        chunks=chunks,
        ingest_s=round(elapsed, 1),
        pages_per_s=round(pages / elapsed, 2),
        chunks_per_s=round(chunks / elapsed, 2),
        ticket_get_idle_ms={"p50": round(pct(idle, 0.5), 1), "p99": round(pct(idle, 0.99), 1), "n": len(idle)},
        ticket_get_busy_ms={"p50": round(pct(busy, 0.5), 1), "p99": round(pct(busy, 0.99), 1), "n": len(busy)},
        busy_mean_ms=round(statistics.mean(busy) * 1000, 1),
        load_average=[round(x, 2) for x in os.getloadavg()],
    )
    report["p99_ratio"] = round(report["ticket_get_busy_ms"]["p99"] / report["ticket_get_idle_ms"]["p99"], 2)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval-dir", default=str(ROOT.parent / "shared" / "eval" / "sec-10q"))
    parser.add_argument("--docs", type=int, default=3, help="how many of the largest PDFs to ingest")
    parser.add_argument("--calls", type=int, default=300, help="idle ticket_get calls")
    parser.add_argument("--data-dir", default=None, help="a fresh folder (default: a temporary one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        args.data_dir = args.data_dir or tmp
        print(json.dumps(asyncio.run(run(args, largest_pdfs(args.eval_dir, args.docs))), indent=2))


if __name__ == "__main__":
    main()
