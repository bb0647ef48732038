"""Which process owns a piece of long work (an ingestion), and whether that process is still alive.

A worker is named ``host:pid:start`` (``start`` is the process's start time in clock ticks since boot, read
from ``/proc``, so a recycled pid is not mistaken for the original). On the same host that name is checked
directly, so work left behind by a killed process is known as orphaned the moment the desk starts again;
for a worker on another host only its heartbeat tells, and a heartbeat older than ``LEASE`` means nobody
is doing the work any more.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import update
from sqlalchemy.exc import SQLAlchemyError

from store.db import SessionFactory
from store.models_knowledge import Document

logger = logging.getLogger(__name__)

HEARTBEAT = timedelta(seconds=30)
"""How often a worker refreshes ``heartbeat_at`` while it works."""
LEASE = timedelta(minutes=2)
"""A heartbeat older than this (from a worker on another host) means no live process owns the work."""


def _start_ticks(pid: int) -> str:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    # The command name (field 2) may hold spaces and parentheses; the fields after its last ')' are fixed.
    return stat.rsplit(")", 1)[1].split()[19]


def this_worker() -> str:
    """The name of this process as a worker."""
    return f"{socket.gethostname()}:{os.getpid()}:{_start_ticks(os.getpid())}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, owned by someone else
    return True


def is_alive(worker: str | None, heartbeat_at: datetime | None, now: datetime) -> bool:
    """Whether the process named ``worker`` may still be doing its work."""
    if not worker:
        return False
    host, _, rest = worker.partition(":")
    pid_text, _, start = rest.partition(":")
    if host == socket.gethostname() and pid_text.isdigit():
        pid = int(pid_text)
        return _pid_alive(pid) and (not start or _start_ticks(pid) in ("", start))
    return heartbeat_at is not None and now - heartbeat_at < LEASE


async def poll_forever(
    step: Callable[[], Awaitable[bool]], *, idle: Callable[[], Awaitable[object]], what: str, retry_s: float
) -> None:
    """The loop of a background worker: run ``step`` (True: it did some work), ``idle`` when it did none.

    An unexpected error of one step (a database hiccup) is logged and the step runs again after ``retry_s``:
    the worker outlives any one failure. Runs until cancelled.
    """
    while True:
        try:
            busy = await step()
        except Exception:  # the worker must outlive any one failure; it tries again
            logger.exception("%s failed; trying again in %g s", what, retry_s)
            await asyncio.sleep(retry_s)
            continue
        if not busy:
            await idle()


@contextlib.asynccontextmanager
async def background(name: str, loop: Awaitable[None]) -> AsyncIterator[asyncio.Task[None]]:
    """Run ``loop`` as the task ``name`` for the duration of the block (a server's lifespan); on exit it is
    cancelled and awaited, so nothing of it outlives the block."""
    task = asyncio.ensure_future(loop)
    task.set_name(name)
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@contextlib.asynccontextmanager
async def heartbeat(sessions: SessionFactory, document_id: int, clock: Callable[[], datetime]) -> AsyncIterator[None]:
    """Refresh the document's ``heartbeat_at`` every ``HEARTBEAT`` while the block runs."""

    async def beat() -> None:
        while True:
            await asyncio.sleep(HEARTBEAT.total_seconds())
            try:
                async with sessions.begin() as session:
                    await session.execute(
                        update(Document).where(Document.id == document_id).values(heartbeat_at=clock())
                    )
            except (SQLAlchemyError, OSError):
                # A missed beat is not fatal (the next one may land); the lease is several beats long.
                logger.warning("heartbeat for document %s failed", document_id, exc_info=True)

    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
