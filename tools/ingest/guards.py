"""Checks that run before any parser sees the bytes: size, archive bombs, page/row/pixel caps, OCR engine.

Each check raises with a message that names the limit and what to do, so a caller can fix the upload.
"""

from __future__ import annotations

import io
import logging
import shutil
import zipfile
from pathlib import PurePosixPath

from tools.errors import UnavailableError
from tools.ingest.base import ExtractionError, Limits

logger = logging.getLogger(__name__)

MAX_ZIP_MEMBERS = 10_000
"""A DOCX/XLSX has tens to a few thousand parts; more is an attack or not an Office file."""
RATIO_FLOOR_BYTES = 1024 * 1024
"""Members smaller than this are exempt from the ratio check: small repetitive XML parts compress very well
and cannot hurt anyway, while a bomb needs a large uncompressed size to do damage."""

OCR_MISSING = "OCR engine missing: install tesseract-ocr (apt-get install tesseract-ocr)"


def human_bytes(n: int) -> str:
    """``52428800`` -> ``'50.0 MB'`` (binary units, as people read file sizes)."""
    size = float(n)
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{int(size)} bytes" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def _exact(n: int) -> str:
    """``'2.0 MB (2097152 bytes)'``; just ``'900 bytes'`` when that is already exact."""
    readable = human_bytes(n)
    return readable if readable.endswith("bytes") else f"{readable} ({n} bytes)"


def check_size(data: bytes, limits: Limits) -> None:
    """Refuse empty files and files over ``limits.max_bytes``."""
    if not data:
        raise ExtractionError("file is empty (0 bytes); upload a file with content")
    if len(data) > limits.max_bytes:
        raise ExtractionError(
            f"file is too large: {_exact(len(data))} is over the limit of {_exact(limits.max_bytes)}; "
            "split it or raise the limit"
        )


def open_zip(data: bytes, limits: Limits, what: str = "Office file") -> zipfile.ZipFile:
    """Open a zip after checking its central directory: member count, names, total size, compression ratios.

    Only the central directory is read here, nothing is decompressed. The declared sizes are binding:
    ``zipfile`` stops reading a member at its declared uncompressed size, so a lying header cannot smuggle
    more data past this check.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as exc:
        raise ExtractionError(f"corrupt {what}: not a readable zip container ({exc}); re-save or re-export it") from exc
    infos = archive.infolist()
    if len(infos) > MAX_ZIP_MEMBERS:
        raise ExtractionError(
            f"{what} has {len(infos)} parts inside its zip container, over the limit of {MAX_ZIP_MEMBERS}; "
            "this is not a normal document"
        )
    total = 0
    for info in infos:
        path = PurePosixPath(info.filename.replace("\\", "/"))
        if path.is_absolute() or ".." in path.parts or ":" in info.filename:
            raise ExtractionError(
                f"{what} contains a part with an unsafe path {info.filename!r}; this is not a normal document"
            )
        total += info.file_size
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size >= RATIO_FLOOR_BYTES and ratio > limits.max_compression_ratio:
            raise ExtractionError(
                f"looks like an archive bomb: part {info.filename!r} expands {ratio:.0f}x "
                f"({human_bytes(info.compress_size)} -> {human_bytes(info.file_size)}), over the limit of "
                f"{limits.max_compression_ratio:.0f}x; refusing to open it"
            )
    if total > limits.max_uncompressed_bytes:
        raise ExtractionError(
            f"looks like an archive bomb: the {what} expands to {human_bytes(total)}, over the limit of "
            f"{human_bytes(limits.max_uncompressed_bytes)} uncompressed; refusing to open it"
        )
    return archive


def check_pages(count: int, limits: Limits, unit: str = "pages") -> None:
    """Refuse documents with more pages (or TIFF frames) than ``limits.max_pages``."""
    if count > limits.max_pages:
        raise ExtractionError(
            f"document has {count} {unit}, over the limit of {limits.max_pages}; split it into smaller files"
        )


def check_rows(count: int, limits: Limits) -> None:
    """Refuse spreadsheets once they pass ``limits.max_rows`` rows in total."""
    if count > limits.max_rows:
        raise ExtractionError(
            f"spreadsheet has more than {limits.max_rows} rows in total (the limit); "
            "split it or remove unused rows and upload again"
        )


def check_pixels(width: int, height: int, limits: Limits, where: str = "image") -> None:
    """Refuse images whose declared size would take too much memory to decode (decompression bombs)."""
    if width * height > limits.max_image_pixels:
        raise ExtractionError(
            f"{where} is {width}x{height} = {width * height} pixels, over the limit of {limits.max_image_pixels} "
            "(possible decompression bomb); scale it down and upload again"
        )


def tesseract_available() -> bool:
    """Whether the tesseract binary is on PATH (what pytesseract runs)."""
    import pytesseract

    command = pytesseract.pytesseract.tesseract_cmd
    return shutil.which(command) is not None


def require_ocr() -> None:
    """Raise :class:`UnavailableError` when OCR is needed but tesseract is not installed."""
    if not tesseract_available():
        raise UnavailableError(OCR_MISSING)
