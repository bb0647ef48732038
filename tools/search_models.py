"""The one hit type of knowledge search, its filters and its result: what every caller of search reads.

KB article search (:mod:`tools.kb_query`), ticket suggestions (:mod:`tools.suggest`), the search log
(:mod:`tools.usage_log`) and the agent (which reads ``knowledge_search`` results over MCP, see
:func:`parse_hits`) all take :class:`SearchHit` as it is, so no caller guesses at a hit's shape.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, ValidationError

from tools.common import MAX_ID

SourceName = Literal["documents", "kb", "tickets"]
"""What a caller asks to search."""
SearchMethod = Literal["dense", "fulltext", "rrf", "weighted", "weighted_rrf"]
HitSource = Literal["document", "kb", "ticket"]
"""What a hit is."""
ALL_SOURCES: tuple[SourceName, ...] = ("documents", "kb", "tickets")
SOURCE_OF: dict[SourceName, HitSource] = {"documents": "document", "kb": "kb", "tickets": "ticket"}


class KnowledgeFilters(BaseModel):
    """Optional narrowing of a search."""

    document_ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]] | None = Field(
        default=None, description="Only these documents."
    )
    doc_types: list[str] | None = Field(default=None, description="Only documents of these types, e.g. ['pdf'].")

    @property
    def narrows_documents(self) -> bool:
        """True when only some documents count (KB articles and tickets are then left out)."""
        return bool(self.document_ids or self.doc_types)


class SearchHit(BaseModel):
    source: HitSource
    id: str = Field(description="doc:<document>:<chunk ordinal>, kb:<article id> or ticket:<ticket id>.")
    document_id: int | None = None
    title: str
    text: str
    citation: str
    page: int | None = None
    sheet: str | None = None
    score: float

    @property
    def ref_id(self) -> int:
        """The row the hit names: the document, the KB article or the ticket id."""
        if self.source == "document" and self.document_id is not None:
            return self.document_id
        return int(self.id.split(":")[1])

    @property
    def ref(self) -> str:
        """The hit's item as usage counts it: ``doc:<document>`` per document, else its id."""
        return f"doc:{self.document_id}" if self.document_id is not None else self.id


class KnowledgeSearchResult(BaseModel):
    query: str
    hits: list[SearchHit]
    method: SearchMethod


def parse_hits(data: Any) -> list[SearchHit] | None:
    """The hits of a ``knowledge_search`` result as structured content (a dict), or None if it is not one."""
    if not isinstance(data, dict) or not isinstance(data.get("hits"), list) or "method" not in data:
        return None
    hits: list[SearchHit] = []
    for raw in data["hits"]:
        try:
            hits.append(SearchHit.model_validate(raw))
        except ValidationError:
            continue  # a hit this version cannot read is skipped, never half-read
    return hits
