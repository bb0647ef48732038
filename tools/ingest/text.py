"""Plain text and Markdown: ``#`` headings build the heading path, fenced code stays whole, pipe tables are tables."""

from __future__ import annotations

import re

from tools.ingest.blocks import Block, HeadingStack, Parsed, Section, Table

_ATX = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_TABLE_SEPARATOR = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")
_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n(---|\.\.\.)[ \t]*(\n|\Z)", re.DOTALL)


def process_text(text: str) -> Parsed:
    """Plain text: paragraphs only; the title is left to the file name."""
    return Parsed(blocks=[Section(text)], empty_reason="the text file holds only whitespace")


def _split_row(line: str) -> list[str]:
    line = line.strip()
    line = line.removeprefix("|")
    if line.endswith("|") and not line.endswith("\\|"):
        line = line[:-1]
    return [cell.strip().replace("\\|", "|") for cell in re.split(r"(?<!\\)\|", line)]


def process_markdown(text: str) -> Parsed:
    """Markdown: ATX and setext headings, fenced code blocks, pipe tables, and the first H1 as title."""
    title: str | None = None
    front = _FRONT_MATTER.match(text)
    if front:
        for line in front.group(1).splitlines():
            key, _, value = line.partition(":")
            if key.strip().lower() == "title" and value.strip():
                title = value.strip().strip("\"'")
        text = text[front.end() :]

    blocks: list[Block] = []
    headings = HeadingStack()
    paragraph: list[str] = []

    def flush() -> None:
        if any(line.strip() for line in paragraph):
            blocks.append(Section("\n".join(paragraph), headings.path))
        paragraph.clear()

    def heading(level: int, name: str) -> None:
        nonlocal title
        flush()
        name = name.strip()
        if not name:
            return
        headings.push(level, name)
        if level == 1 and title is None:
            title = name

    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        fence = _FENCE.match(line)
        if fence:
            flush()
            marker = fence.group(1)
            code = [line]
            i += 1
            while i < len(lines):
                code.append(lines[i])
                if lines[i].strip().startswith(marker[0] * len(marker)) and not lines[i].strip().strip(marker[0]):
                    break
                i += 1
            blocks.append(Section("\n".join(code), headings.path, atomic=True))
            i += 1
            continue
        atx = _ATX.match(line)
        if atx:
            heading(len(atx.group(1)), atx.group(2))
            i += 1
            continue
        setext = _SETEXT.match(line)
        # A setext underline makes the single line of text above it a heading; after a blank line it is a rule.
        if setext and len(paragraph) == 1 and paragraph[0].strip():
            name = paragraph.pop()
            heading(1 if setext.group(1).startswith("=") else 2, name)
            i += 1
            continue
        if "|" in line and i + 1 < len(lines) and _TABLE_SEPARATOR.match(lines[i + 1]):
            flush()
            header = _split_row(line)
            rows: list[list[str]] = []
            i += 2
            while i < len(lines) and "|" in lines[i] and lines[i].strip():
                rows.append(_split_row(lines[i]))
                i += 1
            blocks.append(Table(header, rows, headings.path))
            continue
        if not line.strip():
            flush()
        else:
            paragraph.append(line)
        i += 1
    flush()
    return Parsed(blocks=blocks, title=title, empty_reason="the Markdown file holds no text")
