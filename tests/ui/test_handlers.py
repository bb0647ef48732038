"""The UI's handlers against a real desk (SQLite and PostgreSQL): what each tab shows and how errors read."""

from __future__ import annotations

import asyncio
from pathlib import Path

import gradio as gr
import pytest
from pydantic import ValidationError

from agent.reply import AgentReply, Citation, Handoff
from tests.conftest import MakeUser
from tests.ticket_helpers import new_ticket
from tools.actor import Actor
from tools.desk import Desk, DeskRef
from tools.errors import ForbiddenError, InvalidInputError, NotFoundError, UnavailableError
from ui import confirm
from ui.admin_articles import article_markdown, create_article, search_articles
from ui.admin_knowledge import confirm_delete, document_markdown, documents_table, ingest_uploads, request_delete
from ui.admin_tickets import QueueFilter, queue_page, queue_table, ticket_detail_markdown
from ui.chat import reply_markdown
from ui.context import SignedIn, UIContext
from ui.errors import as_gradio_error, shown

GUIDE = "# Printer guide\n\n## Paper jams\n\nOpen tray 2, remove the jammed sheet and close the tray firmly.\n"


def _write(tmp_path: Path, name: str, body: str) -> str:
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    return str(path)


async def test_uploads_report_added_duplicate_and_failed_with_progress(ui: SignedIn, tmp_path: Path) -> None:
    # Two uploads of the same bytes under the same name, as Gradio stores them: one folder per upload.
    first = _write(tmp_path / "a", "printer-guide.md", GUIDE)
    again = _write(tmp_path / "b", "printer-guide.md", GUIDE)
    empty = _write(tmp_path, "empty.txt", "")
    seen: list[tuple[float, str]] = []

    outcomes = await ingest_uploads(ui, [first, again, empty], lambda f, m: seen.append((f, m)))

    assert [(o.file, o.outcome) for o in outcomes] == [
        ("printer-guide.md", "added"),
        ("printer-guide.md", "duplicate"),
        ("empty.txt", "failed"),
    ]
    assert outcomes[0].document_id and outcomes[0].chunks
    assert outcomes[1].document_id == outcomes[0].document_id
    assert "empty" in outcomes[2].detail
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert any("printer-guide.md (1/3)" in m for _, m in seen)

    docs, line = await documents_table(ui)
    # The empty file was refused before parsing, so it left no document behind.
    assert dict(zip(docs["File"], docs["Status"], strict=True)) == {"printer-guide.md": "ready"}
    assert "Printer guide" in set(docs["Title"])
    assert line == "Showing 1 document(s)."
    detail = await document_markdown(ui, int(outcomes[0].document_id or 0))
    assert "Printer guide" in detail and "Paper jams" in detail


async def test_a_changed_file_of_the_same_name_replaces_the_old_version(ui: SignedIn, tmp_path: Path) -> None:
    old = await ingest_uploads(ui, [_write(tmp_path / "v1", "guide.md", GUIDE)])
    new = await ingest_uploads(ui, [_write(tmp_path / "v2", "guide.md", GUIDE + "\nAlso check the toner.\n")])
    assert new[0].outcome == "replaced"
    assert str(old[0].document_id) in new[0].detail
    docs, _ = await documents_table(ui)
    assert list(docs["ID"]) == [new[0].document_id]


async def test_uploads_need_an_admin(desk: Desk, ui: SignedIn, make_user: MakeUser, tmp_path: Path) -> None:
    tech = ui.ui.as_actor(await make_user("tess", "technician"))
    with pytest.raises(ForbiddenError, match="document ingest"):
        await ingest_uploads(tech, [_write(tmp_path, "x.md", GUIDE)])


async def test_articles_create_search_open(ui: SignedIn) -> None:
    created = await create_article(
        ui, "Reset a VPN password", "Go to https://vpn.example.com/reset.", "vpn, Access", ""
    )
    assert created.tags == ["vpn", "access"]
    hits = await search_articles(ui, "VPN password")
    assert list(hits["ID"]) == [created.id]
    # What the tab runs on page load, before anyone typed: the newest articles.
    assert list((await search_articles(ui, None))["ID"]) == [created.id]
    page = await article_markdown(ui, created.id)
    assert page.startswith("# Reset a VPN password") and "vpn.example.com/reset" in page
    with pytest.raises(ValidationError):
        await create_article(ui, "   ", "body", "", "")
    with pytest.raises(NotFoundError):
        await article_markdown(ui, 999)


async def test_ticket_queue_filters_and_detail(ui: SignedIn, admin: Actor) -> None:
    low = await new_ticket(ui.desk(), admin, "Mouse is sticky", priority="low")
    high = await new_ticket(ui.desk(), admin, "Mail server down", priority="critical")
    everything = await queue_page(ui, QueueFilter())
    assert everything.total == 2
    assert list(queue_table(everything)["Number"]) == [high.number, low.number]  # soonest SLA due first
    critical = await queue_page(ui, QueueFilter(priority=["critical"]))
    assert [t.number for t in critical.items] == [high.number]
    assert (await queue_page(ui, QueueFilter(breached=True))).total == 0
    assert [t.number for t in (await queue_page(ui, QueueFilter(text="mouse"))).items] == [low.number]
    detail = await ticket_detail_markdown(ui, high.number)
    assert f"### {high.number}: Mail server down" in detail and "critical priority" in detail
    with pytest.raises(NotFoundError):
        await ticket_detail_markdown(ui, "TCK-999999")


