"""Ingestion end to end: types, duplicates, versions, failures, delete, reindex."""

from __future__ import annotations

import asyncio
import hashlib
import io
from pathlib import Path

import pytest
from sqlalchemy import func, select

from store.models_knowledge import Document, DocumentChunk
from tests.conftest import MakeUser
from tests.knowledge.conftest import FakeEmbedder, attach
from tools.actor import Actor
from tools.desk import Desk
from tools.errors import ForbiddenError, InvalidInputError
from tools.ingest.base import ExtractionError
from tools.knowledge import document_delete, document_ingest, document_reindex
from tools.knowledge_query import document_get, document_list
from tools.knowledge_service import EmbedderMismatchError, Knowledge
from tools.search import knowledge_search
from tools.users import ensure_actor

MARKDOWN = b"""# VPN guide

## Connecting

Open GlobalProtect and enter the portal vpn.example.com, then sign in with your badge.

## Troubleshooting

If the gateway does not respond, switch to a phone hotspot; hotel networks block the ports.
"""


def docx_bytes() -> bytes:
    import docx

    d = docx.Document()
    d.add_heading("Printer setup", level=1)
    d.add_paragraph("Install the Contoso PrintHub driver before adding the floor printer.")
    table = d.add_table(rows=3, cols=2)
    for r, (a, b) in enumerate([("Floor", "Printer"), ("3", "HP-LJ-301"), ("4", "HP-LJ-401")]):
        table.cell(r, 0).text, table.cell(r, 1).text = a, b
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def xlsx_bytes() -> bytes:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Licences"
    ws.append(["Product", "Seats", "Owner"])
    ws.append(["Zoomify Pro", 40, "IT"])
    ws.append(["Sketchpad", 5, "Design"])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


async def chunk_count(desk: Desk) -> int:
    async with desk.sessions() as s:
        return int((await s.execute(select(func.count()).select_from(DocumentChunk))).scalar_one())


async def chunk_ordinals(desk: Desk, document_id: int) -> list[int]:
    """The ordinals of a document's stored chunks, in order (each once, if nothing was doubled)."""
    async with desk.sessions() as s:
        stmt = select(DocumentChunk.ordinal).where(DocumentChunk.document_id == document_id)
        return list((await s.execute(stmt.order_by(DocumentChunk.ordinal))).scalars())


async def vector_count(kn: Knowledge) -> int:
    return sum([await kn.vectors.count(n) for n in await kn.vectors.list_names()])


async def test_ingests_text_markdown_docx_xlsx_with_citations(desk: Desk, admin: Actor, knowledge: Knowledge) -> None:
    files = {
        "notes.txt": b"The cafeteria wifi password rotates every Monday.\n\nAsk reception for the new one.",
        "vpn.md": MARKDOWN,
        "printers.docx": docx_bytes(),
        "licences.xlsx": xlsx_bytes(),
    }
    types = {}
    for name, data in files.items():
        result = await document_ingest(desk, admin, data=data, filename=name)
        assert result.document.status == "ready", result.document.error
        assert result.document.chunk_count >= 1 and not result.duplicate
        types[name] = result.document.doc_type
    assert types == {"notes.txt": "txt", "vpn.md": "markdown", "printers.docx": "docx", "licences.xlsx": "xlsx"}

    hits = (await knowledge_search(desk, admin, "hotel gateway hotspot", sources=("documents",))).hits
    assert hits[0].title == "VPN guide" or "VPN guide" in hits[0].citation
    assert "Troubleshooting" in hits[0].citation

    sheet = (await knowledge_search(desk, admin, "Zoomify Pro seats", k=3, sources=("documents",))).hits
    top = sheet[0]
    assert top.sheet == "Licences" and "Zoomify Pro" in top.text and "Product" in top.text  # header repeated
    assert "sheet 'Licences'" in top.citation

    table = (await knowledge_search(desk, admin, "HP-LJ-401", k=3, sources=("documents",))).hits
    assert "HP-LJ-401" in table[0].text

    page = await document_list(desk, admin, status="ready", limit=2)
    assert page.total == 4 and len(page.items) == 2 and page.next_cursor
    detail = await document_get(desk, admin, result.document.id)
    assert detail.chunks and detail.chunks[0].citation.startswith(detail.title)


async def test_same_bytes_return_the_existing_document(desk: Desk, admin: Actor, knowledge: Knowledge) -> None:
    first = await document_ingest(desk, admin, data=MARKDOWN, filename="vpn.md")
    again = await document_ingest(desk, admin, data=MARKDOWN, filename="copy-of-vpn.md")
    assert again.duplicate and again.document.id == first.document.id
    assert (await document_list(desk, admin)).total == 1
    assert await chunk_count(desk) == first.document.chunk_count


