"""Ingestion left behind by a killed process: found at start-up and queued again, or retried at once."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from store.config import Settings
from tests.knowledge.test_pipeline import MARKDOWN
from tools.actor import Actor
from tools.desk import Desk
from tools.errors import ConflictError
from tools.ingest_runner import ingest_worker, recover_interrupted
from tools.knowledge import document_ingest
from tools.knowledge_query import document_get, document_list
from tools.knowledge_service import Knowledge
from tools.workers import this_worker

KILL_WAIT_S = 120
"""Bound on the helper process reaching the point where it is killed (it imports the whole desk first)."""


def _ingest_then_die(settings: Settings, file: Path, tmp_path: Path) -> None:
    """Run tests/knowledge/stalled_ingest.py on ``file`` and SIGKILL it once the document is processing."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SUPPORT_", "DATABASE_URL"))}
    # Its own data dir (blobs, vectors); the same database as the test.
    env.update(SUPPORT_DATA_DIR=str(tmp_path / "worker-data"), DATABASE_URL=settings.resolved_database_url)
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.knowledge.stalled_ingest", str(file)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # bounded by the kill in `finally` below if the helper hangs elsewhere
        assert line.strip() == "PARSED", (
            f"helper did not reach the ingestion: {line!r} {proc.stderr.read() if proc.stderr else ''}"
        )
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=KILL_WAIT_S)


@pytest.mark.slow
async def test_a_killed_ingestion_is_resumed_at_start_up_and_ends_ready(
    desk: Desk, admin: Actor, knowledge: Knowledge, settings: Settings, tmp_path: Path
) -> None:
    file = tmp_path / "vpn.md"
    file.write_bytes(MARKDOWN)
    _ingest_then_die(settings, file, tmp_path)
    [stuck] = (await document_list(desk, admin)).items
    assert stuck.status == "processing"
    # Server processes share one data directory (blobs); the helper had its own only so that two embedded
    # Chroma clients never open the same directory.
    shutil.copytree(tmp_path / "worker-data" / "blobs", settings.data_dir / "blobs", dirs_exist_ok=True)

    # Start-up (a restart) finds the work no live process owns and queues it again; a worker finishes it.
    assert await recover_interrupted(desk) == [stuck.id]
    async with ingest_worker(desk):
        async with asyncio.timeout(KILL_WAIT_S):
            while (detail := await document_get(desk, admin, stuck.id)).status == "processing":  # noqa: ASYNC110
                await asyncio.sleep(0.05)  # the state is in the database, not an in-process event
    assert (detail.status, detail.error, detail.chunk_count) == ("ready", None, len(detail.chunks))


@pytest.mark.slow
async def test_same_bytes_retry_at_once_when_the_owner_is_dead_even_before_a_restart(
    desk: Desk, admin: Actor, knowledge: Knowledge, settings: Settings, tmp_path: Path
) -> None:
    file = tmp_path / "vpn.md"
    file.write_bytes(MARKDOWN)
    _ingest_then_die(settings, file, tmp_path)
    result = await document_ingest(desk, admin, data=MARKDOWN, filename="vpn.md")
    assert result.document.status == "ready" and result.document.chunk_count > 0


async def test_work_of_a_live_process_is_left_alone(desk: Desk, admin: Actor, knowledge: Knowledge) -> None:
    from sqlalchemy import select

    from store.models_knowledge import Document

    # This very process is "ingesting" it: neither start-up recovery nor a second upload may take it over.
    first = await document_ingest(desk, admin, data=MARKDOWN, filename="vpn.md")
    async with desk.sessions.begin() as session:
        doc = (await session.execute(select(Document).where(Document.id == first.document.id))).scalar_one()
        doc.status, doc.worker, doc.heartbeat_at = "processing", this_worker(), desk.clock()
    assert await recover_interrupted(desk) == []
    with pytest.raises(ConflictError, match="being ingested right now"):
        await document_ingest(desk, admin, data=MARKDOWN, filename="vpn.md")
    assert (await document_get(desk, admin, first.document.id)).status == "processing"
