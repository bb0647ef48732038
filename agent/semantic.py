"""The embedding half of the offline policy: intent by similarity to exemplar sentences, and how closely a
retrieved text means what the user asked.

The rules in :mod:`agent.policy` stay the first, precise layer (ticket numbers, "open a ticket", cancel,
yes/no). Only a message they leave undecided is compared with a few exemplar sentences per intent; a weak
or ambiguous match falls back to the default ("question"). The same embedder scores retrieved hits against
the question, so a paraphrase that shares no words with the right article can still be answered.

Embedding is blocking: every call runs in a worker thread (``asyncio.to_thread``). Exemplar vectors are
computed once per process per embedder; text vectors are cached per matcher, so the same article is not
embedded on every turn. Similarities are rounded so results do not depend on batch composition.
"""

from __future__ import annotations

import asyncio
import logging
import operator
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Literal

from store.embedder import Embedder

logger = logging.getLogger(__name__)

SemanticIntent = Literal[
    "question", "create_ticket", "status", "list_tickets", "escalate", "comment", "out_of_scope", "greeting", "thanks"
]

EXEMPLARS: dict[SemanticIntent, tuple[str, ...]] = {
    "question": (
        "how do I fix this problem on my computer",
        "my laptop will not start",
        "the application crashes when I open it",
        "I cannot sign in to my account",
        "how do I set up the software",
        "the network connection keeps dropping",
        "my screen stays black",
        "the printer does not print",
        "where do I find the settings for this",
        "it shows an error message",
    ),
    "create_ticket": (
        "please log this as a new support request",
        "I want to report a problem to IT",
        "can you raise this with the IT team for me",
        "record this issue so someone fixes it",
        "I'd like to submit a support case",
        "put in a request for me",
        "get this logged with the service desk",
    ),
    "status": (
        "any progress on the issue I reported",
        "has anyone looked at my request yet",
        "what is happening with my support case",
        "is my problem fixed yet",
        "when will my issue be resolved",
        "any news on my request",
    ),
    "list_tickets": (
        "which of my requests are still open",
        "show me everything I have reported",
        "what support cases do I have",
        "list all my requests",
        "what have I got open with IT",
        "how many issues have I raised",
    ),
    "escalate": (
        "I want to talk to a person",
        "connect me with a support agent",
        "put me through to the service desk staff",
        "get me someone from IT on the line",
        "this bot is not helping, I need a real human",
        "can somebody from support call me",
        "transfer me to a member of staff",
    ),
    "comment": (
        "add a note to my request",
        "please pass this information on to the technician",
        "let the person working on my case know this",
        "append this detail to my case",
        "update my request with this information",
    ),
    "out_of_scope": (
        "what is the weather like today",
        "tell me a funny story",
        "who won the game last night",
        "recommend a good restaurant",
        "what is the capital of France",
        "how tall is the tallest mountain",
        "write a poem for my friend",
        "what should I cook for dinner",
        "who painted this famous picture",
        "give me advice about my relationship",
        "suggest a name for my pet",
        "book me a holiday",
        "who wrote this famous novel",
        "how many calories does this food have",
        "when does the shop close",
        "what present should I buy",
        "translate a sentence into another language",
    ),
    "greeting": (
        "hello there",
        "hi, how are you",
        "good day to you",
        "hey, anybody there",
        "greetings",
    ),
    "thanks": (
        "thank you very much",
        "much appreciated",
        "that solved it, thanks",
        "great, that was helpful",
        "cheers, all sorted now",
    ),
}

FAMILIES: tuple[frozenset[SemanticIntent], ...] = (frozenset({"status", "list_tickets"}),)
"""Intents close enough that the margin is measured against the best intent outside the family: "is my
issue fixed yet" and "which of my requests are open" are both about the caller's tickets, and the status
node lists them when no ticket is named."""

INTENT_THRESHOLD = 0.5
"""Cosine to the closest exemplar from which a semantic intent is trusted (all-MiniLM-L6-v2)."""
INTENT_MARGIN = 0.06
"""How far the best intent must stand above the runner-up intent; closer calls fall back to the rules' default."""

SEM_FLOOR = 0.10
"""Question-to-hit cosine that counts as no semantic support at all."""
SEM_SPAN = 0.60
"""Cosine above the floor that counts as full support: 0.40 maps to 0.5 (enough to answer), 0.70 to 1."""
SEM_MARGIN = 0.10
"""How far the best hit must stand above the next one for its similarity to count in full: a question
that is equally close to two articles is not answered from either on meaning alone."""

