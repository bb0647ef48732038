"""Scale-out end to end: two ``support-agent serve`` processes (one of them ``--workers 2``) on one PostgreSQL,
one Chroma server and one Redis, reached by real MCP clients over stateless streamable HTTP."""

from __future__ import annotations

import asyncio
import base64
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import asyncpg
import httpx2
import pytest
import pytest_asyncio
import redis
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.conftest import BACKENDS, PG_ADMIN_DSN
from tests.servers import BIN, desk_env, free_port, running

CHROMA = Path(sys.executable).parent / "chroma"
REDIS_URL = os.environ.get("SUPPORT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
INGEST_LIMIT = 3
"""document_ingest calls per minute and identity, counted across both servers."""

pytestmark = pytest.mark.skipif("postgresql" not in BACKENDS, reason="scale-out needs PostgreSQL")


@pytest_asyncio.fixture
async def database() -> AsyncIterator[str]:
    name = f"scaleout_{uuid.uuid4().hex[:10]}"
    try:
        admin = await asyncpg.connect(PG_ADMIN_DSN)
    except OSError as exc:
        pytest.skip(f"PostgreSQL is not reachable at {PG_ADMIN_DSN}: {exc}")
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    yield f"{PG_ADMIN_DSN.rsplit('/', 1)[0]}/{name}"
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.close()


@pytest.fixture
def topology(database: str, tmp_path: Path) -> Iterator[tuple[str, str, str]]:
    """A Chroma server and two desk servers (A: one process, B: two workers); their URLs and an admin token."""
    if not CHROMA.exists():
        pytest.skip(f"{CHROMA} is not installed")
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis is not reachable at {REDIS_URL}: {exc}")
    chroma = f"http://127.0.0.1:{free_port()}"
    env = desk_env(
        tmp_path / "data",
        SUPPORT_DATABASE_URL=database,
        SUPPORT_CHROMA_URL=chroma,
        SUPPORT_REDIS_URL=REDIS_URL,
        SUPPORT_RATE_LIMIT_PREFIX=f"scaleout-{uuid.uuid4().hex}",
        SUPPORT_RATE_LIMIT_INGEST=f"{INGEST_LIMIT}/minute",
    )
    with ExitStack() as stack:
        chroma_args = [str(CHROMA), "run", "--path", str(tmp_path / "chroma"), "--host", "127.0.0.1"]
        chroma_args += ["--port", chroma.rsplit(":", 1)[1]]
        stack.enter_context(
            running(chroma_args, ready_url=f"{chroma}/api/v2/heartbeat", log_path=tmp_path / "chroma.log")
        )
        made = subprocess.run(
            [str(BIN), "token", "create", "admin"], env=env, capture_output=True, text=True, timeout=120, check=True
        )
        urls = []
        for name, extra in (("a", {"SUPPORT_HTTP_STATELESS": "true"}), ("b", {})):
            port = free_port()
            args = [str(BIN), "serve", "--no-ui", "--port", str(port)]
            if name == "b":
                args += ["--workers", "2"]
            url = f"http://127.0.0.1:{port}"
            stack.enter_context(
                running(
                    args,
                    ready_url=f"{url}/health",
                    log_path=tmp_path / f"serve-{name}.log",
                    env={**env, **extra},
                    timeout=240,  # a start imports the SDK, Chroma and the model runtime; slow on busy cores
                )
            )
            urls.append(url)
        yield urls[0], urls[1], made.stdout.strip()


def _client(base: str, token: str) -> Client:
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=60)
    return Client(streamable_http_client(f"{base}/mcp", http_client=http), read_timeout_seconds=60)


async def _ok(client: Client, name: str, args: dict[str, Any]) -> dict[str, Any]:
    result = await client.call_tool(name, args)
    assert not result.is_error, f"{name}: {result.content[0].text}"  # type: ignore[union-attr]
    assert result.structured_content is not None
    return result.structured_content


async def _error(client: Client, name: str, args: dict[str, Any]) -> str:
    result = await client.call_tool(name, args)
    assert result.is_error, f"{name} should have failed: {result.structured_content}"
    return str(result.content[0].text)  # type: ignore[union-attr]


async def test_two_servers_share_tickets_knowledge_and_limits(topology: tuple[str, str, str]) -> None:
    url_a, url_b, token = topology
    async with _client(url_a, token) as a, _client(url_b, token) as b:
        # A ticket made through A is read, changed and found through B; A's stale write then conflicts.
        made = await _ok(
            a, "ticket_create", {"subject": "Plotter zanzibar jams", "description": "The zanzibar plotter jams."}
        )
        number, version = made["number"], made["version"]
        seen = (await _ok(b, "ticket_get", {"ticket": number}))["ticket"]
        assert seen["subject"] == "Plotter zanzibar jams" and seen["version"] == version
        changed = await _ok(b, "ticket_update", {"ticket": number, "version": version, "priority": "high"})
        assert changed["version"] == version + 1
        conflict = await _error(a, "ticket_update", {"ticket": number, "version": version, "priority": "low"})
        assert "version" in conflict.lower()
        assert (await _ok(a, "ticket_get", {"ticket": number}))["ticket"]["priority"] == "high"
        listed = await _ok(b, "ticket_list", {"text": "zanzibar"})
        assert [t["number"] for t in listed["items"]] == [number]

        # A document ingested through A is searchable through B (one Chroma server, one database).
        text = b"# Badge printer\n\nThe quokka badge printer needs the blue ribbon cartridge after 500 badges.\n"
        ingested = await _ok(
            a,
            "document_ingest",
            {"content_base64": base64.b64encode(text).decode(), "filename": "badge-printer.md"},
        )
        doc_id = ingested["document"]["id"]
        deadline = time.monotonic() + 30
        while (await _ok(b, "document_get", {"document_id": doc_id}))["status"] != "ready":
            assert time.monotonic() < deadline, "the document did not become ready within 30 s"
            await asyncio.sleep(0.5)  # polling under the deadline above
        found = await _ok(b, "knowledge_search", {"query": "which cartridge does the quokka printer need", "k": 3})
        assert found["hits"] and found["hits"][0]["document_id"] == doc_id, found

        # The ingest limit is counted in Redis: calls spent on A leave B only the remainder.
        for _ in range(INGEST_LIMIT - 1):
            assert "exactly one of" in await _error(a, "document_ingest", {})
        refused = await _error(b, "document_ingest", {})
        assert "rate limit" in refused, refused
