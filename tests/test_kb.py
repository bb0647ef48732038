"""Knowledge-base articles through tools/kb.py, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import func, select

from store.models import AuditEvent, KBArticle, KBArticleRevision, Ticket, TicketKBLink
from tests.conftest import FakeClock, MakeUser
from tests.search_fakes import FakeSearch, hit
from tools import kb, kb_models, kb_query
from tools.actor import Actor
from tools.common import TRUNCATION_MARKER
from tools.desk import Desk
from tools.errors import ConflictError, ForbiddenError, InvalidInputError, NotFoundError


async def _create(desk: Desk, actor: Actor, title: str = "Reset a forgotten password", **extra: Any) -> int:
    data = kb_models.KBArticleCreate(
        title=title, body=extra.pop("body", "Open the self-service portal and choose Forgot password."), **extra
    )
    return (await kb.kb_article_create(desk, actor, data)).id


async def test_create_normalises_and_writes_revision_one(desk: Desk, admin: Actor) -> None:
    data = kb_models.KBArticleCreate(
        title="  VPN will not connect  ",
        body="Check the client version.",
        url="https://kb.example.com/vpn",
        tags=["VPN", " vpn ", "Windows  11", "", "windows 11"],
    )
    art = await kb.kb_article_create(desk, admin, data)
    assert art.title == "VPN will not connect"
    assert art.tags == ["vpn", "windows 11"]
    assert (art.revision, art.current_revision, art.view_count, art.author) == (1, 1, 0, "admin")
    assert art.body_truncated is False
    async with desk.sessions() as s:
        revs = (await s.execute(select(KBArticleRevision).where(KBArticleRevision.article_id == art.id))).scalars()
        assert [(r.revision, r.title, r.tags) for r in revs] == [(1, "VPN will not connect", ["vpn", "windows 11"])]
        event = (await s.execute(select(AuditEvent).where(AuditEvent.action == "kb.create"))).scalar_one()
        assert event.target_id == str(art.id) and event.actor_id == admin.user_id


@pytest.mark.parametrize(
    ("fields", "fragment"),
    [
        ({"title": "x" * 301}, "at most 300"),
        ({"title": "   "}, "at least 1"),
        ({"body": ""}, "at least 1"),
        ({"url": "ftp://files.example.com/a"}, "http:// or https://"),
        ({"url": "kb.example.com/page"}, "http:// or https://"),
        ({"tags": [f"t{i}" for i in range(21)]}, "at most 20 distinct tags"),
        ({"tags": ["x" * 51]}, "longer than 50"),
    ],
)
def test_create_validation_says_what_to_fix(fields: dict[str, Any], fragment: str) -> None:
    values: dict[str, Any] = {"title": "A title", "body": "A body", **fields}
    with pytest.raises(ValueError, match=fragment):
        kb_models.KBArticleCreate(**values)


def test_twenty_tags_after_dedup_are_fine() -> None:
    tags = [f"T{i}" for i in range(20)] + [f"t{i}" for i in range(20)]
    assert len(kb_models.KBArticleCreate(title="t", body="b", tags=tags).tags) == 20


async def test_get_counts_views_without_bumping_revision(desk: Desk, admin: Actor, make_user: MakeUser) -> None:
    reader = await make_user("erin", "end_user")
    aid = await _create(desk, admin)
    views = [(await kb_query.kb_article_get(desk, reader, aid)).view_count for _ in range(3)]
    assert views == [1, 2, 3]
    again = await kb_query.kb_article_get(desk, admin, str(aid))
    assert (again.view_count, again.revision, again.current_revision) == (4, 1, 1)
    # The lock column did not move, so an edit from revision 1 still goes through.
    updated = await kb.kb_article_update(desk, admin, aid, kb_models.KBArticleUpdate(revision=1, body="New steps."))
    assert (updated.revision, updated.view_count) == (2, 4)


async def test_concurrent_views_all_count(desk: Desk, admin: Actor) -> None:
    aid = await _create(desk, admin)
    await asyncio.gather(*(kb_query.kb_article_get(desk, admin, aid) for _ in range(8)))
    assert (await kb_query.kb_article_get(desk, admin, aid)).view_count == 9


async def test_get_unknown_article_and_revision(desk: Desk, admin: Actor) -> None:
    with pytest.raises(NotFoundError, match="KB article 4242 does not exist"):
        await kb_query.kb_article_get(desk, admin, 4242)
    with pytest.raises(NotFoundError, match="article ids are numbers"):
        await kb_query.kb_article_get(desk, admin, "abc")
    aid = await _create(desk, admin)
    with pytest.raises(NotFoundError, match="no revision 7; its revisions run from 1 to 1"):
        await kb_query.kb_article_get(desk, admin, aid, revision=7)


async def test_update_keeps_every_revision(desk: Desk, admin: Actor, clock: FakeClock) -> None:
    aid = await _create(desk, admin, url="https://kb.example.com/pw", tags=["password"])
    clock.advance(hours=1)
    upd = await kb.kb_article_update(
        desk, admin, aid, kb_models.KBArticleUpdate(revision=1, title="Reset your password", note="clearer title")
    )
    assert (upd.revision, upd.title, upd.tags, upd.url) == (
        2,
        "Reset your password",
        ["password"],
        "https://kb.example.com/pw",
    )
    assert upd.updated_at == clock.now
    upd = await kb.kb_article_update(
        desk, admin, aid, kb_models.KBArticleUpdate(revision=2, url="", tags=["Password", "SSO"])
    )
    assert (upd.revision, upd.url, upd.tags) == (3, None, ["password", "sso"])

    first = await kb_query.kb_article_get(desk, admin, aid, revision=1)
    assert (first.title, first.url, first.revision, first.current_revision) == (
        "Reset a forgotten password",
        "https://kb.example.com/pw",
        1,
        3,
    )
    second = await kb_query.kb_article_get(desk, admin, aid, revision=2)
    assert (second.title, second.revision_note) == ("Reset your password", "clearer title")

    page = await kb_query.kb_article_revisions(desk, admin, aid)
    assert page.total == 3 and page.next_cursor is None
    assert [r.revision for r in page.items] == [3, 2, 1]
    assert page.items[1].note == "clearer title" and page.items[0].author == "admin"
    assert page.items[2].body_chars == len("Open the self-service portal and choose Forgot password.")

    async with desk.sessions() as s:
        actions = (await s.execute(select(AuditEvent.action).order_by(AuditEvent.id))).scalars().all()
    assert actions.count("kb.update") == 2


async def test_update_needs_a_change(desk: Desk, admin: Actor) -> None:
    aid = await _create(desk, admin)
    with pytest.raises(InvalidInputError, match="nothing to change"):
        await kb.kb_article_update(desk, admin, aid, kb_models.KBArticleUpdate(revision=1, note="just a note"))
    with pytest.raises(ValueError, match="cannot be null"):
        kb_models.KBArticleUpdate(revision=1, title=None)


async def test_stale_revision_is_a_conflict(desk: Desk, admin: Actor) -> None:
    aid = await _create(desk, admin)
    await kb.kb_article_update(desk, admin, aid, kb_models.KBArticleUpdate(revision=1, body="Second version."))
    with pytest.raises(ConflictError, match=r"at revision 2, not 1.*Re-read it with kb_article_get.*revision=2"):
        await kb.kb_article_update(desk, admin, aid, kb_models.KBArticleUpdate(revision=1, body="Lost update?"))
    assert (await kb_query.kb_article_get(desk, admin, aid)).body == "Second version."


async def test_concurrent_updates_exactly_one_wins(desk: Desk, admin: Actor) -> None:
    aid = await _create(desk, admin)
    results = await asyncio.gather(
        *(
            kb.kb_article_update(desk, admin, aid, kb_models.KBArticleUpdate(revision=1, body=f"Edit {i}"))
            for i in range(6)
        ),
        return_exceptions=True,
    )
    winners = [r for r in results if isinstance(r, kb_models.KBArticlePublic)]
    assert len(winners) == 1
    assert all(isinstance(r, ConflictError) for r in results if r not in winners)
    current = await kb_query.kb_article_get(desk, admin, aid)
    assert (current.revision, current.body) == (2, winners[0].body)
    assert (await kb_query.kb_article_revisions(desk, admin, aid)).total == 2


async def test_restore_writes_a_new_revision(desk: Desk, admin: Actor) -> None:
    aid = await _create(desk, admin, tags=["password"])
    await kb.kb_article_update(
        desk, admin, aid, kb_models.KBArticleUpdate(revision=1, body="Wrong advice.", tags=["oops"])
    )
    await kb.kb_article_update(desk, admin, aid, kb_models.KBArticleUpdate(revision=2, title="Worse title"))

    with pytest.raises(ConflictError, match="at revision 3, not 2"):
        await kb.kb_article_restore(desk, admin, aid, revision=1, expected_revision=2)
    with pytest.raises(NotFoundError, match="no revision 9"):
        await kb.kb_article_restore(desk, admin, aid, revision=9, expected_revision=3)

    restored = await kb.kb_article_restore(desk, admin, aid, revision=1, expected_revision=3, note="bad edits")
    original = await kb_query.kb_article_get(desk, admin, aid, revision=1)
    assert restored.revision == 4
    assert (restored.title, restored.body, restored.tags) == (original.title, original.body, original.tags)
    page = await kb_query.kb_article_revisions(desk, admin, aid)
    assert [r.revision for r in page.items] == [4, 3, 2, 1]
    assert page.items[0].note == "restored from revision 1: bad edits"
    # History was not rewritten: the bad edits are still readable.
    assert (await kb_query.kb_article_get(desk, admin, aid, revision=2)).body == "Wrong advice."


async def test_revisions_paginate(desk: Desk, admin: Actor) -> None:
    aid = await _create(desk, admin)
    for rev in range(1, 5):
        await kb.kb_article_update(desk, admin, aid, kb_models.KBArticleUpdate(revision=rev, body=f"Body {rev + 1}"))
    first = await kb_query.kb_article_revisions(desk, admin, aid, limit=2)
    assert [r.revision for r in first.items] == [5, 4] and first.total == 5 and first.next_cursor
    second = await kb_query.kb_article_revisions(desk, admin, aid, limit=2, cursor=first.next_cursor)
    third = await kb_query.kb_article_revisions(desk, admin, aid, limit=2, cursor=second.next_cursor)
    assert [r.revision for r in second.items] == [3, 2]
    assert [r.revision for r in third.items] == [1] and third.next_cursor is None
    with pytest.raises(InvalidInputError, match="between 1 and 100"):
        await kb_query.kb_article_revisions(desk, admin, aid, limit=101)
    with pytest.raises(InvalidInputError, match="cursor"):
        await kb_query.kb_article_revisions(desk, admin, aid, cursor="not-a-cursor")
    with pytest.raises(NotFoundError):
        await kb_query.kb_article_revisions(desk, admin, 999)


async def _ticket(desk: Desk, requester: Actor) -> int:
    now = desk.clock()
    async with desk.sessions.begin() as s:
        ticket = Ticket(
            number="TCK-000001",
            requester_id=requester.user_id,
            priority="low",
            status="new",
            subject="Password",
            description="Forgot it",
            sla_due_at=now,
            first_response_due_at=now,
        )
        s.add(ticket)
        await s.flush()
        return ticket.id


async def test_delete_removes_everything_but_audit_keeps_last_revision(desk: Desk, admin: Actor) -> None:
    aid = await _create(desk, admin, tags=["password"])
    await kb.kb_article_update(desk, admin, aid, kb_models.KBArticleUpdate(revision=1, body="Final text to recover."))
    ticket_id = await _ticket(desk, admin)
    async with desk.sessions.begin() as s:
        s.add(TicketKBLink(ticket_id=ticket_id, article_id=aid, linked_by_id=admin.user_id))

    with pytest.raises(ConflictError, match="at revision 2, not 1"):
        await kb.kb_article_delete(desk, admin, aid, revision=1)
    gone = await kb.kb_article_delete(desk, admin, aid, revision=2)
    assert (gone.id, gone.revision, gone.revisions_deleted, gone.ticket_links_removed) == (aid, 2, 2, 1)

    async with desk.sessions() as s:
        for model in (KBArticle, KBArticleRevision, TicketKBLink):
            assert (await s.execute(select(func.count()).select_from(model))).scalar_one() == 0
        assert await s.get(Ticket, ticket_id) is not None
        event = (await s.execute(select(AuditEvent).where(AuditEvent.action == "kb.delete"))).scalar_one()
    assert event.before is not None
    assert event.before["body"] == "Final text to recover."
    assert event.before["revision"] == 2 and event.before["tags"] == ["password"]
    assert event.before["linked_ticket_ids"] == [ticket_id]
    with pytest.raises(NotFoundError):
        await kb_query.kb_article_get(desk, admin, aid)
    with pytest.raises(NotFoundError):
        await kb.kb_article_delete(desk, admin, aid)


@pytest.mark.parametrize("role", ["end_user", "technician", "manager"])
async def test_only_admins_write(desk: Desk, admin: Actor, make_user: MakeUser, role: str) -> None:
    user = await make_user(f"user-{role}", role)
    aid = await _create(desk, admin)
    data = kb_models.KBArticleCreate(title="Mine", body="Text")
    calls = [
        kb.kb_article_create(desk, user, data),
        kb.kb_article_update(desk, user, aid, kb_models.KBArticleUpdate(revision=1, body="Changed")),
        kb.kb_article_restore(desk, user, aid, revision=1, expected_revision=1),
        kb.kb_article_delete(desk, user, aid),
    ]
    for call in calls:
        with pytest.raises(ForbiddenError, match=rf"role '{role}'.*it needs one of: admin"):
            await call
    # Reading and searching stay open to everyone.
    assert (await kb_query.kb_article_get(desk, user, aid)).revision == 1
    assert [h.id for h in await kb_query.kb_article_search(desk, user, "password")] == [aid]
    assert (await kb_query.kb_article_revisions(desk, user, aid)).total == 1


async def test_long_bodies_are_truncated_with_a_marker(desk: Desk, admin: Actor) -> None:
    limit = desk.settings.max_text_chars
    aid = await _create(desk, admin, body="a" * (limit + 250))
    art = await kb_query.kb_article_get(desk, admin, aid)
    assert art.body_truncated is True
    assert art.body == "a" * limit + TRUNCATION_MARKER.format(n=250)
    short = await kb_query.kb_article_get(desk, admin, await _create(desk, admin, title="Short", body="b" * limit))
    assert short.body_truncated is False and short.body == "b" * limit


async def test_search_ranks_and_finds_exact_codes(desk: Desk, admin: Actor) -> None:
    printer = await _create(
        desk,
        admin,
        title="Printer offline on the third floor",
        body="If the printer shows offline, power-cycle the printer and re-add the printer queue.",
        tags=["printer", "hardware"],
    )
    passing = await _create(
        desk, admin, title="Meeting rooms", body="Rooms have a display; a printer is in the hallway.", tags=["rooms"]
    )
    code = await _create(
        desk,
        admin,
        title="Windows Update fails",
        body="Update stops with error 0x80070005 (access denied). Run the troubleshooter as an administrator. "
        "Other codes such as 0x80070002 need a different fix.",
        tags=["windows"],
    )

    hits = await kb_query.kb_article_search(desk, admin, "printer offline")
    assert [h.id for h in hits] == [printer, passing]
    assert hits[0].score > hits[1].score
    assert "printer" in hits[0].snippet.lower() and hits[0].tags == ["printer", "hardware"]

    exact = await kb_query.kb_article_search(desk, admin, "0x80070005")
    assert [h.id for h in exact] == [code]
    assert "0x80070005" in exact[0].snippet
    assert await kb_query.kb_article_search(desk, admin, "0x80070006") == []

    assert [h.id for h in await kb_query.kb_article_search(desk, admin, "printer", tags=["Hardware"])] == [printer]
    assert await kb_query.kb_article_search(desk, admin, "printer", tags=["hardware", "rooms"]) == []
    assert len(await kb_query.kb_article_search(desk, admin, "printer", limit=1)) == 1

    with pytest.raises(InvalidInputError, match="no words"):
        await kb_query.kb_article_search(desk, admin, "  ?! ")
    with pytest.raises(InvalidInputError, match="between 1 and 100"):
        await kb_query.kb_article_search(desk, admin, "printer", limit=500)


def test_snippet_centres_on_the_first_match() -> None:
    text = ("filler words here. " * 30) + "The error 0x80070005 appears when access is denied. " + ("tail " * 60)
    snip = kb_query.snippet(text, "0x80070005")
    assert "0x80070005" in snip
    assert snip.startswith("…") and snip.endswith("…")
    assert len(snip) <= kb_query.SNIPPET_BEFORE + kb_query.SNIPPET_AFTER + 2
    assert kb_query.snippet("Short body.", "nothing") == "Short body."


async def test_search_routes_through_hybrid_knowledge_when_present(
    desk: Desk, admin: Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    one = await _create(desk, admin, title="One", body="alpha text")
    two = await _create(desk, admin, title="Two", body="beta text", tags=["b"])
    fake = FakeSearch(
        [
            hit("kb", f"kb:{two}", 0.9, "beta chunk"),
            hit("kb", f"kb:{one}", 0.5),
            hit("kb", f"kb:{two}", 0.4, "dup"),
            hit("document", f"doc:{one}:0", 2.0, "a document chunk"),
        ]
    ).install(monkeypatch)
    hits = await kb_query.kb_article_search(desk, admin, "semantic question", limit=5)
    only_b = await kb_query.kb_article_search(desk, admin, "semantic question", tags=["b"], limit=5)
    assert [(h.id, h.score) for h in hits] == [(two, 0.9), (one, 0.5)]
    assert hits[0].snippet == "beta chunk" and hits[1].snippet == "alpha text"
    assert [h.id for h in only_b] == [two]
    assert fake.calls[0] == ("admin", "semantic question", 5, ("kb",))


async def test_search_falls_back_to_full_text_when_hybrid_is_unavailable(
    desk: Desk, admin: Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    aid = await _create(desk, admin, title="Error 0x80070005 on update", body="Run as administrator.")
    fake = FakeSearch(None).install(monkeypatch)
    hits = await kb_query.kb_article_search(desk, admin, "0x80070005")
    assert fake.calls and [h.id for h in hits] == [aid]


async def test_search_without_knowledge_services_uses_full_text(
    desk: Desk, admin: Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    aid = await _create(desk, admin, title="Error 0x80070005 on update", body="Run as administrator.")
    fake = FakeSearch([]).install(monkeypatch)
    monkeypatch.setattr(desk, "knowledge", None)
    assert [h.id for h in await kb_query.kb_article_search(desk, admin, "0x80070005")] == [aid]
    assert fake.calls == []


def test_markdown_rendering() -> None:
    from datetime import UTC, datetime

    art = kb_models.KBArticlePublic(
        id=3,
        title="VPN",
        body="Steps here.",
        body_truncated=False,
        url="https://kb.example.com/vpn",
        tags=["vpn", "remote"],
        author="admin",
        revision=2,
        current_revision=2,
        view_count=0,
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        updated_at=datetime(2026, 1, 2, tzinfo=UTC),
    )
    md = kb_models.kb_article_markdown(art)
    assert md.startswith("# VPN\n")
    assert "- Tags: vpn, remote" in md and "- URL: https://kb.example.com/vpn" in md
    assert md.rstrip().endswith("Steps here.")


async def test_list_pages_newest_first_and_filters_by_tag(desk: Desk, admin: Actor, clock: FakeClock) -> None:
    for i in range(3):
        clock.advance(minutes=1)
        await kb.kb_article_create(
            desk,
            admin,
            kb_models.KBArticleCreate(title=f"Article {i}", body="text", tags=["odd"] if i % 2 else ["even"]),
        )
    first = await kb_query.kb_article_list(desk, admin, limit=2)
    assert [a.title for a in first.items] == ["Article 2", "Article 1"]
    assert first.total == 3 and first.next_cursor is not None
    rest = await kb_query.kb_article_list(desk, admin, limit=2, cursor=first.next_cursor)
    assert [a.title for a in rest.items] == ["Article 0"] and rest.next_cursor is None
    even = await kb_query.kb_article_list(desk, admin, tag="EVEN")
    assert {a.title for a in even.items} == {"Article 0", "Article 2"}
    by_title = await kb_query.kb_article_list(desk, admin, sort="title")
    assert [a.title for a in by_title.items] == ["Article 0", "Article 1", "Article 2"]
