"""Small presentation helpers shared by the tabs: tables, times, sizes. No desk rules here."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pandas as pd


def table(rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> pd.DataFrame:
    """A Dataframe value that keeps its column headers even when there are no rows."""
    return pd.DataFrame([list(r) for r in rows], columns=list(headers))


def when(value: datetime | None) -> str:
    """A timestamp as people read it (the desk stores UTC)."""
    return value.strftime("%Y-%m-%d %H:%M UTC") if value is not None else ""


def size(n: int) -> str:
    """Bytes in the largest unit that keeps the number readable."""
    amount = float(n)
    for unit in ("B", "KB", "MB"):
        if amount < 1024:
            return f"{amount:.0f} {unit}" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    return f"{amount:.1f} GB"


def csv_list(text: str | None) -> list[str]:
    """Comma-separated words from a text box, blanks dropped."""
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def cell_int(value: Any) -> int | None:
    """An id from a table cell or a number box (Gradio hands over floats, strings or None)."""
    if value is None or (isinstance(value, float) and value != value):  # NaN from an empty cell
        return None
    text = str(value).strip()
    if not text:
        return None
    try:
        return int(float(text))
    except ValueError:
        return None
