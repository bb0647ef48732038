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
    monkeypatch.setattr("tools.knowledge_service.create_embedder", lambda settings: FakeEmbedder())
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


def test_an_index_of_another_embedder_is_refused_until_index_rebuild(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio

    from store.config import Settings
    from tools.desk import open_desk
    from tools.knowledge_service import EmbedderMismatchError
    from tools.search import knowledge_search
    from tools.users import ensure_actor

    data_dir = tmp_path / "data"
    monkeypatch.setenv("SUPPORT_DATA_DIR", str(data_dir))
    monkeypatch.delenv("SUPPORT_DATABASE_URL", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    (tmp_path / "vpn.md").write_bytes(MARKDOWN)
    monkeypatch.setattr("tools.knowledge_service.create_embedder", lambda settings: FakeEmbedder())
    assert main(["--data-dir", str(data_dir), "ingest", str(tmp_path / "vpn.md")]) == 0

    # The model changes (as from the PyTorch MiniLM to the ONNX one): the old index is never mixed in.
    monkeypatch.setattr("tools.knowledge_service.create_embedder", lambda settings: FakeEmbedder(name="fake-new"))

    async def search() -> list[str]:
        async with open_desk(Settings(data_dir=data_dir, _env_file=None)) as desk:  # type: ignore[call-arg]
            actor = await ensure_actor(desk, "admin", "admin")
            return [h.id for h in (await knowledge_search(desk, actor, "hotel hotspot gateway")).hits]

    with pytest.raises(EmbedderMismatchError, match="support-agent index rebuild"):
        asyncio.run(search())
    assert main(["--data-dir", str(data_dir), "index", "rebuild"]) == 0
    err = capsys.readouterr().err
    assert "1 documents" in err and "embedder fake-new" in err
    assert asyncio.run(search())
