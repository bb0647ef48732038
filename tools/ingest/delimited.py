"""CSV and other delimited text with the csv module's sniffed dialect: one table, header row first."""

from __future__ import annotations

import csv
import io

from tools.ingest.base import Limits
from tools.ingest.blocks import Block, Parsed
from tools.ingest.sheets import RowCounter, rows_to_table


def sniff_dialect(text: str) -> type[csv.Dialect] | csv.Dialect:
    """The dialect of ``text`` guessed from its start; plain comma-separated when the guess fails."""
    sample = text[:16384]
    # Cut at the last full line so the sniffer does not see a half row.
    if len(text) > len(sample) and "\n" in sample:
        sample = sample[: sample.rindex("\n")]
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        return csv.excel_tab if sample.count("\t") > sample.count(",") else csv.excel


def process_csv(text: str, limits: Limits) -> Parsed:
    """Parse delimited text into one table."""
    # Fields can be huge in hostile input; the row cap bounds the count, this bounds each field.
    csv.field_size_limit(max(limits.max_bytes, 131072))
    reader = csv.reader(io.StringIO(text, newline=""), sniff_dialect(text))
    table = rows_to_table(reader, RowCounter(limits))
    blocks: list[Block] = [table] if table is not None else []
    return Parsed(blocks=blocks, empty_reason="the CSV file has no rows")
