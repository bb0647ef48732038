"""Bad input: each case raises the right error class with a message that says what to fix."""

from __future__ import annotations

import io

import openpyxl
import pytest

from tests.ingest import fixtures
from tests.ingest.xls_writer import xls_bytes
from tools.errors import InvalidInputError
from tools.ingest import guards
from tools.ingest.base import ExtractionError, Limits
from tools.ingest.extract import extract


@pytest.fixture(scope="module")
def zip_bomb(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """300 MB of zeros in a ~300 KB zip named like a DOCX, written in streamed pieces."""
    return fixtures.zip_bomb_docx(tmp_path_factory.mktemp("bomb") / "invoice.docx")


def test_extraction_error_is_an_invalid_input_error() -> None:
    assert issubclass(ExtractionError, InvalidInputError)


def test_empty_file() -> None:
    with pytest.raises(ExtractionError, match="file is empty"):
        extract(b"", "empty.pdf")


def test_file_over_the_size_limit_names_the_limit_and_the_size() -> None:
    with pytest.raises(ExtractionError, match=r"too large: 2\.0 KB \(2048 bytes\) is over the limit of 1000 bytes"):
        extract(b"a" * 2048, "big.txt", Limits(max_bytes=1000))


def test_encrypted_pdf_asks_for_a_decrypted_copy() -> None:
    data = fixtures.text_pdf([["Salary table for all staff members."]], user_password="s3cret")
    with pytest.raises(ExtractionError, match=r"encrypted.*upload a decrypted copy"):
        extract(data, "salaries.pdf")


@pytest.mark.parametrize("keep", [0.5, 0.1])
def test_truncated_pdf_is_corrupt_with_the_parser_reason(keep: float) -> None:
    data = fixtures.text_pdf([["Some text that will be cut off."]] * 3)
    with pytest.raises(ExtractionError, match=r"corrupt PDF: .+; re-save or re-export it"):
        extract(data[: int(len(data) * keep)], "cut.pdf")


def test_zip_bomb_disguised_as_docx_is_refused_before_parsing(zip_bomb: bytes) -> None:
    assert len(zip_bomb) < 2 * 1024 * 1024
    with pytest.raises(ExtractionError, match=r"looks like an archive bomb: part 'word/document.xml' expands \d+x"):
        extract(zip_bomb, "invoice.docx")


def test_total_uncompressed_size_over_the_limit_is_refused() -> None:
    with pytest.raises(
        ExtractionError, match=r"looks like an archive bomb: the Office file expands to .* uncompressed"
    ):
        extract(fixtures.xlsx_file(), "assets.xlsx", Limits(max_uncompressed_bytes=10_000))


def test_too_many_zip_members(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(guards, "MAX_ZIP_MEMBERS", 3)
    with pytest.raises(ExtractionError, match=r"has \d+ parts inside its zip container, over the limit of 3"):
        extract(fixtures.docx_file(), "guide.docx")


def test_path_traversal_member_name_is_refused() -> None:
    data = fixtures.small_zip({"[Content_Types].xml": b"<Types/>", "../../etc/cron.d/x": b"boom"})
    with pytest.raises(ExtractionError, match=r"unsafe path '../../etc/cron.d/x'"):
        extract(data, "evil.docx")


def test_corrupt_docx_reports_the_parser_reason() -> None:
    data = fixtures.small_zip(
        {
            "[Content_Types].xml": b'<Types><Override ContentType="wordprocessingml.document.main"/></Types>',
            "word/document.xml": b"<not-closed",
        }
    )
    with pytest.raises(ExtractionError, match=r"corrupt DOCX file: \w+"):
        extract(data, "broken.docx")


def test_truncated_xlsx_is_corrupt() -> None:
    data = fixtures.xlsx_file()
    with pytest.raises(ExtractionError, match="corrupt Office file: not a readable zip container"):
        extract(data[: len(data) // 2], "assets.xlsx")


def test_corrupt_xls_says_to_resave() -> None:
    data = xls_bytes({"S": [["a", "b"], [1, 2]]})
    with pytest.raises(ExtractionError, match=r"corrupt XLS|no Excel workbook"):
        extract(data[:600] + b"\x00" * 100, "old.xls")


def test_old_word_document_is_refused_with_what_to_do() -> None:
    data = xls_bytes({"S": [["a"]]}, stream_name="WordDocument")
    with pytest.raises(ExtractionError, match=r"holds no Excel workbook .*save Word/PowerPoint files as DOCX or PDF"):
        extract(data, "letter.doc")


def test_page_cap() -> None:
    data = fixtures.text_pdf([["page one with enough text"]] * 3)
    with pytest.raises(ExtractionError, match="document has 3 pages, over the limit of 2; split it"):
        extract(data, "long.pdf", Limits(max_pages=2))


@pytest.mark.parametrize(
    "data, name",
    [
        (fixtures.xlsx_file(), "assets.xlsx"),
        ("\n".join(f"{i},row {i}" for i in range(50)).encode(), "rows.csv"),
        (xls_bytes({"S": [[f"r{i}", i] for i in range(30)]}), "rows.xls"),
    ],
)
def test_row_cap(data: bytes, name: str) -> None:
    with pytest.raises(ExtractionError, match=r"more than 10 rows in total .*split it"):
        extract(data, name, Limits(max_rows=10))


def test_decompression_bomb_png_header_is_refused_before_decoding() -> None:
    with pytest.raises(ExtractionError, match="decompression bomb"):
        extract(fixtures.png_bomb_header(), "huge.png")


def test_image_over_the_configured_pixel_limit() -> None:
    data = fixtures.image_bytes(fixtures.text_image(["hello"]), "PNG")
    with pytest.raises(ExtractionError, match=r"pixels, over the limit of 1000 \(possible decompression bomb\)"):
        extract(data, "small.png", Limits(max_image_pixels=1000))


def test_truncated_png_is_corrupt() -> None:
    data = fixtures.image_bytes(fixtures.text_image(["hello there"]), "PNG")
    with pytest.raises(ExtractionError, match="corrupt image"):
        extract(data[: len(data) // 2], "cut.png")


@pytest.mark.parametrize(
    "data, name, reason",
    [
        (b"  \n\n\t  \n", "blank.txt", "holds only whitespace"),
        (b"<html><body><script>x()</script><nav>Home</nav></body></html>", "blank.html", "no visible text"),
        (b"a,b\n", "header-only.csv", None),
        (fixtures.text_pdf([[]]), "blank.pdf", "no page has a text layer"),
        (fixtures.image_bytes(fixtures.text_image(["   "]), "PNG"), "blank.png", "OCR found no readable text"),
    ],
)
def test_no_text_at_all_is_an_error_with_the_reason(data: bytes, name: str, reason: str | None) -> None:
    if reason is None:
        # A header row alone is still text: the column names are searchable.
        assert extract(data, name).chunks[0].text.startswith("| a | b |")
        return
    with pytest.raises(ExtractionError, match=rf"no text could be extracted \(.*{reason}"):
        extract(data, name)


def test_empty_workbook_has_no_text() -> None:
    buffer = io.BytesIO()
    openpyxl.Workbook().save(buffer)
    with pytest.raises(ExtractionError, match=r"no text could be extracted \(every sheet of the workbook is empty\)"):
        extract(buffer.getvalue(), "empty.xlsx")
