"""Load benchmark: concurrent MCP clients over streamable HTTP against one server process and against two.

    .venv/bin/python bench/load_bench.py [--clients 50] [--seconds 60] [--setups sqlite:1,postgresql:1,postgresql:2]
        [--think-ms 2000] [--mix get=1]

``--mix op=weight,...`` times some tools alone; ``LOAD_BENCH_PROFILE`` attaches a sampling profiler to the
server for the timed run (see :func:`start_profiler`); ``LOAD_BENCH_LOGS`` keeps the server's log.

Each setup is a fresh desk (the demo data loaded, rate limits lifted) served by ``support-agent serve
--no-ui`` (``--workers N`` for N > 1, which needs PostgreSQL, a Chroma server and Redis: the bench starts
``chroma run``); every PostgreSQL setup uses Redis at $SUPPORT_TEST_REDIS_URL, as deployed. Every client is a real MCP
client with its own HTTP connection, running a mix of create 20 %, get 30 %, list 20 %, comment 15 %, search
10 % and update 5 % for ``--seconds``, while a probe times ``/health`` once a second. Printed per setup:
calls/s, p50 and p99 per tool and overall, errors by kind (an update's version conflict is counted, not an
error of the desk), the /health latency, CPU milliseconds per call spent by the clients, the server processes
and PostgreSQL, and whether every acknowledged ticket and comment exists afterwards. Figures are for a shared
2-core machine: print ``uptime`` beside them; they are pessimistic.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from store.config import Settings  # noqa: E402
from store.db import create_engine  # noqa: E402
from store.models import Ticket, TicketComment  # noqa: E402
from tests.servers import BIN, desk_env, free_port, running  # noqa: E402

PG_ADMIN = os.environ.get("SUPPORT_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("SUPPORT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
CHROMA = Path(sys.executable).parent / "chroma"
MIX = {"create": 20, "get": 30, "list": 20, "comment": 15, "search": 10, "update": 5}
QUERIES = [
    "VPN disconnects every few minutes",
    "printer shows offline",
    "reset my password",
    "Outlook keeps asking for credentials",
    "error 0x80070005 when installing updates",
    "laptop battery drains fast",
    "cannot reach the shared drive",
    "MFA code not arriving",
]
UNLIMITED = {f"SUPPORT_RATE_LIMIT_{c}": "1000000/minute" for c in ("HTTP", "READ", "WRITE", "INGEST", "AGENT")}


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: Counter[str] = field(default_factory=Counter)
    conflicts: int = 0
    tickets: list[str] = field(default_factory=list)
    """Numbers of tickets whose create was acknowledged."""
    comments: list[int] = field(default_factory=list)
    """Ids of acknowledged comments."""
    health: list[float] = field(default_factory=list)


def leaf(exc: BaseException) -> BaseException:
    """The first real exception inside task-group wrappers."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def error_kind(text: str) -> str:
    """A short label for a tool error or an exception, so errors can be counted by kind."""
    lowered = text.lower()
    for kind in ("version", "rate limit", "timed out", "not found", "locked", "too many"):
        if kind in lowered:
            return kind
    return text.split(":", 1)[0][:60]


@dataclass
class Clock:
    """Clients connect (initialize, list tools) first; the timed phase starts when all have."""

    start: asyncio.Event = field(default_factory=asyncio.Event)
    stop_at: float = 0.0


