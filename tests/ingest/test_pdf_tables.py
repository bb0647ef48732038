"""Tables in PDF layout text: found when their columns line up, never made out of prose."""

from __future__ import annotations

import shutil
from collections.abc import Sequence

import pytest

from tests.ingest import fixtures
from tools.ingest import pdf as pdf_module
from tools.ingest.blocks import Section, Table
from tools.ingest.extract import extract
from tools.ingest.pdf_tables import is_numeric, split_tables

needs_poppler = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils is not installed")

_ROWS = [
    ("North", "1,200", "1,350", "(40)"),
    ("South", "980", "1,010", "12"),
    ("East", "2,450", "2,600", "7"),
    ("West", "310", "295", "-"),
]
_X = (72, 250, 340, 430)


def _report_lines() -> list[str | Sequence[tuple[float, str]]]:
    lines: list[str | Sequence[tuple[float, str]]] = [
        "Regional results",
        "",
        "Revenue grew in every region except the west, where two offices closed in the spring.",
        "",
        list(zip(_X, ("Region", "Q1 2024", "Q2 2024", "Change"), strict=True)),
    ]
    lines += [list(zip(_X, row, strict=True)) for row in _ROWS]
    lines += ["", "The figures are unaudited and exclude the divested printer business."]
    return lines


@needs_poppler
def test_pdf_table_becomes_one_table_chunk_led_by_its_header() -> None:
    result = extract(fixtures.columns_pdf(_report_lines()), "regions.pdf")
    tables = [c for c in result.chunks if c.kind == "table"]
    texts = [c for c in result.chunks if c.kind != "table"]
    assert len(tables) == 1
    table = tables[0]
    assert table.page == 1
    assert table.text.startswith("| Region | Q1 2024 | Q2 2024 | Change |\n| --- | --- | --- | --- |\n")
    for row in _ROWS:
        assert "| " + " | ".join(row) + " |" in table.text.split("\n")
    assert "Revenue grew in every region" not in table.text and "unaudited" not in table.text
    assert [c.text for c in texts] == [
        "Regional results\n\nRevenue grew in every region except the west, where two offices closed in the spring.",
        "The figures are unaudited and exclude the divested printer business.",
    ]
    assert [c.ordinal for c in result.chunks] == list(range(len(result.chunks)))


@needs_poppler
def test_pdf_prose_with_double_spaces_and_indents_gives_no_table() -> None:
    lines: list[str | Sequence[tuple[float, str]]] = [
        "Backup policy",
        "",
        "Laptops are backed up every night.  Servers are backed up every hour.",
        "    Indented lines carry on the paragraph about backups and restores.",
        "Restores take 2 hours.  Archives are kept for 90 days.  Tapes go offsite weekly.",
        "    Version 3 of the policy replaced version 2 in 2023.",
        [(72, "Note 4."), (200, "Retention is 7 years for finance records.")],
        [(72, "Step 1"), (200, "Open the portal and sign in with your account.")],
        [(72, "Step 2"), (200, "Choose Restore and pick the day you need.")],
        [(72, "Step 3"), (200, "Wait for the email that says the files are back.")],
    ]
    result = extract(fixtures.columns_pdf(lines), "policy.pdf")
    assert result.chunks and all(c.kind != "table" for c in result.chunks)
    assert "Tapes go offsite weekly." in "\n".join(c.text for c in result.chunks)


def test_pdf_without_poppler_keeps_table_rows_as_prose(monkeypatch: pytest.MonkeyPatch) -> None:
    real_which = shutil.which
    monkeypatch.setattr(pdf_module.shutil, "which", lambda cmd: None if cmd.startswith("pdfto") else real_which(cmd))
    result = extract(fixtures.columns_pdf(_report_lines()), "regions.pdf")
    assert result.chunks and all(c.kind != "table" for c in result.chunks)
    assert "2,450" in "\n".join(c.text for c in result.chunks)


_STATEMENT = """\
                                         CONDENSED STATEMENTS OF OPERATIONS
                                                   (In millions)

                                                              Three Months Ended
                                                         December 31,      December 25,
                                                             2022              2021
Net sales:
 Products                                            $       96,388    $      104,429
 Services                                                    20,766            19,516
    Total net sales                                         117,154           123,945

Cost of sales:
 Products                                                    60,765            64,309
Other income/(expense), net                                    (393)             (247)

See accompanying Notes.
"""


def test_statement_header_lines_merge_and_label_rows_stay_rows() -> None:
    blocks = split_tables(_STATEMENT, ("Item 1",), 4)
    assert [type(b) for b in blocks] == [Section, Table, Section]
    table = blocks[1]
    assert isinstance(table, Table) and table.page == 4 and table.heading_path == ("Item 1",)
    assert table.header == ["", "Three Months Ended December 31, 2022", "Three Months Ended December 25, 2021"]
    assert table.rows == [
        ["Net sales:", "", ""],
        ["Products", "$ 96,388", "$ 104,429"],
        ["Services", "20,766", "19,516"],
        ["Total net sales", "117,154", "123,945"],
        ["Cost of sales:", "", ""],
        ["Products", "60,765", "64,309"],
        ["Other income/(expense), net", "(393)", "(247)"],
    ]
    before, after = blocks[0], blocks[2]
    assert isinstance(before, Section) and "CONDENSED STATEMENTS OF OPERATIONS" in before.text
    assert isinstance(after, Section) and "See accompanying Notes." in after.text


def test_misaligned_figures_are_left_as_prose() -> None:
    text = "Alpha    12    13\nBeta  14          15\nGamma         16  17\n"
    assert [type(b) for b in split_tables(text)] == [Section]


def test_two_aligned_rows_are_not_enough() -> None:
    text = "Intro line of prose.\nAlpha    12    13\nBeta     14    15\n"
    assert [type(b) for b in split_tables(text)] == [Section]


@pytest.mark.parametrize("value", ["1,234", "(393)", "$ 1.89", "12%", "—", "2022", "-0.5"])
def test_figures_are_numeric(value: str) -> None:
    assert is_numeric(value)


@pytest.mark.parametrize("value", ["December 31,", "Products", "Q1 2024", "Item 1."])
def test_words_are_not_numeric(value: str) -> None:
    assert not is_numeric(value)


def test_a_currency_sign_trailing_a_figure_moves_to_the_next_figure() -> None:
    text = (
        "Region            Q1     Change          Q2\n"
        "Americas   $ 37,472         4% $    129,850\n"
        "Europe       19,287         2%       72,323\n"
        "Japan         5,446      (16)%       20,277\n"
    )
    blocks = split_tables(text)
    assert len(blocks) == 1 and isinstance(blocks[0], Table)
    assert blocks[0].rows[0] == ["Americas", "$ 37,472", "4%", "$ 129,850"]
