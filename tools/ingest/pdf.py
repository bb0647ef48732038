"""PDF with pypdf: text per page, the outline as heading path, OCR for pages without a text layer.

The text layer comes from poppler's ``pdftotext -layout`` when installed (pypdf otherwise); in layout text,
tables are recognised by their aligned columns (``pdf_tables``) and kept as table blocks.

Pages without text are rendered with ``pdftoppm`` (poppler-utils) when it is installed, which also captures
vector text and page layout; otherwise the page's embedded images are OCR'd one by one.
"""

from __future__ import annotations

import io
import logging
import math
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from PIL import Image
from pypdf import PageObject, PdfReader, apply_configuration
from pypdf._encryption import PasswordType
from pypdf.errors import DependencyError, PyPdfError
from pypdf.generic import Destination

from tools.errors import UnavailableError
from tools.ingest.base import ExtractionError, Limits
from tools.ingest.blocks import Block, HeadingStack, Parsed, Section
from tools.ingest.guards import OCR_MISSING, check_pages, check_pixels, tesseract_available
from tools.ingest.ocr import OcrTimeoutError, ocr_image
from tools.ingest.pdf_tables import split_tables

logger = logging.getLogger(__name__)

MIN_TEXT_CHARS = 20
"""A page with fewer non-blank characters than this (and an image on it) is treated as a scan."""
RENDER_DPI = 200
"""Enough for tesseract on body text; 300 is better on small print but takes twice as long."""
MAX_ARRAY_ELEMENTS = 1_000_000
"""pypdf refuses arrays over 100,000 elements by default, yet real filings have bigger ones (two of the
Microsoft 10-Qs in the benchmark hold ~150,000-element arrays); a million stays around 100 MB at worst."""
_GENERATED_TITLE = re.compile(r"^(microsoft (word|excel|powerpoint) - |untitled)|\.(docx?|pdf|xlsx?|pptx?|txt)$", re.I)
_LETTERS = re.compile(r"[^\W\d_]")


@dataclass(frozen=True)
class _OutlineEntry:
    page: int
    level: int
    title: str


def _open(data: bytes) -> PdfReader:
    try:
        reader = PdfReader(io.BytesIO(data))
    except (PyPdfError, ValueError, KeyError, TypeError, IndexError, AttributeError, RecursionError) as exc:
        raise ExtractionError(
            f"corrupt PDF: {exc or type(exc).__name__}; re-save or re-export it and upload again"
        ) from exc
    if reader.is_encrypted:
        try:
            opened = reader.decrypt("")
        except (DependencyError, NotImplementedError, PyPdfError) as exc:
            raise ExtractionError(f"PDF is encrypted ({exc}); upload a decrypted copy") from exc
        # A PDF with only an owner password (copy/print restrictions) opens with the empty user password.
        if opened == PasswordType.NOT_DECRYPTED:
            raise ExtractionError("PDF is encrypted with a password; upload a decrypted copy")
    return reader


def _outline(reader: PdfReader) -> list[_OutlineEntry]:
    entries: list[_OutlineEntry] = []

    def walk(items: list[object], level: int) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item, level + 1)
            elif isinstance(item, Destination):
                try:
                    page = reader.get_destination_page_number(item)
                except (PyPdfError, KeyError, ValueError, TypeError, AttributeError):
                    continue
                title = " ".join(str(item.title or "").split())
                if page is not None and page >= 0 and title:
                    entries.append(_OutlineEntry(page, level, title))

    try:
        walk(list(reader.outline), 1)
    except (PyPdfError, KeyError, ValueError, TypeError, AttributeError, RecursionError) as exc:
        logger.info("ignoring unreadable PDF outline: %s", exc)
        return []
    # Outlines are in reading order almost always; a stable sort fixes the rare out-of-order entry.
    return sorted(entries, key=lambda e: e.page)


def _find_heading(text: str, title: str, start: int) -> tuple[int, int] | None:
    """Where the outline title appears in the page text at or after ``start``, ignoring spacing and case.

    A match at the start of a line (where headings sit) wins over one inside a sentence.
    """
    words = title.split()
    if not words:
        return None
    body = r"\s+".join(re.escape(w) for w in words)
    for pattern in (rf"(?m)^[ \t]*({body})", f"({body})"):
        match = re.compile(pattern, re.IGNORECASE).search(text, start)
        if match:
            return match.start(1), match.end(1)
    return None


