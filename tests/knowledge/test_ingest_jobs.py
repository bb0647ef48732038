"""Ingestion as background work: queued jobs, progress on the document, cancel, bounded workers, resume."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import pytest_asyncio
from sqlalchemy import func, select

from store.models_knowledge import Document, DocumentChunk
from tests.knowledge.conftest import FakeEmbedder, attach, drop_all
from tests.knowledge.test_pipeline import MARKDOWN, chunk_count, docx_bytes, vector_count
from tests.mcp_helpers import call, client
from tools.actor import Actor
from tools.desk import Desk
from tools.errors import InvalidInputError
from tools.ingest_pipeline import CANCELLED
from tools.ingest_runner import ingest_worker, recover_interrupted
from tools.knowledge import document_ingest, document_ingest_cancel
from tools.knowledge_models import DocumentDetail
from tools.knowledge_query import document_get
from tools.knowledge_service import Knowledge

WAIT_S = 15.0


class GatedEmbedder(FakeEmbedder):
    """The fake embedder, held at its first batch until the test opens the gate (a long embedding)."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.entered = threading.Event()

    def embed(self, texts: list[str]) -> list[list[float]]:
        self.entered.set()
        assert self.gate.wait(WAIT_S), "the test never opened the gate"
        return super().embed(texts)


@pytest_asyncio.fixture(loop_scope="session")
async def gated(desk: Desk) -> AsyncIterator[tuple[Knowledge, GatedEmbedder]]:
    previous = desk.knowledge
    embedder = GatedEmbedder()
    kn = await attach(desk, embedder)
    try:
        yield kn, embedder
    finally:
        embedder.gate.set()
        await drop_all(kn.vectors)
        desk.knowledge = previous


async def until(what: str, check: Callable[[], Awaitable[bool]]) -> None:
    """Wait (bounded) until ``check`` holds: the worker runs in the background."""
    async with asyncio.timeout(WAIT_S):
        while not await check():  # noqa: ASYNC110 - the state is in the database, not an in-process event
            await asyncio.sleep(0.05)
    assert await check(), what


async def detail(desk: Desk, admin: Actor, doc_id: int) -> DocumentDetail:
    return await document_get(desk, admin, doc_id, chunk_limit=0)


async def status_is(desk: Desk, admin: Actor, doc_id: int, status: str) -> bool:
    return (await detail(desk, admin, doc_id)).status == status


async def test_without_wait_the_call_returns_at_once_and_a_worker_finishes_the_job(
    desk: Desk, admin: Actor, gated: tuple[Knowledge, GatedEmbedder]
) -> None:
    kn, embedder = gated
    result = await document_ingest(desk, admin, data=MARKDOWN, filename="vpn.md", wait=False)
    doc = result.document
    assert (doc.status, result.waited, doc.indexed) == ("processing", False, False)
    assert result.job_id and doc.job_id == result.job_id
    assert doc.progress is not None and doc.progress.stage == "queued"

    async with ingest_worker(desk):
        await asyncio.to_thread(embedder.entered.wait, WAIT_S)
        # Held in its first embedding batch: document_get shows how far it has come.
        mid = await detail(desk, admin, doc.id)
        assert mid.status == "processing" and mid.progress is not None
        assert (mid.progress.stage, mid.progress.done) == ("embedding", 0)
        assert mid.progress.total > 0 and "chunks" in mid.progress.message
        embedder.gate.set()
        await until("the job finishes", lambda: status_is(desk, admin, doc.id, "ready"))
    done = await detail(desk, admin, doc.id)
    assert done.progress is None and done.error is None and done.chunk_count == mid.progress.total
    assert await chunk_count(desk) == done.chunk_count == await vector_count(kn)


async def test_cancelling_a_running_job_leaves_it_failed_as_cancelled_with_nothing_indexed(
    desk: Desk, admin: Actor, gated: tuple[Knowledge, GatedEmbedder]
) -> None:
    kn, embedder = gated
    queued = await document_ingest(desk, admin, data=MARKDOWN, filename="vpn.md", wait=False)
    async with ingest_worker(desk):
        await asyncio.to_thread(embedder.entered.wait, WAIT_S)
        cancelled = await document_ingest_cancel(desk, admin, queued.document.id)
        embedder.gate.set()
    assert (cancelled.status, cancelled.error) == ("failed", CANCELLED)
    assert await chunk_count(desk) == 0 and await vector_count(kn) == 0
    with pytest.raises(InvalidInputError, match="only a processing document can be cancelled"):
        await document_ingest_cancel(desk, admin, queued.document.id)
    # The same bytes can go in again.
    again = await document_ingest(desk, admin, data=MARKDOWN, filename="vpn.md")
    assert again.document.id == queued.document.id and again.document.status == "ready"


async def test_cancelling_a_queued_job_fails_it_at_once(desk: Desk, admin: Actor, knowledge: Knowledge) -> None:
    queued = await document_ingest(desk, admin, data=MARKDOWN, filename="vpn.md", wait=False)
    cancelled = await document_ingest_cancel(desk, admin, queued.document.id)
    assert (cancelled.status, cancelled.error, cancelled.chunk_count) == ("failed", "cancelled", 0)


