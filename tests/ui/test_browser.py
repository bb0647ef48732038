"""End to end: ``support-agent serve`` with the demo desk, driven by headless Chromium through the Gradio page.

Every test signs in first, as one of the demo desk's people (one per role), through the sign-in page.

Set ``SUPPORT_UI_SCREENSHOT=/tmp/ui.png`` to keep a full-page screenshot of the last screen for a look.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, Request, Response, Route, expect, sync_playwright

from tests.servers import BIN, desk_env, free_port, running
from tools.demo.content import DEMO_PASSWORD
from ui.context import SESSION_COOKIE

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
STEP_MS = 30_000
AGENT_MS = 120_000
"""The first chat turn loads the embedding model; later waits are short."""
QUIET_S = 0.4
"""How long a page must have no request in flight to count as settled."""
MAX_TABS = 40
# Playwright's assertions wait 5 s by default; on a loaded machine a page load can take longer.
expect.set_options(timeout=STEP_MS)
ADMIN_PASSWORD = "browser-admin-password"
PEOPLE = {"end_user": "alice", "technician": "tom.tech", "manager": "maria.manager", "admin": "admin"}
"""Who signs in for each role: the demo desk's people (README: demo passwords)."""
EVERYONE = {"Chat", "Voice", "My tickets"}
TABS = {
    "end_user": EVERYONE,
    "technician": EVERYONE | {"Admin", "Ticket queue", "Voice conversations", "Analytics"},
    "manager": EVERYONE | {"Admin", "Ticket queue", "Voice conversations", "Analytics"},
    "admin": EVERYONE
    | {"Admin", "Ticket queue", "Voice conversations", "Analytics", "Knowledge", "Articles", "Users and tokens"},
}
"""The tabs and sub-tabs each role has; every other tab of the page must be absent for it."""
ALL_TABS = set().union(*TABS.values())
LOCKED_OUT = "bob"
"""The demo user whose account the lockout test locks (no other test signs in as bob)."""

# Locally a missing browser skips; in CI (where scripts/setup.sh --test installs it) it is a failure.
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists() and not os.environ.get("CI"),
    reason="Debian chromium is not installed at /usr/bin/chromium (scripts/setup.sh --test installs it)",
)


@dataclass
class Served:
    """A running desk with its UI: the base URL and the file its log goes to."""

    base: str
    log: Path
    token: str
    """An admin API token, for MCP calls made while a page is open."""

    def tracebacks(self) -> list[str]:
        text = self.log.read_text(encoding="utf-8", errors="replace")
        return [block for block in text.split("Traceback (most recent call last)")[1:]]