async def test_only_admins_ingest_delete_reindex(desk: Desk, make_user: MakeUser, knowledge: Knowledge) -> None:
    tech = await make_user("tina", "technician")
    with pytest.raises(ForbiddenError):
        await document_ingest(desk, tech, data=b"hello", filename="a.txt")
    with pytest.raises(ForbiddenError):
        await document_delete(desk, tech, 1)
    with pytest.raises(ForbiddenError):
        await document_reindex(desk, tech)


async def test_new_version_replaces_old_atomically(desk: Desk, admin: Actor, knowledge: Knowledge) -> None:
    v1 = "\n\n".join(f"Release notes section {i}: shared keyword quokka, old version alpha." for i in range(30))
    v2 = "\n\n".join(f"Release notes section {i}: shared keyword quokka, new version beta." for i in range(30))
    old = await document_ingest(desk, admin, data=v1.encode(), filename="notes.txt")

    seen: list[set[int]] = []
    stop = asyncio.Event()

    async def searcher() -> None:
        while not stop.is_set():
            hits = (await knowledge_search(desk, admin, "quokka release notes", k=10, sources=("documents",))).hits
            seen.append({h.document_id for h in hits if h.document_id is not None})
            await asyncio.sleep(0)

    task = asyncio.create_task(searcher())
    try:
        new = await document_ingest(desk, admin, data=v2.encode(), filename="notes.txt")
        # Let a few searches run after the swap too.
        for _ in range(3):
            await knowledge_search(desk, admin, "quokka", sources=("documents",))
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=60)
    assert new.replaced_document_id == old.document.id
    assert seen, "the concurrent searcher never ran"
    assert all(len(s) == 1 for s in seen), seen  # never both versions, never nothing
    assert (await document_list(desk, admin)).total == 1
    hits = (await knowledge_search(desk, admin, "quokka", k=10, sources=("documents",))).hits
    assert {h.document_id for h in hits} == {new.document.id}
    assert all("beta" in h.text for h in hits)
    assert await vector_count(knowledge) == new.document.chunk_count


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("empty.txt", b"", "empty"),
        ("program.exe", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" * 4, "unsupported"),
    ],
    ids=["empty", "executable"],
)
async def test_refused_before_parsing_leaves_nothing(
    desk: Desk, admin: Actor, knowledge: Knowledge, name: str, data: bytes, reason: str
) -> None:
    with pytest.raises(ExtractionError) as err:
        await document_ingest(desk, admin, data=data, filename=name)
    assert reason in str(err.value).lower()
    assert (await document_list(desk, admin)).total == 0
    assert not desk.blobs.exists(hashlib.sha256(data).hexdigest())
    assert await chunk_count(desk) == 0 and await vector_count(knowledge) == 0


async def test_unparseable_file_is_recorded_failed_with_nothing_partial(
    desk: Desk, admin: Actor, knowledge: Knowledge
) -> None:
    data, name = b"%PDF-1.7\n1 0 obj <</Type /Catalog>> garbage", "broken.pdf"
    with pytest.raises(ExtractionError) as err:
        await document_ingest(desk, admin, data=data, filename=name)
    assert "pdf" in str(err.value).lower()
    docs = (await document_list(desk, admin, status="failed")).items
    assert len(docs) == 1 and docs[0].error == str(err.value) and docs[0].chunk_count == 0
    assert await chunk_count(desk) == 0 and await vector_count(knowledge) == 0
    # The same bytes may be retried (e.g. after installing OCR) and fail the same way, still one row.
    with pytest.raises(ExtractionError):
        await document_ingest(desk, admin, data=data, filename=name)
    assert (await document_list(desk, admin)).total == 1


