"""With ElevenLabs configured (a key and an agent id) the Voice tab offers ElevenLabs' conversation widget, and
the Content-Security-Policy admits the widget's origins then, and only then."""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Route, expect, sync_playwright
from pydantic import SecretStr

from server.http import build_http_app
from server.web import CSP
from store.config import Settings
from tests.servers import BIN, desk_env, free_port, running
from tests.ui.test_browser import CHROMIUM, CHROMIUM_ARGS, STEP_MS, PageWatch, pytestmark, sign_in  # noqa: F401
from tools.voice_import import WIDGET_SCRIPT

AGENT_ID = "agent_7f3kq2widget"


def policy(settings: Settings) -> str:
    """The Content-Security-Policy the assembled app sends (its lifespan not run: /health answers 503)."""

    async def fetch() -> str:
        app = build_http_app(settings, with_ui=False)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=f"http://127.0.0.1:{settings.port}") as http:
            return (await http.get("/health")).headers["content-security-policy"]

    import asyncio

    return asyncio.run(fetch())


def test_the_policy_admits_the_widget_only_while_it_is_offered(tmp_path_factory: pytest.TempPathFactory) -> None:
    base = Settings(data_dir=tmp_path_factory.mktemp("csp"), _env_file=None)  # type: ignore[call-arg]
    key = SecretStr("sk-test")
    offline = policy(base)
    agent_without_key = policy(base.model_copy(update={"elevenlabs_agent_id": AGENT_ID}))
    key_without_agent = policy(base.model_copy(update={"elevenlabs_api_key": key}))
    widget = policy(base.model_copy(update={"elevenlabs_api_key": key, "elevenlabs_agent_id": AGENT_ID}))
    assert offline == agent_without_key == key_without_agent == CSP
    directives = dict(d.split(" ", 1) for d in widget.split("; "))
    assert "https://unpkg.com" in directives["script-src"].split()
    assert "wss://api.elevenlabs.io" in directives["connect-src"].split()
    # Everything else stays as strict as before.
    assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"
    assert "https://unpkg.com" not in directives["connect-src"] + directives["default-src"]


@pytest.fixture(scope="module")
def widget_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("widget-serve")
    env = desk_env(
        tmp / "data",
        SUPPORT_LLM="offline",
        GRADIO_ANALYTICS_ENABLED="False",
        ELEVENLABS_API_KEY="sk-test-not-a-key",
        SUPPORT_ELEVENLABS_AGENT_ID=AGENT_ID,
        # Nothing may reach ElevenLabs: the desk's own calls would go to a closed local port.
        ELEVENLABS_BASE_URL=f"http://127.0.0.1:{free_port()}",
    )
    subprocess.run([str(BIN), "demo", "load"], env=env, check=True, timeout=300, capture_output=True)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with running([str(BIN), "serve", "--port", str(port)], ready_url=f"{base}/health", log_path=tmp / "serve.log",
                 env=env, timeout=90):  # fmt: skip
        yield base


def test_the_voice_tab_offers_the_elevenlabs_widget_for_the_configured_agent(widget_server: str) -> None:
    outside: list[str] = []
    with sync_playwright() as pw, tempfile.TemporaryDirectory() as profile:
        browser = pw.chromium.launch_persistent_context(
            profile, executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:

            def offline(route: Route) -> None:
                # This machine has no internet: record what the page asks for outside the desk, and refuse it.
                if route.request.url.startswith(widget_server):
                    route.continue_()
                else:
                    outside.append(route.request.url)
                    route.abort()

            browser.route("**/*", offline)
            page = browser.new_page()
            page.set_default_timeout(STEP_MS)
            watch = PageWatch(page, widget_server).attach()
            sign_in(page, widget_server, "alice")
            page.get_by_role("tab", name="Voice", exact=True).click()
            widget = page.locator("#voice-widget elevenlabs-convai")
            expect(widget).to_have_attribute("agent-id", AGENT_ID)
            expect(page.locator("#voice-help")).to_contain_text("ElevenLabs")
            expect(page.locator("#voice-input")).to_have_count(0)  # the widget instead of push-to-talk
            # The policy let the page request the widget's script (a blocked script is never requested).
            page.wait_for_function("src => document.querySelector(`script[src='${src}']`) !== null", arg=WIDGET_SCRIPT)
            watch.settle()  # its request has been made (and refused by the route above)
            assert watch.failures() == []
        finally:
            browser.close()
    assert outside == [WIDGET_SCRIPT], outside
