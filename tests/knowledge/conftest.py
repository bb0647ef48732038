"""Fixtures for the knowledge tests: a fast fake embedder, the shared real model, a Knowledge per test."""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from store.config import Settings
from store.embedder import LocalEmbedder
from store.vectors import VectorIndex
from tools.desk import Desk
from tools.knowledge_service import Knowledge

_WORD = re.compile(r"[a-z]+")


class FakeEmbedder:
    """Bag of alphabetic words hashed into 64 dimensions: fast, deterministic, and blind to codes with
    digits (like a dense model that does not know what 0x80070005 means)."""

    def __init__(self, name: str = "fake-bow", dimension: int = 64) -> None:
        self.name = name
        self.dimension = dimension
        self.calls = 0

    def embed(self, texts: list[str]) -> list[list[float]]:
        self.calls += 1
        out = []
        for t in texts:
            v = [0.0] * self.dimension
            for w in _WORD.findall(t.lower()):
                v[int(hashlib.md5(w.encode()).hexdigest(), 16) % self.dimension] += 1.0
            n = math.sqrt(sum(x * x for x in v)) or 1.0
            out.append([x / n for x in v] if any(v) else [1.0 / math.sqrt(self.dimension)] * self.dimension)
        return out


_VECTORS: dict[str, VectorIndex] = {}


def shared_vectors(settings: Settings) -> VectorIndex:
    """One Chroma client per data directory for the whole session (opening one is not free)."""
    key = str(settings.data_dir) + (settings.chroma_url or "")
    if key not in _VECTORS:
        _VECTORS[key] = VectorIndex(settings)
    return _VECTORS[key]


@pytest.fixture(scope="session")
def local_embedder() -> LocalEmbedder:
    """The real all-MiniLM-L6-v2, loaded once for the session on first use."""
    return LocalEmbedder()


async def attach(desk: Desk, embedder: object) -> Knowledge:
    knowledge = desk.open_knowledge(embedder=embedder)  # type: ignore[arg-type]
    knowledge.vectors = shared_vectors(desk.settings)
    return knowledge


async def drop_all(vectors: VectorIndex) -> None:
    for name in await vectors.list_names():
        await vectors.drop(name)


@pytest_asyncio.fixture(loop_scope="session")
async def knowledge(desk: Desk) -> AsyncIterator[Knowledge]:
    """desk.knowledge with the fake embedder; every collection is dropped after the test."""
    previous = desk.knowledge
    kn = await attach(desk, FakeEmbedder())
    try:
        yield kn
    finally:
        await drop_all(kn.vectors)
        desk.knowledge = previous
