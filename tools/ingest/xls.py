"""Legacy XLS (BIFF) with xlrd: each sheet becomes a table, dates decoded with the workbook's date mode."""

from __future__ import annotations

from collections.abc import Iterator

import xlrd

from tools.ingest.base import ExtractionError, Limits
from tools.ingest.blocks import Block, Parsed
from tools.ingest.sheets import RowCounter, rows_to_table


def _values(book: xlrd.book.Book, sheet: xlrd.sheet.Sheet) -> Iterator[list[object]]:
    for r in range(sheet.nrows):
        row: list[object] = []
        for cell in sheet.row(r):
            if cell.ctype == xlrd.XL_CELL_DATE:
                try:
                    row.append(xlrd.xldate_as_datetime(cell.value, book.datemode))
                except (xlrd.xldate.XLDateError, ValueError, OverflowError):
                    row.append(cell.value)
            elif cell.ctype == xlrd.XL_CELL_BOOLEAN:
                row.append(bool(cell.value))
            elif cell.ctype == xlrd.XL_CELL_ERROR:
                row.append(xlrd.error_text_from_code.get(cell.value, "#ERROR"))
            else:
                row.append(cell.value)
        yield row


def process_xls(data: bytes, limits: Limits) -> Parsed:
    """Read every sheet of an Excel 97-2003 workbook."""
    try:
        book = xlrd.open_workbook(file_contents=data, on_demand=True)
    except xlrd.XLRDError as exc:
        reason = str(exc)
        if "workbook" in reason.lower():
            raise ExtractionError(
                f"this OLE2 (old Office) file holds no Excel workbook ({reason}); only XLS is supported "
                "among old Office formats: save Word/PowerPoint files as DOCX or PDF"
            ) from exc
        raise ExtractionError(f"corrupt XLS file: {reason}; re-save it in Excel (as XLSX if you can)") from exc
    try:
        blocks: list[Block] = []
        counter = RowCounter(limits)
        for index in range(book.nsheets):
            sheet = book.sheet_by_index(index)
            table = rows_to_table(_values(book, sheet), counter, sheet=sheet.name)
            if table is not None:
                blocks.append(table)
            book.unload_sheet(index)
    finally:
        book.release_resources()
    return Parsed(blocks=blocks, empty_reason="every sheet of the workbook is empty")