def _page_sections(
    text: str, page: int, entries: list[_OutlineEntry], headings: HeadingStack, *, layout: bool = False
) -> list[Block]:
    """Split a page's text where outline entries that start on it begin; ``headings`` carries across pages.

    ``layout`` says the text is ``pdftotext -layout`` output, whose aligned columns let tables be found.
    """
    blocks: list[Block] = []

    def add(start: int, end: int) -> None:
        piece = text[start:end]
        if not piece.strip():
            return
        if not layout:
            blocks.append(Section(piece, headings.path, page))
            return
        # A piece starting mid-line (after a heading on the same line) is padded back to its column.
        indent = start - (text.rfind("\n", 0, start) + 1)
        blocks.extend(split_tables(" " * indent + piece, headings.path, page))

    position = 0
    for entry in entries:
        span = _find_heading(text, entry.title, position)
        # Not found in the text (a title worded differently): the section starts at the current position.
        cut = position if span is None else span[0]
        add(position, cut)
        headings.push(entry.level, entry.title)
        if span is None:
            continue
        # Drop the heading line itself (it is in the path now) unless more text follows it on that line.
        end = span[1]
        newline = text.find("\n", end)
        line_end = len(text) if newline == -1 else newline
        position = line_end if not text[end:line_end].strip() else end
    add(position, len(text))
    return blocks


def _has_images(reader: PdfReader, index: int) -> bool:
    """Whether the page draws any XObject (a scan is one big image); unreadable resources count as yes."""
    try:
        resources = reader.pages[index].get("/Resources")
        xobjects = resources.get_object().get("/XObject") if resources is not None else None
        return bool(xobjects)
    except (PyPdfError, KeyError, ValueError, TypeError, AttributeError):
        return True


def _render_dpi(page: PageObject, limits: Limits) -> int:
    """The render resolution, lowered for huge pages so the bitmap stays under the pixel limit."""
    try:
        width_in = float(page.mediabox.width) / 72
        height_in = float(page.mediabox.height) / 72
    except (PyPdfError, ValueError, TypeError, AttributeError):
        return RENDER_DPI
    area = max(width_in * height_in, 1e-6)
    return max(36, min(RENDER_DPI, int(math.sqrt(limits.max_image_pixels / area))))


