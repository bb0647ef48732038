"""Type detection from the bytes; the extension is only a hint."""

from __future__ import annotations

import codecs

import pytest

from tests.ingest import fixtures
from tests.ingest.xls_writer import xls_bytes
from tools.ingest.base import ExtractionError
from tools.ingest.extract import detect_type, extract
from tools.ingest.sniff import decode_text


@pytest.mark.parametrize(
    "make, name, expected",
    [
        (lambda: fixtures.text_pdf([["hello"]]), "x.bin", "pdf"),
        (fixtures.docx_file, "x.xlsx", "docx"),
        (fixtures.xlsx_file, "x.docx", "xlsx"),
        (lambda: xls_bytes({"S": [["a"]]}), "x", "xls"),
        (lambda: fixtures.image_bytes(fixtures.text_image(["a"]), "PNG"), "x.pdf", "png"),
        (lambda: fixtures.image_bytes(fixtures.text_image(["a"]), "JPEG"), "x.png", "jpg"),
        (lambda: fixtures.image_bytes(fixtures.text_image(["a"]), "TIFF"), "x.jpg", "tiff"),
        (lambda: b"<!DOCTYPE html><html><body><p>Hi</p></body></html>", "page.txt", "html"),
        (lambda: b"<div><p>Hello</p><p>there</p></div>", "snippet", "html"),
        (lambda: b"# Title\n\nSome text.\n", "notes", "markdown"),
        (lambda: b"# not a heading, the hint says plain text\n", "notes.txt", "txt"),
        (lambda: b"id,name\n1,Ann\n2,Bob\n3,Cid\n", "data", "csv"),
        (lambda: b"id;name\n1;Ann\n", "data.csv", "csv"),
        (lambda: b"Just a sentence, with a comma.\nAnd another line.", "readme", "txt"),
    ],
)
def test_type_comes_from_the_bytes(make: object, name: str, expected: str) -> None:
    assert callable(make)
    assert detect_type(make(), name) == expected


def test_a_pdf_named_file_that_is_really_a_png_is_read_as_png_with_a_warning() -> None:
    data = fixtures.image_bytes(fixtures.text_image(["Toner low on printer"]), "PNG")
    result = extract(data, "report.pdf")
    assert result.doc_type == "png"
    assert "'.pdf'" in result.warnings[0] and "PNG" in result.warnings[0]


@pytest.mark.parametrize(
    "raw, expected",
    [
        (codecs.BOM_UTF8 + "café".encode(), "café"),
        ("café ünïcode".encode("utf-16"), "café ünïcode"),
        ("naïve – quote".encode("cp1252"), "naïve – quote"),
        (b"plain ascii", "plain ascii"),
    ],
)
def test_text_decodes_with_bom_utf8_or_cp1252(raw: bytes, expected: str) -> None:
    assert decode_text(raw) == expected


def test_nul_bytes_or_control_characters_mean_binary() -> None:
    assert decode_text(b"abc\x00def") is None
    assert decode_text(bytes(range(1, 32)) * 50) is None


def test_unknown_binary_is_refused_naming_the_supported_types() -> None:
    with pytest.raises(ExtractionError, match=r"unsupported type .*supported: PDF, DOCX, XLSX, XLS, CSV, TXT"):
        extract(b"\x7fELF\x02\x01\x01" + bytes(range(256)) * 4, "tool.exe")


def test_zip_that_is_not_office_is_refused() -> None:
    data = fixtures.small_zip({"readme.txt": b"hello"})
    with pytest.raises(ExtractionError, match="zip archive that is not a Word or Excel document"):
        extract(data, "archive.zip")
