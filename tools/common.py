"""Small helpers shared by the tool modules: truncation, ids, base64 uploads (pages: :mod:`tools.pagination`)."""

from __future__ import annotations

import base64
import binascii

from tools.errors import InvalidInputError

MAX_ID = 2**63 - 1
"""The largest id (and offset) a database column holds; bigger numbers would crash the driver, not miss."""
TRUNCATION_MARKER = "… [truncated, {n} more characters]"


def truncate(value: str | None, limit: int) -> str | None:
    """Cut ``value`` to ``limit`` characters, saying how much was left out."""
    if value is None or len(value) <= limit:
        return value
    return value[:limit] + TRUNCATION_MARKER.format(n=len(value) - limit)


def parse_id(value: int | str) -> int | None:
    """A row id from an int or a string of ASCII digits, or None when it cannot name a row.

    ``str.isdigit`` accepts characters ``int`` rejects ('²') and there is no bound on a Python int, so a
    look-up that trusted either would crash in the database driver instead of answering "not found".
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value <= MAX_ID else None
    text = value.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 19:
        return None
    number = int(text)
    return number if number <= MAX_ID else None


def decode_base64(value: str, *, field: str, max_mb: float, too_large: str = "send a smaller file") -> bytes:
    """``value`` (the argument ``field``) as bytes, refusing more than ``max_mb`` before decoding anything;
    ``too_large`` says what to do instead."""
    cleaned = "".join(value.split())
    size_mb = len(cleaned) * 3 / 4 / 1048576
    if size_mb > max_mb:
        raise InvalidInputError(
            f"{field} is about {size_mb:.1f} MB, over the {max_mb:g} MB upload limit (SUPPORT_MAX_UPLOAD_MB); "
            f"{too_large}"
        )
    try:
        return base64.b64decode(cleaned, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidInputError(f"{field} is not valid base64 ({exc}); send the file's bytes base64-encoded") from exc