async def test_the_queue_says_which_target_was_missed(ui: SignedIn, admin: Actor) -> None:
    """ "SLA due" is the resolution target; a missed first response beside it is named, not a bare "yes"."""
    desk = ui.desk()
    t = await new_ticket(desk, admin, "Scanner on floor 2 is offline", priority="low")
    assert list(queue_table(await queue_page(ui, QueueFilter()))["Breached"]) == [""]
    desk.clock.advance(hours=desk.settings.sla_hours("low") / 2)  # type: ignore[attr-defined]
    assert list(queue_table(await queue_page(ui, QueueFilter()))["Breached"]) == ["first response"]
    desk.clock.advance(hours=desk.settings.sla_hours("low"))  # type: ignore[attr-defined]
    page = await queue_page(ui, QueueFilter(breached=True))
    assert [x.number for x in page.items] == [t.number]
    assert list(queue_table(page)["Breached"]) == ["first response, resolution"]


async def test_chat_turn_with_the_offline_agent(ui: SignedIn) -> None:
    await create_article(
        ui,
        "Reset your VPN password",
        "If the VPN rejects your password, reset it at https://vpn.example.com/reset.",
        "",
        "",
    )
    agent = await ui.agent()
    assert agent is await ui.agent()  # one agent per process
    reply = await agent.ask("How do I reset my VPN password?", actor=(await ui.actor()).username)
    shown_text = reply_markdown(reply)
    assert "vpn.example.com/reset" in shown_text
    assert "Confidence" in shown_text


def test_reply_markdown_lists_sources_confidence_and_tickets() -> None:
    reply = AgentReply(
        reply="Restart the spooler.",
        conversation_id="c1",
        citations=[Citation(source="kb", id="3", title="Printing", citation="KB #3: Printing")],
        confidence=0.82,
        actions=["TCK-000007"],
        handoff=Handoff(ticket="TCK-000007", reason="missing_knowledge", summary="..."),
    )
    text = reply_markdown(reply)
    assert text.splitlines()[0] == "Restart the spooler."
    assert "**Sources**\n1. KB #3: Printing" in text
    assert "Confidence 82%" in text and "Tickets: **TCK-000007**" in text
    assert "Handed to a technician on TCK-000007 (missing knowledge)" in text
    # When the answer already lists its sources, they are not repeated.
    listed = reply.model_copy(update={"reply": "Do X [1].\n\nSources:\n[1] KB #3: Printing"})
    assert "**Sources**" not in reply_markdown(listed)


async def test_errors_reach_the_person_as_messages_not_tracebacks() -> None:
    @shown
    async def refuse() -> None:
        raise ForbiddenError("deleting <documents> needs 'admin'")

    with pytest.raises(gr.Error) as caught:
        await refuse()
    assert caught.value.title == "Not allowed"
    assert caught.value.message == "deleting &lt;documents&gt; needs &#x27;admin&#x27;"

    @shown
    async def crash() -> None:
        raise RuntimeError("secret internals")

    with pytest.raises(gr.Error) as crashed:
        await crash()
    assert "secret" not in crashed.value.message and "log" in crashed.value.message

    assert as_gradio_error(UnavailableError("later")).title == "Unavailable"


async def test_before_the_desk_is_open_the_ui_says_so(ui: SignedIn) -> None:
    closed = UIContext(settings=ui.ui.settings, ref=DeskRef())
    with pytest.raises(UnavailableError, match="not open yet"):
        await documents_table(closed.as_actor(ui.person))


async def test_deleting_a_document_needs_a_confirmation_held_by_the_server(
    ui: SignedIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    [added] = await ingest_uploads(ui, [_write(tmp_path, "guide.md", GUIDE)])
    doc_id = int(added.document_id or 0)

    async def listed() -> set[int]:
        return set((await documents_table(ui))[0]["ID"])

    # Confirming what was never asked deletes nothing (a direct call of the confirming endpoint).
    with pytest.raises(InvalidInputError, match="nothing to confirm"):
        await confirm_delete(ui, None)
    asked = await request_delete(ui, doc_id)
    assert asked.target == doc_id and "guide.md" in asked.question
    assert await listed() == {doc_id}, "asking must not delete"
    # A question answered too late is refused too.
    late = confirm.Pending(asked.action, asked.target, asked.question, expires_at=asked.expires_at - 10_000)
    with pytest.raises(InvalidInputError, match="expired"):
        await confirm_delete(ui, late)
    assert await listed() == {doc_id}
    gone = await confirm_delete(ui, asked)
    assert gone.id == doc_id and await listed() == set()
    with pytest.raises(NotFoundError):
        await request_delete(ui, doc_id)


async def test_uploads_without_waiting_are_queued_and_the_table_follows_the_job(ui: SignedIn, tmp_path: Path) -> None:
    from tools.ingest_runner import ingest_worker

    [queued] = await ingest_uploads(ui, [_write(tmp_path, "printer-guide.md", GUIDE)], wait=False)
    assert queued.outcome == "queued" and queued.document_id and "job " in queued.detail
    docs, _ = await documents_table(ui)
    assert list(docs["Status"]) == ["processing: queued"]
    async with ingest_worker(ui.desk()), asyncio.timeout(60):
        while list((await documents_table(ui))[0]["Status"]) != ["ready"]:  # noqa: ASYNC110
            await asyncio.sleep(0.05)  # the job runs in the worker; its state is in the database
