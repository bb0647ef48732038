"""Type detection from the bytes (magic numbers, zip contents, text decoding); the extension is only a hint."""

from __future__ import annotations

import codecs
import re
import zipfile
from pathlib import PurePath
from typing import Literal

from tools.ingest.base import DocType, ExtractionError

SUPPORTED = "PDF, DOCX, XLSX, XLS, CSV, TXT, Markdown, HTML, PNG, JPG, TIFF"

Container = Literal["zip"]

_EXTENSION_TYPES: dict[str, DocType] = {
    ".pdf": "pdf",
    ".docx": "docx",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".xls": "xls",
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "txt",
    ".text": "txt",
    ".log": "txt",
    ".md": "markdown",
    ".markdown": "markdown",
    ".mdown": "markdown",
    ".html": "html",
    ".htm": "html",
    ".xhtml": "html",
    ".png": "png",
    ".jpg": "jpg",
    ".jpeg": "jpg",
    ".tif": "tiff",
    ".tiff": "tiff",
}

_HTML_START = re.compile(
    r"^\s*(<\?xml[^>]*>\s*)?(<!--.*?-->\s*)*<(!doctype\s+html|html[\s>])", re.IGNORECASE | re.DOTALL
)
_HTML_TAGS = re.compile(r"<(body|head|p|div|table|h[1-6]|ul|ol|span|br|a\s)[\s>/]", re.IGNORECASE)
_MD_HEADING = re.compile(r"^#{1,6}[ \t]+\S", re.MULTILINE)
_MD_MARKERS = re.compile(r"^(```|~~~|\s*[-*+][ \t]+\S|\s*\d+\.[ \t]+\S|>[ \t]|\|.*\|\s*$)", re.MULTILINE)


def extension_type(filename: str) -> DocType | None:
    """The type the file name claims, if it names a supported one."""
    return _EXTENSION_TYPES.get(PurePath(filename).suffix.lower())


def unsupported(filename: str, what: str) -> ExtractionError:
    return ExtractionError(f"unsupported type for {filename!r}: {what}; supported: {SUPPORTED}")


def sniff_binary(data: bytes) -> DocType | Container | None:
    """The type told by magic numbers, ``"zip"`` for a zip container to look inside, or None (maybe text)."""
    head = data[:8]
    # The PDF spec allows junk before the header; readers look in the first kilobyte.
    if b"%PDF-" in data[:1024]:
        return "pdf"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "zip"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "xls"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "tiff"
    return None


def zip_type(archive: zipfile.ZipFile, filename: str) -> DocType:
    """DOCX or XLSX, told by the main part declared in ``[Content_Types].xml`` (after the zip guard ran)."""
    names = set(archive.namelist())
    declared = ""
    if "[Content_Types].xml" in names:
        declared = archive.read("[Content_Types].xml").decode("utf-8", "replace")
    if "wordprocessingml.document.main" in declared or "word/document.xml" in names:
        return "docx"
    if "spreadsheetml.sheet.main" in declared or "xl/workbook.xml" in names:
        return "xlsx"
    if "presentationml" in declared:
        raise unsupported(filename, "a PowerPoint file (export it to PDF first)")
    if "opendocument" in declared or "mimetype" in names:
        raise unsupported(filename, "an OpenDocument file (save it as DOCX/XLSX or PDF first)")
    raise unsupported(filename, "a zip archive that is not a Word or Excel document")


def decode_text(data: bytes) -> str | None:
    """The text in ``data`` if it is text: a BOM wins, then UTF-8, then cp1252; None for binary."""
    for bom, encoding in (
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError:
                return None
    if b"\x00" in data:
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError:
            # cp1252 leaves five bytes undefined; text that uses them is rarer than binary that does.
            return None
    # Control characters other than tab, newlines and form feed are the mark of binary data.
    control = sum(1 for ch in text[:65536] if ord(ch) < 32 and ch not in "\t\n\r\f")
    if control > max(8, len(text[:65536]) // 100):
        return None
    return text


def text_type(text: str, filename: str) -> DocType:
    """HTML, Markdown, CSV or plain text, from the content and the extension hint."""
    hinted = extension_type(filename)
    head = text[:4096]
    if _HTML_START.match(head):
        return "html"
    if hinted == "html" and _HTML_TAGS.search(head):
        return "html"
    if hinted in ("csv", "markdown", "txt"):
        return hinted
    # No usable hint (or a binary extension on a text file): decide by content alone.
    if head.lstrip().startswith("<") and len(_HTML_TAGS.findall(head)) >= 2:
        return "html"
    if _MD_HEADING.search(text) or len(_MD_MARKERS.findall(head)) >= 3:
        return "markdown"
    if _looks_delimited(head):
        return "csv"
    return "txt"


def _looks_delimited(head: str) -> bool:
    """At least three lines that split into the same number (>1) of fields on one delimiter."""
    lines = [line for line in head.splitlines()[:20] if line.strip()]
    if len(lines) < 3:
        return False
    for delimiter in (",", ";", "\t", "|"):
        counts = {line.count(delimiter) for line in lines[:-1]}  # the last line may be cut mid-way
        if len(counts) == 1 and counts.pop() >= 1:
            return True
    return False


TYPE_NAMES: dict[DocType, str] = {
    "pdf": "PDF",
    "docx": "DOCX",
    "xlsx": "XLSX",
    "xls": "XLS",
    "csv": "CSV",
    "txt": "plain text",
    "markdown": "Markdown",
    "html": "HTML",
    "png": "PNG",
    "jpg": "JPEG",
    "tiff": "TIFF",
}


def mismatch_warning(real: DocType, filename: str) -> str | None:
    """A note for the caller when the extension claims another type than the bytes show."""
    hinted = extension_type(filename)
    suffix = PurePath(filename).suffix
    text_family = {"txt", "markdown", "csv"}
    if hinted is None or hinted == real or (hinted in text_family and real in text_family):
        return None
    return f"the file name says {suffix!r} but the content is {TYPE_NAMES[real]}; processed as {TYPE_NAMES[real]}"
