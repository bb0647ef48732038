"""My tickets: the tickets the signed-in person asked for, with status and SLA due, each one's thread, and a reply."""

from __future__ import annotations

import html
from typing import Any

import gradio as gr
import pandas as pd

from tools import tickets
from tools.ticket_activity import ticket_comment
from tools.ticket_models import TicketPage
from tools.ticket_query import ticket_list
from ui.admin_tickets import ticket_markdown
from ui.context import SignedIn, UIContext
from ui.errors import shown
from ui.format import table, when
from ui.viewer import item_viewer

HEADERS = ["Number", "Subject", "Status", "Priority", "SLA due", "Updated"]
PAGE = 50


async def my_tickets(ctx: SignedIn) -> TicketPage:
    """The person's own tickets (as requester), most recently updated first."""
    return await ticket_list(ctx.desk(), await ctx.actor(), requester="me", sort="updated_at", order="desc", limit=PAGE)


def my_table(page: TicketPage) -> tuple[pd.DataFrame, str]:
    rows = [
        [
            t.number,
            t.subject,
            t.status.replace("_", " "),
            t.priority,
            when(t.sla_due_at) + (" (breached)" if t.sla_breached else ""),
            when(t.updated_at),
        ]
        for t in page.items
    ]
    if not page.total:
        return table(rows, HEADERS), "You have no tickets yet. Describe a problem in **Chat** to open one."
    more = f" (the {len(rows)} most recently updated are listed)" if page.total > len(rows) else ""
    return table(rows, HEADERS), f"{page.total} ticket(s){more}. Pick one to read its thread and reply."


async def my_ticket_markdown(ctx: SignedIn, ref: str) -> str:
    return ticket_markdown(await tickets.ticket_get(ctx.desk(), await ctx.actor(), ref))


async def reply(ctx: SignedIn, ref: str, body: str) -> str:
    """Post a public reply on the person's ticket; returns the ticket's number."""
    result = await ticket_comment(ctx.desk(), await ctx.actor(), ref, body=body)
    return result.ticket.number


def build_my_tickets_tab(ctx: UIContext) -> list[tuple[Any, list[Any], list[Any]]]:
    """The list, the selected ticket's thread and a reply box; returns the loader to run when the tab opens."""
    with gr.Row(equal_height=True):
        summary = gr.Markdown(elem_id="my-summary")
        refresh = gr.Button("Refresh", size="sm", scale=0, min_width=90, elem_id="my-refresh")
    listing = gr.Dataframe(value=table([], HEADERS), interactive=False, wrap=True, elem_id="my-table")
    with gr.Row(equal_height=True):
        number = gr.Textbox(label="Ticket", placeholder="TCK-000042", scale=3, elem_id="my-number")
        open_ticket = gr.Button("Open ticket", scale=1, min_width=100, elem_id="my-open")
    detail = gr.Markdown(elem_id="my-detail")
    with gr.Row(equal_height=True):
        message = gr.Textbox(
            label="Reply", placeholder="Add information or answer the technician", lines=3, scale=5, elem_id="my-reply"
        )
        send = gr.Button("Send reply", variant="primary", scale=1, min_width=100, elem_id="my-send")

    @shown
    async def load(request: gr.Request) -> tuple[pd.DataFrame, str]:
        return my_table(await my_tickets(await ctx.signed_in(request)))

    async def render(request: gr.Request, ref: str) -> str:
        return await my_ticket_markdown(await ctx.signed_in(request), ref)

    show, pick = item_viewer(render, lambda v: str(v or "").strip() or None, "Pick a ticket or type its number.")

    @shown
    async def send_reply(ref: str, body: str, request: gr.Request) -> Any:
        ref, body = (ref or "").strip(), (body or "").strip()
        if not ref:
            gr.Warning("Pick a ticket first.")
            return gr.skip(), gr.skip(), gr.skip(), gr.skip()
        if not body:
            gr.Warning("Write a reply first.")
            return gr.skip(), gr.skip(), gr.skip(), gr.skip()
        me = await ctx.signed_in(request)
        ticket_number = await reply(me, ref, body)
        gr.Info(html.escape(f"Reply added to {ticket_number}."))
        listing_value, line = my_table(await my_tickets(me))
        return await my_ticket_markdown(me, ticket_number), "", listing_value, line

    refresh.click(load, None, [listing, summary])
    open_ticket.click(show, [number], [detail])
    number.submit(show, [number], [detail])
    listing.select(pick, None, [number, detail], show_progress_on=[detail])
    send.click(send_reply, [number, message], [detail, message, listing, summary], show_progress_on=[detail])
    return [(load, [], [listing, summary])]
