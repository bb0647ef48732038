"""The embedding half of the offline policy: exemplar intents behind the rules, and semantic confidence."""

from __future__ import annotations

from typing import Any

import pytest

from agent import policy, semantic
from agent.graph import detect
from agent.semantic import SemanticMatcher, semantic_support
from store.embedder import LocalEmbedder
from tests.agent.conftest import VPN_DOC, FakeEmbedder, MakeAgent
from tests.agent.fakedesk import FakeDesk


class FixedEmbedder:
    """Maps each known text to a fixed unit vector; counts how many texts it embedded."""

    name = "fixed"
    dimension = 3

    def __init__(self, table: dict[str, list[float]]) -> None:
        self.table = table
        self.embedded: list[str] = []

    def embed(self, texts: list[str]) -> list[list[float]]:
        self.embedded += texts
        return [self.table.get(t, [0.0, 0.0, 1.0]) for t in texts]


def hit(title: str, text: str, doc: int) -> dict[str, Any]:
    return {"title": title, "text": text, "document_id": doc, "citation": title}


async def test_text_vectors_are_cached_and_exemplars_embedded_once() -> None:
    fake = FakeEmbedder()
    matcher = SemanticMatcher(fake)
    first = await matcher.similarities("reset vpn password", ["Reset your VPN password", "Printer notes"])
    calls = fake.calls
    again = await matcher.similarities("reset vpn password", ["Printer notes", "Reset your VPN password"])
    assert fake.calls == calls and again == first[::-1]
    await matcher.classify("put me through to the service desk staff")
    calls = fake.calls
    # A new matcher over the same kind of embedder reuses the process's exemplar vectors.
    other = SemanticMatcher(FakeEmbedder())
    await other.classify("hello there")
    assert other.embedder.calls == 1  # type: ignore[attr-defined]  # only the message itself
    assert fake.calls == calls


def test_semantic_support_needs_similarity_and_a_margin() -> None:
    assert semantic_support(0.41, 0.20) == pytest.approx(0.52)
    assert semantic_support(0.41, 0.34) < 0.4  # as close to another article: not an answer
    assert semantic_support(0.05, None) == 0.0
    assert semantic_support(0.9, None) == 1.0


def test_confidence_lifts_a_paraphrase_only_with_semantic_support() -> None:
    hits = [hit("Free up disk space", "Run Disk Cleanup.", 1), hit("Request access to a shared drive", "Ask.", 2)]
    query = "my C: drive has no room left"
    assert policy.confidence(query, hits) < 0.5
    assert policy.confidence(query, hits, [0.41, 0.20]) >= 0.5
    assert policy.confidence(query, hits, [0.41, 0.38]) < 0.5
    # Chunks of the same document are not rivals.
    same = [hits[0], {**hits[0], "text": "Empty Downloads."}]
    assert policy.confidence(query, same, [0.41, 0.40]) >= 0.5


def test_rank_hits_prefers_meaning_over_a_shared_word() -> None:
    disk = hit("Free up disk space", "Run Disk Cleanup.", 1)
    share = hit("Request access to a shared drive", "Ask the folder owner.", 2)
    query = "my C: drive has no room left"
    # Word coverage alone lifts the shared-drive article ("drive")...
    assert policy.rank_hits(query, [disk, share])[0][0] is share
    # ...the meaning keeps the disk article first, and lifts it when search put it second.
    assert policy.rank_hits(query, [disk, share], [0.41, 0.20]) == ([disk, share], [0.41, 0.20])
    assert policy.rank_hits(query, [share, disk], [0.20, 0.41]) == ([disk, share], [0.41, 0.20])
    # A small difference in meaning does not reorder search results.
    assert policy.rank_hits(query, [share, disk], [0.35, 0.41])[0][0] is share


async def test_rules_come_first_and_weak_matches_fall_back() -> None:
    e = FixedEmbedder({})
    matcher = SemanticMatcher(e)
    # Rules decide: the embedder is never asked.
    assert await detect("what is the status of TCK-000042?", {}, matcher, llm=False) == ("status", "rules")
    assert await detect("open a ticket: the printer jams", {}, matcher, llm=False) == ("create_ticket", "rules")
    assert e.embedded == []
    # Inconclusive rules, weak match (every unknown text maps to the same vector as no exemplar): default.
    assert await detect("the projector shows no signal", {}, matcher, llm=False) == ("question", "default")
    # Answers to slot questions are never classified.
    e.embedded.clear()
    assert await detect("call me on +44 20 7946 0958", {"kind": "ticket"}, matcher, llm=False) == (
        "question",
        "default",
    )
    assert e.embedded == []


