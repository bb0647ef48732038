"""``support-agent index drain|rebuild``: index queued KB/ticket changes; rebuild for the configured embedder."""

from __future__ import annotations

import asyncio
import sys

from store.config import Settings
from tools.desk import open_desk
from tools.indexing import drain
from tools.knowledge import document_reindex
from tools.users import ensure_actor


async def rebuild(settings: Settings) -> str:
    async with open_desk(settings) as desk:
        actor = await ensure_actor(desk, settings.actor, settings.actor_role)

        async def progress(done: float, total: float, message: str) -> None:
            print(f"  {message}", file=sys.stderr)

        result = await document_reindex(desk, actor, progress=progress)
        drained = await drain(desk)
    return (
        f"rebuilt {result.collection}: {result.documents} documents, {result.chunks} chunks, "
        f"{drained.embedded} KB articles and tickets, embedder {result.embedder}"
    )


async def drain_queue(settings: Settings) -> tuple[str, int]:
    async with open_desk(settings) as desk:
        result = await drain(desk)
    text = f"indexed {result.embedded}, removed {result.removed}, failed {result.failed}, left {result.remaining}"
    return text, result.failed


def run_index(settings: Settings, action: str) -> int:
    """Run one index action; the outcome goes to stderr (stdout stays free for MCP stdio)."""
    if action == "drain":
        text, failed = asyncio.run(drain_queue(settings))
        print(text, file=sys.stderr)
        return 1 if failed else 0
    print(asyncio.run(rebuild(settings)), file=sys.stderr)
    return 0
