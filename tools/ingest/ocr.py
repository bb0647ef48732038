"""OCR of one image with tesseract (through pytesseract), bounded by a timeout."""

from __future__ import annotations

import logging

import pytesseract
from PIL import Image

from tools.errors import UnavailableError
from tools.ingest.base import ExtractionError
from tools.ingest.guards import OCR_MISSING, require_ocr

logger = logging.getLogger(__name__)


class OcrTimeoutError(ExtractionError):
    """Tesseract did not finish within the configured time."""


def _prepare(image: Image.Image) -> Image.Image:
    """Greyscale on white: transparency would otherwise read as black and hide the text."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    if image.mode not in ("L", "1"):
        image = image.convert("L")
    return image


def ocr_image(image: Image.Image, timeout_s: int, where: str = "image") -> str:
    """The text tesseract reads in ``image``; raises UnavailableError without tesseract, OcrTimeoutError on timeout."""
    require_ocr()
    try:
        text: str = pytesseract.image_to_string(_prepare(image), timeout=timeout_s)
    except pytesseract.TesseractNotFoundError as exc:
        raise UnavailableError(OCR_MISSING) from exc
    except pytesseract.TesseractError as exc:
        raise ExtractionError(f"OCR failed on {where}: {exc.message or exc}") from exc
    except RuntimeError as exc:
        # pytesseract signals its timeout with a bare RuntimeError("Tesseract process timeout").
        if "timeout" in str(exc).lower():
            raise OcrTimeoutError(
                f"OCR of {where} took longer than {timeout_s} s; upload a smaller or clearer scan, "
                "or raise the OCR timeout"
            ) from exc
        raise
    return text