async def one_client(
    base: str,
    token: str,
    seed_numbers: list[str],
    tally: Tally,
    clock: Clock,
    connected: asyncio.Future[None],
    i: int,
    think_s: float = 0.0,
    mix: dict[str, int] = MIX,
) -> None:
    rng = random.Random(i)
    ops, weights = list(mix), list(mix.values())
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=120)
    try:
        async with Client(streamable_http_client(f"{base}/mcp", http_client=http), read_timeout_seconds=120) as c:
            await c.list_tools()  # the client caches output schemas: not a cost of the timed calls
            if i == 0:
                # The server loads its embedding model on the first search: a start-up cost, not one of the load.
                await c.call_tool("knowledge_search", {"query": "warm-up", "k": 1})
            connected.set_result(None)
            await clock.start.wait()
            while time.monotonic() < clock.stop_at:
                if think_s:  # a person or an agent between two calls: exponential pauses of that mean
                    await asyncio.sleep(rng.expovariate(1 / think_s))
                op = rng.choices(ops, weights)[0]
                known = tally.tickets or seed_numbers
                number = rng.choice(known)
                if op == "create":
                    name, args = "ticket_create", {"subject": f"load {i} {rng.random():.6f}", "description": "bench"}
                elif op == "get":
                    name, args = "ticket_get", {"ticket": number}
                elif op == "list":
                    name, args = "ticket_list", {"limit": 20}
                elif op == "comment":
                    name, args = "ticket_comment", {"ticket": number, "body": f"bench comment {i}", "internal": True}
                elif op == "search":
                    name, args = "knowledge_search", {"query": rng.choice(QUERIES), "k": 5}
                else:
                    name, args = "ticket_update", {}
                t0 = time.perf_counter()
                try:
                    if op == "update":
                        got = await c.call_tool("ticket_get", {"ticket": number})
                        version = (got.structured_content or {}).get("ticket", {}).get("version", 1)
                        tags = [f"t{rng.randint(0, 9)}"]
                        result = await c.call_tool(
                            "ticket_update", {"ticket": number, "version": version, "tags": tags}
                        )
                    else:
                        result = await c.call_tool(name, args)
                except Exception as exc:  # a benchmark counts every failure, by kind
                    cause = leaf(exc)
                    tally.errors[f"{name}: {type(cause).__name__} {error_kind(str(cause))}"] += 1
                    continue
                elapsed = time.perf_counter() - t0
                if result.is_error:
                    text = str(result.content[0].text) if result.content else ""  # type: ignore[union-attr]
                    if op == "update" and "version" in text.lower():
                        tally.conflicts += 1
                    else:
                        tally.errors[f"{name}: {error_kind(text)}"] += 1
                    continue
                tally.latencies[name].append(elapsed)
                content = result.structured_content or {}
                if op == "create":
                    tally.tickets.append(content["number"])
                elif op == "comment":
                    tally.comments.append(content["comment"]["id"])
    except Exception as exc:  # the connection itself failed: counted, the other clients go on
        if not connected.done():
            connected.set_result(None)
        cause = leaf(exc)
        tally.errors[f"client: {type(cause).__name__} {error_kind(str(cause))}"] += 1
        if os.environ.get("LOAD_BENCH_DEBUG"):
            import traceback

            traceback.print_exception(cause)
    finally:
        await http.aclose()


async def probe_health(base: str, tally: Tally, clock: Clock) -> None:
    await clock.start.wait()
    async with httpx.AsyncClient(timeout=30) as http:
        while time.monotonic() < clock.stop_at:
            t0 = time.perf_counter()
            try:
                await http.get(f"{base}/health")
                tally.health.append(time.perf_counter() - t0)
            except httpx.HTTPError:
                tally.errors["health: unreachable"] += 1
            await asyncio.sleep(1)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] if ordered else float("nan")


async def check_nothing_lost(settings: Settings, tally: Tally) -> tuple[int, int]:
    """Acknowledged tickets and comments that are missing from the database."""
    engine = create_engine(settings)
    try:
        async with engine.connect() as conn:
            numbers = set(tally.tickets)
            found = set()
            for start in range(0, len(tally.tickets), 500):
                chunk = tally.tickets[start : start + 500]
                found |= set((await conn.execute(select(Ticket.number).where(Ticket.number.in_(chunk)))).scalars())
            comments = 0
            for start in range(0, len(tally.comments), 500):
                chunk = tally.comments[start : start + 500]
                stmt = select(func.count()).select_from(TicketComment).where(TicketComment.id.in_(chunk))
                comments += (await conn.execute(stmt)).scalar_one()
    finally:
        await engine.dispose()
    return len(numbers - found), len(set(tally.comments)) - comments


@asynccontextmanager
async def database(backend: str) -> AsyncIterator[str | None]:
    if backend == "sqlite":
        yield None
        return
    name = f"loadbench_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(PG_ADMIN)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    try:
        yield f"{PG_ADMIN.rsplit('/', 1)[0]}/{name}"
    finally:
        conn = await asyncpg.connect(PG_ADMIN)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()


def _descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            children = (task / "children").read_text().split() if (task / "children").exists() else []
            todo.extend(int(c) for c in children)
    return found


