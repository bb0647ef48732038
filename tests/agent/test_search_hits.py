"""How the agent reads search results: knowledge_search hits as the desk's one hit type."""

from __future__ import annotations

from agent.prompts import search_hits, wrap_tool_result
from tools.search_models import KnowledgeSearchResult, SearchHit


def _result(*hits: SearchHit) -> dict[str, object]:
    return KnowledgeSearchResult(query="vpn", hits=list(hits), method="weighted_rrf").model_dump(mode="json")


def test_knowledge_search_hits_keep_every_field_of_the_hit_type() -> None:
    hit = SearchHit(
        source="document", id="doc:3:0", document_id=3, title="VPN guide", text="Open the portal.",
        citation="VPN guide › Connecting", page=2, score=0.8,
    )  # fmt: skip
    [read] = search_hits(_result(hit)) or []
    assert SearchHit.model_validate(read) == hit


def test_a_hit_that_is_not_a_search_hit_is_dropped_not_half_read() -> None:
    good = SearchHit(source="kb", id="kb:7", title="Reset VPN", text="Steps.", citation="KB #7", score=0.5)
    data = _result(good)
    data["hits"] = [{"source": "kb", "title": "no id, no text"}, *data["hits"]]  # type: ignore[misc]
    assert [h["id"] for h in search_hits(data) or []] == ["kb:7"]
    assert "no id, no text" not in wrap_tool_result("knowledge_search", data, "")


def test_kb_article_search_pages_are_still_read_as_hits() -> None:
    page = {"query": "vpn", "items": [{"id": 7, "title": "Reset VPN", "snippet": "Steps.", "score": 1.0}]}
    assert search_hits(page) == page["items"]
