"""How the agent reads search results: knowledge_search hits as the desk's one hit type."""

from __future__ import annotations

from agent.prompts import search_hits, wrap_tool_result
from server.tools_kb import KBSearchResults
from tools.kb_models import KBSearchHit
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


def test_kb_article_search_results_are_read_as_the_one_hit_type() -> None:
    page = KBSearchResults(
        query="vpn", items=[KBSearchHit(id=7, title="Reset VPN", snippet="Steps.", score=1.0, url=None, tags=[])]
    ).model_dump(mode="json")
    page["items"].insert(0, {"id": "seven", "title": "not a hit"})  # type: ignore[union-attr]
    [read] = search_hits(page) or []
    hit = SearchHit.model_validate(read)
    assert (hit.source, hit.ref_id, hit.title, hit.text, hit.citation) == (
        "kb",
        7,
        "Reset VPN",
        "Steps.",
        "KB #7: Reset VPN",
    )
