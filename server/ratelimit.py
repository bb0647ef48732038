"""Rate limits per identity and per class of work, counted by the ``limits`` library.

Counters are in memory (one process) by default and in Redis when ``SUPPORT_REDIS_URL`` is set, so every
server process behind one port shares a limit. The defaults are far above what a person does by hand;
they exist so one runaway client cannot starve the others.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Literal, get_args

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import FixedWindowRateLimiter

from store.config import Settings

logger = logging.getLogger(__name__)

LimitClass = Literal["http", "read", "write", "ingest", "agent", "voice"]
"""``http``: every HTTP request; the others: tool calls by the kind of work they do."""
LIMIT_CLASSES: tuple[LimitClass, ...] = get_args(LimitClass)


@dataclass(frozen=True, slots=True)
class Refusal:
    """A request over its limit, and how long until the window resets."""

    limit: str
    retry_after: int

    @property
    def message(self) -> str:
        return f"rate limit {self.limit} reached; retry in {self.retry_after} s"


class RateLimits:
    """One limiter for the process; :meth:`hit` answers None (go ahead) or a :class:`Refusal`."""

    def __init__(self, settings: Settings) -> None:
        self.prefix = settings.rate_limit_prefix
        self.items: dict[LimitClass, RateLimitItem] = {
            cls: parse(str(getattr(settings, f"rate_limit_{cls}"))) for cls in LIMIT_CLASSES
        }
        self.storage: Storage
        if settings.redis_url:
            url = settings.redis_url
            uri = url if url.startswith("async+") else "async+" + url
            self.storage = RedisStorage(uri, implementation="redispy", key_prefix=self.prefix)
        else:
            self.storage = MemoryStorage()
        self.limiter = FixedWindowRateLimiter(self.storage)

    async def hit(self, cls: LimitClass, identity: str) -> Refusal | None:
        item = self.items[cls]
        if await self.limiter.hit(item, self.prefix, cls, identity):
            return None
        stats = await self.limiter.get_window_stats(item, self.prefix, cls, identity)
        retry = max(1, math.ceil(stats.reset_time - time.time()))
        logger.info("rate limit %s hit for %s (%s)", item, identity, cls)
        return Refusal(limit=str(item), retry_after=retry)
