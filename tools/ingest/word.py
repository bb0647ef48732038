"""DOCX with python-docx: heading styles build the heading path, paragraphs become prose, tables keep their rows."""

from __future__ import annotations

import io
import re

import docx
from docx.table import Table as DocxTable
from docx.text.paragraph import Paragraph

from tools.ingest.base import Limits
from tools.ingest.blocks import Block, HeadingStack, Parsed, Section, Table
from tools.ingest.sheets import RowCounter

_HEADING_STYLE = re.compile(r"^heading\s*(\d)$", re.IGNORECASE)


def _heading_level(paragraph: Paragraph) -> int | None:
    """1..9 for Heading styles (0 for Title), None for body text."""
    style = paragraph.style
    name = (style.name or "") if style is not None else ""
    if name.lower() == "title":
        return 0
    match = _HEADING_STYLE.match(name.strip())
    if match:
        return int(match.group(1))
    # Custom styles based on a heading style ("My Heading 2" based on "Heading 2") count as that heading.
    base = getattr(style, "base_style", None)
    if base is not None and base.name:
        match = _HEADING_STYLE.match(base.name.strip())
        if match:
            return int(match.group(1))
    return None


def _table_rows(table: DocxTable) -> list[list[str]]:
    rows: list[list[str]] = []
    for row in table.rows:
        cells: list[str] = []
        seen: set[int] = set()
        for cell in row.cells:
            # A merged cell is returned once per grid column it spans; keep its text once.
            key = id(cell._tc)
            if key in seen:
                continue
            seen.add(key)
            cells.append(cell.text)
        rows.append(cells)
    return rows


def process_docx(data: bytes, limits: Limits) -> Parsed:
    """Walk the body in order; the zip guard has already run on ``data``."""
    document = docx.Document(io.BytesIO(data))
    blocks: list[Block] = []
    headings = HeadingStack()
    first_heading: str | None = None
    counter = RowCounter(limits)
    for item in document.iter_inner_content():
        if isinstance(item, Paragraph):
            text = item.text
            level = _heading_level(item)
            if level is not None and text.strip():
                name = " ".join(text.split())
                if first_heading is None and level <= 1:
                    first_heading = name
                # The Title paragraph names the document (the citation starts with it), not a section.
                if level > 0:
                    headings.push(level, name)
                continue
            if text.strip():
                blocks.append(Section(text, headings.path))
        elif isinstance(item, DocxTable):
            rows = _table_rows(item)
            for _ in rows:
                counter.add()
            rows = [r for r in rows if any(c.strip() for c in r)]
            if rows:
                blocks.append(Table(rows[0], rows[1:], headings.path))
    title = document.core_properties.title or first_heading
    return Parsed(blocks=blocks, title=title, empty_reason="the document body has no paragraphs or tables with text")
