"""What a processor hands to the chunker: prose sections and tables in document order.

Processors only recognise structure (headings, pages, sheets, table rows); sizing text into chunks is the
chunker's job, so every format gets the same chunk sizes, overlap and table rendering.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Section:
    """A run of prose under one heading path on one page."""

    text: str
    heading_path: tuple[str, ...] = ()
    page: int | None = None
    atomic: bool = False
    """Keep whole where possible (a fenced code block, a <pre>): never broken at sentences."""


@dataclass
class Table:
    """Rows of cells; the first row is the header repeated in every chunk of the table."""

    header: list[str]
    rows: list[list[str]]
    heading_path: tuple[str, ...] = ()
    page: int | None = None
    sheet: str | None = None


Block = Section | Table


@dataclass
class Parsed:
    """A processor's result before chunking."""

    blocks: list[Block]
    title: str | None = None
    pages: int | None = None
    ocr_pages: list[int] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    empty_reason: str = "the file holds no text"
    """Said in the error when the blocks turn out to hold no text at all."""


class HeadingStack:
    """The open headings above the current position, outermost first."""

    def __init__(self) -> None:
        self._levels: list[tuple[int, str]] = []

    def push(self, level: int, text: str) -> None:
        """Open a heading at ``level`` (1 = outermost), closing any at the same or a deeper level."""
        while self._levels and self._levels[-1][0] >= level:
            self._levels.pop()
        self._levels.append((level, text))

    @property
    def path(self) -> tuple[str, ...]:
        return tuple(text for _, text in self._levels)
