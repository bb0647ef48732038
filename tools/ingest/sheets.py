"""Shared by the spreadsheet processors (XLSX, XLS, CSV): cell formatting and rows -> one table per sheet."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time
from decimal import Decimal

from tools.ingest.base import Limits
from tools.ingest.blocks import Table
from tools.ingest.guards import check_rows


def format_value(value: object) -> str:
    """A cell value as people read it: ``3.0`` -> ``3``, dates without a midnight time, booleans as words."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value).strip()


class RowCounter:
    """Counts rows across all sheets of one workbook against ``limits.max_rows``."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.count = 0

    def add(self) -> None:
        self.count += 1
        check_rows(self.count, self.limits)


def rows_to_table(rows: Iterable[Iterable[object]], counter: RowCounter, sheet: str | None = None) -> Table | None:
    """The first non-empty row is the header; empty rows are skipped; None when the sheet has no data."""
    header: list[str] | None = None
    body: list[list[str]] = []
    for raw in rows:
        row = [format_value(v) for v in raw]
        while row and not row[-1]:
            row.pop()
        if not row:
            continue
        counter.add()
        if header is None:
            header = row
        else:
            body.append(row)
    if header is None:
        return None
    return Table(header, body, sheet=sheet)