def _cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of the processes (0 for any that is gone)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / tick


def _postgres_pids() -> list[int]:
    pids = []
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() == "postgres":
                pids.append(int(comm.parent.name))
        except OSError:
            continue
    return pids


@dataclass
class CpuMeter:
    """CPU seconds spent by the bench's clients, the server processes and PostgreSQL during the timed run."""

    server_pid: int
    start: dict[str, float] = field(default_factory=dict)

    def read(self) -> dict[str, float]:
        own = os.times()
        return {
            "clients": own.user + own.system,
            "server": _cpu_seconds(_descendants(self.server_pid)),
            "postgres": _cpu_seconds(_postgres_pids()),
        }

    def begin(self) -> None:
        self.start = self.read()

    def per_call_ms(self, calls: int) -> dict[str, float]:
        end = self.read()
        return {k: round(1000 * (end[k] - self.start[k]) / max(calls, 1), 1) for k in end}


@contextmanager
def served(work: Path, db_url: str | None, processes: int) -> Iterator[tuple[str, str, int]]:
    """The desk served on one port by ``processes`` processes: its URL and an admin token."""
    extra = {**UNLIMITED, "SUPPORT_HTTP_STATELESS": "true"}
    with ExitStack() as stack:
        if db_url:
            # PostgreSQL as it is deployed: with Redis, which also carries the credential cache's generation
            # (without Redis a PostgreSQL desk checks every token in the database).
            extra.update(
                SUPPORT_DATABASE_URL=db_url,
                SUPPORT_REDIS_URL=REDIS_URL,
                SUPPORT_RATE_LIMIT_PREFIX=f"loadbench-{uuid.uuid4().hex}",
            )
        if processes > 1:
            chroma = f"http://127.0.0.1:{free_port()}"
            args = [str(CHROMA), "run", "--path", str(work / "chroma"), "--host", "127.0.0.1"]
            args += ["--port", chroma.rsplit(":", 1)[1]]
            stack.enter_context(running(args, ready_url=f"{chroma}/api/v2/heartbeat", log_path=work / "chroma.log"))
            extra["SUPPORT_CHROMA_URL"] = chroma
        env = desk_env(work / "data", **extra)
        subprocess.run([str(BIN), "demo", "load"], env=env, capture_output=True, timeout=600, check=True)
        # The demo's KB articles and resolved tickets are embedded before the clock starts.
        subprocess.run([str(BIN), "index", "drain"], env=env, capture_output=True, timeout=600, check=True)
        made = subprocess.run(
            [str(BIN), "token", "create", "admin"], env=env, capture_output=True, text=True, timeout=120, check=True
        )
        port = free_port()
        args = [str(BIN), "serve", "--no-ui", "--port", str(port), "--workers", str(processes)]
        ready = f"http://127.0.0.1:{port}/health"
        proc = stack.enter_context(running(args, ready_url=ready, log_path=work / "serve.log", env=env, timeout=240))
        yield f"http://127.0.0.1:{port}", made.stdout.strip(), proc.pid


