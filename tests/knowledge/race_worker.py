"""Run by tests as a separate server-like process: wait for ``GO`` on stdin, then try to claim one queued
ingestion job at the same moment as another such process, and run it if this one won.

Prints ``WAITING`` once the desk is open, then ``CLAIMED <document id>`` and ``READY <chunks>``, or ``NONE``.
Settings come from the environment (``SUPPORT_DATA_DIR``, ``DATABASE_URL``).
"""

from __future__ import annotations

import asyncio
import sys

from store.config import Settings
from tests.knowledge.conftest import FakeEmbedder
from tools.desk import open_desk
from tools.ingest_jobs import claim_next
from tools.ingest_runner import run_claimed


async def main() -> None:
    async with open_desk(Settings()) as desk:
        desk.open_knowledge(embedder=FakeEmbedder())
        print("WAITING", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        job = await claim_next(desk)
        if job is None:
            print("NONE", flush=True)
            return
        print(f"CLAIMED {job.document_id}", flush=True)
        result = await run_claimed(desk, job)
        print(f"READY {result.document.chunk_count if result else -1}", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
