"""The typed context every tool receives: settings and the long-lived things opened once at start-up."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from store.blobs import BlobStore
from store.config import Settings
from store.db import SessionFactory, open_store
from store.embedder import Embedder
from store.migrate import ensure_schema
from store.types import utcnow
from tools.credential_cache import CredentialCache
from tools.errors import UnavailableError
from tools.knowledge_service import Knowledge


@dataclass
class Desk:
    """Everything a tool call needs besides its arguments and its actor."""

    settings: Settings
    engine: AsyncEngine
    sessions: SessionFactory
    blobs: BlobStore
    clock: Callable[[], datetime] = utcnow
    """Injected so SLA behaviour can be tested without sleeping."""
    knowledge: Knowledge | None = None
    """The embedder and the vector index (:mod:`tools.knowledge_service`); None until opened. Without it
    ``kb_article_search`` and ``ticket_suggest`` rank by full-text only."""
    credentials: CredentialCache = field(default_factory=CredentialCache.disabled)
    """Recently checked credentials (:mod:`tools.credential_cache`)."""
    extras: dict[str, Any] = field(default_factory=dict)
    background: set[asyncio.Task[None]] = field(default_factory=set)
    """Work a call started and does not wait for (a usage record); finished before the desk closes."""

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` after the current call has answered; it must log its own failures, not raise them."""
        task = asyncio.create_task(work)
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    async def finish_background(self) -> None:
        """Wait for the work :meth:`spawn` started (before the engine closes under it)."""
        while self.background:
            await asyncio.gather(*self.background, return_exceptions=True)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def open_knowledge(self, *, embedder: Embedder | None = None) -> Knowledge:
        """Open (or replace) the desk's knowledge services; cheap: the model loads on first embedding."""
        self.knowledge = Knowledge.open(self.settings, self.sessions, clock=lambda: self.clock(), embedder=embedder)
        return self.knowledge

    def require_knowledge(self) -> Knowledge:
        """The desk's knowledge services, opened on first use for a desk that was built without them."""
        return self.knowledge if self.knowledge is not None else self.open_knowledge()


@dataclass
class DeskRef:
    """A desk opened by someone else (the HTTP app's lifespan, a test), handed over before first use."""

    desk: Desk | None = None

    def require(self) -> Desk:
        """The open desk; before start-up finishes (or after shutdown) the caller is told to retry."""
        if self.desk is None:
            raise UnavailableError("the desk is not open yet (the server is starting or stopping); try again shortly")
        return self.desk


@asynccontextmanager
async def open_desk(settings: Settings, *, migrate: bool = True) -> AsyncIterator[Desk]:
    """Open the store (migrating an empty database first) and yield the desk; close it all on exit."""
    async with open_store(settings) as (engine, sessions):
        if migrate:
            await ensure_schema(settings, engine)
        desk = Desk(
            settings=settings,
            engine=engine,
            sessions=sessions,
            blobs=BlobStore(settings.data_dir / "blobs"),
            credentials=CredentialCache.for_settings(settings),
        )
        # Cheap: the embedding model loads on first use. With it in place, ticket_suggest and
        # kb_article_search rank through hybrid search. (Interrupted ingestion jobs are queued again when
        # a server starts its ingestion worker: tools.ingest_jobs.ingest_worker.)
        desk.open_knowledge()
        try:
            yield desk
        finally:
            await desk.finish_background()
            await desk.credentials.aclose()
            speech = desk.extras.get("speech")
            if speech is not None:
                speech.close()  # ends the waiting Piper process, if one was started
