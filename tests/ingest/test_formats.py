"""Each processor on a well-formed file: text, structure (headings, pages, sheets, tables) and the title."""

from __future__ import annotations

import shutil
from collections.abc import Callable

import pytest

from tests.ingest import fixtures
from tests.ingest.xls_writer import xls_bytes
from tools.ingest import pdf as pdf_module
from tools.ingest.base import Extracted
from tools.ingest.chunking import ChunkOptions
from tools.ingest.extract import extract


def _all_text(result: Extracted) -> str:
    return "\n".join(c.text for c in result.chunks)


def _check_ordinals(result: Extracted) -> None:
    assert [c.ordinal for c in result.chunks] == list(range(len(result.chunks)))


def test_pdf_pages_outline_and_metadata_title() -> None:
    data = fixtures.text_pdf(
        [
            ["Introduction", "The desk answers questions about laptops and phones."],
            [
                "Setup",
                "Install the VPN client from the portal.",
                "Networking",
                "Error VPN-809 means the port is blocked.",
            ],
        ],
        title="IT Handbook",
        outline=[("Introduction", 0, None), ("Setup", 1, None), ("Networking", 1, "Setup")],
    )
    result = extract(data, "handbook.pdf")
    _check_ordinals(result)
    assert result.doc_type == "pdf" and result.title == "IT Handbook" and result.pages == 2
    assert result.ocr_pages == [] and result.warnings == []
    by_text = {c.text: c for c in result.chunks}
    intro = by_text["The desk answers questions about laptops and phones."]
    assert intro.page == 1 and intro.heading_path == ("Introduction",)
    vpn = by_text["Error VPN-809 means the port is blocked."]
    assert vpn.page == 2 and vpn.heading_path == ("Setup", "Networking")
    assert vpn.citation(result.title) == "IT Handbook, p. 2 > Setup > Networking"


def test_pdf_outline_entry_starting_mid_page_splits_the_page() -> None:
    data = fixtures.text_pdf(
        [["Overview", "Read the Setup part before you start.", "", "Setup", "Plug in the dock, then power on."]],
        outline=[("Overview", 0, None), ("Setup", 0, None)],
    )
    result = extract(data, "dock.pdf")
    assert [(c.heading_path, c.text) for c in result.chunks] == [
        (("Overview",), "Read the Setup part before you start."),
        (("Setup",), "Plug in the dock, then power on."),
    ]


def test_pdf_without_outline_or_title_keeps_page_numbers_and_uses_the_file_name() -> None:
    pages = [[f"Page {n} talks about printer model P-{n}00 and its toner."] for n in range(1, 4)]
    result = extract(fixtures.text_pdf(pages), "printers.pdf")
    assert result.title == "printers"
    assert [(c.page, c.heading_path) for c in result.chunks] == [(1, ()), (2, ()), (3, ())]
    assert "P-300" in result.chunks[2].text


def test_pdf_text_layer_without_poppler_comes_from_pypdf(monkeypatch: pytest.MonkeyPatch) -> None:
    data = fixtures.text_pdf([["First page on laptops and docking stations."], ["Second page on monitors."]])
    with_poppler = extract(data, "p.pdf")
    real_which: Callable[[str], str | None] = shutil.which
    monkeypatch.setattr(pdf_module.shutil, "which", lambda cmd: None if cmd.startswith("pdfto") else real_which(cmd))
    without = extract(data, "p.pdf")
    assert [(c.page, c.text) for c in without.chunks] == [
        (1, "First page on laptops and docking stations."),
        (2, "Second page on monitors."),
    ]
    assert [(c.page, c.text) for c in with_poppler.chunks] == [(c.page, c.text) for c in without.chunks]


def test_pdf_title_that_is_an_identifier_falls_back_to_the_file_name() -> None:
    data = fixtures.text_pdf([["Quarterly report body text for the quarter."]], title="0000320193-22-000070")
    assert extract(data, "2022 Q3 AAPL.pdf").title == "2022 Q3 AAPL"


def test_pdf_owner_password_only_opens_with_the_empty_password() -> None:
    data = fixtures.text_pdf([["Restricted but readable text about the backup policy."]], owner_password="owner")
    result = extract(data, "restricted.pdf")
    assert "backup policy" in _all_text(result)


def test_docx_headings_paragraphs_and_tables() -> None:
    result = extract(fixtures.docx_file(), "guide.docx", chunking=ChunkOptions(target_chars=400, overlap_chars=50))
    _check_ordinals(result)
    assert result.doc_type == "docx" and result.title == "VPN Guide"
    text_chunks = [c for c in result.chunks if c.kind == "text"]
    assert text_chunks[0].heading_path == ("Setup",) and "Install the client" in text_chunks[0].text
    assert text_chunks[1].heading_path == ("Setup", "Windows") and "VPN-809" in text_chunks[1].text
    tables = [c for c in result.chunks if c.kind == "table"]
    assert len(tables) > 2
    codes: list[str] = []
    for chunk in tables:
        assert chunk.heading_path == ("Troubleshooting",)
        lines = chunk.text.split("\n")
        assert lines[0] == "| Code | Meaning | Fix |"
        codes += [line.split(" | ")[0].removeprefix("| ") for line in lines[2:]]
    assert codes == [f"E{i:03d}" for i in range(30)]


