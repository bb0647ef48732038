"""Every KB tool and the kb:// resource through the SDK's in-memory client, on both backends."""

from __future__ import annotations

from typing import Any

import pytest
from mcp.shared.exceptions import MCPError
from mcp.types import TextResourceContents

from tests.conftest import MakeUser
from tests.mcp_helpers import call, client, error
from tools.actor import Actor
from tools.common import TRUNCATION_MARKER
from tools.desk import Desk

KB_TOOLS = {
    "kb_article_create",
    "kb_article_get",
    "kb_article_update",
    "kb_article_delete",
    "kb_article_search",
    "kb_article_revisions",
    "kb_article_restore",
    "kb_article_list",
}


async def test_tools_are_listed_with_honest_annotations(desk: Desk, admin: Actor) -> None:
    async with client(desk) as c:
        tools = {t.name: t for t in (await c.list_tools()).tools}
    assert set(tools) >= KB_TOOLS
    for name in KB_TOOLS:
        tool = tools[name]
        assert tool.description and tool.output_schema is not None, name
        assert tool.annotations is not None
    ann = {name: tools[name].annotations for name in KB_TOOLS}
    assert ann["kb_article_get"].read_only_hint is True  # type: ignore[union-attr]
    assert ann["kb_article_search"].read_only_hint is True  # type: ignore[union-attr]
    assert ann["kb_article_revisions"].read_only_hint is True  # type: ignore[union-attr]
    assert ann["kb_article_delete"].destructive_hint is True  # type: ignore[union-attr]
    assert ann["kb_article_update"].idempotent_hint is False  # type: ignore[union-attr]
    assert ann["kb_article_update"].read_only_hint is False  # type: ignore[union-attr]
    assert ann["kb_article_create"].idempotent_hint is False  # type: ignore[union-attr]
    assert ann["kb_article_restore"].destructive_hint is False  # type: ignore[union-attr]
    props = tools["kb_article_update"].input_schema["properties"]
    assert "revision" in tools["kb_article_update"].input_schema["required"]
    assert all(props[p].get("description") for p in props)


async def test_article_lifecycle_over_mcp(desk: Desk, admin: Actor) -> None:
    async with client(desk) as c:
        art = await call(
            c,
            "kb_article_create",
            {
                "title": "Outlook keeps asking for a password",
                "body": "Clear the saved credentials in Credential Manager, then restart Outlook.",
                "url": "https://kb.example.com/outlook",
                "tags": ["Outlook", "email", "outlook"],
            },
        )
        aid = art["id"]
        assert (art["revision"], art["tags"], art["body_truncated"]) == (1, ["outlook", "email"], False)

        got = await call(c, "kb_article_get", {"article_id": aid})
        assert (got["title"], got["view_count"], got["revision"]) == (art["title"], 1, 1)

        upd = await call(
            c,
            "kb_article_update",
            {"article_id": aid, "revision": 1, "body": "Remove the cached profile.", "note": "new fix"},
        )
        assert (upd["revision"], upd["body"], upd["title"], upd["url"]) == (
            2,
            "Remove the cached profile.",
            art["title"],
            art["url"],
        )
        old = await call(c, "kb_article_get", {"article_id": aid, "revision": 1})
        assert (old["revision"], old["current_revision"]) == (1, 2) and old["body"].startswith("Clear the saved")

        revs = await call(c, "kb_article_revisions", {"article_id": aid, "limit": 1})
        assert revs["total"] == 2 and [r["revision"] for r in revs["items"]] == [2] and revs["next_cursor"]
        assert revs["items"][0]["note"] == "new fix"
        more = await call(c, "kb_article_revisions", {"article_id": aid, "cursor": revs["next_cursor"]})
        assert [r["revision"] for r in more["items"]] == [1] and more["next_cursor"] is None

        restored = await call(c, "kb_article_restore", {"article_id": aid, "revision": 1, "current_revision": 2})
        assert restored["revision"] == 3 and restored["body"] == old["body"]

        listed = await call(c, "kb_article_list", {"limit": 5})
        assert listed["total"] >= 1 and listed["items"][0]["title"]
        found = await call(c, "kb_article_search", {"query": "Credential Manager outlook"})
        assert found["query"] == "Credential Manager outlook"
        assert [h["id"] for h in found["items"]] == [aid]
        assert "Credential Manager" in found["items"][0]["snippet"]
        assert await call(c, "kb_article_search", {"query": "outlook", "tags": ["printer"]}) == {
            "query": "outlook",
            "items": [],
        }

        gone = await call(c, "kb_article_delete", {"article_id": aid, "revision": 3})
        assert (gone["id"], gone["revisions_deleted"]) == (aid, 3)
        assert "does not exist" in await error(c, "kb_article_get", {"article_id": aid})


