"""XLSX with openpyxl (read-only, cached formula values): each sheet becomes a table, its name kept for citations."""

from __future__ import annotations

import io

import openpyxl

from tools.ingest.base import Limits
from tools.ingest.blocks import Block, Parsed
from tools.ingest.sheets import RowCounter, rows_to_table


def process_xlsx(data: bytes, limits: Limits) -> Parsed:
    """Read every worksheet; the zip guard has already run on ``data``."""
    workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        blocks: list[Block] = []
        counter = RowCounter(limits)
        for sheet in workbook.worksheets:
            table = rows_to_table(sheet.iter_rows(values_only=True), counter, sheet=sheet.title)
            if table is not None:
                blocks.append(table)
        title = workbook.properties.title if workbook.properties else None
    finally:
        # Read-only workbooks keep the zip open until closed.
        workbook.close()
    return Parsed(blocks=blocks, title=title, empty_reason="every sheet of the workbook is empty")
