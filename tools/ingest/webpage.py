"""HTML with BeautifulSoup and the stdlib parser: h1..h6 build the heading path, <table> becomes table chunks."""

from __future__ import annotations

from bs4 import BeautifulSoup, Comment, NavigableString, Tag

from tools.ingest.blocks import Block, HeadingStack, Parsed, Section, Table

_DROP = {"script", "style", "nav", "noscript", "template", "svg", "iframe", "object", "head", "form", "button"}
_HEADINGS = {f"h{n}": n for n in range(1, 7)}
_BLOCK = {
    "p", "div", "section", "article", "main", "aside", "header", "footer", "li", "ul", "ol", "dl", "dt", "dd",
    "blockquote", "figure", "figcaption", "address", "details", "summary", "hr", "br", "tr", "caption", "body",
}  # fmt: skip


class _Walker:
    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self.headings = HeadingStack()
        self.buffer: list[str] = []
        self.first_h1: str | None = None

    def flush(self) -> None:
        text = "".join(self.buffer)
        self.buffer.clear()
        if text.strip():
            self.blocks.append(Section(text, self.headings.path))

    def walk(self, node: Tag) -> None:
        for child in node.children:
            if isinstance(child, Comment):
                continue
            if isinstance(child, NavigableString):
                raw = str(child)
                # Keep one space at either edge: "<b>Hello</b> world" must not become "Helloworld".
                lead = " " if raw[:1].isspace() else ""
                trail = " " if raw[-1:].isspace() else ""
                self.buffer.append(lead + " ".join(raw.split()) + trail)
                continue
            if not isinstance(child, Tag):
                continue
            name = child.name.lower()
            if name in _DROP:
                continue
            if name in _HEADINGS:
                self.flush()
                text = " ".join(child.get_text(" ").split())
                if text:
                    self.headings.push(_HEADINGS[name], text)
                    if name == "h1" and self.first_h1 is None:
                        self.first_h1 = text
                continue
            if name == "table":
                self.flush()
                self.table(child)
                continue
            if name == "pre":
                self.flush()
                code = child.get_text()
                if code.strip():
                    self.blocks.append(Section(code, self.headings.path, atomic=True))
                continue
            if name in _BLOCK:
                # Paragraph-level elements separate paragraphs; a <br> or list item is at least a line break.
                self.buffer.append("\n\n" if name not in ("br", "li", "tr", "dt", "dd") else "\n")
                self.walk(child)
                self.buffer.append("\n\n" if name not in ("br", "li", "tr", "dt", "dd") else "\n")
                continue
            self.walk(child)

    def table(self, node: Tag) -> None:
        rows: list[list[str]] = []
        for tr in node.find_all("tr"):
            # Rows of a nested table belong to that table, which is read as cell text of this one.
            if tr.find_parent("table") is not node:
                continue
            row: list[str] = []
            for cell in tr.find_all(["td", "th"]):
                if cell.find_parent("tr") is not tr:
                    continue
                text = " ".join(cell.get_text(" ").split())
                span = cell.get("colspan")
                # Repeat a spanned cell so the columns to its right stay under their headers.
                repeat = int(span) if isinstance(span, str) and span.isdigit() and 1 <= int(span) <= 50 else 1
                row.extend([text] * repeat)
            if any(row):
                rows.append(row)
        if not rows:
            return
        path = self.headings.path
        caption = node.find("caption")
        if caption and caption.get_text(strip=True):
            path = (*path, " ".join(caption.get_text(" ").split()))
        # The first row is the header whether or not it uses <th>: hand-written tables put it there.
        self.blocks.append(Table(rows[0], rows[1:], path))


def process_html(text: str) -> Parsed:
    """Extract headings, paragraphs and tables from an HTML page; title from <title> or the first <h1>."""
    soup = BeautifulSoup(text, "html.parser")
    title_tag = soup.find("title")
    title = " ".join(title_tag.get_text(" ").split()) if title_tag else ""
    walker = _Walker()
    root = soup.find("body")
    walker.walk(root if isinstance(root, Tag) else soup)
    walker.flush()
    return Parsed(
        blocks=walker.blocks,
        title=title or walker.first_h1,
        empty_reason="the HTML page has no visible text outside scripts, styles and navigation",
    )
