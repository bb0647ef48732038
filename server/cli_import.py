"""``support-agent import tickets FILE.jsonl``: stream a ticket export into the desk with a progress bar."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from tqdm import tqdm

from store.config import Settings
from tools.desk import open_desk
from tools.errors import DeskError
from tools.ticket_import import ImportReport, import_path
from tools.users import ensure_actor


def summary(report: ImportReport) -> str:
    lines = [
        f"{report.lines} lines: {report.created} created, {report.updated} updated, {report.unchanged} unchanged, "
        f"{report.failed} failed ({report.users_created} users and {report.categories_created} categories created) "
        f"in {report.seconds:.1f} s"
    ]
    lines += [f"line {e.line}: {e.error}" for e in report.errors]
    lines += [f"line {w.line}: warning: {w.error}" for w in report.warnings]
    if report.failed > len(report.errors):
        lines.append(f"... and {report.failed - len(report.errors)} more failed lines")
    return "\n".join(lines)


def run_import(settings: Settings, path: str) -> int:
    """Import ``path`` as the configured actor; exit 0 when every line imported, 1 when some failed, 2 on error."""
    size = Path(path).stat().st_size if Path(path).is_file() else None

    async def run() -> ImportReport:
        async with open_desk(settings) as desk:
            actor = await ensure_actor(desk, settings.actor, settings.actor_role)
            with tqdm(total=size, unit="B", unit_scale=True, desc="import", file=sys.stderr) as bar:

                async def progress(done: float, total: float | None, message: str) -> None:
                    bar.update(done - bar.n)
                    bar.set_postfix_str(message, refresh=False)

                return await import_path(desk, actor, path, progress=progress)

    try:
        report = asyncio.run(run())
    except DeskError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(summary(report))
    return 1 if report.failed else 0
