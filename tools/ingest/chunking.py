"""Structure-aware chunking: prose at paragraph and sentence boundaries, tables by whole rows.

Prose is packed into chunks of about ``target_chars``, broken at paragraph, then sentence, then word
boundaries, with a small overlap (the previous chunk's last sentence) so a fact cut at a boundary is still
found. Code blocks stay whole up to ``max_atomic_chars``. Tables are rendered as ``| a | b |`` lines, packed by
whole rows, with the header row repeated at the top of every chunk so each chunk reads (and embeds) on its own.
Chunks never cross a heading, page or sheet boundary, so each one's citation is exact.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import groupby

from tools.ingest.base import Chunk
from tools.ingest.blocks import Block, Section, Table


@dataclass(frozen=True)
class ChunkOptions:
    """Chunk sizing, in characters."""

    target_chars: int = 800
    overlap_chars: int = 100
    """Prose only: how much of the previous chunk's end is repeated at the start of the next."""
    max_atomic_chars: int = 1600
    """A code block up to this size stays in one chunk even when over the target."""

    def __post_init__(self) -> None:
        if self.target_chars < 50:
            raise ValueError(f"target_chars must be at least 50, got {self.target_chars!r}")
        if not 0 <= self.overlap_chars < self.target_chars // 2:
            raise ValueError(f"overlap_chars must be in [0, target_chars / 2), got {self.overlap_chars!r}")


_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n+")
# A sentence ends at . ! ? (optionally closed by a quote or bracket) followed by space and a capital/digit.
_SENTENCE_END = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"')\]]))\s+(?=[\"'(\[]?[A-Z0-9])")
_SPACES = re.compile(r"[ \t\f\v\u00a0]+")


@dataclass
class _Unit:
    text: str
    joiner: str
    """Put between this unit and the one before it in the same chunk."""
    atomic: bool = False


def build_chunks(blocks: Sequence[Block], options: ChunkOptions | None = None) -> list[Chunk]:
    """Turn a processor's blocks into chunks, numbered by ``ordinal`` in document order."""
    opts = options or ChunkOptions()
    chunks: list[Chunk] = []

    def key(block: Block) -> tuple[object, ...]:
        # Consecutive prose with the same citation is packed together; each table stands alone.
        if isinstance(block, Table):
            return ("table", id(block))
        return ("text", block.heading_path, block.page)

    for _, group in groupby(blocks, key=key):
        members = list(group)
        first = members[0]
        if isinstance(first, Table):
            for text in table_chunk_texts(first, opts.target_chars):
                chunks.append(
                    Chunk(
                        text=text,
                        kind="table",
                        heading_path=first.heading_path,
                        page=first.page,
                        sheet=first.sheet,
                        ordinal=len(chunks),
                    )
                )
            continue
        sections = [m for m in members if isinstance(m, Section)]
        for text in prose_chunk_texts(sections, opts):
            chunks.append(Chunk(text=text, heading_path=first.heading_path, page=first.page, ordinal=len(chunks)))
    return chunks


# --- prose -------------------------------------------------------------------------------------------------


