"""My tickets: the tickets the signed-in person asked for, with status and SLA due, each one's thread, and a reply.

A solved ticket's thread ends with a link to its rating box: the requester rates it good or bad with an optional
comment, and may change the rating for a week (the rule is :func:`tools.satisfaction.ticket_rating`'s).
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

import gradio as gr
import pandas as pd

from tools import tickets
from tools.satisfaction import RatingPublic, ticket_rate, ticket_rating
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
    desk, actor = ctx.desk(), await ctx.actor()
    text = ticket_markdown(await tickets.ticket_get(desk, actor, ref))
    if (await ticket_rating(desk, actor, ref)).may_rate:
        text += "\n\n---\nWas this solved to your satisfaction? [Rate this resolution](#my-rate)"
    return text


@dataclass(frozen=True)
class RatingView:
    """The rating box of an opened ticket: shown only to a requester who may rate it or has rated it."""

    visible: bool
    note: str
    rating: str | None
    comment: str


HIDDEN = RatingView(False, "", None, "")


async def rating_view(ctx: SignedIn, ref: str) -> RatingView:
    offer = await ticket_rating(ctx.desk(), await ctx.actor(), ref)
    current = offer.current
    if not offer.requester or (current is None and not offer.may_rate):
        return HIDDEN
    if current is None:
        return RatingView(True, f"{offer.ticket} is not rated yet.", None, "")
    said = f"You rated it {current.rating} on {when(current.rated_at)}"
    if offer.may_rate:
        note = f"{said}; you can change it until {when(current.changeable_until)}."
    else:
        note = f"{said}; the rating is final."
    return RatingView(True, note, current.rating, current.comment or "")


async def rate(ctx: SignedIn, ref: str, rating: str, comment: str) -> RatingPublic:
    """Rate (or re-rate) the person's solved ticket, through the same tool function as ``ticket_rate``."""
    return await ticket_rate(ctx.desk(), await ctx.actor(), ref, rating=rating, comment=comment)  # type: ignore[arg-type]


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
    with gr.Column(visible=False, elem_id="my-rate") as rate_box:
        rate_note = gr.Markdown(elem_id="my-rate-note")
        with gr.Row(equal_height=True):
            rating = gr.Radio(["good", "bad"], label="How was the resolution?", scale=1, elem_id="my-rating")
            rate_comment = gr.Textbox(
                label="Comment (optional)", placeholder="What went well or not", scale=3, elem_id="my-rate-comment"
            )
            rate_send = gr.Button("Send rating", scale=1, min_width=100, elem_id="my-rate-send")
    rating_outputs = [rate_box, rate_note, rating, rate_comment]

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

    def rating_values(view: RatingView) -> list[Any]:
        return [gr.Column(visible=view.visible), view.note, view.rating, view.comment]

    @shown
    async def show_rating(ref: str, request: gr.Request) -> list[Any]:
        ref = (ref or "").strip()
        return rating_values(await rating_view(await ctx.signed_in(request), ref) if ref else HIDDEN)

    @shown
    async def send_rating(ref: str, value: str | None, comment: str, request: gr.Request) -> list[Any]:
        ref = (ref or "").strip()
        if not value:
            gr.Warning("Choose good or bad first.")
            return [gr.skip()] * (len(rating_outputs) + 1)
        me = await ctx.signed_in(request)
        result = await rate(me, ref, value, comment or "")
        gr.Info(html.escape(f"Thank you: {result.ticket} is rated {result.rating}."))
        return [await my_ticket_markdown(me, result.ticket), *rating_values(await rating_view(me, result.ticket))]

    refresh.click(load, None, [listing, summary])
    open_ticket.click(show, [number], [detail]).then(show_rating, [number], rating_outputs)
    number.submit(show, [number], [detail]).then(show_rating, [number], rating_outputs)
    listing.select(pick, None, [number, detail], show_progress_on=[detail]).then(show_rating, [number], rating_outputs)
    send.click(send_reply, [number, message], [detail, message, listing, summary], show_progress_on=[detail])
    rate_send.click(send_rating, [number, rating, rate_comment], [detail, *rating_outputs])
    return [(load, [], [listing, summary])]
