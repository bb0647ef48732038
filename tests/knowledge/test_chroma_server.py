"""Ingest and search against a real Chroma server (``chroma run``), selected by CHROMA_URL."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from store.vectors import VectorIndex
from tests.knowledge.conftest import FakeEmbedder, drop_all
from tests.knowledge.test_pipeline import MARKDOWN
from tests.servers import free_port, running
from tools.actor import Actor
from tools.desk import Desk
from tools.knowledge import document_delete, document_ingest
from tools.search import knowledge_search

CHROMA = Path(sys.executable).parent / "chroma"


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not CHROMA.exists():
        pytest.skip(f"{CHROMA} is not installed")
    port = free_port()
    path = tmp_path_factory.mktemp("chroma-server")
    url = f"http://127.0.0.1:{port}"
    args = [str(CHROMA), "run", "--path", str(path), "--port", str(port), "--host", "127.0.0.1"]
    with running(args, ready_url=f"{url}/api/v2/heartbeat", log_path=path.parent / "chroma.log"):
        yield url


async def test_ingest_and_search_on_a_chroma_server(desk: Desk, admin: Actor, chroma_url: str) -> None:
    original, previous = desk.settings, desk.knowledge
    desk.settings = original.model_copy(update={"chroma_url": chroma_url})
    kn = desk.open_knowledge(embedder=FakeEmbedder())
    try:
        assert isinstance(kn.vectors, VectorIndex) and kn.vectors.location == chroma_url
        assert await asyncio.to_thread(kn.vectors.heartbeat_sync) > 0
        doc = (await document_ingest(desk, admin, data=MARKDOWN, filename="vpn.md")).document
        assert sum([await kn.vectors.count(n) for n in await kn.vectors.list_names()]) == doc.chunk_count
        hits = (await knowledge_search(desk, admin, "hotel hotspot gateway", sources=("documents",))).hits
        assert hits[0].document_id == doc.id and "Troubleshooting" in hits[0].citation
        dense = (await knowledge_search(desk, admin, "hotel hotspot gateway", method="dense")).hits
        assert dense and dense[0].document_id == doc.id
        await document_delete(desk, admin, doc.id)
        assert sum([await kn.vectors.count(n) for n in await kn.vectors.list_names()]) == 0
    finally:
        await drop_all(kn.vectors)
        desk.settings, desk.knowledge = original, previous
