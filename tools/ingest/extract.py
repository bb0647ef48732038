"""The single entry point: bytes and a file name in, typed chunks with citations out (or a clear error)."""

from __future__ import annotations

import logging
from pathlib import PurePath

from tools.errors import DeskError
from tools.ingest.base import DocType, Extracted, ExtractionError, Limits
from tools.ingest.blocks import Parsed
from tools.ingest.chunking import ChunkOptions, build_chunks
from tools.ingest.guards import check_size, open_zip
from tools.ingest.sniff import (
    TYPE_NAMES,
    decode_text,
    extension_type,
    mismatch_warning,
    sniff_binary,
    text_type,
    unsupported,
    zip_type,
)

logger = logging.getLogger(__name__)


def detect_type(data: bytes, filename: str, limits: Limits = Limits()) -> DocType:
    """The document type told by the bytes (the extension only breaks ties between text formats)."""
    kind = sniff_binary(data)
    if kind == "zip":
        with open_zip(data, limits) as archive:
            return zip_type(archive, filename)
    if kind is not None:
        return kind
    text = decode_text(data)
    if text is None:
        claimed = extension_type(filename)
        what = f"binary data of an unknown type (the name says {PurePath(filename).suffix!r}, the content disagrees)"
        raise unsupported(filename, what if claimed else "binary data of an unknown type")
    return text_type(text, filename)


def _process(doc_type: DocType, data: bytes, limits: Limits) -> Parsed:
    # Imports are local so a missing optional parser only breaks its own type, and start-up stays light.
    if doc_type == "pdf":
        from tools.ingest.pdf import process_pdf

        return process_pdf(data, limits)
    if doc_type == "docx":
        from tools.ingest.word import process_docx

        return process_docx(data, limits)
    if doc_type == "xlsx":
        from tools.ingest.xlsx import process_xlsx

        return process_xlsx(data, limits)
    if doc_type == "xls":
        from tools.ingest.xls import process_xls

        return process_xls(data, limits)
    if doc_type in ("png", "jpg", "tiff"):
        from tools.ingest.image import process_image

        return process_image(data, limits, doc_type)
    text = decode_text(data) or ""
    if doc_type == "csv":
        from tools.ingest.delimited import process_csv

        return process_csv(text, limits)
    if doc_type == "html":
        from tools.ingest.webpage import process_html

        return process_html(text)
    from tools.ingest.text import process_markdown, process_text

    return process_markdown(text) if doc_type == "markdown" else process_text(text)


def extract(
    data: bytes, filename: str, limits: Limits = Limits(), *, chunking: ChunkOptions | None = None
) -> Extracted:
    """Sniff, guard, parse and chunk one file.

    Raises :class:`ExtractionError` (bad input: empty, too big, unsupported, encrypted, corrupt, bomb, no text)
    or :class:`tools.errors.UnavailableError` (OCR engine missing for an image or a scan-only PDF).
    """
    check_size(data, limits)
    doc_type = detect_type(data, filename, limits)
    try:
        parsed = _process(doc_type, data, limits)
    except DeskError:
        raise
    except Exception as exc:
        # Parsers of hostile input can fail in any way; the pipeline needs an ExtractionError to mark the
        # document failed while the server keeps serving.
        logger.exception("%s parser failed on %r", TYPE_NAMES[doc_type], filename)
        raise ExtractionError(
            f"corrupt {TYPE_NAMES[doc_type]} file: {type(exc).__name__}: {exc}; re-save or re-export it"
        ) from exc
    chunks = build_chunks(parsed.blocks, chunking)
    if not chunks:
        raise ExtractionError(f"no text could be extracted ({parsed.empty_reason})")
    warnings = list(parsed.warnings)
    note = mismatch_warning(doc_type, filename)
    if note:
        warnings.insert(0, note)
    title = (parsed.title or "").strip() or PurePath(filename).stem or filename.strip() or "untitled"
    pages = parsed.pages if parsed.pages is not None else (1 if doc_type in ("png", "jpg") else None)
    return Extracted(
        doc_type=doc_type,
        title=title,
        chunks=chunks,
        pages=pages,
        ocr_pages=parsed.ocr_pages,
        warnings=warnings,
    )
