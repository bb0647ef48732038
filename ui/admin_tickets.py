"""Admin › Tickets: the queue with status, priority, breach and text filters, paged, and one ticket's detail."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, get_args

import gradio as gr
import pandas as pd

from tools import tickets
from tools.sla import Priority, Status
from tools.ticket_models import TicketDetail, TicketPage, TicketPublic
from tools.ticket_query import ticket_list
from ui.context import SignedIn, UIContext
from ui.errors import shown
from ui.format import table, when
from ui.viewer import item_viewer

HEADERS = ["Number", "Subject", "Status", "Priority", "Requester", "Assignee", "SLA due", "Breached"]
PAGE = 25
STATUSES: tuple[Status, ...] = get_args(Status)
PRIORITIES: tuple[Priority, ...] = get_args(Priority)
Breach = Literal["any", "breached", "on time"]
BREACH: dict[str, bool | None] = {"any": None, "breached": True, "on time": False}
ACTIVE: list[Status] = ["new", "open", "in_progress", "pending"]
"""What the queue shows first: work still to do. Clearing the status filter shows every ticket."""


@dataclass
class QueueFilter:
    status: list[Status] = field(default_factory=list)
    priority: list[Priority] = field(default_factory=list)
    breached: bool | None = None
    text: str | None = None


@dataclass
class Pager:
    """Where the queue is: the cursor of the page shown, the ones before it, and the next one."""

    cursor: str | None = None
    previous: list[str | None] = field(default_factory=list)
    next_cursor: str | None = None
    offset: int = 0


async def queue_page(ctx: SignedIn, flt: QueueFilter, cursor: str | None = None) -> TicketPage:
    return await ticket_list(
        ctx.desk(),
        await ctx.actor(),
        status=flt.status or None,
        priority=flt.priority or None,
        breached=flt.breached,
        text=flt.text or None,
        sort="sla_due_at" if not flt.text else None,
        order="asc" if not flt.text else None,
        limit=PAGE,
        cursor=cursor,
    )


def breach_text(t: TicketPublic) -> str:
    """Which target is missed: "SLA due" shows the resolution target, so a missed first response beside a due
    time still ahead must say so rather than a bare "yes"."""
    targets = (("first response", t.first_response_breached), ("resolution", t.sla_breached))
    return ", ".join(name for name, late in targets if late)


def queue_table(page: TicketPage) -> pd.DataFrame:
    rows = [
        [
            t.number,
            t.subject,
            t.status,
            t.priority,
            t.requester,
            t.assignee or "",
            when(t.sla_due_at),
            breach_text(t),
        ]
        for t in page.items
    ]
    return table(rows, HEADERS)


def ticket_markdown(detail: TicketDetail) -> str:
    """One ticket as a person reads it: facts, description, conversation, resolution work."""
    t = detail.ticket
    lines = [
        f"### {t.number}: {t.subject}",
        f"**{t.status.replace('_', ' ')}** · {t.priority} priority · requested by {t.requester}"
        + (f" · assigned to {t.assignee}" if t.assignee else " · unassigned")
        + (f" · {t.category}" if t.category else ""),
        "",
        f"- Created {when(t.created_at)}, updated {when(t.updated_at)}",
        f"- Resolution due {when(t.sla_due_at)}" + (" — **breached**" if t.sla_breached else ""),
        f"- First response due {when(t.first_response_due_at)}"
        + (f", answered {when(t.first_response_at)}" if t.first_response_at else "")
        + (" — **breached**" if t.first_response_breached else ""),
    ]
    if t.paused_at:
        lines.append(f"- SLA clock paused since {when(t.paused_at)} (pending)")
    if t.resolved_at:
        lines.append(f"- Resolved {when(t.resolved_at)}")
    if t.closed_at:
        lines.append(f"- Closed {when(t.closed_at)}")
    if t.escalated_at:
        reason = (t.handoff_reason or "").replace("_", " ")
        lines.append(f"- Escalated {when(t.escalated_at)}" + (f" ({reason})" if reason else ""))
    if t.tags:
        lines.append("- Tags: " + ", ".join(t.tags))
    for label, value in (
        ("Affected system", t.affected_system),
        ("Business impact", t.business_impact),
        ("Error message", t.error_message),
        ("Steps taken", t.steps_taken),
        ("Contact", ", ".join(v for v in (t.contact_email, t.contact_phone) if v)),
    ):
        if value:
            lines.append(f"- {label}: {value}")
    lines += ["", "#### Description", t.description]
    if t.handoff_summary:
        lines += ["", "#### Handoff summary", t.handoff_summary]
    if detail.comments:
        lines += ["", f"#### Comments ({detail.comments_total})"]
        for c in detail.comments:
            kind = "internal note" if c.is_internal else "reply"
            lines.append(f"- **{c.author}** ({kind}, {when(c.created_at)}): {c.body}")
    if detail.resolution_steps:
        lines += ["", "#### Resolution steps"]
        marks = {True: "worked", False: "did not work", None: "not tried"}
        lines += [f"{s.position}. {s.instructions} — {marks[s.success]}" for s in detail.resolution_steps]
    if detail.root_cause:
        lines += ["", f"#### Root cause\n`{detail.root_cause.cause_code}` {detail.root_cause.description}"]
    if detail.kb_articles:
        lines += ["", "#### Linked articles"] + [f"- {a.id}: {a.title}" for a in detail.kb_articles]
    return "\n".join(lines)


async def ticket_detail_markdown(ctx: SignedIn, ref: str) -> str:
    return ticket_markdown(await tickets.ticket_get(ctx.desk(), await ctx.actor(), ref))


async def _detail(ctx: UIContext, request: gr.Request, ref: str) -> str:
    return await ticket_detail_markdown(await ctx.signed_in(request), ref)


def build_tickets_tab(ctx: UIContext) -> list[tuple[Any, list[Any], list[Any]]]:
    """The filters, the queue and the detail pane; returns the loader to run when the page opens."""
    with gr.Row():
        status = gr.Dropdown(list(STATUSES), value=ACTIVE, multiselect=True, label="Status", elem_id="tq-status")
        priority = gr.Dropdown(list(PRIORITIES), multiselect=True, label="Priority", elem_id="tq-priority")
        breached = gr.Radio(list(BREACH), value="any", label="SLA", elem_id="tq-breached")
        text = gr.Textbox(label="Search", placeholder="words, TCK-000042, an error code", elem_id="tq-text")
    with gr.Row():
        apply = gr.Button("Apply filters", variant="primary", scale=2, elem_id="tq-apply")
        prev_page = gr.Button("Previous page", size="sm", scale=1, elem_id="tq-prev")
        next_page = gr.Button("Next page", size="sm", scale=1, elem_id="tq-next")
    summary = gr.Markdown(elem_id="tq-summary")
    queue = gr.Dataframe(value=table([], HEADERS), interactive=False, wrap=True, elem_id="tq-table")
    pager = gr.State(Pager())
    with gr.Row(equal_height=True):
        number = gr.Textbox(label="Ticket", placeholder="TCK-000042 or 42", scale=3, elem_id="tq-number")
        open_ticket = gr.Button("Open ticket", scale=1, min_width=100, elem_id="tq-open")
    detail = gr.Markdown(elem_id="tq-detail")
    filters = [status, priority, breached, text]

    def make_filter(st: list[Status] | None, pr: list[Priority] | None, br: str, tx: str) -> QueueFilter:
        return QueueFilter(list(st or []), list(pr or []), BREACH.get(br), (tx or "").strip() or None)

    async def show(request: gr.Request, flt: QueueFilter, pg: Pager) -> tuple[pd.DataFrame, str, Pager]:
        page = await queue_page(await ctx.signed_in(request), flt, pg.cursor)
        pg.next_cursor = page.next_cursor
        first = pg.offset + 1 if page.items else 0
        line = f"Tickets {first}–{pg.offset + len(page.items)} of {page.total}"
        return queue_table(page), line, pg

    @shown
    async def load(st: Any, pr: Any, br: str, tx: str, request: gr.Request) -> tuple[pd.DataFrame, str, Pager]:
        return await show(request, make_filter(st, pr, br, tx), Pager())

    @shown
    async def forward(st: Any, pr: Any, br: str, tx: str, pg: Pager, request: gr.Request) -> Any:
        if pg.next_cursor is None:
            gr.Info("This is the last page.")
            return gr.skip(), gr.skip(), gr.skip()
        moved = Pager(pg.next_cursor, [*pg.previous, pg.cursor], None, pg.offset + PAGE)
        return await show(request, make_filter(st, pr, br, tx), moved)

    @shown
    async def back(st: Any, pr: Any, br: str, tx: str, pg: Pager, request: gr.Request) -> Any:
        if not pg.previous:
            return gr.skip(), gr.skip(), gr.skip()
        moved = Pager(pg.previous[-1], pg.previous[:-1], None, max(pg.offset - PAGE, 0))
        return await show(request, make_filter(st, pr, br, tx), moved)

    open_one, pick = item_viewer(
        lambda request, ref: _detail(ctx, request, ref),
        lambda value: str(value or "").strip() or None,
        "Enter a ticket number such as TCK-000042.",
    )

    apply.click(load, filters, [queue, summary, pager])
    text.submit(load, filters, [queue, summary, pager])
    next_page.click(forward, [*filters, pager], [queue, summary, pager])
    prev_page.click(back, [*filters, pager], [queue, summary, pager])
    open_ticket.click(open_one, [number], [detail])
    number.submit(open_one, [number], [detail])
    queue.select(pick, None, [number, detail], show_progress_on=[detail])
    return [(load, filters, [queue, summary, pager])]