async def run_setup(
    backend: str, processes: int, clients: int, seconds: float, think_s: float = 0.0, mix: dict[str, int] = MIX
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="load-bench-") as tmp:
        work = Path(tmp)
        async with database(backend) as db_url:
            with served(work, db_url, processes) as (base, token, server_pid):
                settings = Settings(
                    data_dir=work / "data",
                    database_url=db_url,
                    _env_file=None,  # type: ignore[call-arg]
                )
                seed = await seed_numbers(settings)
                tally = Tally()
                clock = Clock()
                loop = asyncio.get_running_loop()
                connected: list[asyncio.Future[None]] = [loop.create_future() for _ in range(clients)]
                tasks = [
                    asyncio.create_task(one_client(base, token, seed, tally, clock, connected[i], i, think_s, mix))
                    for i in range(clients)
                ]
                tasks.append(asyncio.create_task(probe_health(base, tally, clock)))
                await asyncio.wait(connected, timeout=600)
                load = os.getloadavg()
                meter = CpuMeter(server_pid)
                profiler = start_profiler(server_pid, seconds)
                meter.begin()
                clock.stop_at = time.monotonic() + seconds
                clock.start.set()
                t0 = time.perf_counter()
                await asyncio.gather(*tasks)
                wall = time.perf_counter() - t0
                cpu = meter.per_call_ms(sum(len(v) for v in tally.latencies.values()))
                if profiler is not None:
                    profiler.wait(timeout=120)
                lost_tickets, lost_comments = await check_nothing_lost(settings, tally)
            if os.environ.get("LOAD_BENCH_LOGS"):  # keep the server's log, whose temporary folder goes
                keep = Path(os.environ["LOAD_BENCH_LOGS"]) / f"{backend}-{processes}-serve.log"
                keep.parent.mkdir(parents=True, exist_ok=True)
                keep.write_bytes((work / "serve.log").read_bytes())
    calls = sum(len(v) for v in tally.latencies.values())
    every = [x for v in tally.latencies.values() for x in v]
    report: dict[str, Any] = {
        "setup": f"{backend} x{processes}" + (f", think {think_s * 1000:g} ms" if think_s else ""),
        "calls_per_s": round(calls / wall, 1),
        "p50_ms": round(1000 * statistics.median(every), 0) if every else None,
        "p99_ms": round(1000 * pct(every, 0.99), 0) if every else None,
        "by_tool": {
            name: {"n": len(v), "p50_ms": round(1000 * pct(v, 0.5)), "p99_ms": round(1000 * pct(v, 0.99))}
            for name, v in sorted(tally.latencies.items())
        },
        "version_conflicts": tally.conflicts,
        "errors": dict(tally.errors),
        "health_p50_ms": round(1000 * pct(tally.health, 0.5)) if tally.health else None,
        "health_max_ms": round(1000 * max(tally.health)) if tally.health else None,
        "cpu_ms_per_call": cpu,
        "lost_tickets": lost_tickets,
        "lost_comments": lost_comments,
        "acknowledged": {"tickets": len(tally.tickets), "comments": len(tally.comments)},
        "load_before": [round(x, 2) for x in load],
        "load_after": [round(x, 2) for x in os.getloadavg()],
    }
    return report


async def seed_numbers(settings: Settings) -> list[str]:
    engine = create_engine(settings)
    try:
        async with engine.connect() as conn:
            return list((await conn.execute(select(Ticket.number).limit(200))).scalars())
    finally:
        await engine.dispose()


def start_profiler(server_pid: int, seconds: float) -> subprocess.Popen[bytes] | None:
    """``LOAD_BENCH_PROFILE="py-spy record -p {pid} -d {seconds} -o out.txt -f raw"``: a sampling profiler
    attached to the server process (``{pid}``: uvicorn's, the only one with ``--workers 1``) for the timed run."""
    template = os.environ.get("LOAD_BENCH_PROFILE")
    if not template:
        return None
    command = template.format(pid=server_pid, seconds=int(seconds))
    return subprocess.Popen(command.split(), stdout=subprocess.DEVNULL)


def parse_mix(text: str) -> dict[str, int]:
    """``get=30,list=20``: operations of :data:`MIX` with their weights."""
    mix: dict[str, int] = {}
    for part in text.split(","):
        op, _, weight = part.partition("=")
        if op.strip() not in MIX or not weight.strip().isdigit():
            raise argparse.ArgumentTypeError(f"--mix takes op=weight pairs with ops among {list(MIX)}, got {part!r}")
        mix[op.strip()] = int(weight)
    return mix


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument(
        "--think-ms",
        type=float,
        default=0.0,
        help="mean pause of each client between calls (0: back to back, so latency is clients / throughput)",
    )
    parser.add_argument("--setups", default="sqlite:1,postgresql:1,postgresql:2", help="backend:processes,...")
    parser.add_argument(
        "--mix",
        type=parse_mix,
        default=MIX,
        help="operation weights, e.g. get=1 to time one tool alone (default: "
        + ",".join(f"{k}={v}" for k, v in MIX.items())
        + ")",
    )
    args = parser.parse_args()
    for spec in args.setups.split(","):
        backend, _, n = spec.partition(":")
        report = asyncio.run(
            run_setup(backend, int(n or 1), args.clients, args.seconds, args.think_ms / 1000, args.mix)
        )
        print(f"== {report.pop('setup')} ({args.clients} clients, {args.seconds:g} s)")
        for key, value in report.items():
            print(f"  {key}: {value}")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
