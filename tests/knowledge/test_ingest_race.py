"""Two server processes race for one queued ingestion job: exactly one runs it, and its chunks are not doubled."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from store.config import Settings
from store.models import AuditEvent
from store.models_knowledge import Document
from tests.knowledge.test_pipeline import MARKDOWN, chunk_ordinals
from tests.servers import desk_env
from tools.actor import Actor
from tools.desk import Desk
from tools.knowledge import document_ingest
from tools.knowledge_service import Knowledge

pytestmark = pytest.mark.slow

START_S = 120
"""Bound on each helper opening its desk (it imports the whole desk first)."""


def _start(settings: Settings, data_dir: Path) -> subprocess.Popen[str]:
    env = desk_env(data_dir, DATABASE_URL=settings.resolved_database_url)
    return subprocess.Popen(
        [sys.executable, "-m", "tests.knowledge.race_worker"],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


async def test_two_processes_racing_for_one_job_run_it_once(
    desk: Desk, admin: Actor, knowledge: Knowledge, settings: Settings, tmp_path: Path
) -> None:
    queued = await document_ingest(desk, admin, data=MARKDOWN, filename="vpn.md", wait=False)
    doc_id = queued.document.id
    assert queued.document.status == "processing" and queued.job_id
    # Each process has its own data directory (two embedded Chroma clients must not share one) holding the
    # stored bytes, as server processes sharing a blob store would.
    procs = []
    for name in ("one", "two"):
        shutil.copytree(settings.data_dir / "blobs", tmp_path / name / "blobs")
        procs.append(_start(settings, tmp_path / name))
    try:
        for proc in procs:
            assert proc.stdout is not None and proc.stdin is not None
            line = proc.stdout.readline()  # bounded by the kill in `finally` if a helper hangs
            assert line.strip() == "WAITING", f"{line!r} {proc.stderr.read() if proc.stderr else ''}"
        for proc in procs:  # both at once
            assert proc.stdin is not None
            proc.stdin.write("GO\n")
            proc.stdin.flush()
        outputs = [proc.communicate(timeout=START_S) for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)
    said = sorted(out.split()[0] for out, _ in outputs)
    assert said == ["CLAIMED", "NONE"], outputs
    winner = next(out for out, _ in outputs if out.startswith("CLAIMED"))
    assert f"CLAIMED {doc_id}" in winner and "READY" in winner, outputs

    async with desk.sessions() as session:
        doc = await session.get(Document, doc_id)
        assert doc is not None and (doc.status, doc.error, doc.worker) == ("ready", None, None)
        ingested = (
            await session.execute(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "document.ingest", AuditEvent.target_id == str(doc_id))
            )
        ).scalar_one()
    assert await chunk_ordinals(desk, doc_id) == list(range(doc.chunk_count)) and doc.chunk_count > 0
    assert f"READY {doc.chunk_count}" in winner
    assert ingested == 1, "one process indexed the document, once"
