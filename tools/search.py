"""Hybrid knowledge search over documents, KB articles and resolved tickets.

Two retrievers: full-text in the database (FTS5 / tsvector) and dense vectors (Chroma). Both candidate
lists are validated against one database snapshot (a vector hit counts only if its chunk exists and its
document is ready; tickets only when resolved or closed, and end users only see their own), then fused.

Fusion methods, all measured by ``bench/knowledge_bench.py``: ``dense``, ``fulltext``, ``rrf`` (reciprocal
rank fusion), ``weighted`` (min-max normalised scores, convex combination, plus a boost for exact tokens
such as error codes and ticket numbers) and ``weighted_rrf`` (reciprocal ranks weighted towards dense,
with a small rank constant and the same exact-token boost). The shipped default, ``weighted_rrf``, is the
only one that measured at least as good as dense-only and full-text-only on both recall@5 and MRR@10.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from store import fulltext
from store.models import KBArticle, Ticket
from store.models_knowledge import DOCUMENT_CHUNKS, Document, DocumentChunk
from tools import permissions
from tools.actor import Actor
from tools.common import truncate
from tools.desk import Desk
from tools.errors import InvalidInputError, UnavailableError
from tools.knowledge_service import EmbedderMismatchError
from tools.search_models import (
    ALL_SOURCES,
    SOURCE_OF,
    KnowledgeFilters,
    KnowledgeSearchResult,
    SearchHit,
    SearchMethod,
    SourceName,
)

RESOLVED = ("resolved", "closed")

DEFAULT_ALPHA = 0.7
"""Weight of the dense score in ``weighted`` fusion (the full-text score gets the rest); 0.7 measured best
on the SEC 10-Q set (MRR@10 0.702 against 0.614 dense-only and 0.666 RRF; see docs/benchmarks.md)."""
EXACT_BOOST = 1.0
"""Added (times the share of exact tokens found) so a chunk holding the error code wins over paraphrases."""
RRF_K = 60
WEIGHTED_RRF_DENSE = 0.8
"""Weight of the dense ranks in ``weighted_rrf`` (full-text ranks get the rest)."""
WEIGHTED_RRF_K = 10
"""Rank constant of ``weighted_rrf``: small, so a first place counts clearly more than a tenth."""
WEIGHTED_RRF_BOOST = 0.01
"""Added to a ``weighted_rrf`` score (times the share of the query's exact tokens found): about the gap
between a first and a third dense rank, so the chunk holding the error code wins among close matches
without lifting text that only shares a year with the query over far better ones.
On the SEC 10-Q set: recall@5 0.954 and MRR@10 0.651, against 0.944 / 0.632 dense-only and 0.636 / 0.436
full-text-only (docs/benchmarks.md)."""
TEXT_CHARS = 700

_SPECIAL = re.compile(r"\b(?:0x[0-9a-f]+|[a-z0-9]*\d[a-z0-9]*(?:[-_.:/][a-z0-9]+)*|[a-z]+(?:[-_][a-z0-9]+)+)\b", re.I)


@dataclass
class _Candidate:
    key: str
    hit: SearchHit | None = None
    dense: float | None = None
    dense_rank: int | None = None
    fts: float | None = None
    fts_rank: int | None = None
    blob: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


MIN_DENSE_ONLY = 0.25
"""Cosine similarity a hit with no word in common with the query needs to count as a match."""


def special_tokens(query: str) -> list[str]:
    """Tokens that must match exactly: codes with digits (0x80070005, TCK-000042), hyphenated names."""
    return [m.group(0).lower() for m in _SPECIAL.finditer(query) if len(m.group(0)) >= 3]


# --- fusion -------------------------------------------------------------------------------------------------


def _minmax(values: dict[str, float]) -> dict[str, float]:
    if not values:
        return {}
    lo, hi = min(values.values()), max(values.values())
    if hi - lo < 1e-12:
        return {k: 1.0 for k in values}
    return {k: (v - lo) / (hi - lo) for k, v in values.items()}


def _ranks(candidates: dict[str, _Candidate], attr: str) -> dict[str, int]:
    """1-based ranks by one retriever's score, among the validated candidates that retriever found."""
    ranked = sorted(
        (k for k, c in candidates.items() if getattr(c, attr) is not None), key=lambda k: -getattr(candidates[k], attr)
    )
    return {k: rank for rank, k in enumerate(ranked, 1)}


def fuse(
    candidates: dict[str, _Candidate], method: SearchMethod, query: str, *, alpha: float | None = None
) -> list[tuple[str, float]]:
    """Keys with fused scores, best first. ``alpha`` is the dense weight of ``weighted`` and ``weighted_rrf``."""
    scores: dict[str, float] = {}
    if method == "weighted_rrf":
        # Every candidate of either retriever stays (dense recall is kept); agreement and exact codes move
        # a candidate up, but only by rank-sized steps.
        weight = WEIGHTED_RRF_DENSE if alpha is None else alpha
        dense_ranks, fts_ranks = _ranks(candidates, "dense"), _ranks(candidates, "fts")
        tokens = special_tokens(query)
        for k, c in candidates.items():
            s = 0.0
            if k in dense_ranks:
                s += weight / (WEIGHTED_RRF_K + dense_ranks[k])
            if k in fts_ranks:
                s += (1 - weight) / (WEIGHTED_RRF_K + fts_ranks[k])
            if tokens:
                s += WEIGHTED_RRF_BOOST * sum(1 for t in tokens if t in c.blob) / len(tokens)
            scores[k] = s
    elif method == "dense":
        scores = {k: c.dense for k, c in candidates.items() if c.dense is not None}
    elif method == "fulltext":
        scores = {k: c.fts for k, c in candidates.items() if c.fts is not None}
    elif method == "rrf":
        # Ranks among the validated candidates only (hits dropped by validation do not push others down).
        for attr in ("dense", "fts"):
            ranked = sorted(
                (k for k, c in candidates.items() if getattr(c, attr) is not None),
                key=lambda k: -getattr(candidates[k], attr),
            )
            for rank, k in enumerate(ranked, 1):
                scores[k] = scores.get(k, 0.0) + 1.0 / (RRF_K + rank)
    else:
        alpha = DEFAULT_ALPHA if alpha is None else alpha
        dense = _minmax({k: c.dense for k, c in candidates.items() if c.dense is not None})
        fts = _minmax({k: c.fts for k, c in candidates.items() if c.fts is not None})
        tokens = special_tokens(query)
        for k, c in candidates.items():
            found = sum(1 for t in tokens if t in c.blob)
            # No word in common with the query: a semantic match must stand on its own similarity,
            # and when the query names an exact code, text without that code is not an answer.
            if c.fts is None and ((tokens and not found) or (c.dense or 0.0) < MIN_DENSE_ONLY):
                continue
            s = alpha * dense.get(k, 0.0) + (1 - alpha) * fts.get(k, 0.0)
            if tokens:
                s += EXACT_BOOST * found / len(tokens)
            scores[k] = s
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))


