"""Tables in the ``pdftotext -layout`` text of a PDF page: find them conservatively, emit them as table blocks.

Layout mode keeps a table row on one line with its cells separated by runs of spaces, each cell near the same
column on every row. A run of such lines becomes a :class:`Table` only when it looks like a financial
statement or a grid of figures: at least three rows whose cells after the first are short and mostly numeric,
and whose cells fall into the same columns on every row. Anything doubtful stays prose, because prose split
into cells would read worse than a table left as lines (which still sit whole in text chunks).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tools.ingest.blocks import Block, Section, Table

MIN_ROWS = 3
"""Figure rows a table needs: two aligned lines are as likely a coincidence of spacing."""
MAX_VALUE_CHARS = 30
"""A value cell (any cell after the row's label) longer than this is prose, not a table cell."""
MAX_LABEL_LINE_CHARS = 120
"""A label-only line (a section label such as ``Current assets:`` or a wrapped row label) is at most this long."""
MAX_LEAD_LABEL_CHARS = 60
"""Label lines above a table's first figure row are shorter still: a longer line there is a lead-in sentence."""
MAX_LABEL_CHAIN = 3
"""At most this many label-only lines in a row inside a table; more is a paragraph."""
MAX_BLANK_GAP = 2
"""Blank lines allowed between two rows of one table (statements leave a gap before totals)."""
MAX_HEADER_LINES = 4
"""Header lines (column titles over the figures, often split over several lines) looked for above a table."""
MAX_COLUMNS = 16

_CELL_GAP = re.compile(r"\S(?:\S| (?! ))*")
"""A cell: non-space text in which single spaces are allowed; two or more spaces end it."""
_NUMERIC = re.compile(r"^[-+(]?\$?\s*[-+(]?\d[\d,]*(?:\.\d+)?\)?\s*(?:%|\$|x|bps)?\)?$", re.IGNORECASE)
_DASHES = {"-", "—", "–", "--", "—%", "n/a", "N/A", "nm", "NM", "*"}
_YEAR = re.compile(r"^(19|20)\d\d$")
_CURRENCY = {"$", "€", "£", "¥"}


@dataclass(frozen=True)
class _Cell:
    start: int
    end: int
    text: str


def _cells(line: str) -> list[_Cell]:
    """The line's cells; a lone currency sign joins the figure after it (``$      96,388`` is one cell)."""
    cells: list[_Cell] = []
    pending: _Cell | None = None
    for match in _CELL_GAP.finditer(line):
        text = match.group().rstrip()
        cell = _Cell(match.start(), match.start() + len(text), text)
        if pending is not None:
            cell = _Cell(pending.start, cell.end, f"{pending.text} {cell.text}")
            pending = None
        if cell.text in _CURRENCY:
            pending = cell
            continue
        # ``4% $   129,850``: a sign a single space after a figure belongs to the next figure.
        head, _, tail = cell.text.rpartition(" ")
        if head and tail in _CURRENCY:
            cells.append(_Cell(cell.start, cell.start + len(head), head))
            pending = _Cell(cell.end - len(tail), cell.end, tail)
            continue
        cells.append(cell)
    if pending is not None:
        cells.append(pending)
    return cells


def is_numeric(text: str) -> bool:
    """A figure as statements print them: ``1,234``, ``(393)``, ``$ 1.89``, ``12 %``, ``—``."""
    value = text.strip()
    if value in _DASHES:
        return True
    value = value.replace("$ ", "$").rstrip(" $")
    return bool(_NUMERIC.match(value))


def _is_figure_row(cells: list[_Cell]) -> bool:
    """Two or more cells; the values (all but the first) short, mostly figures, and the last one a figure."""
    if len(cells) < 2:
        return False
    values = cells[1:]
    if any(len(c.text) > MAX_VALUE_CHARS for c in values):
        return False
    numeric = sum(is_numeric(c.text) for c in values)
    return is_numeric(values[-1].text) and numeric * 2 >= len(values)


def _is_label_line(line: str, cells: list[_Cell]) -> bool:
    """One cell of row label, not a sentence's end: ``Current assets:`` or the first line of a wrapped label."""
    return len(cells) == 1 and len(line.strip()) <= MAX_LABEL_LINE_CHARS and not cells[0].text.endswith((".", "!", "?"))


@dataclass
class _Run:
    first: int
    """Index of the run's first line (a label line or a figure row)."""
    last: int
    """Index of the run's last figure row."""


def _find_runs(lines: list[str], cells: list[list[_Cell]]) -> list[_Run]:
    """Stretches of figure rows, with the label lines and small blank gaps between them."""
    runs: list[_Run] = []
    i = 0
    n = len(lines)
    while i < n:
        if not _is_figure_row(cells[i]):
            i += 1
            continue
        # Label lines directly above the first figure row belong to the table (``Net sales:``).
        first = i
        while (
            first - 1 >= 0
            and i - (first - 1) <= MAX_LABEL_CHAIN
            and _is_label_line(lines[first - 1], cells[first - 1])
            and len(lines[first - 1].strip()) <= MAX_LEAD_LABEL_CHARS
        ):
            first -= 1
        last = i
        rows = 1
        j = i + 1
        while j < n:
            k = j
            blanks = 0
            while k < n and not lines[k].strip() and blanks <= MAX_BLANK_GAP:
                k += 1
                blanks += 1
            if blanks > MAX_BLANK_GAP:
                break
            labels = 0
            while k < n and labels < MAX_LABEL_CHAIN and _is_label_line(lines[k], cells[k]):
                k += 1
                labels += 1
            # Label lines belong to the table only when a figure row follows them directly (no blank line).
            if k < n and _is_figure_row(cells[k]):
                last = k
                rows += 1
                j = k + 1
                continue
            break
        if rows >= MIN_ROWS:
            runs.append(_Run(first, last))
        i = last + 1
    return runs


def _columns(rows: list[list[_Cell]]) -> list[tuple[int, int]] | None:
    """Value columns as (start, end) spans: the union of the value cells' spans, split where no cell reaches."""
    spans = sorted((c.start, c.end) for row in rows for c in row[1:])
    columns: list[tuple[int, int]] = []
    for start, end in spans:
        if columns and start <= columns[-1][1]:
            columns[-1] = (columns[-1][0], max(columns[-1][1], end))
        else:
            columns.append((start, end))
    # Aligned rows share columns, so there are no more columns than the fullest row has values; cells that
    # merely happen to sit apart (prose, ragged text) spread over more columns than any row fills.
    if not columns or len(columns) > MAX_COLUMNS or len(columns) > max(len(row) - 1 for row in rows):
        return None
    return columns


def _overlap(cell: _Cell, column: tuple[int, int]) -> int:
    return min(cell.end, column[1]) - max(cell.start, column[0])


def _place(cells: list[_Cell], columns: list[tuple[int, int]]) -> list[str] | None:
    """``[label, value per column]`` for one line, or None when two cells land in one column (not aligned)."""
    label: list[str] = []
    values = [""] * len(columns)
    for cell in cells:
        if cell.end <= columns[0][0]:
            label.append(cell.text)
            continue
        best = max(range(len(columns)), key=lambda c: (_overlap(cell, columns[c]), -c))
        if _overlap(cell, columns[best]) <= 0:
            return None
        if values[best]:
            return None
        values[best] = cell.text
    return [" ".join(label), *values]


def _header(
    lines: list[str], cells: list[list[_Cell]], top: int, floor: int, columns: list[tuple[int, int]]
) -> tuple[list[str], int] | None:
    """Column titles from the lines just above ``top`` (not above ``floor``), merged per column, and where they start.

    A header line has no figures and either no row label (titles over the value columns) or two or more
    short cells (``Region  Q1  Q2``). A title spanning several columns (``Three Months Ended``) goes to each.
    """
    merged = [""] * (len(columns) + 1)
    start = top
    index = top - 1
    while index >= floor and top - index <= MAX_HEADER_LINES:
        line_cells = cells[index]
        if not line_cells:
            break
        if any(len(c.text) > MAX_VALUE_CHARS * 2 for c in line_cells):
            break
        labelled = line_cells[0].end <= columns[0][0]
        if labelled and (
            len(line_cells) < 2
            or any(len(c.text) > MAX_VALUE_CHARS or c.text.endswith((".", "!", "?")) for c in line_cells)
            or sum(is_numeric(c.text) for c in line_cells) * 2 > len(line_cells)
        ):
            break
        placed = [""] * (len(columns) + 1)
        for cell in line_cells:
            if cell.end <= columns[0][0]:
                placed[0] = f"{placed[0]} {cell.text}".strip()
                continue
            hits = [c for c in range(len(columns)) if _overlap(cell, columns[c]) > 0]
            if not hits:
                centre = (cell.start + cell.end) / 2
                hits = [min(range(len(columns)), key=lambda c: abs((columns[c][0] + columns[c][1]) / 2 - centre))]
            for hit in hits:
                placed[hit + 1] = f"{placed[hit + 1]} {cell.text}".strip()
        merged = [f"{p} {m}".strip() for p, m in zip(placed, merged, strict=True)]
        start = index
        index -= 1
    if start == top:
        return None
    return merged, start


@dataclass
class _Found:
    start: int
    """First line of the table (its header when it has one)."""
    end: int
    """One past its last line."""
    table: list[list[str]]
    """The header row first: column titles when found, else the first row."""


def _is_title_row(row: list[str]) -> bool:
    """A row with no label whose values are years or words: column titles such as ``2022  2021``."""
    values = [v for v in row[1:] if v]
    return not row[0] and bool(values) and all(_YEAR.match(v) or not is_numeric(v) for v in values)


def _build(lines: list[str], cells: list[list[_Cell]], run: _Run, floor: int) -> _Found | None:
    figures = [cells[i] for i in range(run.first, run.last + 1) if _is_figure_row(cells[i])]
    columns = _columns(figures)
    if columns is None:
        return None
    rows: list[list[str]] = []
    for i in range(run.first, run.last + 1):
        if not cells[i]:
            continue
        placed = _place(cells[i], columns)
        if placed is None:
            return None
        rows.append(placed)
    # Title rows at the top (``2022  2021`` under ``December 31,``) belong to the header, not the body.
    titles: list[list[str]] = []
    while len(rows) > MIN_ROWS and _is_title_row(rows[0]):
        titles.append(rows.pop(0))
    found = _header(lines, cells, run.first, floor, columns)
    above, start = found if found is not None else (None, run.first)
    parts = ([above] if above is not None else []) + titles
    if not parts:
        return _Found(run.first, run.last + 1, rows)
    header = [" ".join(p[c] for p in parts if p[c]) for c in range(len(columns) + 1)]
    return _Found(start, run.last + 1, [header, *rows])


def split_tables(text: str, heading_path: tuple[str, ...] = (), page: int | None = None) -> list[Block]:
    """The page text as prose sections and tables in order; text without a table comes back as one section."""
    lines = text.split("\n")
    cells = [_cells(line) for line in lines]
    found: list[_Found] = []
    floor = 0
    for run in _find_runs(lines, cells):
        table = _build(lines, cells, run, floor)
        if table is not None:
            found.append(table)
            floor = table.end
    if not found:
        return [Section(text, heading_path, page)] if text.strip() else []
    blocks: list[Block] = []
    position = 0
    for item in found:
        before = "\n".join(lines[position : item.start])
        if before.strip():
            blocks.append(Section(before, heading_path, page))
        blocks.append(Table(item.table[0], item.table[1:], heading_path, page))
        position = item.end
    after = "\n".join(lines[position:])
    if after.strip():
        blocks.append(Section(after, heading_path, page))
    return blocks
