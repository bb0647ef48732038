"""``support-agent serve --workers N`` refuses configurations several processes cannot share."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.cli import main
from store.config import Settings


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SUPPORT_DATABASE_URL", "DATABASE_URL", "SUPPORT_CHROMA_URL", "CHROMA_URL", "SUPPORT_REDIS_URL"):
        monkeypatch.delenv(name, raising=False)


def test_workers_on_the_embedded_defaults_are_refused_with_what_to_set(
    clean_env: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--data-dir", str(tmp_path), "serve", "--workers", "2"]) == 2
    err = capsys.readouterr().err
    for needed in ("SUPPORT_DATABASE_URL", "SUPPORT_CHROMA_URL", "SUPPORT_REDIS_URL", "--no-ui"):
        assert needed in err
    assert not (tmp_path / "desk.sqlite3").exists(), "nothing is created before the refusal"


def test_workers_below_one_are_refused(clean_env: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--data-dir", str(tmp_path), "serve", "--workers", "0"]) == 2
    assert "--workers must be 1 or more" in capsys.readouterr().err


def test_a_shared_configuration_has_no_multi_process_problems(clean_env: None) -> None:
    shared = Settings(
        database_url="postgresql://db/desk",
        chroma_url="http://chroma:8000",
        redis_url="redis://redis:6379/0",
        _env_file=None,  # type: ignore[call-arg]
    )
    assert shared.multi_process_problems() == []
    assert len(Settings(_env_file=None).multi_process_problems()) == 3  # type: ignore[call-arg]