# --- search ----------------------------------------------------------------------------------------------------


def _doc_where(filters: KnowledgeFilters | None) -> tuple[str, dict[str, object]]:
    where = "t.document_id IN (SELECT d.id FROM documents d WHERE d.status = 'ready'"
    params: dict[str, object] = {}
    if filters and filters.document_ids:
        names = []
        for i, v in enumerate(filters.document_ids):
            params[f"fd{i}"] = int(v)
            names.append(f":fd{i}")
        where += f" AND d.id IN ({', '.join(names)})"
    if filters and filters.doc_types:
        names = []
        for i, doc_type in enumerate(filters.doc_types):
            params[f"ft{i}"] = doc_type
            names.append(f":ft{i}")
        where += f" AND d.doc_type IN ({', '.join(names)})"
    return where + ")", params


async def knowledge_search(
    desk: Desk,
    actor: Actor,
    query: str,
    *,
    k: int = 5,
    sources: Sequence[SourceName] = ALL_SOURCES,
    filters: KnowledgeFilters | None = None,
    method: SearchMethod | None = None,
    candidates: int | None = None,
    alpha: float | None = None,
) -> KnowledgeSearchResult:
    """Hybrid search: anyone may search; tickets are limited to resolved ones the actor may see."""
    query = query.strip()
    if not query:
        raise InvalidInputError("query is empty; say what you are looking for")
    if not 1 <= k <= 50:
        raise InvalidInputError(f"k must be between 1 and 50, got {k}")
    unknown = [s for s in sources if s not in ALL_SOURCES]
    if unknown or not sources:
        raise InvalidInputError(f"sources must be some of {list(ALL_SOURCES)}, got {list(sources)}")
    knowledge = desk.require_knowledge()
    method = method or knowledge.method
    n = candidates or max(50, 10 * k)

    # Dense first, outside the snapshot: it is validated against the snapshot below.
    dense: list[Any] = []
    coll = await knowledge.search_collection()
    if method != "fulltext" and coll is not None:
        # Read-only: KB articles and tickets are embedded when they change (tools.indexing), not here.
        qvec = await knowledge.embed_query(query)
        src = [SOURCE_OF[s] for s in sources]
        where: dict[str, Any] | None = (
            None if len(src) == 3 else ({"source": src[0]} if len(src) == 1 else {"source": {"$in": src}})
        )
        dense = await knowledge.vectors.query(coll, qvec, n, where)

    cands: dict[str, _Candidate] = {}
    async with desk.sessions() as session:
        if desk.dialect == "postgresql":
            # One snapshot for every statement, so a version swap is seen entirely or not at all.
            await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        for rank, vh in enumerate(dense, 1):
            cands[vh.id] = _Candidate(key=vh.id, dense=vh.similarity, dense_rank=rank, extra=dict(vh.metadata))
        if method != "dense":
            fts_lists: list[list[tuple[str, float]]] = []
            if "documents" in sources:
                where_sql, params = _doc_where(filters)
                rows = await fulltext.search(session, DOCUMENT_CHUNKS, query, limit=n, where=where_sql, params=params)
                if rows:
                    ordmap = {
                        cid: (did, o)
                        for cid, did, o in (
                            await session.execute(
                                select(DocumentChunk.id, DocumentChunk.document_id, DocumentChunk.ordinal).where(
                                    DocumentChunk.id.in_([r[0] for r in rows])
                                )
                            )
                        ).all()
                    }
                    fts_lists.append([(f"doc:{ordmap[i][0]}:{ordmap[i][1]}", s) for i, s in rows if i in ordmap])
            if "kb" in sources and not (filters and filters.narrows_documents):
                rows = await fulltext.search(session, fulltext.KB_ARTICLES, query, limit=n)
                fts_lists.append([(f"kb:{i}", s) for i, s in rows])
            if "tickets" in sources and not (filters and filters.narrows_documents):
                rows = await fulltext.search(
                    session,
                    fulltext.TICKETS,
                    query,
                    limit=n,
                    where="t.status IN ('resolved', 'closed')",
                    restrict=permissions.visible_ticket_ids(actor),
                )
                fts_lists.append([(f"ticket:{i}", s) for i, s in rows])
            # Scores of different tables are not comparable: scale each list by its best, then merge.
            merged: list[tuple[str, float]] = []
            for lst in fts_lists:
                top = max((s for _, s in lst), default=0.0) or 1.0
                merged.extend((key, s / top) for key, s in lst)
            merged.sort(key=lambda kv: -kv[1])
            for rank, (key, s) in enumerate(merged, 1):
                c = cands.setdefault(key, _Candidate(key=key))
                c.fts, c.fts_rank = s, rank
        await _validate(session, actor, cands, filters)
    ranked = fuse(cands, method, query, alpha=alpha)[:k]
    hits = [cands[key].hit.model_copy(update={"score": round(score, 6)}) for key, score in ranked if cands[key].hit]  # type: ignore[union-attr]
    return KnowledgeSearchResult(query=query, hits=hits, method=method)