async def test_failure_after_embedding_leaves_no_vectors(
    desk: Desk, admin: Actor, knowledge: Knowledge, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken_upsert(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(knowledge.vectors, "upsert", broken_upsert)
    with pytest.raises(RuntimeError):
        await document_ingest(desk, admin, data=MARKDOWN, filename="vpn.md")
    [doc] = (await document_list(desk, admin)).items
    assert doc.status == "failed" and "disk full" in (doc.error or "")
    assert await chunk_count(desk) == 0 and await vector_count(knowledge) == 0


async def test_a_waiting_caller_that_goes_away_leaves_the_document_failed_as_cancelled(
    desk: Desk, admin: Actor, knowledge: Knowledge
) -> None:
    parsed = asyncio.Event()

    async def stalls_after_parsing(done: float, total: float, message: str) -> None:
        if message.startswith("parsed "):
            parsed.set()
            await asyncio.Event().wait()  # the client goes away here

    task = asyncio.create_task(
        document_ingest(desk, admin, data=MARKDOWN, filename="vpn.md", progress=stalls_after_parsing)
    )
    await asyncio.wait_for(parsed.wait(), timeout=60)
    # anyio's cancel scopes put task reprs (with source paths) in the message; none of it may reach the row.
    task.cancel(msg="Cancelled by cancel scope 7f00 in /venv/lib/python3.11/site-packages/anyio/_backends/_asyncio.py")
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, timeout=60)
    [doc] = (await document_list(desk, admin)).items
    assert (doc.status, doc.error) == ("failed", "cancelled")
    assert await chunk_count(desk) == 0 and await vector_count(knowledge) == 0


async def test_oversize_refused_before_parsing(desk: Desk, admin: Actor, knowledge: Knowledge) -> None:
    small = desk.settings.model_copy(update={"max_upload_mb": 0.001})
    original, desk.settings = desk.settings, small
    try:
        with pytest.raises(InvalidInputError, match=r"over the 0\.001 MB limit"):
            await document_ingest(desk, admin, data=b"x" * 5000, filename="big.txt")
    finally:
        desk.settings = original
    assert (await document_list(desk, admin)).total == 0


async def test_delete_removes_rows_chunks_and_vectors(desk: Desk, admin: Actor, knowledge: Knowledge) -> None:
    doc = (await document_ingest(desk, admin, data=MARKDOWN, filename="vpn.md")).document
    assert await vector_count(knowledge) == doc.chunk_count > 0
    await document_delete(desk, admin, doc.id)
    assert await chunk_count(desk) == 0 and await vector_count(knowledge) == 0
    assert (await document_list(desk, admin)).total == 0
    assert (await knowledge_search(desk, admin, "GlobalProtect portal", sources=("documents",))).hits == []


async def test_embedder_change_requires_reindex(desk: Desk, admin: Actor, knowledge: Knowledge) -> None:
    doc = (await document_ingest(desk, admin, data=MARKDOWN, filename="vpn.md")).document
    assert doc.embedder == "fake-bow"
    other = await attach(desk, FakeEmbedder(name="fake-other", dimension=32))
    with pytest.raises(EmbedderMismatchError, match="document_reindex"):
        await knowledge_search(desk, admin, "vpn")
    with pytest.raises(EmbedderMismatchError, match="document_reindex"):
        await document_ingest(desk, admin, data=b"more text here", filename="more.txt")
    result = await document_reindex(desk, admin)
    assert result.documents == 1 and result.chunks == doc.chunk_count and result.embedder == "fake-other"
    hits = (await knowledge_search(desk, admin, "hotel hotspot gateway", sources=("documents",))).hits
    assert hits and hits[0].document_id == doc.id
    # Only the new model's collection is left: vectors of two models never mix.
    names = await other.vectors.list_names()
    assert len(names) == 1 and "fake-other-32" in names[0]
    async with desk.sessions() as s:
        assert (await s.get(Document, doc.id)).embedder == "fake-other"  # type: ignore[union-attr]


async def test_reindex_one_document(desk: Desk, admin: Actor, knowledge: Knowledge) -> None:
    doc = (await document_ingest(desk, admin, data=MARKDOWN, filename="vpn.md")).document
    for name in await knowledge.vectors.list_names():
        await knowledge.vectors.delete(name, where={"document_id": doc.id})
    assert await vector_count(knowledge) == 0
    result = await document_reindex(desk, admin, doc.id)
    assert result.chunks == doc.chunk_count and await vector_count(knowledge) == doc.chunk_count


async def test_ingest_by_server_path(desk: Desk, admin: Actor, knowledge: Knowledge, tmp_path: object) -> None:
    from pathlib import Path

    f = Path(str(tmp_path)) / "guide.md"
    f.write_bytes(MARKDOWN)
    result = await document_ingest(desk, admin, path=str(f))
    assert result.document.filename == "guide.md" and result.document.source_key == str(f.resolve())
    with pytest.raises(InvalidInputError, match="not a readable file"):
        await document_ingest(desk, admin, path=str(f) + ".missing")


async def test_server_paths_are_confined_to_ingest_roots(desk: Desk, knowledge: Knowledge, tmp_path: Path) -> None:
    allowed = tmp_path / "kb"
    allowed.mkdir()
    (allowed / "guide.md").write_text("# Guide\n\nRestart the dock to fix the flicker.\n")
    secret = tmp_path / "secret.txt"
    secret.write_text("database password hunter2\n")
    (allowed / "link.txt").symlink_to(secret)
    admin = await ensure_actor(desk, "admin", "admin")
    original = desk.settings
    desk.settings = original.model_copy(update={"ingest_roots": [allowed]})
    try:
        result = await document_ingest(desk, admin, path=str(allowed / "guide.md"))
        assert result.document.status == "ready"
        for outside in (secret, allowed / "link.txt", allowed / ".." / "secret.txt"):
            with pytest.raises(ForbiddenError, match="SUPPORT_INGEST_ROOTS"):
                await document_ingest(desk, admin, path=str(outside))
    finally:
        desk.settings = original