async def test_a_job_run_elsewhere_stops_at_its_next_step_once_cancel_is_asked(
    desk: Desk, admin: Actor, knowledge: Knowledge
) -> None:
    from sqlalchemy import update

    from tools.ingest_jobs import IngestCancelled, write_progress

    queued = await document_ingest(desk, admin, data=MARKDOWN, filename="vpn.md", wait=False)
    async with desk.sessions.begin() as session:
        await session.execute(update(Document).values(cancel_requested=True))
    with pytest.raises(IngestCancelled, match="cancelled"):
        await write_progress(desk, queued.document.id, {"stage": "embedding", "done": 0, "total": 1, "message": ""})


async def test_one_worker_runs_one_job_at_a_time_and_the_next_waits_queued(
    desk: Desk, admin: Actor, gated: tuple[Knowledge, GatedEmbedder]
) -> None:
    assert desk.settings.ingest_workers == 1
    _, embedder = gated
    first = await document_ingest(desk, admin, data=MARKDOWN, filename="vpn.md", wait=False)
    second = await document_ingest(desk, admin, data=docx_bytes(), filename="printers.docx", wait=False)
    async with ingest_worker(desk):
        await asyncio.to_thread(embedder.entered.wait, WAIT_S)
        stages = sorted(
            [(await detail(desk, admin, d.document.id)).progress.stage for d in (first, second)]  # type: ignore[union-attr]
        )
        assert stages == ["embedding", "queued"]
        embedder.gate.set()
        for d in (first, second):
            await until("both jobs finish", lambda d=d: status_is(desk, admin, d.document.id, "ready"))


async def test_a_job_whose_process_died_is_queued_again_at_start_up_and_ends_with_exactly_its_chunks(
    desk: Desk, admin: Actor, knowledge: Knowledge
) -> None:
    done = await document_ingest(desk, admin, data=MARKDOWN, filename="vpn.md")
    expected = done.document.chunk_count
    # As a server SIGKILLed mid-ingest leaves it: processing, owned by a process that no longer exists,
    # and with vectors of the interrupted attempt already written (chunks commit only with "ready").
    async with desk.sessions.begin() as session:
        doc = await session.get(Document, done.document.id)
        assert doc is not None
        doc.status, doc.chunk_count, doc.worker = "processing", 0, f"{socket.gethostname()}:999999999:1"
        await session.execute(DocumentChunk.__table__.delete())
    assert await vector_count(knowledge) == expected

    assert await recover_interrupted(desk) == [done.document.id]
    requeued = await detail(desk, admin, done.document.id)
    assert requeued.status == "processing" and requeued.progress is not None
    assert requeued.progress.stage == "queued" and "resuming" in requeued.progress.message
    async with ingest_worker(desk):
        await until("the resumed job finishes", lambda: status_is(desk, admin, done.document.id, "ready"))
    assert (await detail(desk, admin, done.document.id)).chunk_count == expected
    async with desk.sessions() as session:
        ordinals = list(
            (await session.execute(select(DocumentChunk.ordinal).order_by(DocumentChunk.ordinal))).scalars()
        )
        documents = (await session.execute(select(func.count()).select_from(Document))).scalar_one()
    assert ordinals == list(range(expected)) and documents == 1
    assert await vector_count(knowledge) == expected


async def test_a_server_stopping_mid_job_puts_the_job_back_in_the_queue(
    desk: Desk, admin: Actor, gated: tuple[Knowledge, GatedEmbedder]
) -> None:
    _, embedder = gated
    queued = await document_ingest(desk, admin, data=MARKDOWN, filename="vpn.md", wait=False)
    async with ingest_worker(desk):
        await asyncio.to_thread(embedder.entered.wait, WAIT_S)
    # Stopped (a graceful shutdown): not failed, waiting for the next worker.
    stopped = await detail(desk, admin, queued.document.id)
    assert stopped.status == "processing" and stopped.progress is not None and stopped.progress.stage == "queued"
    embedder.gate.set()
    async with ingest_worker(desk):
        await until("the next worker finishes it", lambda: status_is(desk, admin, queued.document.id, "ready"))


async def test_over_mcp_ingest_returns_a_job_and_document_get_follows_it(
    desk: Desk, admin: Actor, knowledge: Knowledge
) -> None:
    import base64

    async with client(desk) as c:
        started = await call(
            c, "document_ingest", {"content_base64": base64.b64encode(MARKDOWN).decode(), "filename": "vpn.md"}
        )
        doc_id = started["document"]["id"]
        assert started["document"]["status"] == "processing" and started["job_id"] and started["waited"] is False
        async with ingest_worker(desk):

            async def ready() -> bool:
                return (await call(c, "document_get", {"document_id": doc_id}))["status"] == "ready"

            await until("the job finishes", ready)
        got = await call(c, "document_get", {"document_id": doc_id})
        assert got["chunk_count"] > 0 and got["progress"] is None and got["job_id"] == started["job_id"]
