"""The contract between the processors and the knowledge pipeline."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from tools.errors import InvalidInputError

ChunkKind = Literal["text", "table"]
DocType = Literal["pdf", "docx", "xlsx", "xls", "csv", "txt", "markdown", "html", "png", "jpg", "tiff"]


@dataclass(frozen=True)
class Chunk:
    """One retrievable piece of a document, with what a citation needs."""

    text: str
    kind: ChunkKind = "text"
    heading_path: tuple[str, ...] = ()
    """Headings above this chunk, outermost first (Markdown/HTML/DOCX headings, PDF outline)."""
    page: int | None = None
    """1-based page number (PDF, TIFF frames)."""
    sheet: str | None = None
    """Sheet name (XLSX, XLS) for table chunks."""
    ordinal: int = 0
    """Position of the chunk in the document, from 0."""

    def citation(self, title: str) -> str:
        """A human-readable pointer back to the source, e.g. ``Guide.pdf, p. 4 > Setup > VPN``."""
        parts = [title]
        if self.page is not None:
            parts.append(f"p. {self.page}")
        if self.sheet is not None:
            parts.append(f"sheet {self.sheet!r}")
        cite = ", ".join(parts)
        if self.heading_path:
            cite += " > " + " > ".join(self.heading_path)
        return cite


@dataclass
class Extracted:
    """What a processor produced from one file."""

    doc_type: DocType
    title: str
    chunks: list[Chunk]
    pages: int | None = None
    ocr_pages: list[int] = field(default_factory=list)
    """Pages (or 1 for a lone image) whose text came from OCR."""
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Limits:
    """Guards against huge and hostile input; all checked before the expensive work."""

    max_bytes: int = 50 * 1024 * 1024
    max_uncompressed_bytes: int = 200 * 1024 * 1024
    """Total uncompressed size of the parts of a DOCX/XLSX zip (archive-bomb guard)."""
    max_compression_ratio: float = 200.0
    max_pages: int = 2000
    max_rows: int = 200_000
    max_image_pixels: int = 80_000_000
    ocr_timeout_s: int = 120


class ExtractionError(InvalidInputError):
    """The file cannot be turned into text; the message says why and what to do."""
