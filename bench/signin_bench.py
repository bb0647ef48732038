"""Web sign-in benchmark: run by hand, prints figures.

    .venv/bin/python bench/signin_bench.py [--sign-ins 20] [--lookups 1000] [--backends sqlite,postgresql]

For each backend: a sign-in (one Argon2id verification, the attempt record, the audit event and the new
session row), and ``session_actor``, the session look-up the UI's gate and every UI handler do per
request: the cost the sign-in adds to each click.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg

from store.config import Settings
from store.migrate import upgrade
from tools.desk import open_desk
from tools.passwords import password_set
from tools.users import UserUpsert, ensure_actor, user_upsert
from tools.web_sessions import session_actor, sign_in

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PASSWORD = "bench-password-1"


async def timed(n: int, op: Callable[[int], Awaitable[object]]) -> list[float]:
    samples = []
    for i in range(n):
        start = time.perf_counter()
        await op(i)
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def report(label: str, samples: list[float]) -> None:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(len(ordered) * 0.99))]
    print(f"  {label:<28} n={len(samples):<5} p50 {statistics.median(samples):7.2f} ms   p99 {p99:7.2f} ms")


async def run(settings: Settings, sign_ins: int, lookups: int) -> None:
    await upgrade(settings)
    async with open_desk(settings) as desk:
        admin = await ensure_actor(desk, "admin", "admin")
        await user_upsert(desk, admin, UserUpsert(username="bench", email="bench@example.com", display_name="B"))
        await password_set(desk, admin, "bench", PASSWORD)
        tokens: list[str] = []

        async def one_sign_in(i: int) -> None:
            opened = await sign_in(desk, identifier="bench", password=PASSWORD, address=f"10.0.{i // 250}.{i % 250}")
            tokens.append(opened.token)

        report("sign_in (Argon2id + rows)", await timed(sign_ins, one_sign_in))

        async def one_lookup(i: int) -> None:
            assert await session_actor(desk, tokens[i % len(tokens)]) is not None

        await timed(50, one_lookup)  # warm the pool and the statement cache
        report("session_actor per request", await timed(lookups, one_lookup))


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sign-ins", type=int, default=20)
    parser.add_argument("--lookups", type=int, default=1000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    for backend in args.backends.split(","):
        with tempfile.TemporaryDirectory() as tmp:
            print(f"{backend}:")
            if backend == "sqlite":
                await run(Settings(data_dir=Path(tmp), _env_file=None), args.sign_ins, args.lookups)  # type: ignore[call-arg]
                continue
            name = f"sa_bench_{uuid.uuid4().hex[:10]}"
            conn = await asyncpg.connect(PG_ADMIN)
            await conn.execute(f'CREATE DATABASE "{name}"')
            await conn.close()
            try:
                url = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
                cfg = Settings(data_dir=Path(tmp), database_url=url, _env_file=None)  # type: ignore[call-arg]
                await run(cfg, args.sign_ins, args.lookups)
            finally:
                conn = await asyncpg.connect(PG_ADMIN)
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                await conn.close()


if __name__ == "__main__":
    asyncio.run(main())