async def test_resource_returns_markdown(desk: Desk, admin: Actor) -> None:
    async with client(desk) as c:
        art = await call(
            c,
            "kb_article_create",
            {
                "title": "Map a network drive",
                "body": "Open Explorer, choose *Map network drive* and enter \\\\files\\share.",
                "url": "https://kb.example.com/drive",
                "tags": ["files", "windows"],
            },
        )
        result = await c.read_resource(f"kb://{art['id']}")
        content = result.contents[0]
        assert isinstance(content, TextResourceContents)
        assert content.mime_type == "text/markdown"
        text = content.text
        assert text.startswith("# Map a network drive\n")
        assert "- Tags: files, windows" in text
        assert "- URL: https://kb.example.com/drive" in text
        assert "Open Explorer, choose *Map network drive*" in text
        templates = (await c.list_resource_templates()).resource_templates
        assert "kb://{id}" in {t.uri_template for t in templates}

        with pytest.raises(MCPError, match="KB article 9999 does not exist") as missing:
            await c.read_resource("kb://9999")
        assert missing.value.error.code == -32602
        with pytest.raises(MCPError, match="article ids are numbers"):
            await c.read_resource("kb://not-a-number")


async def test_tool_errors_say_what_to_fix(desk: Desk, admin: Actor) -> None:
    async with client(desk) as c:
        aid = (await call(c, "kb_article_create", {"title": "Wi-Fi drops", "body": "Forget the network."}))["id"]

        text = await error(c, "kb_article_create", {"title": "T" * 301, "body": "b"})
        assert "title" in text and "300" in text
        assert "http:// or https://" in await error(
            c, "kb_article_create", {"title": "t", "body": "b", "url": "javascript:alert(1)"}
        )
        assert "at most 20" in await error(
            c, "kb_article_create", {"title": "t", "body": "b", "tags": [f"t{i}" for i in range(25)]}
        )

        unknown: list[tuple[str, dict[str, Any]]] = [
            ("kb_article_get", {"article_id": 777}),
            ("kb_article_update", {"article_id": 777, "revision": 1, "body": "x"}),
            ("kb_article_delete", {"article_id": 777}),
            ("kb_article_revisions", {"article_id": 777}),
            ("kb_article_restore", {"article_id": 777, "revision": 1, "current_revision": 1}),
        ]
        for name, args in unknown:
            assert "KB article 777 does not exist" in await error(c, name, args), name
        assert "no revision 5" in await error(c, "kb_article_get", {"article_id": aid, "revision": 5})

        await call(c, "kb_article_update", {"article_id": aid, "revision": 1, "title": "Wi-Fi drops often"})
        stale = await error(c, "kb_article_update", {"article_id": aid, "revision": 1, "title": "Mine"})
        assert "at revision 2, not 1" in stale and "Re-read" in stale
        assert "at revision 2, not 1" in await error(
            c, "kb_article_restore", {"article_id": aid, "revision": 1, "current_revision": 1}
        )
        assert "nothing to change" in await error(c, "kb_article_update", {"article_id": aid, "revision": 2})
        assert "title" in await error(c, "kb_article_update", {"article_id": aid, "revision": 2, "title": "x" * 400})
        assert "limit" in await error(c, "kb_article_search", {"query": "wifi", "limit": 1000})
        assert "no words" in await error(c, "kb_article_search", {"query": "!!!"})


@pytest.mark.parametrize("role", ["end_user", "technician"])
async def test_forbidden_writes_over_mcp(desk: Desk, admin: Actor, make_user: MakeUser, role: str) -> None:
    await make_user("someone", role)
    async with client(desk) as c:
        aid = (await call(c, "kb_article_create", {"title": "Printer jam", "body": "Open tray 2."}))["id"]
    async with client(desk, actor="someone") as c:
        for name, args in [
            ("kb_article_create", {"title": "Mine", "body": "text"}),
            ("kb_article_update", {"article_id": aid, "revision": 1, "body": "changed"}),
            ("kb_article_restore", {"article_id": aid, "revision": 1, "current_revision": 1}),
            ("kb_article_delete", {"article_id": aid}),
        ]:
            text = await error(c, name, args)
            assert f"role {role!r}" in text and "needs one of: admin" in text, (name, text)
        # Reading stays open, and nothing was changed by the refused calls.
        got = await call(c, "kb_article_get", {"article_id": aid})
        assert (got["revision"], got["body"]) == (1, "Open tray 2.")
        assert [h["id"] for h in (await call(c, "kb_article_search", {"query": "printer"}))["items"]] == [aid]
        assert (await c.read_resource(f"kb://{aid}")).contents


async def test_long_body_is_truncated_over_mcp(desk: Desk, admin: Actor) -> None:
    limit = desk.settings.max_text_chars
    async with client(desk) as c:
        art = await call(c, "kb_article_create", {"title": "Long", "body": "z" * (limit + 10)})
        assert art["body_truncated"] is True
        assert art["body"].endswith(TRUNCATION_MARKER.format(n=10))


async def test_exact_error_code_over_mcp(desk: Desk, admin: Actor) -> None:
    async with client(desk) as c:
        code = await call(
            c, "kb_article_create", {"title": "Access denied during update", "body": "Error 0x80070005 means..."}
        )
        await call(c, "kb_article_create", {"title": "Disk full during update", "body": "Error 0x80070070 means..."})
        found = await call(c, "kb_article_search", {"query": "what does 0x80070005 mean"})
        assert found["items"][0]["id"] == code["id"]