async def test_exemplar_intent_decides_when_the_rules_do_not() -> None:
    exemplar = semantic.EXEMPLARS["escalate"][2]
    e = FixedEmbedder({exemplar: [1.0, 0.0, 0.0], "I'd like one of your colleagues to take this over": [1.0, 0, 0]})
    # Exemplar vectors are cached per embedder kind: give this one a name of its own.
    e.name = "fixed-escalate"
    matcher = SemanticMatcher(e)
    message = "I'd like one of your colleagues to take this over"
    assert policy.rule_intent(message) is None
    assert await detect(message, {}, matcher, llm=False) == ("escalate", "semantic")
    # While the agent waits for clarification, only a clear change of course is taken.
    assert await detect(message, {"kind": "clarify"}, matcher, llm=False) == ("escalate", "semantic")
    # On the LLM path the model decides what to do for the user; the exemplars only decline what is off-topic.
    assert await detect(message, {}, matcher, llm=True) == ("question", "default")


async def test_an_off_topic_match_is_declined_on_the_llm_path_too() -> None:
    exemplar = semantic.EXEMPLARS["out_of_scope"][8]
    message = "who painted the mona lisa"
    e = FixedEmbedder({exemplar: [0.0, 1.0, 0.0], message: [0.0, 1.0, 0.0]})
    e.name = "fixed-oos-llm"
    assert policy.rule_intent(message) is None
    assert await detect(message, {}, SemanticMatcher(e), llm=True) == ("out_of_scope", "semantic")


async def test_out_of_scope_match_with_it_words_is_left_to_retrieval() -> None:
    exemplar = semantic.EXEMPLARS["out_of_scope"][0]
    message = "what is the weather like on the VPN server"
    e = FixedEmbedder({exemplar: [0.0, 1.0, 0.0], message: [0.0, 1.0, 0.0]})
    e.name = "fixed-oos"
    assert await detect(message, {}, SemanticMatcher(e), llm=False) == ("question", "default")


# --- with the real all-MiniLM-L6-v2 -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def minilm() -> LocalEmbedder:
    return LocalEmbedder()


@pytest.mark.parametrize(
    ("message", "intent"),
    [
        ("put me through to the IT team", "escalate"),
        ("any progress on the issue I reported yesterday?", "status"),
        ("how tall is Mount Everest?", "out_of_scope"),
        ("much appreciated, that sorted it", "thanks"),
        ("please record this problem for the IT team", "create_ticket"),
        ("my laptop battery drains in an hour", "question"),
        ("the badge reader at door 4 blinks red", "question"),
    ],
)
async def test_real_model_intents(minilm: LocalEmbedder, message: str, intent: str) -> None:
    matcher = SemanticMatcher(minilm)
    detected, _ = await detect(message, {}, matcher, llm=False)
    assert detected == intent
    assert await detect(message, {}, matcher, llm=False) == await detect(
        message, {}, SemanticMatcher(minilm), llm=False
    )


async def test_real_model_escalates_and_declines_paraphrases(
    fake_agent: MakeAgent, fake: FakeDesk, minilm: LocalEmbedder
) -> None:
    agent = await fake_agent(embedder=minilm)
    first = await agent.ask("my docking station monitor flickers", actor="alice")
    assert "tell me a bit more" in first.reply
    handed = await agent.ask("put me through to the IT team", first.conversation_id, actor="alice")
    assert handed.intent == "escalate" and handed.handoff is not None
    assert handed.handoff.reason == "customer_asked"
    assert "docking station" in fake.tickets[handed.handoff.ticket].subject
    declined = await agent.ask("who painted the Mona Lisa?", actor="alice")
    assert "outside what I can help with" in declined.reply and declined.tool_calls == []


async def test_without_an_embedder_the_rules_alone_decide(fake_agent: MakeAgent) -> None:
    agent = await fake_agent(embedder=None)
    reply = await agent.ask("who painted the Mona Lisa?", actor="alice")
    assert reply.intent == "question" and reply.tool_calls == ["knowledge_search"]
    answered = await agent.ask("How do I reset my VPN password?", actor="alice")
    assert answered.citations and answered.citations[0].title == VPN_DOC["title"]
