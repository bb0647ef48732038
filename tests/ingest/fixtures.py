"""Test inputs generated in code: nothing binary is committed.

Every builder returns the file's bytes. PDFs are written with pypdf and hand-made content streams, scans are
text drawn with Pillow and saved as PDF or image, Office files come from python-docx and openpyxl, and the
legacy XLS from the small BIFF8 writer in ``xls_writer``.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path

import docx
import openpyxl
from PIL import Image, ImageDraw, ImageFont
from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, IndirectObject, NameObject


def _pdf_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def text_pdf(
    pages: Sequence[Sequence[str]],
    *,
    title: str | None = None,
    outline: Sequence[tuple[str, int, str | None]] = (),
    user_password: str | None = None,
    owner_password: str | None = None,
) -> bytes:
    """A PDF with a Helvetica text layer; ``outline`` items are (title, page index, parent title or None)."""
    writer = PdfWriter()
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    font_ref = writer._add_object(font)
    for lines in pages:
        page = writer.add_blank_page(612, 792)
        ops = ["BT", "/F1 11 Tf", "14 TL", "72 740 Td"]
        ops += [f"({_pdf_escape(line)}) Tj T*" for line in lines]
        ops.append("ET")
        stream = DecodedStreamObject()
        stream.set_data("\n".join(ops).encode("latin-1"))
        page[NameObject("/Contents")] = writer._add_object(stream)
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font_ref})}
        )
    if title:
        writer.add_metadata({"/Title": title})
    parents: dict[str, IndirectObject] = {}
    for name, page_index, parent in outline:
        parents[name] = writer.add_outline_item(
            title=name, page_number=page_index, parent=parents.get(parent) if parent else None
        )
    if user_password is not None or owner_password is not None:
        writer.encrypt(user_password=user_password or "", owner_password=owner_password, algorithm="AES-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def text_image(lines: Sequence[str], *, size: int = 36, mode: str = "L") -> Image.Image:
    """Black text on white, large enough for tesseract to read quickly and reliably."""
    font = ImageFont.load_default(size=size)
    width = max(int(font.getlength(line)) for line in lines) + 2 * size
    height = len(lines) * int(size * 1.6) + 2 * size
    image = Image.new(mode, (width, height), "white")
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        draw.text((size, size + i * int(size * 1.6)), line, fill="black", font=font)
    return image


def image_bytes(image: Image.Image, fmt: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def scanned_pdf(lines: Sequence[str]) -> bytes:
    """A one-page PDF whose only content is an image of text (no text layer), as a scanner makes."""
    return image_bytes(text_image(lines).convert("RGB"), "PDF", resolution=100.0)


def multi_page_tiff(pages: Sequence[Sequence[str]]) -> bytes:
    frames = [text_image(lines) for lines in pages]
    return image_bytes(frames[0], "TIFF", save_all=True, append_images=frames[1:])


def png_bomb_header(width: int = 100_000, height: int = 100_000) -> bytes:
    """A PNG that declares a huge size: valid signature and IHDR, one tiny IDAT, IEND."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 16)) + chunk(b"IEND", b"")
    )


def docx_file() -> bytes:
    """A Word document with a title, nested headings, prose and a 30-row table."""
    document = docx.Document()
    document.core_properties.title = "VPN Guide"
    document.add_paragraph("VPN Guide", style="Title")
    document.add_heading("Setup", level=1)
    document.add_paragraph("Install the client from the portal. Restart the laptop after installing.")
    document.add_heading("Windows", level=2)
    document.add_paragraph("Open Settings and choose Network. Error code VPN-809 means the port is blocked.")
    document.add_heading("Troubleshooting", level=1)
    table = document.add_table(rows=1, cols=3)
    for cell, text in zip(table.rows[0].cells, ["Code", "Meaning", "Fix"], strict=True):
        cell.text = text
    for i in range(30):
        row = table.add_row().cells
        row[0].text = f"E{i:03d}"
        row[1].text = f"Failure number {i} of the tunnel negotiation"
        row[2].text = f"Restart the service and retry step {i}"
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def xlsx_file() -> bytes:
    """Two sheets: 'Assets' with a header and 60 rows (numbers, dates, a formula), 'Empty' with nothing."""
    from datetime import date

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Assets"
    sheet.append(["Tag", "Owner", "Cost", "Bought"])
    for i in range(60):
        sheet.append([f"LAP-{i:04d}", f"user{i}", 1200.0 + i, date(2024, 1, 1 + i % 28)])
    workbook.create_sheet("Empty")
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def zip_bomb_docx(path: Path, member_mb: int = 300) -> bytes:
    """A zip named like a DOCX whose one member is ``member_mb`` MB of zeros, written in streamed 1 MB pieces."""
    block = b"\x00" * (1024 * 1024)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "[Content_Types].xml", '<Types><Override ContentType="wordprocessingml.document.main"/></Types>'
        )
        with archive.open("word/document.xml", "w", force_zip64=True) as member:
            for _ in range(member_mb):
                member.write(block)
    return path.read_bytes()


def small_zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, payload in members.items():
            archive.writestr(name, payload)
    return buffer.getvalue()


def mixed_pdf(text_lines: Sequence[str], scan_lines: Sequence[str]) -> bytes:
    """Page 1 has a text layer, page 2 is a scan (image only)."""
    writer = PdfWriter()
    writer.append(io.BytesIO(text_pdf([text_lines])))
    writer.append(io.BytesIO(scanned_pdf(scan_lines)))
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def columns_pdf(lines: Sequence[str | Sequence[tuple[float, str]]]) -> bytes:
    """A one-page text-layer PDF; a line is a string at the left margin or (x, text) cells placed at columns.

    Cells at fixed x positions are what a typeset table is, so ``pdftotext -layout`` lines them up in columns.
    """
    writer = PdfWriter()
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    font_ref = writer._add_object(font)
    page = writer.add_blank_page(612, 792)
    ops: list[str] = []
    for row, line in enumerate(lines):
        y = 740 - 14 * row
        cells = [(72.0, line)] if isinstance(line, str) else line
        for x, text in cells:
            if text:
                ops.append(f"BT /F1 10 Tf {x:g} {y} Td ({_pdf_escape(text)}) Tj ET")
    stream = DecodedStreamObject()
    stream.set_data("\n".join(ops).encode("latin-1"))
    page[NameObject("/Contents")] = writer._add_object(stream)
    page[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font_ref})}
    )
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()
