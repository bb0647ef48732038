"""Ticket behaviour through tools/: lifecycle, transitions, listing, permissions, audit, work records, suggestions."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from tests.conftest import FakeClock, MakeUser
from tests.search_fakes import FakeSearch, hit
from tests.ticket_helpers import audit_events, new_article, new_ticket
from tools.actor import Actor
from tools.desk import Desk
from tools.errors import ConflictError, ForbiddenError, InvalidInputError, NotFoundError
from tools.sla import STATUSES, TRANSITIONS
from tools.suggest import suggest, ticket_suggest
from tools.ticket_activity import ticket_add_resolution_step, ticket_comment, ticket_link_kb, ticket_set_root_cause
from tools.ticket_models import TicketCreate, TicketPublic, TicketUpdate
from tools.ticket_query import ticket_list
from tools.tickets import ticket_escalate, ticket_get, ticket_update
from tools.users import category_upsert


async def _set(desk: Desk, actor: Actor, t: TicketPublic, **changes: Any) -> TicketPublic:
    return await ticket_update(desk, actor, t.id, TicketUpdate(version=t.version, **changes))


# --- create ------------------------------------------------------------------------------------------------


async def test_create_assigns_number_and_normalises(desk: Desk, admin: Actor, make_user: MakeUser) -> None:
    await category_upsert(desk, admin, name="Hardware")
    alice = await make_user("alice")
    t = await new_ticket(
        desk,
        alice,
        subject="  Laptop will not boot  ",
        category="hardware",
        priority="high",
        tags=["Laptop", "boot  issue", "laptop"],
        contact_phone="+44 20 7946 0000",
        contact_email="alice@example.com",
        preferred_contact="phone",
        affected_system="ThinkPad T14",
        business_impact="Cannot work",
        steps_taken="Held the power button",
        error_message="No bootable device",
        channel="chat",
    )
    assert t.number == f"TCK-{t.id:06d}"
    assert t.subject == "Laptop will not boot"
    assert (t.requester, t.category, t.status, t.version) == ("alice", "Hardware", "new", 1)
    assert t.tags == ["laptop", "boot-issue"]
    assert t.channel == "chat" and t.preferred_contact == "phone" and t.error_message == "No bootable device"
    second = await new_ticket(desk, alice)
    assert second.number == f"TCK-{second.id:06d}" and second.id > t.id
    event, _ = await audit_events(desk, "ticket.create")
    assert event.actor_id == alice.user_id and event.target_id == str(t.id)
    assert event.after is not None and event.after["number"] == t.number


async def test_create_rejects_bad_input(desk: Desk, admin: Actor) -> None:
    with pytest.raises(ValidationError, match="at most 200 characters"):
        TicketCreate(subject="x" * 201, description="d")
    with pytest.raises(ValidationError, match="priority"):
        TicketCreate(subject="s", description="d", priority="urgent")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="tag"):
        TicketCreate(subject="s", description="d", tags=["no/slashes"])
    with pytest.raises(NotFoundError, match="category 'Nope' does not exist; use one of: 'Network'"):
        await category_upsert(desk, admin, name="Network")
        await new_ticket(desk, admin, category="Nope")


async def test_requester_defaults_to_caller_and_only_staff_create_for_others(desk: Desk, make_user: MakeUser) -> None:
    alice = await make_user("alice")
    bob = await make_user("bob")
    tech = await make_user("tech", "technician")
    with pytest.raises(ForbiddenError, match="only for themselves"):
        await new_ticket(desk, alice, requester="bob")
    assert (await new_ticket(desk, alice, requester="alice")).requester == "alice"
    on_behalf = await new_ticket(desk, tech, requester="bob", assignee="tech")
    assert (on_behalf.requester, on_behalf.assignee) == ("bob", "tech")
    assert (await ticket_get(desk, bob, on_behalf.number)).ticket.id == on_behalf.id
    with pytest.raises(ForbiddenError, match="assigning tickets"):
        await new_ticket(desk, alice, assignee="tech")
    with pytest.raises(NotFoundError, match="requester 'ghost' does not exist"):
        await new_ticket(desk, tech, requester="ghost")


# --- status machine ------------------------------------------------------------------------------------------


_PATH = {"new": [], "open": ["open"], "in_progress": ["in_progress"], "pending": ["pending"]}
_PATH |= {"resolved": ["resolved"], "closed": ["closed"]}


async def test_every_transition_follows_the_table(desk: Desk, admin: Actor) -> None:
    for source in STATUSES:
        for target in STATUSES:
            if source == target:
                continue
            t = await new_ticket(desk, admin, subject=f"{source} to {target}")
            for step in _PATH[source]:
                t = await _set(desk, admin, t, status=step)
            if target in TRANSITIONS[source]:
                t = await _set(desk, admin, t, status=target)
                assert t.status == target
            else:
                with pytest.raises(InvalidInputError) as err:
                    await _set(desk, admin, t, status=target)
                allowed = ", ".join(TRANSITIONS[source])
                assert f"cannot go from {source!r} to {target!r}; allowed from {source!r}: {allowed}" in str(err.value)


async def test_resolve_close_and_reopen_timestamps(desk: Desk, admin: Actor, clock: FakeClock) -> None:
    t = await new_ticket(desk, admin)
    clock.advance(hours=1)
    t = await _set(desk, admin, t, status="resolved")
    assert t.resolved_at == clock.now and t.closed_at is None
    clock.advance(hours=1)
    t = await _set(desk, admin, t, status="closed")
    assert t.closed_at == clock.now and t.resolved_at == clock.now - timedelta(hours=1)
    t = await _set(desk, admin, t, status="open")
    assert t.resolved_at is None and t.closed_at is None
    t = await _set(desk, admin, t, status="closed")  # closing directly also sets resolved_at
    assert t.resolved_at == t.closed_at == clock.now


async def test_same_status_is_a_no_op(desk: Desk, admin: Actor) -> None:
    t = await new_ticket(desk, admin)
    same = await _set(desk, admin, t, status="new")
    assert same.version == t.version
    assert await audit_events(desk, "ticket.update") == []


# --- update ----------------------------------------------------------------------------------------------------


async def test_update_records_before_and_after_of_changed_fields(desk: Desk, admin: Actor, make_user: MakeUser) -> None:
    await category_upsert(desk, admin, name="Software")
    await make_user("tech", "technician")
    t = await new_ticket(desk, admin, priority="low")
    t2 = await _set(desk, admin, t, priority="high", assignee="tech", category="Software", subject=t.subject)
    assert (t2.priority, t2.assignee, t2.category, t2.version) == ("high", "tech", "Software", t.version + 1)
    [event] = await audit_events(desk, "ticket.update")
    assert event.before is not None and event.after is not None
    assert set(event.after) == {"priority", "assignee", "category", "sla_due_at", "first_response_due_at", "version"}
    assert (event.before["assignee"], event.after["assignee"]) == (None, "tech")
    assert (event.before["priority"], event.after["priority"]) == ("low", "high")
    cleared = await _set(desk, admin, t2, assignee="unassigned", category=None)
    assert cleared.assignee is None and cleared.category is None


async def test_update_errors_say_what_to_fix(desk: Desk, admin: Actor, make_user: MakeUser) -> None:
    await make_user("alice")
    t = await new_ticket(desk, admin)
    with pytest.raises(InvalidInputError, match="nothing to change"):
        await ticket_update(desk, admin, t.id, TicketUpdate(version=t.version))
    with pytest.raises(InvalidInputError, match="'alice' is an end user; assign an active technician"):
        await _set(desk, admin, t, assignee="alice")
    with pytest.raises(NotFoundError, match="assignee 'ghost' does not exist"):
        await _set(desk, admin, t, assignee="ghost")
    with pytest.raises(InvalidInputError, match="subject cannot be empty"):
        await _set(desk, admin, t, subject=None)
    t = await _set(desk, admin, t, description="more detail")
    with pytest.raises(ConflictError, match=rf"{t.number} is at version 2, you sent 1; read it again with ticket_get"):
        await ticket_update(desk, admin, t.id, TicketUpdate(version=1, description="stale"))
    assert (await ticket_get(desk, admin, t.id)).ticket.description == "more detail"


async def test_ticket_refs_by_id_and_number(desk: Desk, admin: Actor) -> None:
    t = await new_ticket(desk, admin)
    for ref in (t.id, str(t.id), t.number, t.number.lower(), f"TCK-{t.id}"):
        assert (await ticket_get(desk, admin, ref)).ticket.id == t.id
    for ref in (999_999, "TCK-999999", "printer"):
        with pytest.raises(NotFoundError, match="does not exist"):
            await ticket_get(desk, admin, ref)


# --- permissions -------------------------------------------------------------------------------------------------


async def test_end_users_only_see_and_edit_their_own(desk: Desk, make_user: MakeUser) -> None:
    alice = await make_user("alice")
    bob = await make_user("bob")
    tech = await make_user("tech", "technician")
    mine = await new_ticket(desk, alice, subject="Alice printer")
    theirs = await new_ticket(desk, bob, subject="Bob printer")
    page = await ticket_list(desk, alice)
    assert [t.subject for t in page.items] == ["Alice printer"] and page.total == 1
    assert (await ticket_list(desk, alice, text="printer")).total == 1
    with pytest.raises(ForbiddenError, match="only their own"):
        await ticket_list(desk, alice, requester="bob")
    with pytest.raises(NotFoundError) as other:
        await ticket_get(desk, alice, theirs.number)
    with pytest.raises(NotFoundError) as missing:
        await ticket_get(desk, alice, "TCK-999999")
    assert str(other.value).replace(theirs.number, "X") == str(missing.value).replace("TCK-999999", "X")
    with pytest.raises(NotFoundError):
        await ticket_comment(desk, alice, theirs.id, body="hi")
    with pytest.raises(NotFoundError):
        await _set(desk, alice, theirs, description="mine now")
    with pytest.raises(ForbiddenError, match="changing priority, status is not allowed for 'alice'"):
        await _set(desk, alice, mine, status="closed", priority="critical")
    edited = await _set(desk, alice, mine, description="It jams on A3 paper only", contact_phone="555-0100")
    assert edited.description == "It jams on A3 paper only"
    assert (await _set(desk, tech, edited, status="resolved")).status == "resolved"
    with pytest.raises(InvalidInputError, match="is resolved; it can no longer be edited"):
        await _set(desk, alice, (await ticket_get(desk, alice, mine.id)).ticket, description="again")
    assert (await ticket_list(desk, tech)).total == 2


async def test_work_records_are_staff_only(desk: Desk, admin: Actor, make_user: MakeUser) -> None:
    alice = await make_user("alice")
    t = await new_ticket(desk, alice)
    article = await new_article(desk, admin, "Clearing paper jams", "Open tray 2 and pull gently.")
    with pytest.raises(ForbiddenError, match="internal notes are for staff"):
        await ticket_comment(desk, alice, t.id, body="note", internal=True)
    with pytest.raises(ForbiddenError, match="adding resolution steps is not allowed for 'alice'"):
        await ticket_add_resolution_step(desk, alice, t.id, instructions="Reboot")
    with pytest.raises(ForbiddenError, match="setting root causes"):
        await ticket_set_root_cause(desk, alice, t.id, cause_code="HW-001", description="Worn roller")
    with pytest.raises(ForbiddenError, match="linking KB articles"):
        await ticket_link_kb(desk, alice, t.id, article_id=article)


# --- comments, steps, root cause, KB links, detail -------------------------------------------------------------------


async def test_detail_holds_comments_steps_cause_and_links(
    desk: Desk, admin: Actor, clock: FakeClock, make_user: MakeUser
) -> None:
    alice = await make_user("alice")
    tech = await make_user("tech", "technician")
    t = await new_ticket(desk, alice)
    await ticket_comment(desk, tech, t.number, body="Roller looks worn", internal=True)
    await ticket_comment(desk, tech, t.number, body="We are replacing a part.")
    s1 = await ticket_add_resolution_step(desk, tech, t.id, instructions="Clean the rollers", success=False)
    s2 = await ticket_add_resolution_step(desk, tech, t.id, instructions="Replace the pick-up roller", success=True)
    assert (s1.position, s2.position, s2.performed_by, s2.performed_at) == (1, 2, "tech", clock.now)
    with pytest.raises(ConflictError, match="already has step 2; use position 3"):
        await ticket_add_resolution_step(desk, tech, t.id, instructions="dup", position=2)
    s5 = await ticket_add_resolution_step(desk, admin, t.id, instructions="Test print", position=5, performed_by="tech")
    assert (s5.position, s5.performed_by) == (5, "tech")
    with pytest.raises(InvalidInputError, match="like 'SW-001'"):
        await ticket_set_root_cause(desk, tech, t.id, cause_code="worn", description="x")
    await ticket_set_root_cause(desk, tech, t.id, cause_code="HW-001", description="Worn roller")
    cause = await ticket_set_root_cause(desk, tech, t.id, cause_code="hw-002", description="Worn pick-up roller")
    assert cause.cause_code == "HW-002"
    article = await new_article(desk, admin, "Clearing paper jams", "Open tray 2 and pull gently.")
    first = await ticket_link_kb(desk, tech, t.id, article_id=article)
    again = await ticket_link_kb(desk, tech, t.id, article_id=article)
    assert (first.already_linked, again.already_linked) == (False, True)
    with pytest.raises(NotFoundError, match="KB article 424242 does not exist; find one with kb_article_search"):
        await ticket_link_kb(desk, tech, t.id, article_id=424242)

    staff_view = await ticket_get(desk, tech, t.id)
    assert [c.is_internal for c in staff_view.comments] == [True, False] and staff_view.comments_total == 2
    assert [s.position for s in staff_view.resolution_steps] == [1, 2, 5]
    assert staff_view.root_cause is not None and staff_view.root_cause.cause_code == "HW-002"
    assert [a.title for a in staff_view.kb_articles] == ["Clearing paper jams"]
    user_view = await ticket_get(desk, alice, t.id)
    assert [c.body for c in user_view.comments] == ["We are replacing a part."] and user_view.comments_total == 1
    assert len(await audit_events(desk, "ticket.link_kb")) == 1
    assert len(await audit_events(desk, "ticket.root_cause")) == 2
    assert len(await audit_events(desk, "ticket.comment")) == 2


async def test_long_text_is_truncated_with_a_marker(desk: Desk, admin: Actor) -> None:
    limit = desk.settings.max_text_chars
    t = await new_ticket(desk, admin, description="x" * (limit + 50))
    assert t.description.endswith("[truncated, 50 more characters]")
    listed = (await ticket_list(desk, admin)).items[0]
    assert len(listed.description) < 400


async def test_end_users_cannot_comment_on_closed_tickets(desk: Desk, admin: Actor, make_user: MakeUser) -> None:
    alice = await make_user("alice")
    t = await new_ticket(desk, alice)
    await _set(desk, admin, t, status="closed")
    with pytest.raises(InvalidInputError, match="is closed; create a new ticket"):
        await ticket_comment(desk, alice, t.id, body="still broken")


# --- escalation -----------------------------------------------------------------------------------------------------


async def test_escalation_records_the_handoff(desk: Desk, admin: Actor, clock: FakeClock, make_user: MakeUser) -> None:
    alice = await make_user("alice")
    t = await new_ticket(desk, alice)
    other = await new_ticket(desk, admin)
    e = await ticket_escalate(desk, alice, t.number, "customer_asked", "Wants a person to call back")
    assert (e.escalated_at, e.handoff_reason, e.handoff_summary) == (clock.now, "customer_asked", e.handoff_summary)
    assert e.version == t.version + 1
    with pytest.raises(NotFoundError):
        await ticket_escalate(desk, alice, other.id, "policy", "not mine")
    page = await ticket_list(desk, admin, escalated=True)
    assert [x.number for x in page.items] == [t.number]
    await _set(desk, admin, other, status="closed")
    with pytest.raises(InvalidInputError, match="is closed; reopen it"):
        await ticket_escalate(desk, admin, other.id, "policy", "late")
    [event] = await audit_events(desk, "ticket.escalate")
    assert event.after is not None and event.after["handoff_reason"] == "customer_asked"


# --- listing ---------------------------------------------------------------------------------------------------------


async def _listing_fixture(desk: Desk, admin: Actor, clock: FakeClock, make_user: MakeUser) -> dict[str, TicketPublic]:
    await category_upsert(desk, admin, name="Network")
    await category_upsert(desk, admin, name="Hardware")
    alice = await make_user("alice")
    await make_user("tech", "technician")
    made: dict[str, TicketPublic] = {}
    specs = [
        ("vpn", alice, {"priority": "high", "category": "Network", "tags": ["vpn"]}, "VPN drops every hour"),
        ("wifi", alice, {"priority": "low", "category": "Network"}, "Wi-Fi slow in meeting room"),
        ("laptop", admin, {"priority": "critical", "category": "Hardware", "assignee": "tech"}, "Laptop screen dead"),
        ("mouse", admin, {"priority": "medium", "category": "Hardware", "tags": ["peripheral"]}, "Mouse double-clicks"),
        ("mail", admin, {"priority": "medium"}, "Outlook error 0x800CCC0E when sending"),
    ]
    for key, who, extra, subject in specs:
        made[key] = await new_ticket(desk, who, subject=subject, **extra)
        clock.advance(minutes=10)
    made["mouse"] = await _set(desk, admin, made["mouse"], status="in_progress", assignee="admin")
    made["mail"] = await _set(desk, admin, made["mail"], status="resolved")
    return made


async def test_list_filters(desk: Desk, admin: Actor, clock: FakeClock, make_user: MakeUser) -> None:
    made = await _listing_fixture(desk, admin, clock, make_user)

    async def subjects(**filters: Any) -> set[str]:
        page = await ticket_list(desk, admin, **filters)
        assert page.total == len(page.items)
        return {t.number for t in page.items}

    n = {k: v.number for k, v in made.items()}
    assert await subjects() == set(n.values())
    assert await subjects(status="new") == {n["vpn"], n["wifi"], n["laptop"]}
    assert await subjects(status=["in_progress", "resolved"]) == {n["mouse"], n["mail"]}
    assert await subjects(priority="medium") == {n["mouse"], n["mail"]}
    assert await subjects(priority=["critical", "high"]) == {n["vpn"], n["laptop"]}
    assert await subjects(assignee="tech") == {n["laptop"]}
    assert await subjects(assignee="me") == {n["mouse"]}
    assert await subjects(assignee="unassigned") == {n["vpn"], n["wifi"], n["mail"]}
    assert await subjects(requester="alice") == {n["vpn"], n["wifi"]}
    assert await subjects(requester="me") == {n["laptop"], n["mouse"], n["mail"]}
    assert await subjects(category="network") == {n["vpn"], n["wifi"]}
    assert await subjects(tag="VPN") == {n["vpn"]}
    assert await subjects(tag="vp") == set()
    assert await subjects(text="vpn") == {n["vpn"]}
    assert await subjects(text="0x800CCC0E") == {n["mail"]}
    assert await subjects(text=n["laptop"]) == {n["laptop"]}
    assert await subjects(text="double-clicks", category="Hardware") == {n["mouse"]}
    assert await subjects(text="eting roo") == {n["wifi"]}  # no whole word matches: substring fallback
    assert await subjects(text="zebra") == set()
    with pytest.raises(NotFoundError, match="category 'Printers' does not exist; use one of: 'Hardware', 'Network'"):
        await ticket_list(desk, admin, category="Printers")
    with pytest.raises(NotFoundError, match="assignee 'ghost' does not exist"):
        await ticket_list(desk, admin, assignee="ghost")


async def test_list_sorts_and_pages(desk: Desk, admin: Actor, clock: FakeClock, make_user: MakeUser) -> None:
    made = await _listing_fixture(desk, admin, clock, make_user)
    n = {k: v.number for k, v in made.items()}
    newest_first = [t.number for t in (await ticket_list(desk, admin)).items]
    assert newest_first == [n["mail"], n["mouse"], n["laptop"], n["wifi"], n["vpn"]]
    by_priority = [t.priority for t in (await ticket_list(desk, admin, sort="priority")).items]
    assert by_priority == ["critical", "high", "medium", "medium", "low"]
    ascending = [t.priority for t in (await ticket_list(desk, admin, sort="priority", order="asc")).items]
    assert ascending == list(reversed(by_priority))
    due = [t.sla_due_at for t in (await ticket_list(desk, admin, sort="sla_due_at")).items]
    assert due == sorted(due)
    updated = [t.number for t in (await ticket_list(desk, admin, sort="updated_at")).items]
    assert updated[:2] == [n["mail"], n["mouse"]]

    seen: list[str] = []
    cursor = None
    for expected_size in (2, 2, 1):
        page = await ticket_list(desk, admin, limit=2, cursor=cursor)
        assert page.total == 5 and len(page.items) == expected_size
        seen += [t.number for t in page.items]
        cursor = page.next_cursor
    assert cursor is None and seen == newest_first
    assert (await ticket_list(desk, admin)).next_cursor is None
    with pytest.raises(InvalidInputError, match="limit must be between 1 and 100"):
        await ticket_list(desk, admin, limit=101)
    with pytest.raises(InvalidInputError, match="cursor 'bogus' is not valid"):
        await ticket_list(desk, admin, cursor="bogus")
    with pytest.raises(InvalidInputError, match="sort='relevance' needs text"):
        await ticket_list(desk, admin, sort="relevance")


async def test_text_search_ranks_and_pages_by_relevance(desk: Desk, admin: Actor) -> None:
    await new_ticket(desk, admin, subject="Printer offline", description="The printer had one paper jam last week.")
    await new_ticket(desk, admin, subject="Printer offline", description="Only the printer word here.")
    best = await new_ticket(
        desk, admin, subject="Printer jam printer jam", description="printer jam in the printer tray"
    )
    await new_ticket(desk, admin, subject="Unrelated", description="Keyboard missing keys")
    page = await ticket_list(desk, admin, text="printer jam", limit=1)
    assert page.total == 2 and page.items[0].number == best.number and page.next_cursor is not None
    second = await ticket_list(desk, admin, text="printer jam", limit=1, cursor=page.next_cursor)
    assert second.items[0].number != best.number and second.next_cursor is None


async def test_relevance_sort_with_only_substring_matches_lists_newest_first(desk: Desk, admin: Actor) -> None:
    older = await new_ticket(desk, admin, subject="Scanner jammed", description="Paper stuck")
    newer = await new_ticket(desk, admin, subject="Scanner jammed again", description="Paper stuck")
    # "jamm" is no whole word, so full-text finds nothing and the substring fallback answers.
    page = await ticket_list(desk, admin, text="jamm", sort="relevance")
    assert [t.number for t in page.items] == [newer.number, older.number]
    assert (await ticket_list(desk, admin, text="no such words", sort="relevance")).total == 0


# --- suggestions ---------------------------------------------------------------------------------------------------


async def test_suggest_prefers_resolved_tickets_and_respects_visibility(
    desk: Desk, admin: Actor, make_user: MakeUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(desk, "knowledge", None)  # the full-text path (the hybrid one is tested in tests/knowledge)
    alice = await make_user("alice")
    tech = await make_user("tech", "technician")
    solved = await new_ticket(desk, admin, subject="Outlook cannot send mail", description="Outlook send error")
    open_one = await new_ticket(desk, admin, subject="Outlook cannot send mail", description="Outlook send error")
    await ticket_add_resolution_step(desk, tech, solved.id, instructions="Re-create the mail profile", success=True)
    await ticket_set_root_cause(desk, tech, solved.id, cause_code="SW-001", description="Corrupt profile")
    await _set(desk, tech, solved, status="resolved")
    own = await new_ticket(desk, alice, subject="Outlook keeps asking for password", description="Outlook prompt")
    article = await new_article(desk, admin, "Fixing Outlook send errors", "Re-create the Outlook profile. " * 30)

    staff = await ticket_suggest(desk, tech, subject="Outlook send error", k=3)
    assert staff.engine == "fulltext"
    assert staff.tickets[0].number == solved.number
    assert staff.tickets[0].root_cause == "SW-001: Corrupt profile"
    assert staff.tickets[0].resolution == "Re-create the mail profile"
    assert {t.number for t in staff.tickets} == {solved.number, open_one.number, own.number}
    assert staff.articles[0].id == article and staff.articles[0].snippet.endswith("…")
    assert staff.tickets[0].score > 0

    excluded = await ticket_suggest(desk, tech, subject="Outlook send error", exclude=solved.number)
    assert solved.number not in {t.number for t in excluded.tickets}

    mine = await ticket_suggest(desk, alice, subject="Outlook send error")
    assert [t.number for t in mine.tickets] == [own.number]
    assert [a.id for a in mine.articles] == [article]
    with pytest.raises(InvalidInputError, match="k must be between 1 and 20"):
        await suggest(desk, alice, "outlook", 0)


async def test_suggest_uses_the_knowledge_seam_and_still_filters(
    desk: Desk, admin: Actor, make_user: MakeUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = await make_user("alice")
    own = await new_ticket(desk, alice, subject="Own ticket")
    other = await new_ticket(desk, admin, subject="Someone else's")
    article = await new_article(desk, admin, "An article", "Body")
    fake = FakeSearch(
        [
            hit("ticket", f"ticket:{other.id}", 0.9),  # not alice's: never suggested to her
            hit("ticket", f"ticket:{own.id}", 0.5),
            hit("kb", f"kb:{article}", 0.7),
            hit("document", "doc:1:3", 0.8),  # documents are not suggestions
        ]
    ).install(monkeypatch)
    result = await suggest(desk, alice, "anything at all", 2)
    assert result.engine == "hybrid"
    assert [t.number for t in result.tickets] == [own.number]
    assert [(a.id, a.score) for a in result.articles] == [(article, 0.7)]
    assert fake.calls == [("alice", "anything at all", 8, ("tickets", "kb"))]


IDENTIFIER_QUERIES = {
    "oom": ["OutOfMemoryException", "System.OutOfMemoryException", "OutOfMemory", "memory exception"],
    "reset": ["ERR_CONNECTION_RESET", "CONNECTION_RESET", "connection reset", "err_connection_reset"],
    "http": ["HttpClientHandler", "client handler", "System.Net.Http"],
}


async def test_identifiers_are_found_whole_and_by_parts(desk: Desk, admin: Actor) -> None:
    from store import fulltext

    tickets = {
        "oom": await new_ticket(
            desk, admin, subject="Outlook crashes", description="System.OutOfMemoryException at start"
        ),
        "reset": await new_ticket(desk, admin, subject="Intranet fails", error_message="ERR_CONNECTION_RESET"),
        "http": await new_ticket(desk, admin, subject="Proxy", description="System.Net.Http.HttpClientHandler threw"),
    }
    await new_ticket(desk, admin, subject="Printer jammed", description="Paper stuck in tray 2")
    for key, queries in IDENTIFIER_QUERIES.items():
        for query in queries:
            async with desk.sessions() as session:
                ranked = await fulltext.search(session, fulltext.TICKETS, query)
            assert ranked and ranked[0][0] == tickets[key].id, f"full-text for {query!r}: {ranked}"
            listed = await ticket_list(desk, admin, text=query)
            assert [t.number for t in listed.items] == [tickets[key].number], query
    # An edit re-indexes the parts.
    t = tickets["oom"]
    await _set(desk, admin, t, description="Now a StackOverflowException instead")
    assert [x.number for x in (await ticket_list(desk, admin, text="StackOverflow")).items] == [t.number]
    assert (await ticket_list(desk, admin, text="OutOfMemoryException")).total == 0
