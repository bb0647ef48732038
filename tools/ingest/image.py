"""PNG, JPEG and TIFF read by OCR; every TIFF frame is a page. Pixel counts are checked before decoding."""

from __future__ import annotations

import io
import logging

from PIL import Image, ImageSequence, UnidentifiedImageError

from tools.ingest.base import ExtractionError, Limits
from tools.ingest.blocks import Block, Parsed, Section
from tools.ingest.guards import check_pages, check_pixels, require_ocr
from tools.ingest.ocr import ocr_image

logger = logging.getLogger(__name__)


def open_image(data: bytes, limits: Limits, where: str = "image") -> Image.Image:
    """Open lazily (header only) and refuse decompression bombs before any pixel is decoded.

    Pillow's own guard reads the process-wide ``Image.MAX_IMAGE_PIXELS``; changing that global from worker
    threads would race, so the limit from ``limits`` is checked here per image instead, and Pillow's guard
    (which fires at twice its default) is turned into the same clear error. Pillow's warning between the two
    is left alone: ``limits.max_image_pixels`` is below it by default and then refuses the image anyway.
    """
    try:
        image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:
        raise ExtractionError(
            f"{where} is too large to decode safely (possible decompression bomb: {exc}); "
            "scale it down and upload again"
        ) from exc
    except UnidentifiedImageError as exc:
        raise ExtractionError(f"corrupt {where}: the image data cannot be read ({exc}); re-export it") from exc
    check_pixels(image.width, image.height, limits, where)
    return image


def process_image(data: bytes, limits: Limits, kind: str) -> Parsed:
    """OCR every frame (one for PNG/JPEG, each page of a TIFF)."""
    image = open_image(data, limits, kind.upper())
    require_ocr()
    # Only TIFF pages are pages: extra frames of a PNG (APNG) or JPEG (MPO) are animation or depth previews.
    frames = getattr(image, "n_frames", 1) if kind == "tiff" else 1
    check_pages(frames, limits, "frames")
    blocks: list[Block] = []
    ocr_pages: list[int] = []
    multi = frames > 1
    try:
        for index, frame in enumerate(ImageSequence.Iterator(image)):
            if index >= frames:
                break
            page = index + 1
            where = f"page {page} of the TIFF" if multi else f"the {kind.upper()} image"
            # Frames of one TIFF can differ in size; each is checked before it is decoded.
            check_pixels(frame.width, frame.height, limits, where)
            try:
                frame.load()
            except (OSError, SyntaxError) as exc:
                raise ExtractionError(f"corrupt image: {where} cannot be decoded ({exc}); re-export it") from exc
            text = ocr_image(frame, limits.ocr_timeout_s, where)
            ocr_pages.append(page)
            if text.strip():
                blocks.append(Section(text, page=page if multi else None))
    finally:
        image.close()
    return Parsed(
        blocks=blocks,
        pages=frames,
        ocr_pages=ocr_pages,
        empty_reason="OCR found no readable text in the image; upload a sharper scan, 300 dpi works best",
    )