def normalize_prose(text: str) -> str:
    """Collapse runs of spaces, strip each line, and drop blank-line runs beyond one."""
    lines = [_SPACES.sub(" ", line).strip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def split_sentences(text: str) -> list[str]:
    """Split a paragraph into sentences (a heuristic good enough for chunk boundaries)."""
    return [s for s in (part.strip() for part in _SENTENCE_END.split(text)) if s]


def _split_words(text: str, limit: int) -> list[str]:
    """Split an over-long sentence at spaces; a single word over ``limit`` is cut."""
    pieces: list[str] = []
    current = ""
    for word in text.split():
        while len(word) > limit:
            if current:
                pieces.append(current)
                current = ""
            pieces.append(word[:limit])
            word = word[limit:]
        if current and len(current) + 1 + len(word) > limit:
            pieces.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    if current:
        pieces.append(current)
    return pieces


def _split_lines(text: str, limit: int) -> list[str]:
    """Pack whole lines into pieces of at most ``limit``; only a line longer than that is split at words."""
    pieces: list[str] = []
    current = ""
    for line in text.split("\n"):
        for part in [line] if len(line) <= limit else _split_words(line, limit):
            if current and len(current) + 1 + len(part) > limit:
                pieces.append(current)
                current = part
            else:
                current = f"{current}\n{part}" if current else part
    if current:
        pieces.append(current)
    return pieces


def _units(sections: list[Section], opts: ChunkOptions) -> list[_Unit]:
    units: list[_Unit] = []
    for section in sections:
        if section.atomic:
            text = section.text.strip("\n")
            if not text.strip():
                continue
            if len(text) <= opts.max_atomic_chars:
                units.append(_Unit(text, "\n\n", atomic=True))
                continue
            # Too big to keep whole: break between lines, never inside one unless it is itself too long.
            joiner = "\n\n"
            for line in text.split("\n"):
                for piece in [line] if len(line) <= opts.target_chars else _split_words(line, opts.target_chars):
                    units.append(_Unit(piece, joiner, atomic=True))
                    joiner = "\n"
            continue
        for paragraph in _PARAGRAPH_BREAK.split(normalize_prose(section.text)):
            paragraph = paragraph.strip()
            if not paragraph:
                continue
            if len(paragraph) <= opts.target_chars:
                units.append(_Unit(paragraph, "\n\n"))
                continue
            joiner = "\n\n"
            for sentence in split_sentences(paragraph):
                if len(sentence) <= opts.target_chars:
                    units.append(_Unit(sentence, joiner))
                    joiner = " "
                    continue
                # Text without sentence ends (a table's rows in a PDF text layer) breaks between lines first.
                for piece in _split_lines(sentence, opts.target_chars):
                    units.append(_Unit(piece, joiner))
                    joiner = "\n"
                joiner = " "
    return units


def _overlap_tail(text: str, limit: int) -> str:
    """The end of a chunk to repeat at the start of the next: whole sentences if they fit, else words."""
    if limit <= 0:
        return ""
    last_paragraph = _PARAGRAPH_BREAK.split(text)[-1]
    tail = ""
    for sentence in reversed(split_sentences(last_paragraph)):
        candidate = f"{sentence} {tail}".strip()
        if len(candidate) > limit:
            break
        tail = candidate
    if tail:
        return tail
    words: list[str] = []
    size = 0
    for word in reversed(last_paragraph.split()):
        if size + len(word) + 1 > limit:
            break
        words.insert(0, word)
        size += len(word) + 1
    return " ".join(words)


def prose_chunk_texts(sections: list[Section], opts: ChunkOptions) -> list[str]:
    """Pack the sections' paragraphs and sentences into chunk texts of about ``opts.target_chars``."""
    texts: list[str] = []
    current: list[_Unit] = []
    size = 0
    for unit in _units(sections, opts):
        added = len(unit.text) + (len(unit.joiner) if current else 0)
        if current and size + added > opts.target_chars:
            previous = current
            texts.append(_join(previous))
            current, size = [], 0
            if not unit.atomic and not previous[-1].atomic:
                tail = _overlap_tail(texts[-1], opts.overlap_chars)
                if tail:
                    current, size = [_Unit(tail, "")], len(tail)
            added = len(unit.text) + (len(unit.joiner) if current else 0)
        current.append(unit)
        size += added
    if current:
        texts.append(_join(current))
    return [t for t in texts if t.strip()]


def _join(units: list[_Unit]) -> str:
    out = units[0].text
    for unit in units[1:]:
        out += unit.joiner + unit.text
    return out.strip()


# --- tables ------------------------------------------------------------------------------------------------


def clean_cell(value: object) -> str:
    """One line of cell text, safe inside a ``|``-separated row."""
    text = "" if value is None else str(value)
    return _SPACES.sub(" ", " ".join(text.split())).replace("|", "\\|")


def _table_rows(table: Table) -> tuple[list[str], list[list[str]]]:
    header = [clean_cell(c) for c in table.header]
    rows = [[clean_cell(c) for c in row] for row in table.rows]
    rows = [row for row in rows if any(row)]
    width = max([len(header)] + [len(r) for r in rows])

    # Trailing columns that are empty everywhere are spreadsheet noise (formatted but unused cells).
    def column_empty(i: int) -> bool:
        return not any(cells[i] for cells in [header, *rows] if i < len(cells))

    while width > 1 and column_empty(width - 1):
        width -= 1
    header = (header + [""] * width)[:width]
    header = [h or f"column {i + 1}" for i, h in enumerate(header)]
    rows = [(row + [""] * width)[:width] for row in rows]
    return header, rows


def render_row(cells: list[str]) -> str:
    """A Markdown-style table row."""
    return "| " + " | ".join(cells) + " |"


def table_chunk_texts(table: Table, target_chars: int) -> list[str]:
    """Chunk texts for a table: whole rows packed to about ``target_chars``, each led by the header."""
    header, rows = _table_rows(table)
    head = render_row(header) + "\n" + render_row(["---"] * len(header))
    if not rows:
        return [head] if any(not h.startswith("column ") for h in header) else []
    texts: list[str] = []
    current: list[str] = []
    size = len(head)
    for row in rows:
        line = render_row(row)
        # Never split a row: an over-long row becomes its own chunk, over target if it must be.
        if current and size + 1 + len(line) > target_chars:
            texts.append(head + "\n" + "\n".join(current))
            current, size = [], len(head)
        current.append(line)
        size += 1 + len(line)
    if current:
        texts.append(head + "\n" + "\n".join(current))
    return texts
