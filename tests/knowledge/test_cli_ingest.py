"""``support-agent ingest``: folders recursively, a summary, and the exit code."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.cli import main
from tests.knowledge.conftest import FakeEmbedder
from tests.knowledge.test_pipeline import MARKDOWN


def test_ingest_command_summarises_added_duplicate_and_failed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("tools.knowledge.create_embedder", lambda settings: FakeEmbedder())
    docs = tmp_path / "docs"
    (docs / "sub").mkdir(parents=True)
    (docs / "vpn.md").write_bytes(MARKDOWN)
    (docs / "sub" / "copy.md").write_bytes(MARKDOWN)
    (docs / "sub" / "notes.txt").write_text("Badge printers live on floor two.")
    (docs / "empty.txt").write_bytes(b"")
    (docs / ".hidden").write_text("skipped")
    data_dir = tmp_path / "data"
    monkeypatch.setenv("SUPPORT_DATA_DIR", str(data_dir))
    monkeypatch.delenv("SUPPORT_DATABASE_URL", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)

    code = main(["--data-dir", str(data_dir), "ingest", str(docs), str(tmp_path / "missing.pdf")])
    err = capsys.readouterr().err
    assert code == 1
    assert "added 2, replaced 0, skipped as duplicate 1, failed 2" in err
    assert "empty.txt" in err and "no such file or folder" in err
    assert ".hidden" not in err

    (docs / "empty.txt").unlink()
    assert main(["--data-dir", str(data_dir), "ingest", str(docs)]) == 0
    assert "skipped as duplicate 3" in capsys.readouterr().err
