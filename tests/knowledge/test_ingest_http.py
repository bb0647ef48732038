"""Against a real ``support-agent serve``: large files through POST /uploads, and a job that survives SIGKILL."""

from __future__ import annotations

import asyncio
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from sqlalchemy import func, select

from store.config import Settings
from store.models_knowledge import DocumentChunk, Upload
from store.vectors import VectorIndex
from tests.knowledge.test_pipeline import MARKDOWN, chunk_ordinals
from tests.servers import BIN, desk_env, free_port, running
from tools.desk import Desk

pytestmark = pytest.mark.slow

SHARED = Path(__file__).resolve().parents[3] / "shared" / "eval" / "sec-10q" / "docs"
PDF = SHARED / "2022 Q3 AAPL.pdf"
WAIT_S = 300.0
MAX_MB = 12


@dataclass
class Served:
    base: str
    token: str
    env: dict[str, str]
    data_dir: Path
    log: Path


@contextmanager
def serve(served: Served, tag: str) -> Iterator[subprocess.Popen[bytes]]:
    args = [str(BIN), "serve", "--no-ui", "--port", served.base.rsplit(":", 1)[1]]
    with running(
        args, ready_url=f"{served.base}/health", log_path=served.log.with_suffix(f".{tag}.log"), env=served.env
    ) as proc:
        yield proc


@pytest.fixture
def served(settings: Settings, desk: Desk, tmp_path: Path) -> Served:
    """A server on the suite's database (SQLite or PostgreSQL) with its own data dir, and an admin token."""
    data_dir = tmp_path / "served"
    env = desk_env(data_dir, DATABASE_URL=settings.resolved_database_url, SUPPORT_MAX_UPLOAD_MB=str(MAX_MB))
    made = subprocess.run(
        [str(BIN), "token", "create", "admin"], env=env, capture_output=True, text=True, timeout=120, check=True
    )
    return Served(f"http://127.0.0.1:{free_port()}", made.stdout.strip(), env, data_dir, tmp_path / "serve")


def mcp_client(served: Served) -> Client:
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {served.token}"}, timeout=120)
    return Client(streamable_http_client(f"{served.base}/mcp", http_client=http), read_timeout_seconds=120)


async def tool(c: Client, name: str, args: dict[str, Any]) -> dict[str, Any]:
    result = await c.call_tool(name, args)
    assert not result.is_error, result.content[0].text  # type: ignore[union-attr]
    assert result.structured_content is not None
    return result.structured_content


async def wait_for_document(served: Served, doc_id: int, done: Any) -> dict[str, Any]:
    async with mcp_client(served) as c, asyncio.timeout(WAIT_S):
        while True:
            got = await tool(c, "document_get", {"document_id": doc_id, "chunk_limit": 0})
            if done(got):
                break
            await asyncio.sleep(0.2)  # the state is in the server's database; polled under the timeout
    return got


