"""A tiny writer of legacy Excel (BIFF8 in an OLE2 compound file), just enough for xlrd to read tests back.

xlwt is not installed and binaries are not committed, so the test XLS is built here: a workbook-globals
substream (BOF, BOUNDSHEET per sheet, EOF) and per sheet a substream of LABEL (text) and NUMBER cells, stored
as the ``Workbook`` stream of a version-3 compound file with one FAT sector and one directory sector. The
stream is padded to 4096 bytes so it lives in regular sectors (no mini-stream needed).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

Cell = str | float | int | None

_END_OF_CHAIN = 0xFFFFFFFE
_FREE = 0xFFFFFFFF
_FAT_SECTOR = 0xFFFFFFFD
_NO_STREAM = 0xFFFFFFFF
_SECTOR = 512


def _record(kind: int, payload: bytes) -> bytes:
    return struct.pack("<HH", kind, len(payload)) + payload


def _bof(substream: int) -> bytes:
    # BIFF8 (0x0600), build 0x0DBB, year 1996, no history flags, lowest version 6.
    return _record(0x0809, struct.pack("<HHHHII", 0x0600, substream, 0x0DBB, 0x07CC, 0, 6))


def _eof() -> bytes:
    return _record(0x000A, b"")


def _unicode(text: str, length_bytes: int) -> bytes:
    encoded = text.encode("utf-16-le")
    length = struct.pack("<B" if length_bytes == 1 else "<H", len(text))
    return length + b"\x01" + encoded  # flag 1: uncompressed UTF-16


def _sheet_stream(rows: Sequence[Sequence[Cell]]) -> bytes:
    width = max((len(r) for r in rows), default=0)
    out = _bof(0x0010)
    out += _record(0x0200, struct.pack("<IIHHH", 0, len(rows), 0, width, 0))  # DIMENSIONS
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, str):
                out += _record(0x0204, struct.pack("<HHH", r, c, 0) + _unicode(value, 2))  # LABEL
            else:
                out += _record(0x0203, struct.pack("<HHHd", r, c, 0, float(value)))  # NUMBER
    return out + _eof()


def workbook_stream(sheets: dict[str, Sequence[Sequence[Cell]]]) -> bytes:
    """The BIFF8 ``Workbook`` stream for ``{sheet name: rows}``."""
    bodies = [_sheet_stream(rows) for rows in sheets.values()]
    names = list(sheets)

    def globals_part(offsets: list[int]) -> bytes:
        out = _bof(0x0005) + _record(0x0042, struct.pack("<H", 1200))  # CODEPAGE: UTF-16
        for name, offset in zip(names, offsets, strict=True):
            out += _record(0x0085, struct.pack("<IBB", offset, 0, 0) + _unicode(name, 1))  # BOUNDSHEET
        return out + _eof()

    # BOUNDSHEET records hold absolute offsets, and their own size does not depend on the offsets.
    start = len(globals_part([0] * len(names)))
    offsets: list[int] = []
    for body in bodies:
        offsets.append(start)
        start += len(body)
    return globals_part(offsets) + b"".join(bodies)


def _dir_entry(name: str, kind: int, child: int, start: int, size: int) -> bytes:
    encoded = (name + "\x00").encode("utf-16-le") if name else b""
    return (
        encoded.ljust(64, b"\x00")
        + struct.pack("<HBB", len(encoded), kind, 1)
        + struct.pack("<III", _NO_STREAM, _NO_STREAM, child)
        + b"\x00" * 16  # CLSID
        + struct.pack("<I", 0)  # state bits
        + b"\x00" * 16  # creation and modification times
        + struct.pack("<III", start, size, 0)
    )


def xls_bytes(sheets: dict[str, Sequence[Sequence[Cell]]], stream_name: str = "Workbook") -> bytes:
    """An .xls file xlrd opens, with the given sheets of text and numbers.

    Another ``stream_name`` ("WordDocument") makes an old-Office file that is not a workbook.
    """
    stream = workbook_stream(sheets)
    size = len(stream)
    padded = stream.ljust(max(4096, -(-size // _SECTOR) * _SECTOR), b"\x00")
    data_sectors = len(padded) // _SECTOR
    if data_sectors + 2 > _SECTOR // 4:
        raise ValueError("test workbook too large for a single FAT sector")
    # Sector 0: FAT; sectors 1..n: the Workbook stream; sector n+1: the directory.
    fat = [_FAT_SECTOR] + [i + 2 for i in range(data_sectors - 1)] + [_END_OF_CHAIN, _END_OF_CHAIN]
    fat += [_FREE] * (_SECTOR // 4 - len(fat))
    directory_sector = data_sectors + 1
    header = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
        + b"\x00" * 16
        + struct.pack("<HHHHH", 0x003E, 0x0003, 0xFFFE, 9, 6)
        + b"\x00" * 6
        + struct.pack("<IIIIIIIII", 0, 1, directory_sector, 0, 4096, _END_OF_CHAIN, 0, _END_OF_CHAIN, 0)
        + struct.pack("<I", 0)
        + struct.pack("<I", _FREE) * 108
    )
    assert len(header) == _SECTOR
    directory = (
        _dir_entry("Root Entry", 5, 1, _END_OF_CHAIN, 0)
        + _dir_entry(stream_name, 2, _NO_STREAM, 1, len(padded))
        + _dir_entry("", 0, _NO_STREAM, 0, 0) * 2
    )
    return header + struct.pack(f"<{len(fat)}I", *fat) + padded + directory
