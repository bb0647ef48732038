"""Chunking: sizes, boundaries, overlap, code blocks kept whole, tables by whole rows with the header repeated."""

from __future__ import annotations

import itertools

import pytest

from tools.ingest.blocks import Block, Section, Table
from tools.ingest.chunking import ChunkOptions, build_chunks, split_sentences


def _prose(n: int) -> str:
    return " ".join(f"Sentence number {i} explains step {i} of the procedure." for i in range(n))


def test_short_sections_with_the_same_heading_pack_into_one_chunk() -> None:
    blocks = [Section("First paragraph.", ("A",)), Section("Second paragraph.", ("A",)), Section("Other.", ("B",))]
    chunks = build_chunks(blocks)
    assert [c.text for c in chunks] == ["First paragraph.\n\nSecond paragraph.", "Other."]
    assert [c.heading_path for c in chunks] == [("A",), ("B",)]
    assert [c.ordinal for c in chunks] == [0, 1]


def test_long_prose_breaks_at_sentences_near_the_target_with_overlap() -> None:
    opts = ChunkOptions(target_chars=300, overlap_chars=80)
    chunks = build_chunks([Section(_prose(40), ("Guide",), page=3)], opts)
    assert len(chunks) > 5
    for chunk in chunks:
        assert len(chunk.text) <= 300 + 80
        assert chunk.text.endswith(".")  # never cut mid-sentence
        assert chunk.page == 3 and chunk.heading_path == ("Guide",)
    # The last sentence of one chunk opens the next one.
    for before, after in itertools.pairwise(chunks):
        last = split_sentences(before.text)[-1]
        assert after.text.startswith(last)


def test_overlap_zero_repeats_nothing() -> None:
    chunks = build_chunks([Section(_prose(30))], ChunkOptions(target_chars=300, overlap_chars=0))
    sentences = [s for c in chunks for s in split_sentences(c.text)]
    assert len(sentences) == len(set(sentences)) == 30


def test_a_sentence_longer_than_the_target_is_split_at_words() -> None:
    text = " ".join(["word"] * 400)
    chunks = build_chunks([Section(text)], ChunkOptions(target_chars=200, overlap_chars=0))
    assert all(len(c.text) <= 200 for c in chunks)
    assert sum(c.text.count("word") for c in chunks) == 400


def test_text_without_sentence_ends_breaks_between_lines() -> None:
    rows = "\n".join(f"Net gains on item {i} (1,{i:03d}) 2,{i:03d} (3{i}) 4{i}" for i in range(40))
    chunks = build_chunks([Section(rows)], ChunkOptions(target_chars=300, overlap_chars=0))
    assert len(chunks) > 3
    lines = [line for c in chunks for line in c.text.split("\n")]
    assert lines == rows.split("\n")  # every line whole, in order


def test_code_block_stays_whole_even_over_the_target() -> None:
    code = "```python\n" + "\n".join(f"print({i})  # line {i}" for i in range(30)) + "\n```"
    blocks = [Section("Intro text."), Section(code, atomic=True), Section("After text.")]
    chunks = build_chunks(blocks, ChunkOptions(target_chars=200, overlap_chars=40))
    assert any(c.text == code for c in chunks)


def test_huge_code_block_is_split_between_lines() -> None:
    code = "\n".join(f"line {i}" for i in range(600))
    chunks = build_chunks([Section(code, atomic=True)], ChunkOptions(target_chars=200, overlap_chars=0))
    assert len(chunks) > 1
    lines = [line for c in chunks for line in c.text.split("\n")]
    assert lines == code.split("\n")


def test_table_chunks_repeat_the_header_and_never_split_a_row() -> None:
    rows = [[f"R{i}", f"value {i}", f"note with pipe | {i}"] for i in range(50)]
    table = Table(["Key", "Value", "Note"], rows, heading_path=("Prices",), page=2, sheet="S1")
    chunks = build_chunks([table], ChunkOptions(target_chars=300, overlap_chars=0))
    assert len(chunks) > 3
    seen: list[str] = []
    for chunk in chunks:
        lines = chunk.text.split("\n")
        assert lines[0] == "| Key | Value | Note |"
        assert lines[1] == "| --- | --- | --- |"
        assert chunk.kind == "table" and chunk.sheet == "S1" and chunk.page == 2 and chunk.heading_path == ("Prices",)
        for line in lines[2:]:
            assert line.startswith("| R") and line.endswith(" |")
            seen.append(line.split(" | ")[0][2:])
    assert seen == [f"R{i}" for i in range(50)]  # every row once, in order
    assert "pipe \\| 7" in chunks[0].text or any("pipe \\| 7" in c.text for c in chunks)


def test_an_over_long_row_is_its_own_chunk() -> None:
    table = Table(["A", "B"], [["short", "x"], ["long", "y" * 500], ["short2", "z"]])
    chunks = build_chunks([table], ChunkOptions(target_chars=100, overlap_chars=0))
    assert any("y" * 500 in c.text for c in chunks)
    assert all(c.text.startswith("| A | B |") for c in chunks)


def test_tables_drop_trailing_empty_columns_and_name_blank_headers() -> None:
    table = Table(["", "Name", "", ""], [["1", "Ann", "", ""], ["2", "Bob", "", ""]])
    (chunk,) = build_chunks([table])
    assert chunk.text.split("\n")[0] == "| column 1 | Name |"


def test_blocks_interleave_in_document_order() -> None:
    blocks: list[Block] = [Section("Before.", ("H",)), Table(["a"], [["1"]], ("H",)), Section("After.", ("H",))]
    chunks = build_chunks(blocks)
    assert [c.kind for c in chunks] == ["text", "table", "text"]
    assert [c.ordinal for c in chunks] == [0, 1, 2]


def test_citation_includes_page_sheet_and_heading_path() -> None:
    (chunk,) = build_chunks([Section("Body.", ("Setup", "VPN"), page=4)])
    assert chunk.citation("Guide.pdf") == "Guide.pdf, p. 4 > Setup > VPN"


@pytest.mark.parametrize("target, overlap", [(10, 0), (800, 400), (800, -1)])
def test_bad_options_are_refused(target: int, overlap: int) -> None:
    with pytest.raises(ValueError):
        ChunkOptions(target_chars=target, overlap_chars=overlap)