CACHE_SIZE = 2048

_EXEMPLAR_LOCK = threading.Lock()
_EXEMPLAR_VECTORS: dict[tuple[str, str, int], list[tuple[SemanticIntent, list[float]]]] = {}


@dataclass(frozen=True)
class IntentMatch:
    """The closest intent to a message and how sure the match is."""

    intent: SemanticIntent
    score: float
    """Cosine to the closest exemplar of that intent."""
    margin: float
    """Score minus the best score of any other intent."""

    @property
    def confident(self) -> bool:
        return self.score >= INTENT_THRESHOLD and self.margin >= INTENT_MARGIN


def cosine(a: list[float], b: list[float]) -> float:
    """Dot product of unit vectors, rounded so tiny numeric noise cannot flip a decision."""
    return round(sum(map(operator.mul, a, b)), 4)


def semantic_support(best: float, runner_up: float | None) -> float:
    """How much the question-to-hit similarity alone supports answering from the best hit (0-1)."""
    score = max(0.0, min(1.0, (best - SEM_FLOOR) / SEM_SPAN))
    if runner_up is not None:
        score *= max(0.0, min(1.0, (best - runner_up) / SEM_MARGIN))
    return round(score, 2)


def _exemplar_key(embedder: Embedder) -> tuple[str, str, int]:
    return (type(embedder).__qualname__, embedder.name, embedder.dimension)


def _exemplar_vectors(embedder: Embedder) -> list[tuple[SemanticIntent, list[float]]]:
    """Every exemplar's vector with its intent; embedded once per process per embedder (blocking)."""
    key = _exemplar_key(embedder)
    with _EXEMPLAR_LOCK:
        cached = _EXEMPLAR_VECTORS.get(key)
        if cached is None:
            labels = [intent for intent, sentences in EXEMPLARS.items() for _ in sentences]
            texts = [sentence for sentences in EXEMPLARS.values() for sentence in sentences]
            cached = list(zip(labels, embedder.embed(texts), strict=True))
            _EXEMPLAR_VECTORS[key] = cached
            logger.info("embedded %d intent exemplars with %s", len(texts), embedder.name)
        return cached


class SemanticMatcher:
    """Intent classification and question-to-text similarity over one embedder."""

    def __init__(self, embedder: Embedder, cache_size: int = CACHE_SIZE) -> None:
        self.embedder = embedder
        self.cache_size = cache_size
        self._cache: OrderedDict[str, list[float]] = OrderedDict()

    async def vectors(self, texts: list[str]) -> list[list[float]]:
        """Vectors for ``texts`` in order; only those not cached are embedded, in a worker thread."""
        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            for text, vector in zip(missing, await asyncio.to_thread(self.embedder.embed, missing), strict=True):
                self._cache[text] = vector
        out = []
        for text in texts:
            self._cache.move_to_end(text)
            out.append(self._cache[text])
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return out

    async def classify(self, message: str) -> IntentMatch:
        """The intent whose exemplars are closest to ``message`` (check :attr:`IntentMatch.confident`)."""
        exemplars = await asyncio.to_thread(_exemplar_vectors, self.embedder)
        [vector] = await self.vectors([message])
        best: dict[SemanticIntent, float] = {}
        for intent, exemplar in exemplars:
            score = cosine(vector, exemplar)
            if score > best.get(intent, -2.0):
                best[intent] = score
        # Ties break by the order of EXEMPLARS, so the result never depends on dict iteration accidents.
        order = list(EXEMPLARS)
        ranked = sorted(best.items(), key=lambda kv: (-kv[1], order.index(kv[0])))
        intent, score = ranked[0]
        family = next((f for f in FAMILIES if intent in f), frozenset({intent}))
        runner_up = max((s for i, s in ranked if i not in family), default=-1.0)
        return IntentMatch(intent=intent, score=score, margin=round(score - runner_up, 4))

    async def similarities(self, query: str, texts: list[str]) -> list[float]:
        """Cosine between ``query`` and each of ``texts``."""
        if not texts:
            return []
        [qvec, *tvecs] = await self.vectors([query, *texts])
        return [cosine(qvec, t) for t in tvecs]
