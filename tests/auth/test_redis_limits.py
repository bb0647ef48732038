"""Several server processes with Redis: they share one rate limit per identity, and a revocation made by
another process (the CLI) applies to the next request on each of them, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.conftest import BACKENDS, PG_ADMIN_DSN
from tests.servers import BIN, REDIS, desk_env, free_port, redis_up, running

ACCEPT = "application/json, text/event-stream"

pytestmark = pytest.mark.skipif(not redis_up(), reason=f"Redis is not running at {REDIS} (.ci/run starts it)")


async def _pg(statement: str) -> None:
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await admin.execute(statement)
    finally:
        await admin.close()


@pytest.fixture(params=BACKENDS)
def database(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """The environment that points server processes at one database: SQLite under their data directory,
    or a throw-away PostgreSQL database."""
    if request.param == "sqlite":
        yield {}
        return
    name = f"sa_test_{uuid.uuid4().hex[:12]}"
    asyncio.run(_pg(f'CREATE DATABASE "{name}"'))
    try:
        yield {"SUPPORT_DATABASE_URL": f"{PG_ADMIN_DSN.rsplit('/', 1)[0]}/{name}"}
    finally:
        asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([str(BIN), *args], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def _servers(stack: ExitStack, env: dict[str, str], log_dir: Path, count: int = 2) -> list[str]:
    bases = []
    for i in range(count):
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        stack.enter_context(
            running(
                [str(BIN), "serve", "--no-ui", "--port", str(port)],
                ready_url=f"{base}/health",
                log_path=log_dir / f"server-{i}.log",
                env=env,
            )
        )
        bases.append(base)
    return bases


def test_two_server_processes_share_one_limit(tmp_path: Path, database: dict[str, str]) -> None:
    prefix = f"test-{uuid.uuid4().hex[:12]}"  # Redis is shared with other suites: own keys only
    env = desk_env(
        tmp_path / "data",
        SUPPORT_REDIS_URL=REDIS,
        SUPPORT_RATE_LIMIT_PREFIX=prefix,
        SUPPORT_RATE_LIMIT_HTTP="4/minute",
        **database,
    )
    token = _cli(env, "token", "create", "admin")
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    with ExitStack() as stack:
        bases = _servers(stack, env, tmp_path)
        codes = []
        for i in range(6):
            response = httpx.get(f"{bases[i % 2]}/.well-known/oauth-protected-resource", headers=headers, timeout=10)
            codes.append(response.status_code)
        assert codes == [200, 200, 200, 200, 429, 429], codes
        other = httpx.get(f"{bases[0]}/.well-known/oauth-protected-resource", timeout=10)
        assert other.status_code == 200  # another identity (no token: the client address) is not limited


def _whoami(http: httpx.Client, base: str, token: str) -> httpx.Response:
    """initialize, then whoami in that session: two requests that each check the token."""
    headers = {"Authorization": f"Bearer {token}", "Accept": ACCEPT, "MCP-Protocol-Version": "2025-06-18"}
    init = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "test", "version": "1"}}
    opened = http.post(
        f"{base}/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": init}, headers=headers
    )
    if opened.status_code != 200:
        return opened
    headers["Mcp-Session-Id"] = opened.headers["mcp-session-id"]
    call = {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "whoami", "arguments": {}}}
    return http.post(f"{base}/mcp", json=call, headers=headers)


@pytest.mark.parametrize("shared", ["redis", "database file"])
def test_a_revocation_by_another_process_applies_on_the_next_request_everywhere(
    tmp_path: Path, database: dict[str, str], shared: str
) -> None:
    if shared == "database file" and database:
        pytest.skip("without Redis, only SQLite caches credentials (PostgreSQL reads the token on every request)")
    extra = {"SUPPORT_REDIS_URL": REDIS} if shared == "redis" else {}
    env = desk_env(tmp_path / "data", SUPPORT_RATE_LIMIT_PREFIX=f"test-{uuid.uuid4().hex[:12]}", **extra, **database)
    token = _cli(env, "token", "create", "admin", "--name", "laptop")
    token_id = _cli(env, "token", "list").split()[0]
    with ExitStack() as stack, httpx.Client(timeout=30) as http:
        bases = _servers(stack, env, tmp_path)
        for _ in range(2):  # each server checks the token once, then answers from its cache
            for base in bases:
                answered = _whoami(http, base, token)
                assert answered.status_code == 200 and '"username":"admin"' in answered.text, answered.text
        _cli(env, "token", "revoke", token_id)
        for base in bases:
            refused = _whoami(http, base, token)
            assert refused.status_code == 401 and "revoked" in refused.headers["www-authenticate"], refused.text
