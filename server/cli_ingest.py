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
from tools.batch_ingest import BatchFile, FileOutcome, ingest_batch
from tools.desk import open_desk
from tools.errors import DeskError
from tools.users import ensure_actor

logger = logging.getLogger(__name__)


@dataclass
class Outcome:
    path: str
    status: str
    """added, replaced, duplicate or failed (see tools/batch_ingest.py for what a failure does)."""
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

            def progress(index: int, file: BatchFile, done: float, total: float, message: str) -> None:
                bar.set_postfix_str(message[:60])

            def finished(outcome: FileOutcome) -> None:
                bar.update(1)

            try:
                done = await ingest_batch(
                    desk, actor, [BatchFile(str(f), path=str(f)) for f in files], progress=progress, finished=finished
                )
            except DeskError as exc:  # the configured actor may not ingest at all: every file fails alike
                done = [FileOutcome(str(f), "failed", detail=str(exc)) for f in files]
    return outcomes + [Outcome(o.file, o.outcome, o.detail) for o in done]


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