def _render_page(pdf_path: Path, page: int, dpi: int, limits: Limits, workdir: Path) -> Image.Image | None:
    """The page as a greyscale bitmap via pdftoppm, or None when it fails (the caller falls back)."""
    tool = shutil.which("pdftoppm")
    if tool is None:
        return None
    out = workdir / f"page-{page}"
    try:
        subprocess.run(
            [
                tool,
                "-f",
                str(page),
                "-l",
                str(page),
                "-r",
                str(dpi),
                "-gray",
                "-png",
                "-singlefile",
                str(pdf_path),
                str(out),
            ],
            check=True,
            capture_output=True,
            timeout=limits.ocr_timeout_s,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        logger.warning("pdftoppm failed on page %d: %s", page, exc)
        return None
    png = out.with_suffix(".png")
    if not png.exists():
        return None
    image = Image.open(png)
    check_pixels(image.width, image.height, limits, f"page {page} rendered")
    image.load()
    png.unlink()
    return image


def _embedded_images(page: PageObject, number: int, limits: Limits) -> list[Image.Image]:
    """The page's embedded images, each checked against the pixel limit before it is decoded."""
    images: list[Image.Image] = []
    try:
        resources = page.get("/Resources")
        xobjects = resources.get_object().get("/XObject") if resources is not None else None
        for ref in (xobjects.get_object() if xobjects else {}).values():
            obj = ref.get_object()
            if obj.get("/Subtype") == "/Image":
                check_pixels(
                    int(obj.get("/Width", 0)), int(obj.get("/Height", 0)), limits, f"an image on page {number}"
                )
        for item in page.images:
            if item.image is not None:
                images.append(item.image)
    except (PyPdfError, KeyError, ValueError, TypeError, AttributeError, OSError, NotImplementedError) as exc:
        logger.warning("cannot read the images of page %d: %s", number, exc)
    return images


def _ocr_page(reader: PdfReader, index: int, pdf_path: Path, limits: Limits, workdir: Path) -> str:
    page = reader.pages[index]
    number = index + 1
    rendered = _render_page(pdf_path, number, _render_dpi(page, limits), limits, workdir)
    images = [rendered] if rendered is not None else _embedded_images(page, number, limits)
    texts = [ocr_image(image, limits.ocr_timeout_s, f"page {number}") for image in images]
    return "\n\n".join(t for t in texts if t.strip())


def _title(reader: PdfReader) -> str | None:
    try:
        metadata = reader.metadata
        title = " ".join(str(metadata.title).split()) if metadata and metadata.title else ""
    except (PyPdfError, KeyError, ValueError, TypeError, AttributeError):
        return None
    # Titles that are just the producing app's file name say nothing the file name does not.
    # An identifier such as an EDGAR accession number ("0000320193-22-000070") is no title either.
    if not title or _GENERATED_TITLE.search(title) or len(_LETTERS.findall(title)) < 3:
        return None
    return title


def _page_ranges(pages: list[int]) -> str:
    """``[1, 2, 3, 7]`` -> ``'1-3, 7'``."""
    parts: list[str] = []
    start = prev = pages[0]
    for p in [*pages[1:], None]:
        if p is not None and p == prev + 1:
            prev = p
            continue
        parts.append(str(start) if start == prev else f"{start}-{prev}")
        if p is not None:
            start = prev = p
    return ", ".join(parts)


def process_pdf(data: bytes, limits: Limits) -> Parsed:
    """Extract a PDF page by page, under pypdf limits sized for real filings."""
    # pypdf's configuration is a ContextVar, so this is safe in concurrent worker threads.
    with apply_configuration(
        array_maximum_element_count=MAX_ARRAY_ELEMENTS, dictionary_maximum_element_count=MAX_ARRAY_ELEMENTS
    ):
        return _process(data, limits)


def _pdftotext(pdf_path: Path, count: int, limits: Limits) -> list[str] | None:
    """Every page's text from poppler's pdftotext, or None to fall back to pypdf.

    ``-layout`` keeps each table row on one line with its cells in order (the default reading-order mode
    scatters a table cell by cell); it is also tens of times faster than pypdf on large filings.
    """
    tool = shutil.which("pdftotext")
    if tool is None:
        return None
    try:
        done = subprocess.run(
            [tool, "-layout", "-enc", "UTF-8", "-q", str(pdf_path), "-"],
            check=True,
            capture_output=True,
            timeout=limits.ocr_timeout_s,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        logger.warning("pdftotext failed, falling back to pypdf: %s", exc)
        return None
    # One form feed ends each page.
    pages = done.stdout.decode("utf-8", "replace").split("\f")
    if len(pages) == count + 1 and not pages[-1].strip():
        pages.pop()
    if len(pages) != count:
        logger.warning("pdftotext found %d pages where pypdf found %d; using pypdf", len(pages), count)
        return None
    return pages


def _pypdf_text(reader: PdfReader, index: int, warnings: list[str]) -> str:
    try:
        return reader.pages[index].extract_text() or ""
    except (PyPdfError, KeyError, ValueError, TypeError, AttributeError, IndexError, RecursionError) as exc:
        warnings.append(f"page {index + 1}: the text layer cannot be read ({exc})")
        return ""


def _process(data: bytes, limits: Limits) -> Parsed:
    reader = _open(data)
    try:
        count = len(reader.pages)
    except (PyPdfError, KeyError, ValueError, TypeError, AttributeError, RecursionError) as exc:
        raise ExtractionError(f"corrupt PDF: cannot read its page tree ({exc}); re-save or re-export it") from exc
    if count == 0:
        raise ExtractionError("corrupt PDF: it has no pages; re-save or re-export it")
    check_pages(count, limits)
    warnings: list[str] = []
    texts: dict[int, str] = {}
    scans: list[int] = []
    ocr_pages: list[int] = []
    layout_pages: set[int] = set()
    # Pages whose text is pdftotext layout output, where tables can be found by their columns.
    with tempfile.TemporaryDirectory(prefix="ingest-pdf-") as tmp:
        workdir = Path(tmp)
        pdf_path = workdir / "document.pdf"
        pdf_path.write_bytes(data)
        layer = _pdftotext(pdf_path, count, limits)
        if layer is not None:
            layout_pages.update(range(count))
        for index in range(count):
            text = layer[index] if layer is not None else _pypdf_text(reader, index, warnings)
            if len("".join(text.split())) >= MIN_TEXT_CHARS:
                texts[index] = text
                continue
            if _has_images(reader, index):
                scans.append(index)
            if text.strip():
                texts[index] = text

        if scans and not tesseract_available():
            if not texts:
                raise UnavailableError(f"{OCR_MISSING}; this PDF has no text layer and needs OCR")
            warnings.append(
                f"pages {_page_ranges([i + 1 for i in scans])} have no text layer and were skipped: {OCR_MISSING}"
            )
            scans_to_read: list[int] = []
        else:
            scans_to_read = scans
        for index in scans_to_read:
            try:
                text = _ocr_page(reader, index, pdf_path, limits, workdir)
            except OcrTimeoutError as exc:
                warnings.append(str(exc))
                continue
            ocr_pages.append(index + 1)
            if len(text.strip()) > len(texts.get(index, "").strip()):
                texts[index] = text
                layout_pages.discard(index)

    entries = _outline(reader)
    headings = HeadingStack()
    blocks: list[Block] = []
    for index in range(count):
        on_page = [e for e in entries if e.page == index]
        blocks.extend(_page_sections(texts.get(index, ""), index + 1, on_page, headings, layout=index in layout_pages))

    reason = "no page has a text layer and OCR found no text" if scans else "no page has a text layer or images"
    return Parsed(
        blocks=blocks, title=_title(reader), pages=count, ocr_pages=ocr_pages, warnings=warnings, empty_reason=reason
    )
