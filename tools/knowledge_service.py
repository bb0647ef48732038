"""The desk's knowledge services: the embedder, the vector index and the record of which model built it.

One :class:`Knowledge` per process, owned by the desk (``Desk.knowledge``) and opened with it; nothing
heavy happens until the first embedding (the model loads lazily). Search itself is
:func:`tools.search.knowledge_search`; ingestion is :mod:`tools.knowledge`. This module imports neither,
nor the desk, so the desk can own it without an import cycle.
"""

from __future__ import annotations

import asyncio
import threading
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from cachetools import LRUCache
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from store.config import Settings
from store.db import SessionFactory
from store.embedder import Embedder, create_embedder, slug
from store.models_knowledge import Document, IndexMeta
from store.outbox import enqueue_all
from store.types import utcnow
from store.vectors import VectorIndex, collection_name
from tools.errors import ConflictError
from tools.search_models import SearchMethod

META_KEY = "embedder"
"""The ``index_meta`` row naming the embedder and collection in use."""
QUERY_VECTORS = 2048
"""Search queries whose vectors are kept (as float32, 1.5 KB each): people, the agent and ticket suggestions
ask the same things again, and embedding a query is most of a search's CPU."""


class EmbedderMismatchError(ConflictError):
    """The vector index holds another model's vectors; only a reindex can change models."""


def _mismatch(row: IndexMeta, emb: Embedder) -> EmbedderMismatchError:
    return EmbedderMismatchError(
        f"the vector index was built with {row.embedder!r} ({row.dimension} dimensions) but the configured "
        f"embedder is {emb.name!r} ({emb.dimension}); rebuild it with `support-agent index rebuild` (or "
        "the document_reindex tool without a document id, as an admin), or switch the embedder setting back"
    )


async def _ready_documents(session: AsyncSession) -> int:
    return int(
        (
            await session.execute(select(func.count()).select_from(Document).where(Document.status == "ready"))
        ).scalar_one()
    )


@dataclass
class Knowledge:
    """The embedder, the vector index and the search method, opened once per process."""

    sessions: SessionFactory
    embedder: Embedder
    vectors: VectorIndex
    clock: Callable[[], datetime] = utcnow
    method: SearchMethod = "weighted_rrf"
    index_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    """Held while vectors are written for a commit and during a full reindex (collection switch)."""
    _embed_lock: threading.Lock = field(default_factory=threading.Lock)
    _query_vectors: LRUCache[tuple[str, str], array[float]] = field(
        default_factory=lambda: LRUCache(maxsize=QUERY_VECTORS)
    )

    @classmethod
    def open(
        cls,
        settings: Settings,
        sessions: SessionFactory,
        *,
        clock: Callable[[], datetime] = utcnow,
        embedder: Embedder | None = None,
    ) -> Knowledge:
        """The services for ``settings`` (the model loads on first embedding, the index on first use)."""
        return cls(
            sessions=sessions,
            embedder=embedder or create_embedder(settings),
            vectors=VectorIndex(settings),
            clock=clock,
        )

    async def embed(self, texts: list[str]) -> list[list[float]]:
        """Embed off the event loop; one call at a time per process (ONNX Runtime already uses every core)."""
        lock = self._embed_lock

        def run() -> list[list[float]]:
            with lock:
                return self.embedder.embed(texts)

        return await asyncio.to_thread(run)

    async def embed_query(self, query: str) -> list[float]:
        """A search query's vector, from the recent queries' when it was asked before (by this embedder)."""
        key = (self.embedder.name, query)
        kept = self._query_vectors.get(key)
        if kept is None:
            [vector] = await self.embed([query])
            # float32, as the vector index holds and compares vectors: nothing it uses is lost.
            self._query_vectors[key] = array("f", vector)
            return vector
        return kept.tolist()

    # --- the index record ---------------------------------------------------------------------------

    async def active_collection(self, session: AsyncSession) -> str:
        """The collection for the configured embedder; refuses when the index was built by another model."""
        emb = self.embedder
        row = await session.get(IndexMeta, META_KEY)
        if row is not None and row.embedder == emb.name and row.dimension == emb.dimension and row.collection:
            return row.collection
        generation = int((row.value or {}).get("generation", 0)) + 1 if row is not None else 1
        if row is not None and await _ready_documents(session):
            raise _mismatch(row, emb)
        # First use, or a model change with nothing indexed yet: adopt the configured embedder. KB articles
        # and tickets are queued again for the new, empty collection.
        name = collection_name(slug(emb.name), emb.dimension, generation)
        if row is not None:
            await enqueue_all(session)
        if row is None:
            row = IndexMeta(key=META_KEY)
            session.add(row)
        row.embedder, row.dimension, row.collection = emb.name, emb.dimension, name
        row.value = {"generation": generation}
        row.updated_at = self.clock()
        await session.flush()
        return name

    async def write_collection(self) -> str:
        """The collection to write vectors to (adopting the configured embedder on first use)."""
        async with self.sessions.begin() as session:
            return await self.active_collection(session)

    async def search_collection(self) -> str | None:
        """The collection to search, without writing anything; None while nothing was ever indexed."""
        emb = self.embedder
        async with self.sessions() as session:
            row = await session.get(IndexMeta, META_KEY)
            if row is None or not row.collection:
                return None
            if row.embedder == emb.name and row.dimension == emb.dimension:
                return row.collection
            if not await _ready_documents(session):
                return None  # the next write adopts the configured embedder
        raise _mismatch(row, emb)

    async def document_collections(self) -> list[str]:
        """Every desk collection in the vector index (of any model or generation)."""
        return [n for n in await self.vectors.list_names() if n.startswith("desk-")]
