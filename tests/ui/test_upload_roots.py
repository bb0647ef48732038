"""The Admin upload works where the HTTP app serves it: with server paths closed (SUPPORT_INGEST_ROOTS unset)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.desk import Desk
from ui.admin_knowledge import ingest_uploads
from ui.context import SignedIn


async def test_uploads_ingest_when_server_paths_are_not_allowed(
    ui: SignedIn, desk: Desk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # build_http_app turns an unset SUPPORT_INGEST_ROOTS into [] (no server paths) for the desk it serves.
    monkeypatch.setattr(desk, "settings", desk.settings.model_copy(update={"ingest_roots": []}))
    upload = tmp_path / "gradio-tmp" / "vpn-guide.md"
    upload.parent.mkdir()
    upload.write_text("# VPN\n\nReconnect the VPN client after a password change.\n", encoding="utf-8")

    outcomes = await ingest_uploads(ui, [str(upload)])

    assert [(o.file, o.outcome) for o in outcomes] == [("vpn-guide.md", "added")]
