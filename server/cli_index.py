"""``support-agent index rebuild``: the vector index, rebuilt for the configured embedder."""

from __future__ import annotations

import asyncio
import sys

from store.config import Settings
from tools.desk import open_desk
from tools.knowledge import document_reindex
from tools.users import ensure_actor


async def rebuild(settings: Settings) -> str:
    async with open_desk(settings) as desk:
        actor = await ensure_actor(desk, settings.actor, settings.actor_role)

        async def progress(done: float, total: float, message: str) -> None:
            print(f"  {message}", file=sys.stderr)

        result = await document_reindex(desk, actor, progress=progress)
    return (
        f"rebuilt {result.collection}: {result.documents} documents, {result.chunks} chunks, embedder {result.embedder}"
    )


def run_index(settings: Settings, action: str) -> int:
    """Run one index action; the outcome goes to stderr (stdout stays free for MCP stdio)."""
    if action == "rebuild":
        print(asyncio.run(rebuild(settings)), file=sys.stderr)
    return 0
