"""Hybrid search: exact codes stay findable, KB and resolved tickets join in, permissions hold."""

from __future__ import annotations

from datetime import timedelta

import pytest

from store.embedder import LocalEmbedder
from store.models import KBArticle, Ticket
from tests.conftest import MakeUser
from tests.knowledge.conftest import attach, drop_all
from tools.actor import Actor
from tools.desk import Desk
from tools.errors import InvalidInputError
from tools.indexing import drain
from tools.knowledge import document_ingest
from tools.knowledge_service import Knowledge
from tools.search import KnowledgeFilters, fuse, knowledge_search, ranked_hits, special_tokens

UPDATES = (
    b"# Windows Update failures\n\n"
    b"## Access denied\n\n"
    b"Windows Update fails with error 0x80070005 when the update service lacks permission. "
    b"Reset the SoftwareDistribution folder and run the troubleshooter.\n\n"
    b"## Disk space\n\n"
    b"Windows Update fails when Windows Update lacks disk space on the system drive. "
    b"Free space, then run Windows Update again: windows update needs room to update.\n"
)


async def add_ticket(desk: Desk, requester: Actor, number: str, status: str, subject: str, body: str) -> int:
    now = desk.clock()
    async with desk.sessions.begin() as s:
        t = Ticket(
            number=number,
            requester_id=requester.user_id,
            priority="medium",
            status=status,
            subject=subject,
            description=body,
            sla_due_at=now + timedelta(hours=24),
            first_response_due_at=now + timedelta(hours=6),
            created_at=now,
            updated_at=now,
        )
        s.add(t)
        await s.flush()
        return t.id


def test_special_tokens() -> None:
    assert special_tokens("error 0x80070005 on TCK-000042 with Zoomify-Pro") == [
        "0x80070005",
        "tck-000042",
        "zoomify-pro",
    ]
    assert special_tokens("how do I reset my password") == []


async def test_hybrid_finds_exact_error_code_dense_alone_misses(desk: Desk, admin: Actor, knowledge: Knowledge) -> None:
    await document_ingest(desk, admin, data=UPDATES, filename="updates.md")
    query = "windows update 0x80070005"
    dense = (await knowledge_search(desk, admin, query, k=1, sources=("documents",), method="dense")).hits
    hybrid = (await knowledge_search(desk, admin, query, k=1, sources=("documents",))).hits
    assert "0x80070005" not in dense[0].text  # the dense side cannot tell the two sections apart
    assert "0x80070005" in hybrid[0].text
    assert "Access denied" in hybrid[0].citation
    assert knowledge.method == "weighted_rrf"


async def test_kb_articles_and_resolved_tickets_are_searched(
    desk: Desk, admin: Actor, make_user: MakeUser, knowledge: Knowledge
) -> None:
    alice = await make_user("alice")
    bob = await make_user("bob")
    tech = await make_user("tom", "technician")
    async with desk.sessions.begin() as s:
        s.add(
            KBArticle(
                title="Reset your VPN token", body="Open the portal and choose reset token.", author_id=admin.user_id
            )
        )
    await add_ticket(
        desk, alice, "TCK-000042", "resolved", "Printer jam on floor 3", "Paper jam, fixed by clearing tray two."
    )
    await add_ticket(
        desk, bob, "TCK-000043", "resolved", "Printer offline", "Printer offline after power cut; rebooted it."
    )
    await add_ticket(desk, alice, "TCK-000044", "open", "Printer toner", "Printer toner empty, waiting for delivery.")
    assert (await drain(desk)).embedded == 3  # the KB article and the two resolved tickets

    kb = (await knowledge_search(desk, tech, "vpn token reset", sources=("kb",))).hits
    assert kb[0].source == "kb" and kb[0].title == "Reset your VPN token"

    exact = (await knowledge_search(desk, tech, "TCK-000042", k=1, sources=("tickets",))).hits
    assert exact[0].title.startswith("TCK-000042")

    staff = {h.title[:10] for h in (await knowledge_search(desk, tech, "printer", k=10, sources=("tickets",))).hits}
    assert staff == {"TCK-000042", "TCK-000043"}  # the open ticket is not knowledge yet
    own = {h.title[:10] for h in (await knowledge_search(desk, alice, "printer", k=10, sources=("tickets",))).hits}
    assert own == {"TCK-000042"}  # end users only see their own tickets

    dense_only = (
        await knowledge_search(desk, bob, "printer power cut", k=10, sources=("tickets",), method="dense")
    ).hits
    assert {h.title[:10] for h in dense_only} == {"TCK-000043"}  # vectors are validated the same way


