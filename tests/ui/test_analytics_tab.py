"""Admin › Analytics: the handlers give every chart its rows (and CSV), and the tab works in headless Chromium."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import tempfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.conftest import MakeUser
from tests.servers import BIN, desk_env, free_port, running
from tests.ticket_helpers import new_ticket
from tests.ui.test_browser import ADMIN_PASSWORD, CHROMIUM, CHROMIUM_ARGS, STEP_MS, browser_page, sign_in
from tools.actor import Actor
from tools.errors import ForbiddenError, InvalidInputError
from tools.teams import team_create, team_member_add
from tools.ticket_models import TicketUpdate
from tools.tickets import ticket_update
from ui.admin_analytics import CHARTS, agent_tickets, figures, whose_choices, write_csv
from ui.context import UIContext


async def test_figures_feed_every_chart_and_its_csv(ui: UIContext, admin: Actor) -> None:
    desk = ui.desk()
    day = desk.clock().date()
    a = await new_ticket(desk, admin, "VPN", priority="high", assignee="admin")
    await new_ticket(desk, admin, "Mouse", priority="low")
    await ticket_update(desk, admin, a.number, TicketUpdate(version=a.version, status="resolved"))
    result = await figures(ui, (day - timedelta(days=1)).isoformat(), day.isoformat(), "day", "calendar")
    assert set(result.frames) == set(CHARTS)
    volume = result.frames["volume"]
    assert dict(zip(volume["series"], volume["tickets"], strict=True)) == {"created": 2, "solved": 1, "backlog": 1}
    assert list(result.frames["agents"]["Agent"]) == ["(unassigned)", "admin"]
    path = write_csv("volume", volume)
    assert len(list(csv.DictReader(io.StringIO(Path(path).read_text(encoding="utf-8"))))) == 3  # noqa: ASYNC240
    tickets = await agent_tickets(ui, "admin")
    assert list(tickets["Number"]) == [a.number]


async def test_a_technician_sees_only_their_own_numbers(ui: UIContext, admin: Actor, make_user: MakeUser) -> None:
    desk = ui.desk()
    day = desk.clock().date()
    tess = await make_user("tess", "technician")
    mine = await new_ticket(desk, admin, "VPN", priority="high", assignee="tess")
    await new_ticket(desk, admin, "Mouse", priority="low", assignee="admin")
    await new_ticket(desk, admin, "Dock", priority="low")
    await ticket_update(desk, admin, mine.number, TicketUpdate(version=mine.version, status="resolved"))
    result = await figures(ui.ui.as_actor(tess), day.isoformat(), day.isoformat(), "day", "calendar")
    assert "Your own tickets only" in result.note
    volume = result.frames["volume"]
    assert dict(zip(volume["series"], volume["tickets"], strict=True)) == {"created": 1, "solved": 1, "backlog": 0}
    assert list(result.frames["agents"]["Agent"]) == ["tess"]
    assert list(result.frames["sla"]["priority"].unique()) == ["high"]
    # The agent's and the knowledge figures are the whole desk's: a technician gets none of them.
    assert result.frames["handoffs"].empty and result.frames["zero"].empty
    # Blank charts are named in the note; the ones a technician is not shown are not called empty.
    assert result.note.endswith("Nothing in this period yet: satisfaction ratings.")


async def test_a_technician_switches_between_their_own_and_their_teams_numbers(
    ui: UIContext, admin: Actor, make_user: MakeUser
) -> None:
    desk = ui.desk()
    day = desk.clock().date().isoformat()
    tess = await make_user("tess", "technician")
    lone = await make_user("lone", "technician")
    await make_user("priya", "technician")
    await team_create(desk, admin, name="Network")
    await team_create(desk, admin, name="Other")
    for member in ("tess", "priya"):
        await team_member_add(desk, admin, "Network", member)
    for assignee in ("tess", "priya", "admin"):
        await new_ticket(desk, admin, f"Ticket of {assignee}", assignee=assignee)
    as_tess = ui.ui.as_actor(tess)
    assert await whose_choices(as_tess) == ["My tickets", "My team"]
    mine = await figures(as_tess, day, day, "day", "calendar", "My tickets")
    assert list(mine.frames["agents"]["Agent"]) == ["tess"] and "Your own tickets only" in mine.note
    team = await figures(as_tess, day, day, "day", "calendar", "My team")
    assert list(team.frames["agents"]["Agent"]) == ["priya", "tess"]
    assert "The tickets of team Network." in team.note
    assert team.frames["handoffs"].empty  # still the whole desk's: not a technician's
    with pytest.raises(ForbiddenError, match="not a member of team"):
        await figures(as_tess, day, day, "day", "calendar", "Team: Other")
    with pytest.raises(InvalidInputError, match="belongs to no team"):
        await figures(ui.ui.as_actor(lone), day, day, "day", "calendar", "My team")
    # A manager picks every ticket or one team's.
    assert await whose_choices(ui) == ["All tickets", "Team: Network", "Team: Other"]
    network = await figures(ui, day, day, "day", "calendar", "Team: Network")
    assert list(network.frames["agents"]["Agent"]) == ["priya", "tess"]


CI_OR_BROWSER = pytest.mark.skipif(
    not CHROMIUM.exists() and not os.environ.get("CI"), reason="Debian chromium is not installed at /usr/bin/chromium"
)


@pytest.fixture(scope="module")
def analytics_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    tmp = tmp_path_factory.mktemp("ui-analytics")
    env = desk_env(
        tmp / "data", SUPPORT_LLM="offline", GRADIO_ANALYTICS_ENABLED="False", SUPPORT_ADMIN_PASSWORD=ADMIN_PASSWORD
    )
    subprocess.run([str(BIN), "demo", "load"], env=env, check=True, timeout=300, capture_output=True)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with running(
        [str(BIN), "serve", "--port", str(port)],
        ready_url=f"{base}/health",
        log_path=tmp / "serve.log",
        env=env,
        timeout=90,
    ):
        yield base, tmp / "serve.log"


@CI_OR_BROWSER
def test_analytics_tab_in_a_browser(analytics_server: tuple[str, Path]) -> None:
    base, log = analytics_server
    with sync_playwright() as pw, tempfile.TemporaryDirectory() as profile:
        browser = pw.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": 1280, "height": 1600},
            accept_downloads=True,
        )
        try:
            page = browser.new_page()
            page.set_default_timeout(STEP_MS)
            sign_in(page, base, "maria.manager")
            page.get_by_role("tab", name="Admin", exact=True).click()
            page.get_by_role("tab", name="Analytics", exact=True).click()
            expect(page.locator("#an-note")).to_contain_text("by day")
            for chart in ("volume", "sla", "times", "categories"):
                # Gradio's plots draw with Vega: a rendered chart has its canvas or SVG marks.
                expect(page.locator(f"#an-{chart} canvas, #an-{chart} svg").first).to_be_visible()
            expect(page.locator("#an-agents")).to_contain_text("Agent")
            with page.expect_download() as info:
                page.locator("#an-volume-csv").click()
            with open(info.value.path(), encoding="utf-8") as fh:
                rows = list(csv.DictReader(fh))
            assert rows and set(rows[0]) == {"bucket", "series", "tickets"}
            assert {r["series"] for r in rows} == {"created", "solved", "backlog"}
            # A row of the per-agent table opens that agent's tickets.
            page.locator("#an-agents [data-testid='cell-0-0']").click()
            expect(page.locator("#an-agent-tickets")).to_contain_text("TCK-")
            # No error toast from this tab: none names an analytics failure, and the server logged none.
            toasts = " ".join(page.locator("[data-testid='toast-body']").all_inner_texts())
            assert "Invalid input" not in toasts and "Not allowed" not in toasts, toasts
            server_log = log.read_text(encoding="utf-8", errors="replace")
            assert "admin_analytics.py" not in server_log and "tools/analytics" not in server_log
            assert "Traceback" not in page.content()
            # A technician's tab: the same charts over their own tickets, nobody else's row.
            page.locator("#signout").click()
            sign_in(page, base, "tom.tech")
            page.get_by_role("tab", name="Admin", exact=True).click()
            page.get_by_role("tab", name="Analytics", exact=True).click()
            expect(page.locator("#an-note")).to_contain_text("Your own tickets only")
            for chart in ("volume", "sla", "times"):
                expect(page.locator(f"#an-{chart} canvas, #an-{chart} svg").first).to_be_visible()
            expect(page.locator("#an-agents [data-testid='cell-0-0']")).to_contain_text("tom.tech")
            expect(page.locator("#an-agents [data-testid='cell-1-0']")).to_have_count(0)
            with page.expect_download() as info:
                page.locator("#an-agents-csv").click()
            with open(info.value.path(), encoding="utf-8") as fh:
                assert [r["Agent"] for r in csv.DictReader(fh)] == ["tom.tech"]
            # "My team": the tickets of his team Service Desk (tom.tech and priya.tech), charts and CSV alike.
            page.locator("#an-whose").get_by_label("My team", exact=True).check()
            expect(page.locator("#an-note")).to_contain_text("The tickets of team Service Desk")
            agents = page.locator("#an-agents")
            expect(agents).to_contain_text("priya.tech")
            expect(agents).to_contain_text("tom.tech")
            expect(page.locator("#an-volume canvas, #an-volume svg").first).to_be_visible()
            with page.expect_download() as info:
                page.locator("#an-agents-csv").click()
            with open(info.value.path(), encoding="utf-8") as fh:
                assert sorted(r["Agent"] for r in csv.DictReader(fh)) == ["priya.tech", "tom.tech"]
            toasts = " ".join(page.locator("[data-testid='toast-body']").all_inner_texts())
            assert "Invalid input" not in toasts and "Not allowed" not in toasts, toasts
            assert "Traceback" not in log.read_text(encoding="utf-8", errors="replace")
            shot = os.environ.get("SUPPORT_UI_SCREENSHOT")
            if shot:
                page.screenshot(path=shot, full_page=True)
        finally:
            browser.close()


@CI_OR_BROWSER
def test_an_admin_creates_a_team_and_puts_a_technician_in_it(analytics_server: tuple[str, Path]) -> None:
    base, log = analytics_server
    with browser_page(base, height=1400) as (page, watch):
        sign_in(page, base, "admin")
        page.get_by_role("tab", name="Admin", exact=True).click()
        page.get_by_role("tab", name="Users and tokens", exact=True).click()
        people = page.locator("#people-table")
        expect(people).to_contain_text("Service Desk")  # the demo desk's teams, in the Teams column
        page.locator("#people-teams-box").get_by_text("Teams").first.click()
        expect(page.locator("#teams-table")).to_contain_text("Workplace & Devices")
        page.locator("#team-name textarea, #team-name input").first.fill("Night Shift")
        page.locator("#team-create").click()
        expect(page.locator("#teams-table")).to_contain_text("Night Shift")
        # Pick tom.tech's row: his teams fill the picker; add Night Shift and save.
        people.get_by_text("tom.tech", exact=True).locator("visible=true").first.click()
        picker = page.locator("#people-teams")
        expect(picker).to_contain_text("Service Desk")
        picker.locator("input").click()
        page.get_by_role("option", name="Night Shift", exact=True).click()
        page.locator("#people-save").click()
        expect(
            page.get_by_text("tom.tech is now technician, active, in Night Shift, Service Desk").first
        ).to_be_visible()
        expect(page.locator("#teams-table")).to_contain_text("tom.tech")
        assert "Traceback" not in log.read_text(encoding="utf-8", errors="replace")
        watch.settle()
        assert watch.failures() == [], "the Users tab reported a problem"
