"""The knowledge tools over MCP: base64 upload with progress, hostile files, resource, search."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp.types import TextResourceContents
from sqlalchemy import select

from store.models_analytics import SearchLog
from tests.conftest import MakeUser
from tests.knowledge.test_pipeline import MARKDOWN, docx_bytes
from tests.mcp_helpers import client
from tools.actor import Actor
from tools.desk import Desk
from tools.knowledge_service import Knowledge

KNOWLEDGE_TOOLS = {
    "document_ingest",
    "document_ingest_cancel",
    "document_list",
    "document_get",
    "document_delete",
    "document_reindex",
    "knowledge_search",
}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


async def test_ingest_base64_reports_progress(desk: Desk, admin: Actor, knowledge: Knowledge) -> None:
    updates: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        updates.append((progress, total, message))

    async with client(desk) as c:
        tools = {t.name: t for t in (await c.list_tools()).tools}
        assert set(tools) >= KNOWLEDGE_TOOLS
        assert tools["document_delete"].annotations.destructive_hint is True  # type: ignore[union-attr]
        result = await c.call_tool(
            "document_ingest",
            {"content_base64": b64(MARKDOWN), "filename": "vpn.md", "wait": True},
            progress_callback=on_progress,
        )
        assert not result.is_error, result.content
        doc = result.structured_content["document"]  # type: ignore[index]
        assert doc["status"] == "ready" and doc["doc_type"] == "markdown"
        assert updates and any("embedded" in (m or "") for _, _, m in updates)
        assert any("ready" in (m or "") for _, _, m in updates)

        again = await c.call_tool("document_ingest", {"content_base64": b64(MARKDOWN), "filename": "vpn.md"})
        assert again.structured_content["duplicate"] is True  # type: ignore[index]

        found = await c.call_tool("knowledge_search", {"query": "hotel hotspot", "sources": ["documents"]})
        hit = found.structured_content["hits"][0]  # type: ignore[index]
        assert hit["source"] == "document" and "Troubleshooting" in hit["citation"]

        res = await c.read_resource(f"document://{doc['id']}")
        content = res.contents[0]
        assert isinstance(content, TextResourceContents)
        assert json.loads(content.text)["chunks"]
        with pytest.raises(MCPError, match="does not exist"):
            await c.read_resource("document://999999")

        listed = await c.call_tool("document_list", {"status": "ready"})
        assert listed.structured_content["total"] == 1  # type: ignore[index]
        deleted = await c.call_tool("document_delete", {"document_id": doc["id"]})
        assert not deleted.is_error


async def error_text(c: Client, name: str, args: dict[str, Any]) -> str:
    result = await c.call_tool(name, args)
    assert result.is_error, result.structured_content
    return result.content[0].text  # type: ignore[union-attr]


async def test_hostile_input_gets_clear_errors_and_server_keeps_serving(
    desk: Desk, admin: Actor, knowledge: Knowledge
) -> None:
    import io
    import zipfile

    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document>" + "A" * 30_000_000 + "</w:document>")
    async with client(desk) as c:
        assert "not valid base64" in await error_text(
            c, "document_ingest", {"content_base64": "@@@", "filename": "a.txt"}
        )
        assert "exactly one of" in await error_text(c, "document_ingest", {})
        assert "filename is required" in await error_text(c, "document_ingest", {"content_base64": b64(b"hi")})
        assert "empty" in (await error_text(c, "document_ingest", {"content_base64": "", "filename": "e.txt"})).lower()
        encrypted = await error_text(
            c,
            "document_ingest",
            {"content_base64": b64(b"%PDF-1.4\ntrailer <</Encrypt 1 0 R>>\n%%EOF"), "filename": "x.pdf", "wait": True},
        )
        assert "pdf" in encrypted.lower()
        bomb_text = await error_text(
            c, "document_ingest", {"content_base64": b64(bomb.getvalue()), "filename": "b.docx"}
        )
        assert "uncompressed" in bomb_text.lower() or "bomb" in bomb_text.lower() or "compress" in bomb_text.lower()
        # Still serving, and a good file still goes in.
        ok = await c.call_tool(
            "document_ingest", {"content_base64": b64(docx_bytes()), "filename": "printers.docx", "wait": True}
        )
        assert not ok.is_error and ok.structured_content["document"]["status"] == "ready"  # type: ignore[index]
        # Only the encrypted PDF got as far as parsing; the empty file and the bomb were refused before.
        failed = await c.call_tool("document_list", {"status": "failed"})
        assert failed.structured_content["total"] == 1  # type: ignore[index]


async def test_upload_limit_checked_before_decoding(desk: Desk, admin: Actor, knowledge: Knowledge) -> None:
    original = desk.settings
    desk.settings = original.model_copy(update={"max_upload_mb": 0.01})
    try:
        async with client(desk) as c:
            text = await error_text(c, "document_ingest", {"content_base64": "A" * 20_000, "filename": "big.txt"})
        assert "over the 0.01 MB upload limit" in text and "POST /uploads" in text
    finally:
        desk.settings = original


async def test_end_users_search_but_cannot_ingest(desk: Desk, make_user: MakeUser, knowledge: Knowledge) -> None:
    await make_user("erin")
    async with client(desk, "erin") as c:
        text = await error_text(c, "document_ingest", {"content_base64": b64(b"hello"), "filename": "a.txt"})
        assert "admin" in text
        result = await c.call_tool("knowledge_search", {"query": "anything at all"})
        assert not result.is_error and result.structured_content["hits"] == []  # type: ignore[index]


async def test_a_search_is_recorded_after_it_answered(desk: Desk, admin: Actor, knowledge: Knowledge) -> None:
    async with client(desk, "admin") as c:
        result = await c.call_tool("knowledge_search", {"query": "  Printer   OFFLINE "})
        assert not result.is_error
    await desk.finish_background()  # the record is written once the answer has gone out
    async with desk.sessions() as session:
        logged = (await session.execute(select(SearchLog.normalized, SearchLog.actor_id))).all()
    assert logged == [("printer offline", admin.user_id)]
