"""Indexing on write: the outbox commits with the change, a drain embeds it, and search never writes."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from server.cli import main
from store.models import KBArticle
from store.models_knowledge import IndexMeta, IndexOutbox
from store.outbox import enqueue
from store.types import utcnow
from tests.conftest import MakeUser
from tests.knowledge.conftest import FakeEmbedder
from tests.knowledge.test_pipeline import vector_count
from tools.actor import Actor
from tools.desk import Desk
from tools.indexing import _claim, _finish, drain, drain_once, is_pending
from tools.kb import kb_article_create, kb_article_delete, kb_article_update
from tools.kb_models import KBArticleCreate, KBArticleUpdate
from tools.kb_query import kb_article_get
from tools.knowledge_service import Knowledge
from tools.search import knowledge_search


async def outbox_rows(desk: Desk) -> dict[str, IndexOutbox]:
    async with desk.sessions() as session:
        return {r.item_key: r for r in (await session.execute(select(IndexOutbox))).scalars()}


async def kb_hits(desk: Desk, actor: Actor, query: str) -> list[str]:
    return [h.id for h in (await knowledge_search(desk, actor, query, sources=("kb",), method="dense")).hits]


async def test_a_kb_change_is_queued_in_its_own_transaction_and_indexed_by_the_drain(
    desk: Desk, admin: Actor, knowledge: Knowledge
) -> None:
    article = await kb_article_create(desk, admin, KBArticleCreate(title="Reset a VPN token", body="Open the portal."))
    key = f"kb:{article.id}"
    assert set(await outbox_rows(desk)) == {key}
    assert (await kb_article_get(desk, admin, article.id)).indexed is False
    assert await kb_hits(desk, admin, "vpn token portal") == []  # not indexed yet, and search does not do it

    assert (await drain(desk)).embedded == 1
    assert await outbox_rows(desk) == {}
    assert (await kb_article_get(desk, admin, article.id)).indexed is True
    assert await kb_hits(desk, admin, "vpn token portal") == [key]

    # An edit re-embeds the new text; a view does not queue anything.
    await kb_article_update(
        desk, admin, article.id, KBArticleUpdate(revision=1, title="Printer toner", body="Order toner cartridges.")
    )
    assert set(await outbox_rows(desk)) == {key}
    await drain(desk)
    assert await kb_hits(desk, admin, "printer toner cartridges") == [key]
    await kb_article_get(desk, admin, article.id)
    assert await outbox_rows(desk) == {}

    # Deleting removes the vector.
    assert await vector_count(knowledge) == 1
    await kb_article_delete(desk, admin, article.id)
    result = await drain(desk)
    assert (result.embedded, result.removed) == (0, 1)
    assert await vector_count(knowledge) == 0


async def test_a_rolled_back_change_queues_nothing(desk: Desk, admin: Actor, knowledge: Knowledge) -> None:
    with pytest.raises(RuntimeError):
        async with desk.sessions.begin() as session:
            session.add(KBArticle(title="Draft", body="Never committed.", author_id=admin.user_id))
            await session.flush()
            raise RuntimeError("abort")
    assert await outbox_rows(desk) == {}


async def test_search_writes_nothing_and_embeds_only_the_query(
    desk: Desk, admin: Actor, make_user: MakeUser, knowledge: Knowledge
) -> None:
    await kb_article_create(desk, admin, KBArticleCreate(title="Wifi password", body="Ask reception."))
    await drain(desk)
    await kb_article_create(desk, admin, KBArticleCreate(title="Badge reader", body="Blinks red when expired."))
    assert isinstance(knowledge.embedder, FakeEmbedder)
    calls = knowledge.embedder.calls

    async def snapshot() -> tuple[object, ...]:
        async with desk.sessions() as session:
            meta = [(r.key, r.value, r.updated_at) for r in (await session.execute(select(IndexMeta))).scalars()]
            rows = [
                (r.item_key, r.version, r.claimed_until) for r in (await session.execute(select(IndexOutbox))).scalars()
            ]
        return (meta, rows, await vector_count(knowledge))

    before = await snapshot()
    for query in ("badge reader wifi", "wifi password", "badge reader wifi"):
        await knowledge_search(desk, admin, query)
    assert await snapshot() == before
    # The queries, nothing else, each once: a query asked again is answered with the vector kept from before.
    assert knowledge.embedder.calls == calls + 2


async def test_a_change_made_while_the_item_is_embedded_is_embedded_again(
    desk: Desk, admin: Actor, knowledge: Knowledge
) -> None:
    article = await kb_article_create(desk, admin, KBArticleCreate(title="Old title", body="Old body."))
    claimed = await _claim(desk, 10)
    assert claimed == [(f"kb:{article.id}", 1)]
    assert await _claim(desk, 10) == []  # leased: a second worker does not take it
    async with desk.sessions.begin() as session:
        await enqueue(session, [f"kb:{article.id}"])  # a write lands mid-embedding
    await _finish(desk, claimed)
    row = (await outbox_rows(desk))[f"kb:{article.id}"]
    assert row.version == 2 and row.claimed_until is None
    assert await is_pending(desk, f"kb:{article.id}")
    assert (await drain(desk)).embedded == 1 and not await is_pending(desk, f"kb:{article.id}")


async def test_concurrent_workers_claim_disjoint_rows(desk: Desk, admin: Actor, knowledge: Knowledge) -> None:
    async with desk.sessions.begin() as session:
        await enqueue(session, [f"kb:{i}" for i in range(1, 41)])
    batches = await asyncio.gather(*(_claim(desk, 8) for _ in range(6)))
    keys = [k for batch in batches for k, _ in batch]
    assert len(keys) == len(set(keys)) == 40


async def test_a_failed_batch_is_retried_later_with_the_error(
    desk: Desk, admin: Actor, knowledge: Knowledge, monkeypatch: pytest.MonkeyPatch
) -> None:
    article = await kb_article_create(desk, admin, KBArticleCreate(title="Printer", body="Power cycle it."))

    async def down(*args: object, **kwargs: object) -> None:
        raise ConnectionError("vector server unreachable")

    monkeypatch.setattr(knowledge.vectors, "upsert", down)
    result = await drain_once(desk)
    assert result.failed == 1
    row = (await outbox_rows(desk))[f"kb:{article.id}"]
    assert row.attempts == 1 and "vector server unreachable" in (row.last_error or "")
    assert row.available_at > utcnow() and row.claimed_until is None
    assert (await drain_once(desk)).failed == 0  # backing off: not due yet

    monkeypatch.undo()
    async with desk.sessions.begin() as session:
        (await session.get(IndexOutbox, f"kb:{article.id}")).available_at = utcnow() - timedelta(seconds=1)  # type: ignore[union-attr]
    assert (await drain(desk)).embedded == 1


async def test_resolved_tickets_are_indexed_and_reopened_ones_removed(
    desk: Desk, admin: Actor, make_user: MakeUser, knowledge: Knowledge
) -> None:
    from tests.knowledge.test_search import add_ticket

    alice = await make_user("alice")
    await add_ticket(desk, alice, "TCK-000042", "resolved", "Printer jam", "Paper jam, cleared tray two.")
    await add_ticket(desk, alice, "TCK-000043", "open", "Printer toner", "Toner empty.")
    assert (await drain(desk)).embedded == 1
    async with desk.sessions() as session:
        count = (await session.execute(select(func.count()).select_from(IndexOutbox))).scalar_one()
    assert count == 0 and await vector_count(knowledge) == 1


def test_index_drain_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from store.config import Settings
    from tools.desk import open_desk
    from tools.users import ensure_actor

    monkeypatch.setattr("tools.knowledge_service.create_embedder", lambda settings: FakeEmbedder())
    monkeypatch.delenv("SUPPORT_DATABASE_URL", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    data_dir = tmp_path / "data"

    async def create() -> None:
        async with open_desk(Settings(data_dir=data_dir, _env_file=None)) as desk:  # type: ignore[call-arg]
            actor = await ensure_actor(desk, "admin", "admin")
            for title in ("Wifi", "VPN", "Printer"):
                await kb_article_create(desk, actor, KBArticleCreate(title=title, body=f"About the {title}."))

    asyncio.run(create())
    assert main(["--data-dir", str(data_dir), "index", "drain"]) == 0
    assert "indexed 3, removed 0, failed 0, left 0" in capsys.readouterr().err