def test_xlsx_sheets_become_tables_with_sheet_names_and_readable_values() -> None:
    result = extract(fixtures.xlsx_file(), "assets.xlsx")
    _check_ordinals(result)
    assert result.doc_type == "xlsx" and result.title == "assets"
    assert {c.sheet for c in result.chunks} == {"Assets"}  # the empty sheet yields nothing
    assert all(c.text.startswith("| Tag | Owner | Cost | Bought |\n") for c in result.chunks)
    body = _all_text(result)
    assert "| LAP-0000 | user0 | 1200 | 2024-01-01 |" in body
    assert "| LAP-0059 | user59 | 1259 | 2024-01-04 |" in body
    assert result.chunks[0].citation(result.title) == "assets, sheet 'Assets'"


def test_xls_via_xlrd() -> None:
    data = xls_bytes(
        {
            "Tickets": [["Id", "Subject", "Hours"], [1, "Printer jam", 2.5], [2, "VPN down", 4], [None, None, None]],
            "Staff": [["Name", "Team"], ["Ann", "Network"]],
        }
    )
    result = extract(data, "legacy.xls")
    assert result.doc_type == "xls"
    assert [(c.sheet, c.text) for c in result.chunks] == [
        ("Tickets", "| Id | Subject | Hours |\n| --- | --- | --- |\n| 1 | Printer jam | 2.5 |\n| 2 | VPN down | 4 |"),
        ("Staff", "| Name | Team |\n| --- | --- |\n| Ann | Network |"),
    ]


def test_csv_with_sniffed_semicolon_dialect_and_quoted_newlines() -> None:
    data = 'Code;Description;Owner\nE1;"Disk full; clean up\nthe temp folder";Ops\nE2;Fan noise;"Desk, 2nd floor"\n'
    result = extract(data.encode("cp1252"), "codes.csv")
    (chunk,) = result.chunks
    assert chunk.kind == "table" and result.doc_type == "csv"
    assert chunk.text.split("\n") == [
        "| Code | Description | Owner |",
        "| --- | --- | --- |",
        "| E1 | Disk full; clean up the temp folder | Ops |",
        "| E2 | Fan noise | Desk, 2nd floor |",
    ]


def test_markdown_headings_code_tables_and_title() -> None:
    code = "```bash\n" + "\n".join(f"echo step {i}" for i in range(60)) + "\n```"
    text = (
        "---\ntitle: Runbook\n---\n"
        "# Printers\n\nIntro about printers.\n\n"
        "## Jams\n\nOpen tray 2.\nRemove the paper.\n\n" + code + "\n\n"
        "Setext Section\n--------------\n\nBody under setext.\n\n"
        "| Model | Tray |\n|---|:---:|\n| P100 | 2 |\n| P200 | 3 |\n"
    )
    result = extract(text.encode(), "runbook.md", chunking=ChunkOptions(target_chars=300, overlap_chars=40))
    _check_ordinals(result)
    assert result.doc_type == "markdown" and result.title == "Runbook"
    by_start = {c.text.split("\n")[0]: c for c in result.chunks}
    assert by_start["Intro about printers."].heading_path == ("Printers",)
    assert by_start["Open tray 2."].heading_path == ("Printers", "Jams")
    assert any(c.text == code for c in result.chunks)  # 700+ characters, kept whole
    assert by_start["Body under setext."].heading_path == ("Printers", "Setext Section")
    table = by_start["| Model | Tray |"]
    assert table.kind == "table" and "| P200 | 3 |" in table.text


def test_markdown_title_falls_back_to_the_first_h1() -> None:
    result = extract(b"# Laptop FAQ\n\nCharge it overnight.\n", "faq.md")
    assert result.title == "Laptop FAQ"


def test_html_drops_scripts_styles_and_nav_and_keeps_headings_and_tables() -> None:
    html = """<!doctype html><html><head><title>Wi-Fi Help</title><style>p{color:red}</style></head>
    <body><nav><a href="/">Home</a> menu links</nav><script>var tracking = 1;</script>
    <h1>Wireless</h1><p>Connect to <b>CorpNet</b>.</p><p><i>Band</i> steering is on.</p>
    <h2>Guests</h2><p>Use the guest portal.</p>
    <table><tr><th>SSID</th><th>Band</th></tr><tr><td>CorpNet</td><td>5 GHz</td></tr>
    <tr><td colspan="2">Both bands for Guest</td></tr></table>
    <pre>ping 10.0.0.1
    traceroute 10.0.0.1</pre></body></html>"""
    result = extract(html.encode(), "wifi.html")
    _check_ordinals(result)
    assert result.title == "Wi-Fi Help"
    body = _all_text(result)
    assert "tracking" not in body and "menu links" not in body and "color:red" not in body
    first = result.chunks[0]
    assert first.text.startswith("Connect to CorpNet.")
    assert first.heading_path == ("Wireless",)
    assert "Band steering is on." in first.text
    table = next(c for c in result.chunks if c.kind == "table")
    assert table.heading_path == ("Wireless", "Guests")
    assert table.text.split("\n") == [
        "| SSID | Band |",
        "| --- | --- |",
        "| CorpNet | 5 GHz |",
        "| Both bands for Guest | Both bands for Guest |",
    ]
    assert any("traceroute 10.0.0.1" in c.text and "ping" in c.text for c in result.chunks)


def test_plain_text_paragraphs() -> None:
    text = "\n\n".join(f"Paragraph {i}: the backup runs nightly at {i}:00." for i in range(40))
    result = extract(text.encode(), "notes.txt", chunking=ChunkOptions(target_chars=300, overlap_chars=0))
    assert result.doc_type == "txt" and result.title == "notes"
    assert all(len(c.text) <= 300 for c in result.chunks)
    assert "Paragraph 39" in result.chunks[-1].text
