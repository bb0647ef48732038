"""OCR: images, multi-frame TIFF, scanned PDF pages, and what happens when tesseract is missing or slow."""

from __future__ import annotations

import shutil
from collections.abc import Callable

import pytesseract
import pytest

from tests.ingest import fixtures
from tools.errors import UnavailableError
from tools.ingest import pdf as pdf_module
from tools.ingest.base import ExtractionError
from tools.ingest.extract import extract
from tools.ingest.ocr import OcrTimeoutError

pytestmark = pytest.mark.skipif(shutil.which("tesseract") is None, reason="tesseract-ocr is not installed")


def _words(text: str) -> set[str]:
    return {w.strip(".,:;").lower() for w in text.split()}


@pytest.fixture
def no_tesseract(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pytesseract.pytesseract, "tesseract_cmd", "/nonexistent/tesseract")


@pytest.mark.parametrize("fmt, name", [("PNG", "note.png"), ("JPEG", "note.jpg")])
def test_image_text_is_read_by_ocr(fmt: str, name: str) -> None:
    data = fixtures.image_bytes(fixtures.text_image(["Printer error 4711", "replace the toner"]).convert("RGB"), fmt)
    result = extract(data, name)
    assert result.doc_type in ("png", "jpg") and result.pages == 1 and result.ocr_pages == [1]
    assert {"printer", "error", "4711", "replace", "toner"} <= _words(result.chunks[0].text)


def test_transparent_png_is_read_on_white() -> None:
    image = fixtures.text_image(["Battery recall notice"]).convert("RGBA")
    image.putalpha(image.convert("L").point(lambda v: 255 - v))  # text opaque, background transparent
    result = extract(fixtures.image_bytes(image, "PNG"), "alpha.png")
    assert {"battery", "recall", "notice"} <= _words(result.chunks[0].text)


def test_multi_frame_tiff_gives_one_page_per_frame() -> None:
    data = fixtures.multi_page_tiff([["Alpha page about routers"], ["Bravo page about switches"]])
    result = extract(data, "scan.tiff")
    assert result.doc_type == "tiff" and result.pages == 2 and result.ocr_pages == [1, 2]
    assert [c.page for c in result.chunks] == [1, 2]
    assert "routers" in _words(result.chunks[0].text) and "switches" in _words(result.chunks[1].text)


def test_scanned_pdf_page_falls_back_to_ocr() -> None:
    result = extract(fixtures.scanned_pdf(["Reset the router", "then call support"]), "scan.pdf")
    assert result.ocr_pages == [1] and result.pages == 1
    assert {"reset", "router", "support"} <= _words(result.chunks[0].text)
    assert result.chunks[0].page == 1


def test_mixed_pdf_uses_the_text_layer_and_ocr_only_where_needed() -> None:
    data = fixtures.mixed_pdf(["The text layer page mentions the helpdesk hotline."], ["Scanned invoice number 8812"])
    result = extract(data, "mixed.pdf")
    assert result.pages == 2 and result.ocr_pages == [2]
    by_page = {c.page: c.text for c in result.chunks}
    assert "helpdesk hotline" in by_page[1]
    assert {"scanned", "invoice", "8812"} <= _words(by_page[2])


def test_scans_are_read_from_embedded_images_without_pdftoppm(monkeypatch: pytest.MonkeyPatch) -> None:
    real_which: Callable[[str], str | None] = shutil.which
    monkeypatch.setattr(pdf_module.shutil, "which", lambda cmd: None if cmd == "pdftoppm" else real_which(cmd))
    result = extract(fixtures.scanned_pdf(["Embedded image fallback works"]), "scan.pdf")
    assert result.ocr_pages == [1]
    assert {"embedded", "image", "fallback"} <= _words(result.chunks[0].text)


def test_missing_tesseract_for_an_image_is_unavailable(no_tesseract: None) -> None:
    data = fixtures.image_bytes(fixtures.text_image(["hello"]), "PNG")
    with pytest.raises(UnavailableError, match=r"OCR engine missing: install tesseract-ocr \(apt-get install"):
        extract(data, "note.png")


def test_missing_tesseract_for_a_scan_only_pdf_is_unavailable(no_tesseract: None) -> None:
    with pytest.raises(UnavailableError, match=r"OCR engine missing.*no text layer"):
        extract(fixtures.scanned_pdf(["hello"]), "scan.pdf")


def test_missing_tesseract_with_some_text_pages_warns_and_carries_on(no_tesseract: None) -> None:
    data = fixtures.mixed_pdf(["The text layer page mentions the helpdesk hotline."], ["Scanned page"])
    result = extract(data, "mixed.pdf")
    assert result.ocr_pages == []
    assert [c.page for c in result.chunks] == [1]
    assert any("pages 2 have no text layer" in w and "OCR engine missing" in w for w in result.warnings)


def _timeout(*args: object, **kwargs: object) -> str:
    raise RuntimeError("Tesseract process timeout")


def test_ocr_timeout_on_an_image_is_an_extraction_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pytesseract, "image_to_string", _timeout)
    data = fixtures.image_bytes(fixtures.text_image(["hello"]), "PNG")
    with pytest.raises(OcrTimeoutError, match=r"OCR of the PNG image took longer than 120 s") as caught:
        extract(data, "note.png")
    assert isinstance(caught.value, ExtractionError)


def test_ocr_timeout_on_a_pdf_page_is_a_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pytesseract, "image_to_string", _timeout)
    data = fixtures.mixed_pdf(["The text layer page mentions the helpdesk hotline."], ["Scanned page"])
    result = extract(data, "mixed.pdf")
    assert [c.page for c in result.chunks] == [1]
    assert any("OCR of page 2 took longer than" in w for w in result.warnings)
