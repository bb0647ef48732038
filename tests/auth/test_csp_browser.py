"""The security headers do not break the UI: Gradio loads in headless Chromium with no CSP violation."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.servers import BIN, desk_env, free_port, running

CHROMIUM = Path("/usr/bin/chromium")
ADMIN_PASSWORD = "csp-admin-password"
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium")


@pytest.fixture(scope="module")
def ui_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("csp-serve")
    env = desk_env(
        tmp / "data", SUPPORT_LLM="offline", GRADIO_ANALYTICS_ENABLED="False", SUPPORT_ADMIN_PASSWORD=ADMIN_PASSWORD
    )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with running(
        [str(BIN), "serve", "--port", str(port)],
        ready_url=f"{base}/health",
        log_path=tmp / "serve.log",
        env=env,
        timeout=90,
    ):
        yield base


def test_ui_loads_under_the_content_security_policy(ui_server: str) -> None:
    from playwright.sync_api import sync_playwright

    for path in ("/", "/signin"):  # the sign-in page and the redirect to it carry the headers too
        page_headers = httpx.get(f"{ui_server}{path}", timeout=30).headers
        assert "frame-ancestors 'none'" in page_headers["content-security-policy"]
    problems: list[str] = []
    with sync_playwright() as pw, tempfile.TemporaryDirectory() as profile:
        browser = pw.chromium.launch_persistent_context(
            profile, executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-dev-shm-usage"], headless=True
        )
        try:
            page = browser.new_page()
            page.on("console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.goto(f"{ui_server}/", timeout=60_000)
            # Sign in first: the sign-in page is under the same policy, then the Gradio page.
            page.locator("#signin-identifier").fill("admin")
            page.locator("#signin-password").fill(ADMIN_PASSWORD)
            page.locator("#signin-submit").click()
            page.get_by_role("tab", name="Chat").first.wait_for(timeout=60_000)
        finally:
            browser.close()
    assert problems == [], problems