async def _validate(
    session: AsyncSession, actor: Actor, cands: dict[str, _Candidate], filters: KnowledgeFilters | None
) -> None:
    """Attach hits to candidates that exist and are visible in this snapshot; drop the rest."""
    doc_keys: dict[int, set[int]] = {}
    kb_ids: list[int] = []
    ticket_ids: list[int] = []
    for key in cands:
        kind, _, rest = key.partition(":")
        try:
            if kind == "doc":
                did, _, ordinal = rest.partition(":")
                doc_keys.setdefault(int(did), set()).add(int(ordinal))
            elif kind == "kb":
                kb_ids.append(int(rest))
            elif kind == "ticket":
                ticket_ids.append(int(rest))
        except ValueError:
            continue
    if doc_keys:
        stmt = (
            select(DocumentChunk, Document.title)
            .join(Document, Document.id == DocumentChunk.document_id)
            .where(Document.status == "ready", DocumentChunk.document_id.in_(list(doc_keys)))
        )
        if filters and filters.document_ids:
            stmt = stmt.where(Document.id.in_(filters.document_ids))
        if filters and filters.doc_types:
            stmt = stmt.where(Document.doc_type.in_(filters.doc_types))
        # Only the wanted ordinals: bounded by the candidate count, not by document size.
        ordinals = sorted({o for s in doc_keys.values() for o in s})
        stmt = stmt.where(DocumentChunk.ordinal.in_(ordinals))
        for chunk, title in (await session.execute(stmt)).all():
            key = f"doc:{chunk.document_id}:{chunk.ordinal}"
            if key in cands:
                cands[key].blob = f"{chunk.citation}\n{chunk.text}".lower()
                cands[key].hit = SearchHit(
                    source="document",
                    id=key,
                    document_id=chunk.document_id,
                    title=title,
                    text=truncate(chunk.text, TEXT_CHARS) or "",
                    citation=chunk.citation,
                    page=chunk.page,
                    sheet=chunk.sheet,
                    score=0.0,
                )
    if kb_ids:
        for a in (await session.execute(select(KBArticle).where(KBArticle.id.in_(kb_ids)))).scalars():
            key = f"kb:{a.id}"
            cands[key].blob = f"{a.title}\n{a.body}".lower()
            cands[key].hit = SearchHit(
                source="kb",
                id=key,
                title=a.title,
                text=truncate(a.body, TEXT_CHARS) or "",
                citation=f"KB #{a.id}: {a.title}",
                score=0.0,
            )
    if ticket_ids:
        stmt2 = select(Ticket).where(
            Ticket.id.in_(ticket_ids), Ticket.status.in_(RESOLVED), permissions.visible_tickets(actor)
        )
        for t in (await session.execute(stmt2)).scalars():
            key = f"ticket:{t.id}"
            body = "\n".join(x for x in (t.description, t.error_message or "") if x)
            cands[key].blob = f"{t.number} {t.subject}\n{body}".lower()
            cands[key].hit = SearchHit(
                source="ticket",
                id=key,
                title=f"{t.number}: {t.subject}",
                text=truncate(body, TEXT_CHARS) or "",
                citation=f"{t.number}: {t.subject}",
                score=0.0,
            )
    for key in [k for k, c in cands.items() if c.hit is None]:
        del cands[key]


async def ranked_hits(
    desk: Desk, actor: Actor, query: str, *, k: int, sources: Sequence[SourceName]
) -> list[SearchHit]:
    """The hybrid hits other tools rank by (``kb_article_search``, ``ticket_suggest``), ``k`` capped at 50.

    Raises :class:`UnavailableError` when the vector side cannot answer (no knowledge services on this
    desk, or an index built by another embedder until an admin reindexes), so callers fall back to full-text.
    """
    if desk.knowledge is None:
        raise UnavailableError("hybrid search is not open on this desk")
    try:
        result = await knowledge_search(desk, actor, query, k=max(1, min(k, 50)), sources=tuple(sources))
    except EmbedderMismatchError as exc:
        raise UnavailableError(str(exc)) from exc
    return result.hits


__all__ = ["KnowledgeFilters", "KnowledgeSearchResult", "SearchHit", "knowledge_search", "ranked_hits"]
