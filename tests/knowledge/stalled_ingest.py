"""Run by tests as a separate process: start ingesting a file, print PARSED once it is parsed, then hang.

The test kills this process with SIGKILL at that point, the way a crash or an OOM kill would stop a server.
Settings come from the environment (``SUPPORT_DATA_DIR``, ``DATABASE_URL``).
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from store.config import Settings
from tools.desk import open_desk
from tools.knowledge import document_ingest
from tools.users import ensure_actor


async def main(data: bytes, filename: str) -> None:
    async with open_desk(Settings()) as desk:
        admin = await ensure_actor(desk, "admin", "admin")

        async def hang_once_parsed(done: float, total: float, message: str) -> None:
            if message.startswith("parsed "):
                print("PARSED", flush=True)
                await asyncio.Event().wait()

        await document_ingest(desk, admin, data=data, filename=filename, progress=hang_once_parsed)


if __name__ == "__main__":
    file = Path(sys.argv[1])
    asyncio.run(main(file.read_bytes(), file.name))