@pytest.fixture(scope="module")
def ui_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The demo desk served with the UI on a free port; a bounded wait for /health."""
    tmp = tmp_path_factory.mktemp("ui-serve")
    env = desk_env(
        tmp / "data",
        SUPPORT_LLM="offline",
        GRADIO_ANALYTICS_ENABLED="False",
        SUPPORT_ADMIN_PASSWORD=ADMIN_PASSWORD,
        # Lock at the third failure, so the lockout test needs no waiting between attempts.
        SUPPORT_SIGNIN_SLOW_AFTER="3",
        SUPPORT_SIGNIN_LOCK_AFTER="3",
    )
    subprocess.run([str(BIN), "demo", "load"], env=env, check=True, timeout=300, capture_output=True)
    made = subprocess.run(
        [str(BIN), "token", "create", "admin"], env=env, check=True, timeout=120, capture_output=True, text=True
    )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    args = [str(BIN), "serve", "--port", str(port)]
    log = tmp / "serve.log"
    with running(args, ready_url=f"{base}/health", log_path=log, env=env, timeout=90):
        yield Served(base, log, made.stdout.strip())


@dataclass
class PageWatch:
    """Everything that went wrong in a page: error toasts, failed requests, Error badges.

    ``attach`` hooks the page's events; ``failures()`` also reads what is on screen now. Tests that expect
    an error (a deliberate bad id) call ``expect_error`` around that step, so only surprises fail them.
    """

    page: Page
    base: str
    problems: list[str] = field(default_factory=list)
    in_flight: set[Request] = field(default_factory=set)
    expected_errors: int = 0

    def attach(self) -> PageWatch:
        def started(request: Request) -> None:
            if "/heartbeat/" not in request.url:
                self.in_flight.add(request)

        def finished(request: Request) -> None:
            self.in_flight.discard(request)

        def failed(request: Request) -> None:
            self.in_flight.discard(request)
            # Aborted by the page itself (a closed stream on navigation) is not a failure of the desk.
            if request.url.startswith(self.base) and request.failure not in ("net::ERR_ABORTED",):
                self.problems.append(f"request failed: {request.method} {request.url}: {request.failure}")

        def answered(response: Response) -> None:
            if response.status >= 400:
                self.problems.append(f"HTTP {response.status}: {response.request.method} {response.url}")

        self.page.on("request", started)
        self.page.on("requestfinished", finished)
        self.page.on("requestfailed", failed)
        self.page.on("response", answered)
        return self

    def settle(self, timeout_ms: int = STEP_MS) -> None:
        """Wait (bounded) until the page has no request in flight but its heartbeat, for a short quiet spell."""
        deadline = time.monotonic() + timeout_ms / 1000
        quiet_since: float | None = None
        while time.monotonic() < deadline:
            if self.in_flight:
                quiet_since = None
            elif quiet_since is None:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since > QUIET_S:
                return
            self.page.wait_for_timeout(50)
        raise AssertionError(f"the page kept requests in flight for {timeout_ms} ms: {self.in_flight}")

    def on_screen(self) -> list[str]:
        found = []
        for toast in self.page.locator("[data-testid=toast-body].error").all():
            found.append(f"error toast: {' '.join(toast.inner_text().split())}")
        for badge in self.page.locator("[data-testid=status-tracker] span.error").all():
            if badge.is_visible():
                found.append(f"Error badge: {' '.join(badge.inner_text().split()) or 'Error'}")
        return found

    def dismiss_toasts(self) -> None:
        for close in self.page.locator("[data-testid=toast-body] [data-testid=toast-close]").all():
            if close.is_visible():
                close.click()

    def failures(self) -> list[str]:
        return self.problems + self.on_screen()


def visit_all_tabs(page: Page, watch: PageWatch) -> dict[str, list[str]]:
    """Open every tab and every sub-tab on the page (depth first, bounded): what went wrong in each, by name.

    It only clicks tabs the page shows, so the same helper serves any signed-in role's page; a test
    asserts on the names it expects and that every list is empty.
    """
    seen: dict[str, list[str]] = {}
    for _ in range(MAX_TABS):
        # The last unvisited visible tab in document order is the deepest: sub-tabs before their parents'
        # siblings, so opening a sibling never hides a sub-tab not yet seen.
        pending = [tab for tab in page.get_by_role("tab").all() if tab.is_visible() and _tab_name(tab) not in seen]
        if not pending:
            return seen
        tab = pending[-1]
        name = _tab_name(tab)
        tab.click()
        watch.settle()
        seen[name] = watch.failures()
        watch.problems.clear()
        watch.dismiss_toasts()
    raise AssertionError(f"more than {MAX_TABS} tabs: {list(seen)}")


def _tab_name(tab: Locator) -> str:
    return " ".join(tab.inner_text().split())


@contextmanager
def browser_page(base: str, width: int = 1280, height: int = 900) -> Iterator[tuple[Page, PageWatch]]:
    """A fresh headless Chromium page that may only reach the desk, with a :class:`PageWatch` attached."""
    outside: list[str] = []
    with sync_playwright() as pw, tempfile.TemporaryDirectory() as profile:
        browser = pw.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": width, "height": height},
        )
        try:

            def only_local(route: Route) -> None:
                # The page must work offline: anything not served by the desk is refused and recorded.
                if route.request.url.startswith(base):
                    route.continue_()
                else:
                    outside.append(route.request.url)
                    route.abort()

            browser.route("**/*", only_local)
            page = browser.new_page()
            page.set_default_timeout(STEP_MS)
            watch = PageWatch(page, base).attach()
            yield page, watch
        finally:
            browser.close()
    assert outside == [], f"the page tried to reach outside the desk: {outside}"


def password_of(username: str) -> str:
    return ADMIN_PASSWORD if username == "admin" else DEMO_PASSWORD


def sign_in(page: Page, base: str, username: str, password: str | None = None) -> None:
    """Open the desk, land on the sign-in page, sign in, and wait for the signed-in page."""
    page.goto(f"{base}/")
    expect(page).to_have_url(f"{base}/signin")
    page.locator("#signin-identifier").fill(username)
    page.locator("#signin-password").fill(password or password_of(username))
    page.locator("#signin-submit").click()
    expect(page).to_have_url(f"{base}/")
    expect(page.locator("#header")).to_contain_text(f"Signed in as {username}")


def visible_tab_names(page: Page) -> set[str]:
    return {_tab_name(tab) for tab in page.get_by_role("tab").all() if tab.is_visible()}


@pytest.mark.parametrize("role", list(PEOPLE))
def test_each_role_sees_its_tabs_all_open_without_errors_and_signs_out(ui_server: Served, role: str) -> None:
    base = ui_server.base
    with browser_page(base) as (page, watch):
        sign_in(page, base, PEOPLE[role])
        expect(page.get_by_role("tab", name="Chat", exact=True)).to_be_visible()
        watch.settle()
        on_load = watch.failures()
        watch.problems.clear()
        tabs = visit_all_tabs(page, watch)
        # Every tab the role lacks is absent from the page, not merely empty.
        absent = {name: page.get_by_role("tab", name=name, exact=True).count() for name in ALL_TABS - TABS[role]}
        shown_now = visible_tab_names(page)

        page.locator("#signout").click()
        expect(page).to_have_url(f"{base}/signin")
        page.goto(f"{base}/")
        expect(page).to_have_url(f"{base}/signin")  # signed out: the desk is behind the sign-in page again
    assert on_load == [], f"the page load went wrong: {on_load}"
    assert set(tabs) == TABS[role], f"{role} saw {sorted(tabs)}"
    assert absent == dict.fromkeys(absent, 0), f"tabs {role} must not have are on the page: {absent}"
    assert shown_now <= TABS[role]
    assert {name: problems for name, problems in tabs.items() if problems} == {}
    assert ui_server.tracebacks() == []


def test_repeated_failed_sign_ins_lock_the_account(ui_server: Served) -> None:
    base = ui_server.base
    with browser_page(base) as (page, _):
        page.goto(f"{base}/signin")
        for _ in range(3):
            page.locator("#signin-identifier").fill(LOCKED_OUT)
            page.locator("#signin-password").fill("not-the-password")
            page.locator("#signin-submit").click()
            expect(page.locator("#signin-error")).to_contain_text("not right")
        # Locked: now even the right password is refused, and the page says for how long.
        page.locator("#signin-identifier").fill(LOCKED_OUT)
        page.locator("#signin-password").fill(DEMO_PASSWORD)
        page.locator("#signin-submit").click()
        expect(page.locator("#signin-error")).to_contain_text(re.compile(r"locked, try again in \d+ minutes"))
        expect(page).to_have_url(f"{base}/signin")
        page.goto(f"{base}/")
        expect(page).to_have_url(f"{base}/signin")
    assert ui_server.tracebacks() == []


def test_an_end_user_chats_as_themselves_and_replies_on_their_ticket(ui_server: Served) -> None:
    base = ui_server.base
    with browser_page(base) as (page, watch):
        sign_in(page, base, "alice")
        # The agent acts as alice: her open tickets, not the desk's (bob's TCK-000002 is not hers).
        page.locator("#chat-input textarea").fill("Show my open tickets")
        page.locator("#chat-send").click()
        answer = page.locator("#chat-log [data-testid=bot]").first
        expect(answer).to_contain_text("TCK-000009", timeout=AGENT_MS)
        assert "TCK-000002" not in answer.inner_text()

        page.get_by_role("tab", name="My tickets", exact=True).click()
        listing = page.locator("#my-table")
        expect(listing).to_contain_text("TCK-000009")
        expect(listing).not_to_contain_text("TCK-000002")
        listing.get_by_text("TCK-000009").locator("visible=true").first.click()
        expect(page.locator("#my-detail h3")).to_contain_text("TCK-000009")
        page.locator("#my-reply textarea").fill("Still slow after the restart, at 10 Mbit/s.")
        page.locator("#my-send").click()
        expect(page.locator("#my-detail")).to_contain_text("Still slow after the restart")
        expect(page.get_by_text("Reply added to TCK-000009").first).to_be_visible()
        watch.settle()
        assert watch.failures() == []
    assert ui_server.tracebacks() == []


def test_an_end_user_rates_her_solved_ticket_from_its_thread(ui_server: Served) -> None:
    base = ui_server.base
    with browser_page(base) as (page, watch):
        sign_in(page, base, "alice")
        page.get_by_role("tab", name="My tickets", exact=True).click()
        listing = page.locator("#my-table")
        # TCK-000009 is open: no rating box.
        listing.get_by_text("TCK-000009").locator("visible=true").first.click()
        expect(page.locator("#my-detail h3")).to_contain_text("TCK-000009")
        watch.settle()
        expect(page.locator("#my-rate")).to_be_hidden()
        # TCK-000001 is resolved: the thread ends with the rating link, and the box is there.
        listing.get_by_text("TCK-000001").locator("visible=true").first.click()
        expect(page.locator("#my-detail h3")).to_contain_text("TCK-000001")
        page.locator("#my-detail").get_by_role("link", name="Rate this resolution").click()
        expect(page.locator("#my-rate-note")).to_contain_text("not rated yet")
        page.locator("#my-rating").get_by_label("good", exact=True).check()
        page.locator("#my-rate-comment textarea").fill("Fixed within the hour, thanks.")
        page.locator("#my-rate-send").click()
        expect(page.get_by_text("TCK-000001 is rated good").first).to_be_visible()
        expect(page.locator("#my-rate-note")).to_contain_text("You rated it good")
        expect(page.locator("#my-rate-note")).to_contain_text("change it until")
        # Changed within the week: the same box, the new value.
        page.locator("#my-rating").get_by_label("bad", exact=True).check()
        page.locator("#my-rate-send").click()
        expect(page.locator("#my-rate-note")).to_contain_text("You rated it bad")
        expect(page.locator("#my-rate-comment textarea")).to_have_value("Fixed within the hour, thanks.")
        watch.settle()
        assert watch.failures() == []
    assert ui_server.tracebacks() == []


def test_chat_voice_admin_in_a_browser(ui_server: Served, tmp_path: Path) -> None:
    note = tmp_path / "ui-test-note.md"
    note.write_text("# Badge printer\n\nThe badge printer in reception needs card stock type B7.\n", encoding="utf-8")
    base = ui_server.base
    with browser_page(base) as (page, watch):
        sign_in(page, base, "admin")

        for name in ("Chat", "Voice", "Admin"):
            expect(page.get_by_role("tab", name=name, exact=True)).to_be_visible()

        # Chat: a question gets an answer from the offline agent.
        page.locator("#chat-input textarea").fill("How do I reset my VPN password?")
        page.locator("#chat-send").click()
        expect(page.locator("#chat-log [data-testid=user]")).to_contain_text("reset my VPN password")
        answer = page.locator("#chat-log [data-testid=bot]").first
        expect(answer).to_be_visible(timeout=AGENT_MS)
        assert answer.inner_text().strip()

        # Voice: a placeholder, not a fake.
        page.get_by_role("tab", name="Voice", exact=True).click()
        expect(page.locator("#voice-help")).to_contain_text("Talk to the support desk")

        # Admin › Knowledge: upload a Markdown file and see it ingested and listed.
        page.get_by_role("tab", name="Admin", exact=True).click()
        page.get_by_role("tab", name="Knowledge", exact=True).click()
        page.locator("#kb-upload input[type=file]").set_input_files(str(note))
        expect(page.locator("#kb-upload")).to_contain_text("ui-test-note.md")
        page.locator("#kb-ingest").click()
        results = page.locator("#kb-results")
        expect(results).to_contain_text("ui-test-note.md", timeout=AGENT_MS)
        expect(results).to_contain_text("queued")  # ingestion runs in the background; the table follows it
        expect(page.locator("#docs-table")).to_contain_text("ui-test-note.md")
        expect(page.locator("#docs-table")).to_contain_text("Badge printer", timeout=AGENT_MS)
        expect(page.locator("#docs-table")).to_contain_text("ready", timeout=AGENT_MS)
        # Picking its row opens it; Delete asks (on the server) for confirmation, then it is gone.
        page.locator("#docs-table").get_by_text("ui-test-note.md").locator("visible=true").first.click()
        expect(page.locator("#doc-detail")).to_contain_text("Badge printer")
        page.locator("#doc-delete").click()
        expect(page.locator("#doc-confirm")).to_contain_text("Delete document")
        page.locator("#doc-confirm-delete").click()
        expect(page.locator("#docs-table")).not_to_contain_text("ui-test-note.md")
        expect(page.get_by_text("Deleted document").first).to_be_visible()

        # Admin › Ticket queue: the demo tickets are listed; clicking one opens it.
        page.get_by_role("tab", name="Ticket queue", exact=True).click()
        queue = page.locator("#tq-table")
        expect(queue).to_contain_text("TCK-")
        expect(page.locator("#tq-summary")).to_contain_text(re.compile(r"Tickets 1–\d+ of \d+"))
        queue.get_by_text("TCK-").locator("visible=true").first.click()
        expect(page.locator("#tq-detail h3")).to_contain_text("TCK-")
        watch.settle()
        assert watch.failures() == [], "nothing so far may have gone wrong"

        # A tool's error reaches the person as a message, not a traceback.
        page.locator("#tq-number textarea, #tq-number input").first.fill("TCK-999999")
        page.locator("#tq-open").click()
        expect(page.get_by_text("does not exist").first).to_be_visible()
        assert "Traceback" not in page.content()

        shot = os.environ.get("SUPPORT_UI_SCREENSHOT")
        if shot:
            page.screenshot(path=shot, full_page=True)
    assert ui_server.tracebacks() == []


def _session_headers(base: str, username: str) -> dict[str, str]:
    """Headers of a signed-in browser session, for driving the Gradio API directly as a script would."""
    import httpx

    with httpx.Client(base_url=base, timeout=60) as http:
        form = re.search(r'name="form_token" value="([^"]+)"', http.get("/signin").text)
        assert form, "the sign-in page has no form token"
        done = http.post(
            "/signin",
            data={"form_token": form.group(1), "identifier": username, "password": password_of(username)},
        )
        assert done.status_code == 303, done.text
        token = http.cookies.get(SESSION_COOKIE)
    assert token
    return {"Cookie": f"{SESSION_COOKIE}={token}", "Origin": base}


def _document_ids(client: Any) -> list[int]:
    table, _line = client.predict("", api_name="/refresh_docs")
    return [int(row[0]) for row in table["data"]]


def test_the_delete_endpoint_alone_deletes_nothing(ui_server: Served) -> None:
    """Driving the Gradio API directly, as a script would: Delete only asks; the same session must confirm."""
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    client = Client(f"{ui_server.base}/", verbose=False, headers=_session_headers(ui_server.base, "admin"))
    before = _document_ids(client)
    assert before, "the demo desk has documents"
    target = before[0]
    question = client.predict(str(target), api_name="/document_delete_request")
    assert f"Delete document {target}" in str(question)
    assert _document_ids(client) == before

    # Another session cannot answer this session's question, and confirming with no question fails.
    stranger = Client(f"{ui_server.base}/", verbose=False, headers=_session_headers(ui_server.base, "admin"))
    with pytest.raises(AppError, match="nothing to confirm"):
        stranger.predict("", api_name="/document_delete_confirm")
    assert _document_ids(client) == before

    client.predict("", api_name="/document_delete_confirm")
    assert _document_ids(client) == [d for d in before if d != target]
    assert ui_server.tracebacks() == []


def test_new_conversation_label_fits_a_narrow_window(ui_server: Served, tmp_path: Path) -> None:
    shot = Path(os.environ.get("SUPPORT_UI_NARROW_SCREENSHOT") or tmp_path / "narrow.png")
    with browser_page(ui_server.base, width=420, height=800) as (page, watch):
        sign_in(page, ui_server.base, "alice")
        button = page.locator("#chat-new")
        expect(button).to_be_visible()
        watch.settle()
        page.screenshot(path=str(shot), full_page=True)
        overflow = button.evaluate("b => [b.scrollWidth, b.clientWidth]")
        box = button.bounding_box()
    assert overflow[0] <= overflow[1], f"'New conversation' overflows its button: {overflow} (see {shot})"
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 420


def _create_ticket_over_mcp(served: Served, subject: str) -> None:
    """A change made while the page is open (here by an MCP client; the chat agent changes tickets the same way)."""
    import asyncio
    import threading

    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    async def create() -> None:
        http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {served.token}"}, timeout=60)
        async with http, Client(streamable_http_client(f"{served.base}/mcp", http_client=http)) as client:
            result = await client.call_tool("ticket_create", {"subject": subject, "description": "Made mid-test."})
            assert not result.is_error, result

    # Playwright's sync API owns this thread's event loop; the MCP client gets its own thread.
    errors: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(create())
        except BaseException as exc:
            errors.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(timeout=STEP_MS / 1000)
    assert not worker.is_alive() and not errors, errors


def test_ticket_queue_shows_changes_when_opened_again(ui_server: Served) -> None:
    with browser_page(ui_server.base) as (page, watch):
        sign_in(page, ui_server.base, "admin")
        page.get_by_role("tab", name="Admin", exact=True).click()
        page.get_by_role("tab", name="Ticket queue", exact=True).click()
        expect(page.locator("#tq-table")).to_contain_text("TCK-")
        _create_ticket_over_mcp(ui_server, "Badge reader at door 4 beeps twice")
        # Back to the queue from another tab, and from the parent tab: it shows the new ticket.
        page.get_by_role("tab", name="Knowledge", exact=True).click()
        page.get_by_role("tab", name="Ticket queue", exact=True).click()
        expect(page.locator("#tq-table")).to_contain_text("Badge reader at door 4")
        _create_ticket_over_mcp(ui_server, "Lift 2 display shows error E17")
        page.get_by_role("tab", name="Chat", exact=True).click()
        page.get_by_role("tab", name="Admin", exact=True).click()
        expect(page.locator("#tq-table")).to_contain_text("Lift 2 display")
        watch.settle()
        assert watch.failures() == []
    assert ui_server.tracebacks() == []


def test_a_failed_create_marks_the_form_not_the_open_article(ui_server: Served) -> None:
    with browser_page(ui_server.base) as (page, watch):
        sign_in(page, ui_server.base, "admin")
        page.get_by_role("tab", name="Admin", exact=True).click()
        page.get_by_role("tab", name="Articles", exact=True).click()
        hits = page.locator("#kb-hits")
        expect(hits).to_contain_text("revision")
        hits.get_by_text("revision").locator("visible=true").first.click()
        expect(page.locator("#kb-article h1, #kb-article h2, #kb-article h3").first).to_be_visible()
        page.locator("#kb-new").get_by_text("New article").click()
        page.locator("#kb-new-body textarea").fill("A body without a title.")
        page.locator("#kb-create").click()
        expect(page.locator("[data-testid=toast-body].error").first).to_contain_text("title")
        watch.settle()
        badge = "[data-testid=status-tracker] span.error"
        assert page.locator(f"#kb-article {badge}").locator("visible=true").count() == 0, (
            "the open article got the error"
        )
        expect(page.locator(f"#kb-new-title {badge}").first).to_be_visible()
