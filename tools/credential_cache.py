"""Who a credential stands for, kept for a few seconds in the process and dropped everywhere at once on a change.

Checking a desk API token, or matching an OAuth token's user, reads the database; on every HTTP request that
read (a new SQLite connection, or a round trip to PostgreSQL) costs more than all the rest of authentication.
This cache keeps the answer for ``SUPPORT_AUTH_CACHE_SECONDS``. Whatever could change an answer (a token
revoked, a user's role, activation or address changed, a role stated by the identity provider) calls
:meth:`CredentialCache.changed`, which bumps a *generation* that every process reads on every request before
it trusts its cache, so a revocation still applies to the very next request, in every process:

- with ``SUPPORT_REDIS_URL``: a counter in Redis (one GET per request), shared by every server process and
  the CLI;
- on SQLite without Redis: a marker file next to the database file (one small read per request), shared by
  every process that uses that database (they are on one machine);
- on PostgreSQL without Redis: no cache, since processes on several machines share nothing but the database;
  every request reads it, as it must.

When the generation cannot be read (Redis down), nothing is served from the cache.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Hashable
from pathlib import Path
from typing import Any, Protocol

from cachetools import TTLCache
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy.engine import make_url

from store.config import Settings

logger = logging.getLogger(__name__)

_OFF = object()
"""The generation of an answer that must not be cached (no shared signal, or it could not be read)."""


class _Signal(Protocol):
    async def current(self) -> Hashable: ...

    async def bump(self) -> None: ...

    async def aclose(self) -> None: ...


class _RedisSignal:
    def __init__(self, url: str, key: str) -> None:
        self.redis = Redis.from_url(url.removeprefix("async+"), socket_timeout=2, socket_connect_timeout=2)
        self.key = key

    async def current(self) -> Hashable:
        value: bytes | str | None = await self.redis.get(self.key)
        return value

    async def bump(self) -> None:
        await self.redis.incr(self.key)

    async def aclose(self) -> None:
        await self.redis.aclose()


class _FileSignal:
    """A file whose content is replaced (atomically) by a new random value on every change."""

    def __init__(self, path: Path) -> None:
        self.path = path

    async def current(self) -> Hashable:
        # A read of a few bytes from the page cache: far cheaper than a thread hop, so it stays on the loop.
        try:
            return self.path.read_bytes()
        except FileNotFoundError:
            return None

    async def bump(self) -> None:
        scratch = self.path.with_name(f"{self.path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        scratch.write_bytes(secrets.token_bytes(16))
        os.replace(scratch, self.path)

    async def aclose(self) -> None:
        return None


def _signal_for(settings: Settings) -> _Signal | None:
    if settings.redis_url:
        return _RedisSignal(settings.redis_url, f"{settings.rate_limit_prefix}:credential-generation")
    url = make_url(settings.resolved_database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return _FileSignal(Path(url.database).with_name(Path(url.database).name + ".credentials"))
    return None


class CredentialCache:
    """Answers by key (a token's hash, a user's claim), each valid while the shared generation stands still."""

    def __init__(self, signal: _Signal | None, *, ttl: float, size: int = 10_000) -> None:
        self.signal = signal if ttl > 0 else None
        self._entries: TTLCache[str, Any] = TTLCache(maxsize=size, ttl=max(ttl, 1))
        self._generation: Hashable = _OFF

    @classmethod
    def for_settings(cls, settings: Settings) -> CredentialCache:
        return cls(_signal_for(settings), ttl=settings.auth_cache_seconds)

    @classmethod
    def disabled(cls) -> CredentialCache:
        return cls(None, ttl=0)

    async def lookup(self, key: str) -> tuple[Any | None, Hashable]:
        """The cached answer for ``key`` (None: look it up), and the generation to :meth:`store` a fresh one under."""
        if self.signal is None:
            return None, _OFF
        try:
            generation = await self.signal.current()
        except (OSError, RedisError) as exc:
            logger.warning("credential cache off for this request: the generation cannot be read (%s)", exc)
            self._entries.clear()
            self._generation = _OFF
            return None, _OFF
        if generation != self._generation:
            self._entries.clear()
            self._generation = generation
        return self._entries.get(key), generation

    def store(self, key: str, value: Any, generation: Hashable) -> None:
        """Keep ``value``, unless something changed since ``generation`` was read (the answer may be stale)."""
        if generation is not _OFF and generation == self._generation:
            self._entries[key] = value

    async def changed(self) -> None:
        """A credential or a user changed (call it after the commit): no process may answer from its cache."""
        self._entries.clear()
        self._generation = _OFF
        if self.signal is None:
            return
        try:
            await self.signal.bump()
        except (OSError, RedisError):
            # The change is committed; other processes keep their answers until SUPPORT_AUTH_CACHE_SECONDS pass.
            logger.exception("could not announce a credential change to other processes")

    async def aclose(self) -> None:
        if self.signal is not None:
            await self.signal.aclose()
