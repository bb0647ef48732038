"""Admin > Knowledge uploads go through the desk's one batch ingest: a crashing file does not stop the rest."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.knowledge.test_batch_ingest import LAST, NOTES, crash_on
from ui.admin_knowledge import ingest_uploads
from ui.context import SignedIn


async def test_ui_uploads_continue_past_a_crashing_file(
    ui: SignedIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    crash_on(monkeypatch, "notes.txt")
    for name, data in (("notes.txt", NOTES), ("wifi.md", LAST)):
        (tmp_path / name).write_bytes(data)
    outcomes = await ingest_uploads(ui, [str(tmp_path / "notes.txt"), str(tmp_path / "wifi.md")])
    assert [(o.file, o.outcome, o.detail.split(",")[0]) for o in outcomes] == [
        ("notes.txt", "failed", "internal error: RuntimeError"),
        ("wifi.md", "added", f"document {outcomes[1].document_id}"),
    ]
