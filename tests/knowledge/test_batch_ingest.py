"""One batch ingest for the CLI and the UI: what an unexpected error on one file does to the rest."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from server.cli import main
from tests.conftest import MakeUser
from tests.knowledge.conftest import FakeEmbedder
from tests.knowledge.test_pipeline import MARKDOWN
from tools import ingest_pipeline
from tools.actor import Actor
from tools.batch_ingest import BatchFile, ingest_batch
from tools.desk import Desk
from tools.errors import ForbiddenError
from tools.knowledge_query import document_list
from tools.knowledge_service import Knowledge

NOTES = b"Badge printers live on floor two. Toner is in the cupboard next to them."
LAST = b"# Wi-Fi\n\nThe guest network is called Visitors; its password is at reception.\n"


def crash_on(monkeypatch: pytest.MonkeyPatch, filename: str) -> None:
    """The parser crashes (a bug, not a refusal) on files called ``filename``."""
    real = ingest_pipeline.extract_sync

    def extract(data: bytes, name: str, limits: Any) -> Any:
        if Path(name).name == filename:
            raise RuntimeError("parser bug at byte 12")
        return real(data, name, limits)

    monkeypatch.setattr(ingest_pipeline, "extract_sync", extract)


async def test_an_unexpected_error_on_one_file_fails_that_file_and_the_rest_continue(
    desk: Desk, admin: Actor, knowledge: Knowledge, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    crash_on(monkeypatch, "notes.txt")
    files = [
        BatchFile("vpn.md", read=lambda: MARKDOWN),
        BatchFile("notes.txt", read=lambda: NOTES),
        BatchFile("empty.txt", read=lambda: b""),
        BatchFile("wifi.md", read=lambda: LAST),
    ]
    heard: list[str] = []
    outcomes = await ingest_batch(desk, admin, files, finished=lambda o: heard.append(o.file))

    assert [(o.file, o.outcome) for o in outcomes] == [
        ("vpn.md", "added"),
        ("notes.txt", "failed"),
        ("empty.txt", "failed"),
        ("wifi.md", "added"),
    ]
    assert heard == ["vpn.md", "notes.txt", "empty.txt", "wifi.md"]
    # A plain reason for the person, the traceback for the operator.
    assert outcomes[1].detail == "internal error: RuntimeError"
    assert "empty" in outcomes[2].detail
    assert "parser bug at byte 12" in caplog.text
    # The crashed file is recorded failed with nothing half-written; the others are searchable documents.
    docs = {d.filename: d for d in (await document_list(desk, admin)).items}
    assert docs["notes.txt"].status == "failed" and docs["notes.txt"].chunk_count == 0
    assert docs["vpn.md"].status == docs["wifi.md"].status == "ready"
    assert "empty.txt" not in docs


async def test_a_caller_who_may_not_ingest_is_refused_once_and_nothing_is_read(
    desk: Desk, make_user: MakeUser, knowledge: Knowledge
) -> None:
    tech = await make_user("tess", "technician")
    read: list[str] = []

    def reader(name: str) -> BatchFile:
        return BatchFile(name, read=lambda: read.append(name) or MARKDOWN)  # type: ignore[func-returns-value]

    with pytest.raises(ForbiddenError, match="document ingest"):
        await ingest_batch(desk, tech, [reader("a.md"), reader("b.md")])
    assert read == []


def test_cli_ingest_continues_past_a_crashing_file(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr("tools.knowledge_service.create_embedder", lambda settings: FakeEmbedder())
    crash_on(monkeypatch, "notes.txt")
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "notes.txt").write_bytes(NOTES)
    (docs / "wifi.md").write_bytes(LAST)
    data_dir = tmp_path / "data"
    monkeypatch.setenv("SUPPORT_DATA_DIR", str(data_dir))
    monkeypatch.delenv("SUPPORT_DATABASE_URL", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)

    assert main(["--data-dir", str(data_dir), "ingest", str(docs)]) == 1
    err = capsys.readouterr().err
    assert "added 1, replaced 0, skipped as duplicate 0, failed 1" in err
    assert "internal error: RuntimeError" in err
    assert "parser bug at byte 12" in caplog.text  # the operator's log has the detail
