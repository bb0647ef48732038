"""``support-agent ingest PATH...``: files and folders (recursive), a progress bar, and a summary."""

from __future__ import annotations

import asyncio
import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from tqdm import tqdm

from store.config import Settings
from store.embedder import Embedder
from tools.desk import open_desk
from tools.errors import DeskError
from tools.knowledge import document_ingest
from tools.users import ensure_actor

logger = logging.getLogger(__name__)


@dataclass
class Outcome:
    path: str
    status: str
    """added, replaced, duplicate or failed."""
    detail: str


def collect(paths: list[str]) -> tuple[list[Path], list[Outcome]]:
    """Files under the given paths (folders recursively, hidden files skipped), plus paths that do not exist."""
    files: list[Path] = []
    missing: list[Outcome] = []
    for raw in paths:
        p = Path(raw).expanduser()
        if p.is_dir():
            files.extend(
                f
                for f in sorted(p.rglob("*"))
                if f.is_file() and not any(part.startswith(".") for part in f.relative_to(p).parts)
            )
        elif p.is_file():
            files.append(p)
        else:
            missing.append(Outcome(raw, "failed", "no such file or folder"))
    return files, missing


async def ingest_paths(
    settings: Settings, paths: list[str], *, out: TextIO = sys.stderr, embedder: Embedder | None = None
) -> list[Outcome]:
    files, outcomes = collect(paths)
    async with open_desk(settings) as desk:
        if embedder is not None:
            desk.open_knowledge(embedder=embedder)
        actor = await ensure_actor(desk, settings.actor, settings.actor_role)
        with tqdm(total=len(files), unit="file", file=out, desc="ingest", dynamic_ncols=True) as bar:
            for f in files:
                bar.set_postfix_str(f.name[:40])

                async def progress(done: float, total: float, message: str) -> None:
                    bar.set_postfix_str(message[:60])

                try:
                    result = await document_ingest(desk, actor, path=str(f), progress=progress)
                except DeskError as exc:
                    outcomes.append(Outcome(str(f), "failed", str(exc)))
                else:
                    doc = result.document
                    if result.duplicate:
                        outcomes.append(Outcome(str(f), "duplicate", f"same bytes as document {doc.id}"))
                    else:
                        what = "replaced" if result.replaced_document_id else "added"
                        outcomes.append(Outcome(str(f), what, f"document {doc.id}, {doc.chunk_count} chunks"))
                bar.update(1)
    return outcomes


def summary(outcomes: list[Outcome]) -> str:
    counts: dict[str, int] = {}
    for o in outcomes:
        counts[o.status] = counts.get(o.status, 0) + 1
    width = max((len(o.path) for o in outcomes), default=4)
    width = min(width, 70)
    lines = [f"{'status':<10} {'file':<{width}}  detail", f"{'-' * 10} {'-' * width}  {'-' * 30}"]
    order = {"failed": 0, "added": 1, "replaced": 2, "duplicate": 3}
    for o in sorted(outcomes, key=lambda o: (order.get(o.status, 9), o.path)):
        path = o.path if len(o.path) <= width else "…" + o.path[-(width - 1) :]
        lines.append(f"{o.status:<10} {path:<{width}}  {o.detail}")
    lines.append(
        f"added {counts.get('added', 0)}, replaced {counts.get('replaced', 0)}, "
        f"skipped as duplicate {counts.get('duplicate', 0)}, failed {counts.get('failed', 0)}"
    )
    return "\n".join(lines)


def run_ingest(settings: Settings, paths: list[str]) -> int:
    """Ingest files and folders; print a summary on stderr; exit code 1 when anything failed."""
    outcomes = asyncio.run(ingest_paths(settings, paths))
    print(summary(outcomes), file=sys.stderr)
    return 1 if any(o.status == "failed" for o in outcomes) else 0
