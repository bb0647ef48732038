"""Pages of a list: the page model every listing returns, its opaque cursor, and the request a caller made.

A cursor encodes the offset of the next page (base64 of a little JSON, so callers treat it as opaque and
a cursor that was not made here is refused with what to do). Listings ask :class:`PageRequest` for the
window to read and for the page to return::

    window = PageRequest.of(limit, cursor)
    rows = ... .offset(window.offset).limit(window.size)
    return window.page(Page[DocumentPublic], items, total)
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field

from tools.common import MAX_ID
from tools.errors import InvalidInputError

T = TypeVar("T")
PageT = TypeVar("PageT", bound="Page[Any]")

DEFAULT_PAGE = 20
MAX_PAGE = 100


class Page(BaseModel, Generic[T]):
    """One page of results, the total that match, and the cursor for the next page (None at the end)."""

    items: list[T]
    total: int
    next_cursor: str | None = Field(default=None, description="Pass back as `cursor` to get the next page.")


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    """The offset a cursor stands for; a cursor that was not made here is an input error."""
    if not cursor:
        return 0
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        offset = json.loads(base64.urlsafe_b64decode(padded.encode()))["o"]
    except (binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise InvalidInputError(
            f"cursor {cursor!r} is not valid; pass the next_cursor of a previous page, or omit it"
        ) from exc
    if not isinstance(offset, int) or not 0 <= offset <= MAX_ID:
        raise InvalidInputError(f"cursor {cursor!r} is not valid; pass the next_cursor of a previous page")
    return offset


def page_limit(limit: int | None) -> int:
    if limit is None:
        return DEFAULT_PAGE
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInputError(f"limit must be between 1 and {MAX_PAGE}, got {limit}")
    return limit


@dataclass(frozen=True)
class PageRequest:
    """The page a caller asked for: ``size`` rows from ``offset`` (from its ``limit`` and ``cursor``)."""

    size: int
    offset: int

    @classmethod
    def of(cls, limit: int | None, cursor: str | None) -> PageRequest:
        """Checks both: a bad limit or a foreign cursor is an input error saying what to pass."""
        return cls(page_limit(limit), decode_cursor(cursor))

    def next_cursor(self, total: int) -> str | None:
        """The cursor of the page after this one, or None when this one is the last of ``total`` rows."""
        return encode_cursor(self.offset + self.size) if self.offset + self.size < total else None

    def page(self, page_type: type[PageT], items: Sequence[Any], total: int) -> PageT:
        """This page of ``total`` rows as ``page_type`` (``Page[X]`` or a subclass such as ``TicketPage``)."""
        return page_type(items=list(items), total=total, next_cursor=self.next_cursor(total))