def big_markdown(size: int) -> bytes:
    """A real Markdown file of about ``size`` bytes: the guide, then a long appendix of log lines."""
    line = b"    2026-11-30T10:00:00Z vpn-gw01 keepalive ok 0x0000 " + b"." * 60 + b"\n"
    return MARKDOWN + b"\n## Appendix: gateway log\n\n" + line * (size // len(line))


async def test_a_10_mb_file_goes_in_through_uploads_and_an_oversized_one_is_cut_off(served: Served, desk: Desk) -> None:
    data = big_markdown(10 * 1024 * 1024)
    assert len(data) > 10_000_000
    with serve(served, "upload"):
        async with httpx.AsyncClient(base_url=served.base, timeout=120) as http:
            auth = {"Authorization": f"Bearer {served.token}"}
            refused = await http.post("/uploads", params={"filename": "x.md"}, content=b"hi")
            assert refused.status_code == 401 and "resource_metadata" in refused.headers["www-authenticate"]
            unnamed = await http.post("/uploads", content=b"hi", headers=auth)
            assert unnamed.status_code == 400 and "filename is required" in unnamed.json()["error"]

            async def chunks(n: int) -> Any:
                part = b"x" * (1024 * 1024)
                for _ in range(n):
                    yield part

            # Streamed without a Content-Length: the limit holds while the body is read.
            too_big = await http.post(
                "/uploads", params={"filename": "huge.txt"}, content=chunks(MAX_MB + 2), headers=auth
            )
            assert too_big.status_code == 413 and f"{MAX_MB} MB upload limit" in too_big.text

            up = await http.post("/uploads", params={"filename": "vpn-logs.md"}, content=data, headers=auth)
            assert up.status_code == 201, up.text
            upload = up.json()
            assert upload["size_bytes"] == len(data) and upload["filename"] == "vpn-logs.md"
        async with mcp_client(served) as c:
            started = await tool(c, "document_ingest", {"upload_id": upload["upload_id"]})
            assert started["document"]["status"] == "processing" and started["job_id"]
            missing = await c.call_tool("document_ingest", {"upload_id": "nope"})
            assert missing.is_error and "POST /uploads" in missing.content[0].text  # type: ignore[union-attr]
            # Its bytes are in; tens of thousands of log-line chunks are not worth waiting for: cancel the job.
            await wait_for_document(served, started["document"]["id"], lambda d: d["progress"]["stage"] != "queued")
            stopped = await tool(c, "document_ingest_cancel", {"document_id": started["document"]["id"]})
        done = await wait_for_document(served, started["document"]["id"], lambda d: d["status"] != "processing")
        assert (done["status"], done["error"]) == ("failed", "cancelled"), stopped
        assert (done["size_bytes"], done["filename"], done["chunk_count"]) == (len(data), "vpn-logs.md", 0)
    # Nothing of the refused upload was kept: one upload row, no half-written file.
    async with desk.sessions() as session:
        assert (await session.execute(select(func.count()).select_from(Upload))).scalar_one() == 1
    assert list((served.data_dir / "blobs" / ".incoming").iterdir()) == []


@pytest.mark.skipif(not PDF.exists(), reason="the 10-Q set is not on this machine")
async def test_a_server_killed_mid_ingest_resumes_the_job_and_ends_with_exactly_its_chunks(
    served: Served, desk: Desk
) -> None:
    with serve(served, "first") as proc:
        async with httpx.AsyncClient(base_url=served.base, timeout=120) as http:
            up = await http.post(
                "/uploads",
                params={"filename": PDF.name},
                content=PDF.read_bytes(),
                headers={"Authorization": f"Bearer {served.token}"},
            )
            assert up.status_code == 201, up.text
        async with mcp_client(served) as c:
            started = await tool(c, "document_ingest", {"upload_id": up.json()["upload_id"]})
        doc_id = started["document"]["id"]
        # Killed while embedding: some batches done, none committed.
        mid = await wait_for_document(
            served,
            doc_id,
            lambda d: d["progress"] is not None and d["progress"]["stage"] == "embedding" and d["progress"]["done"],
        )
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert mid["status"] == "processing" and mid["progress"]["done"] < mid["progress"]["total"]
    async with desk.sessions() as session:
        assert (await session.execute(select(func.count()).select_from(DocumentChunk))).scalar_one() == 0

    with serve(served, "second"):
        done = await wait_for_document(served, doc_id, lambda d: d["status"] != "processing")
        assert (done["status"], done["error"]) == ("ready", None)
        async with mcp_client(served) as c:
            hits = await tool(c, "knowledge_search", {"query": "iPhone net sales", "sources": ["documents"], "k": 3})
        assert hits["hits"], "the resumed document is searchable"
    ordinals = await chunk_ordinals(desk, doc_id)
    assert ordinals == list(range(done["chunk_count"])) == list(range(mid["progress"]["total"]))
    # The vector index holds each chunk once: the re-run wrote the same ids after removing the first attempt's.
    vectors = VectorIndex(Settings(data_dir=served.data_dir, _env_file=None))  # type: ignore[call-arg]
    assert sum([await vectors.count(n) for n in await vectors.list_names()]) == done["chunk_count"]