async def test_filters_and_bad_arguments(desk: Desk, admin: Actor, knowledge: Knowledge) -> None:
    a = (await document_ingest(desk, admin, data=UPDATES, filename="updates.md")).document
    await document_ingest(desk, admin, data=b"Windows Update notes for kiosks.", filename="kiosk.txt")
    hits = (
        await knowledge_search(desk, admin, "windows update", k=10, filters=KnowledgeFilters(document_ids=[a.id]))
    ).hits
    assert hits and {h.document_id for h in hits} == {a.id}
    hits = (
        await knowledge_search(desk, admin, "windows update", k=10, filters=KnowledgeFilters(doc_types=["txt"]))
    ).hits
    assert hits and all(h.title == "kiosk" for h in hits)
    with pytest.raises(InvalidInputError):
        await knowledge_search(desk, admin, "   ")
    with pytest.raises(InvalidInputError):
        await knowledge_search(desk, admin, "x", k=0)


def test_fusion_methods_rank_as_designed() -> None:
    from tools.search import SearchHit, _Candidate

    def cand(key: str, dense: float | None, fts: float | None, blob: str = "") -> _Candidate:
        hit = SearchHit(source="kb", id=key, title=key, text="", citation=key, score=0)
        return _Candidate(key=key, hit=hit, dense=dense, fts=fts, blob=blob)

    cands = {c.key: c for c in [cand("a", 0.9, None), cand("b", 0.5, 3.0, "code 0x1f2e"), cand("c", None, 1.0)]}
    assert [k for k, _ in fuse(cands, "dense", "q")] == ["a", "b"]
    assert [k for k, _ in fuse(cands, "fulltext", "q")] == ["b", "c"]
    assert fuse(cands, "rrf", "q")[0][0] == "b"
    assert fuse(cands, "weighted", "error 0x1f2e")[0][0] == "b"
    assert fuse(cands, "weighted_rrf", "error 0x1f2e")[0][0] == "b"


def test_weighted_rrf_keeps_what_dense_alone_finds() -> None:
    """A dense-only candidate is never dropped (dense recall is kept) and outranks a weak full-text-only one;
    a candidate both retrievers found, or one holding the query's exact code, moves up."""
    from tools.search import SearchHit, _Candidate

    def cand(key: str, dense: float | None, fts: float | None, blob: str = "") -> _Candidate:
        hit = SearchHit(source="kb", id=key, title=key, text="", citation=key, score=0)
        return _Candidate(key=key, hit=hit, dense=dense, fts=fts, blob=blob)

    cands = {
        c.key: c
        for c in [
            cand("dense-top", 0.9, None, "revenue 2023"),
            cand("both", 0.8, 2.0, "revenue 2023"),
            cand("fts-only", None, 3.0, "revenue"),
            cand("dense-low", 0.1, None),
        ]
    }
    ranked = [k for k, _ in fuse(cands, "weighted_rrf", "revenue in 2023")]
    assert ranked[0] == "both" and set(ranked) == set(cands)
    assert ranked.index("dense-top") < ranked.index("fts-only")
    # Where the shipped 'weighted' fusion drops dense-only text lacking the query's code, this keeps it.
    assert "dense-low" in ranked and "dense-low" not in [k for k, _ in fuse(cands, "weighted", "revenue in 2023")]


async def test_real_minilm_model_end_to_end(desk: Desk, admin: Actor, local_embedder: LocalEmbedder) -> None:
    previous = desk.knowledge
    kn = await attach(desk, local_embedder)
    try:
        vectors = await kn.embed(["reset my password", "I forgot my login credentials", "the cafeteria menu"])
        assert len(vectors[0]) == 384
        assert abs(sum(x * x for x in vectors[0]) - 1.0) < 1e-4
        same = sum(a * b for a, b in zip(vectors[0], vectors[1], strict=True))
        other = sum(a * b for a, b in zip(vectors[0], vectors[2], strict=True))
        assert same > other
        await document_ingest(desk, admin, data=UPDATES, filename="updates.md")
        hits = (await knowledge_search(desk, admin, "not enough storage for updates", k=1, method="dense")).hits
        assert "Disk space" in hits[0].citation
    finally:
        await drop_all(kn.vectors)
        desk.knowledge = previous


async def test_ranked_hits_serve_other_tools_and_say_when_the_index_is_unusable(
    desk: Desk, admin: Actor, knowledge: Knowledge
) -> None:
    from tests.knowledge.conftest import FakeEmbedder
    from tools.errors import UnavailableError

    async with desk.sessions.begin() as s:
        s.add(KBArticle(title="Map a network drive", body="Open Explorer and map drive.", author_id=admin.user_id))
    assert desk.knowledge is knowledge
    hits = await ranked_hits(desk, admin, "network drive", k=200, sources=["kb"])
    assert hits[0].source == "kb" and hits[0].id.startswith("kb:") and hits[0].score > 0
    await document_ingest(desk, admin, data=UPDATES, filename="updates.md")
    await attach(desk, FakeEmbedder(name="fake-changed"))
    with pytest.raises(UnavailableError, match="document_reindex"):
        await ranked_hits(desk, admin, "network drive", k=5, sources=["kb"])
