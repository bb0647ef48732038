"""The vector index: Chroma, embedded under the data directory or a Chroma server (``CHROMA_URL``).

Collections are created with ``embedding_function=None`` and cosine space, and every call passes its
own embeddings: Chroma must never pick (and download) a default model. Chroma's client is blocking, so
every public coroutine here runs the call in a worker thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlparse

from store.config import Settings

logger = logging.getLogger(__name__)

Metadata = dict[str, str | int | float | bool]
T = TypeVar("T")


@dataclass(frozen=True)
class VectorHit:
    id: str
    similarity: float
    """Cosine similarity, 1 is identical."""
    metadata: Metadata


def collection_name(embedder_slug: str, dimension: int, generation: int) -> str:
    """One collection per embedder (and per rebuild generation), so vectors of two models never mix."""
    return f"desk-{embedder_slug}-{dimension}-g{generation}"


class VectorIndex:
    """A thin, thread-safe wrapper over one Chroma client."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._client: Any = None
        self._lock = threading.Lock()
        self._collections: dict[str, Any] = {}

    @property
    def location(self) -> str:
        return self._settings.chroma_url or str(self._settings.data_dir / "chroma")

    def _get_client(self) -> Any:
        with self._lock:
            if self._client is None:
                import chromadb
                from chromadb.config import Settings as ChromaSettings

                chroma_settings = ChromaSettings(anonymized_telemetry=False)
                url = self._settings.chroma_url
                if url:
                    parsed = urlparse(url if "://" in url else f"http://{url}")
                    self._client = chromadb.HttpClient(
                        host=parsed.hostname or "localhost",
                        port=parsed.port or (443 if parsed.scheme == "https" else 8000),
                        ssl=parsed.scheme == "https",
                        settings=chroma_settings,
                    )
                else:
                    path = self._settings.data_dir / "chroma"
                    path.mkdir(parents=True, exist_ok=True)
                    self._client = chromadb.PersistentClient(path=str(path), settings=chroma_settings)
            return self._client

    def _collection(self, name: str) -> Any:
        cached = self._collections.get(name)
        if cached is not None:
            return cached
        client = self._get_client()
        collection = client.get_or_create_collection(
            name, embedding_function=None, configuration={"hnsw": {"space": "cosine"}}
        )
        with self._lock:
            self._collections[name] = collection
        return collection

    def _call(self, name: str, fn: Callable[[Any], T]) -> T:
        """Run ``fn`` on the collection; if another client dropped and recreated it, refresh once."""
        from chromadb.errors import NotFoundError

        try:
            return fn(self._collection(name))
        except NotFoundError:
            with self._lock:
                self._collections.pop(name, None)
            return fn(self._collection(name))

    # --- blocking calls -----------------------------------------------------------------------------

    def upsert_sync(
        self, name: str, ids: Sequence[str], embeddings: Sequence[Sequence[float]], metadatas: Sequence[Metadata]
    ) -> None:
        if not ids:
            return
        self._call(
            name, lambda c: c.upsert(ids=list(ids), embeddings=[list(e) for e in embeddings], metadatas=list(metadatas))
        )

    def query_sync(
        self, name: str, embedding: Sequence[float], n: int, where: dict[str, Any] | None = None
    ) -> list[VectorHit]:
        result = self._call(
            name,
            lambda c: c.query(
                query_embeddings=[list(embedding)], n_results=n, where=where, include=["distances", "metadatas"]
            ),
        )
        ids = result["ids"][0] if result["ids"] else []
        distances = (result.get("distances") or [[]])[0]
        metadatas = (result.get("metadatas") or [[]])[0]
        return [
            VectorHit(id=i, similarity=1.0 - float(d), metadata=dict(m or {}))
            for i, d, m in zip(ids, distances, metadatas, strict=False)
        ]

    def delete_sync(self, name: str, *, ids: Sequence[str] | None = None, where: dict[str, Any] | None = None) -> None:
        if ids is not None and not ids:
            return
        self._call(name, lambda c: c.delete(ids=list(ids) if ids is not None else None, where=where))

    def count_sync(self, name: str) -> int:
        return int(self._call(name, lambda c: c.count()))

    def drop_sync(self, name: str) -> None:
        from chromadb.errors import NotFoundError

        client = self._get_client()
        with self._lock:
            self._collections.pop(name, None)
        with contextlib.suppress(NotFoundError):  # already gone: dropping is idempotent
            client.delete_collection(name)

    def list_names_sync(self) -> list[str]:
        return [c if isinstance(c, str) else c.name for c in self._get_client().list_collections()]

    def heartbeat_sync(self) -> int:
        return int(self._get_client().heartbeat())

    # --- async wrappers -----------------------------------------------------------------------------

    async def upsert(
        self, name: str, ids: Sequence[str], embeddings: Sequence[Sequence[float]], metadatas: Sequence[Metadata]
    ) -> None:
        await asyncio.to_thread(self.upsert_sync, name, ids, embeddings, metadatas)

    async def query(
        self, name: str, embedding: Sequence[float], n: int, where: dict[str, Any] | None = None
    ) -> list[VectorHit]:
        return await asyncio.to_thread(self.query_sync, name, embedding, n, where)

    async def delete(self, name: str, *, ids: Sequence[str] | None = None, where: dict[str, Any] | None = None) -> None:
        await asyncio.to_thread(lambda: self.delete_sync(name, ids=ids, where=where))

    async def count(self, name: str) -> int:
        return await asyncio.to_thread(self.count_sync, name)

    async def drop(self, name: str) -> None:
        await asyncio.to_thread(self.drop_sync, name)

    async def list_names(self) -> list[str]:
        return await asyncio.to_thread(self.list_names_sync)
