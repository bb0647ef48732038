"""A stand-in for hybrid search (``tools.search.ranked_hits``) built from the real hit type, so it cannot drift."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from tools.actor import Actor
from tools.desk import Desk
from tools.errors import UnavailableError
from tools.search_models import HitSource, SearchHit, SourceName


def hit(source: HitSource, key: str, score: float, text: str = "") -> SearchHit:
    """A hit as knowledge_search makes it (``key`` is ``kb:7``, ``ticket:42`` or ``doc:3:0``)."""
    document_id = int(key.split(":")[1]) if source == "document" else None
    return SearchHit(source=source, id=key, document_id=document_id, title=key, text=text, citation=key, score=score)


class FakeSearch:
    """Returns fixed hits (or, with ``None``, says the vector side is unavailable) and records each call."""

    def __init__(self, hits: list[SearchHit] | None) -> None:
        self.hits = hits
        self.calls: list[tuple[Any, ...]] = []

    async def __call__(
        self, desk: Desk, actor: Actor, query: str, *, k: int, sources: Sequence[SourceName]
    ) -> list[SearchHit]:
        self.calls.append((actor.username, query, k, tuple(sources)))
        if self.hits is None:
            raise UnavailableError("the embedding model is not installed")
        return self.hits

    def install(self, monkeypatch: pytest.MonkeyPatch) -> FakeSearch:
        monkeypatch.setattr("tools.search.ranked_hits", self)
        return self
