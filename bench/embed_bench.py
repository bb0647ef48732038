"""Embedding throughput: the ONNX all-MiniLM-L6-v2 against the PyTorch one it replaced.

Usage: ``python bench/embed_bench.py [--docs N] [--batch-sizes 1,16,32,64] [--threads N]``

Texts are the chunk texts of the first N 10-Q filings of ../shared/eval/sec-10q (what ingestion embeds)
and the 195 questions (what a search embeds). Prints texts/s per embedder and batch size, model load time
and the agreement (cosine) of the two models' vectors. The PyTorch model is measured only when the
optional ``torch`` extra is installed.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from store.embedder import LocalEmbedder, ModelFileError, TorchEmbedder  # noqa: E402
from tools.ingest.base import Limits  # noqa: E402
from tools.ingest.extract import extract  # noqa: E402
from tools.ingest_pipeline import embed_text  # noqa: E402


def corpus(eval_dir: Path, docs: int) -> tuple[list[str], list[str]]:
    chunks: list[str] = []
    for pdf in sorted((eval_dir / "docs").glob("*.pdf"))[:docs]:
        extracted = extract(pdf.read_bytes(), pdf.name, Limits(max_bytes=100 * 1024 * 1024))
        title = extracted.title or pdf.name
        chunks.extend(embed_text(c.citation(title), c.text) for c in extracted.chunks if c.text.strip())
    with (eval_dir / "qna_data.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    column = next(k for k in rows[0] if "question" in k.lower())
    return chunks, [r[column] for r in rows]


def measure(embedder: Any, texts: list[str]) -> float:
    t0 = time.perf_counter()
    embedder.embed(texts)
    return len(texts) / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--eval-dir", default=str(ROOT.parent / "shared" / "eval" / "sec-10q"))
    parser.add_argument("--docs", type=int, default=2)
    parser.add_argument("--batch-sizes", default="1,16,32,64")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    chunks, questions = corpus(Path(args.eval_dir), args.docs)
    print(f"{len(chunks)} chunk texts, {len(questions)} questions")
    sizes = [int(s) for s in args.batch_sizes.split(",")]

    makers: list[tuple[str, Any]] = [("onnx int8", lambda b: LocalEmbedder(batch_size=b, threads=args.threads))]
    try:
        TorchEmbedder().load()
        makers.append(("pytorch", lambda b: TorchEmbedder(batch_size=b)))
    except ModelFileError as exc:
        print(f"pytorch: not measured ({exc})")
    vectors: dict[str, Any] = {}
    for label, make in makers:
        t0 = time.perf_counter()
        first = make(sizes[0])
        first.embed(["warm up"])
        print(f"{label}: model load {time.perf_counter() - t0:.2f} s")
        for size in sizes:
            embedder = make(size)
            print(
                f"{label:>10} batch {size:>3}: chunks {measure(embedder, chunks):7.1f} texts/s, "
                f"questions {measure(embedder, questions):7.1f} texts/s"
            )
        vectors[label] = make(32).embed(chunks[:300])
    if len(vectors) == 2:
        import numpy as np

        a, b = (np.asarray(v) for v in vectors.values())
        cos = (a * b).sum(axis=1)
        print(f"agreement on 300 chunks: cosine min {cos.min():.4f}, mean {cos.mean():.4f}")


if __name__ == "__main__":
    main()
