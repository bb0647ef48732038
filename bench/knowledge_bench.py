"""Knowledge benchmark: ingestion throughput and retrieval quality on ../shared/eval/sec-10q.

Usage: ``python bench/knowledge_bench.py [--eval-dir DIR] [--data-dir DIR] [--limit-docs N]``

Measures, on the embedded defaults (SQLite + Chroma PersistentClient + all-MiniLM-L6-v2 on the CPU):
- ingestion pages/s and chunks/s through ``document_ingest`` (parse, embed, index, commit), against the
  raw embedding throughput of the very same chunk texts (the ratio says what the pipeline costs);
- peak RSS (``resource.getrusage``);
- document-level recall@5 and MRR@10 over the questions of ``qna_data.csv`` for each retrieval method
  (dense-only, full-text-only, RRF, weighted fusion at several dense weights). A hit is a result whose
  document file name matches the question's "Source Docs" glob.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import fnmatch
import json
import logging
import resource
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from store.config import Settings  # noqa: E402
from store.embedder import LocalEmbedder  # noqa: E402
from store.models_knowledge import Document, DocumentChunk  # noqa: E402
from tools.desk import open_desk  # noqa: E402
from tools.ingest_pipeline import embed_text  # noqa: E402
from tools.knowledge import document_ingest  # noqa: E402
from tools.search import SearchMethod, knowledge_search  # noqa: E402
from tools.users import ensure_actor  # noqa: E402

DEFAULT_METHODS = "dense,fulltext,rrf,weighted:0.5,weighted:0.7,weighted:0.8,weighted_rrf,weighted_rrf:0.7"


def parse_methods(spec: str) -> list[tuple[str, SearchMethod, float | None]]:
    """``dense,rrf,weighted:0.7`` -> (label, method, dense weight or None for the method's default)."""
    out: list[tuple[str, SearchMethod, float | None]] = []
    for item in spec.split(","):
        name, _, alpha = item.strip().partition(":")
        label = f"{name} a={alpha}" if alpha else name
        out.append((label, name, float(alpha) if alpha else None))  # type: ignore[arg-type]
    return out


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def gold_match(filename: str, pattern: str) -> bool:
    return fnmatch.fnmatch(filename, pattern.strip())


async def run(args: argparse.Namespace) -> dict[str, Any]:
    eval_dir = Path(args.eval_dir)
    pdfs = sorted((eval_dir / "docs").glob("*.pdf"))[: args.limit_docs or None]
    settings = Settings(data_dir=Path(args.data_dir), _env_file=None)  # type: ignore[call-arg]
    report: dict[str, Any] = {"documents": len(pdfs)}
    embedder = LocalEmbedder()
    async with open_desk(settings) as desk:
        kn = desk.open_knowledge(embedder=embedder)
        actor = await ensure_actor(desk, "admin", "admin")
        t0 = time.perf_counter()
        await kn.embed(["warm up the model"])
        report["model_load_s"] = round(time.perf_counter() - t0, 2)

        ingested = 0
        t0 = time.perf_counter()
        for pdf in pdfs:
            t1 = time.perf_counter()
            result = await document_ingest(desk, actor, path=str(pdf))
            d = result.document
            if not result.duplicate:
                ingested += 1
            print(
                f"  {pdf.name}: {d.status} pages={d.pages} chunks={d.chunk_count} "
                f"{'(duplicate) ' if result.duplicate else ''}{time.perf_counter() - t1:.1f}s",
                file=sys.stderr,
            )
        ingest_s = time.perf_counter() - t0
        async with desk.sessions() as s:
            pages = (await s.execute(select(func.sum(Document.pages)))).scalar_one() or 0
            chunks = (await s.execute(select(func.count()).select_from(DocumentChunk))).scalar_one()
            rows = (await s.execute(select(DocumentChunk.citation, DocumentChunk.text))).all()
            by_id = {i: f for i, f in (await s.execute(select(Document.id, Document.filename))).all()}
        if ingested == len(pdfs):
            report["ingest_s"] = round(ingest_s, 1)
            report["pages"] = pages
            report["chunks"] = chunks
            report["pages_per_s"] = round(pages / ingest_s, 2)
            report["chunks_per_s"] = round(chunks / ingest_s, 2)
            texts = [embed_text(c, t) for c, t in rows]
            t0 = time.perf_counter()
            for start in range(0, len(texts), 64):
                embedder.embed(texts[start : start + 64])
            raw_s = time.perf_counter() - t0
            report["raw_embed_chunks_per_s"] = round(len(texts) / raw_s, 2)
            report["ingest_vs_raw_embed_ratio"] = round((chunks / ingest_s) / (len(texts) / raw_s), 3)
        else:
            report["note"] = "documents were already ingested in this data dir: throughput not measured"

        with (eval_dir / "qna_data.csv").open(encoding="utf-8-sig") as fh:
            questions = [(r["Question"], r["Source Docs"]) for r in csv.DictReader(fh)]
        report["questions"] = len(questions)
        quality: dict[str, dict[str, float]] = {}
        for label, method, alpha in parse_methods(args.methods):
            recall = mrr = 0.0
            t0 = time.perf_counter()
            for question, pattern in questions:
                hits = (
                    await knowledge_search(
                        desk,
                        actor,
                        question,
                        k=50,
                        sources=("documents",),
                        method=method,
                        alpha=alpha,
                    )
                ).hits
                docs: list[str] = []
                for h in hits:
                    name = by_id.get(h.document_id or -1, "")
                    if name not in docs:
                        docs.append(name)
                ranks = [i for i, name in enumerate(docs[:10], 1) if gold_match(name, pattern)]
                recall += 1.0 if ranks and ranks[0] <= 5 else 0.0
                mrr += 1.0 / ranks[0] if ranks else 0.0
            n = len(questions)
            quality[label] = {
                "recall@5": round(recall / n, 3),
                "mrr@10": round(mrr / n, 3),
                "ms_per_query": round(1000 * (time.perf_counter() - t0) / n, 1),
            }
            print(f"  {label}: {quality[label]}", file=sys.stderr)
        report["retrieval"] = quality
    report["peak_rss_mb"] = round(peak_rss_mb(), 1)
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--eval-dir", default=str(ROOT.parent / "shared" / "eval" / "sec-10q"))
    parser.add_argument("--data-dir", default="/tmp/knowledge-bench")
    parser.add_argument("--limit-docs", type=int, default=0)
    parser.add_argument("--methods", default=DEFAULT_METHODS, help=f"comma-separated (default {DEFAULT_METHODS})")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    report = asyncio.run(run(args))
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
