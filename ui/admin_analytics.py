"""Admin › Analytics: queue counts by status and priority, read from the ticket listing's totals.

Real analytics (resolution times, handoffs by reason, trends) arrive with their own issue; until then this
tab only counts what ticket_list already reports, one small COUNT query per row.
"""

from __future__ import annotations

from typing import Any

import gradio as gr
import pandas as pd

from tools.ticket_query import ticket_list
from ui.admin_tickets import PRIORITIES, STATUSES
from ui.context import SignedIn, UIContext
from ui.errors import shown
from ui.format import table

NOTE = (
    "Counts of the tickets you can see. Full analytics (resolution times, handoffs by reason, trends) "
    "arrive with the analytics issue."
)


async def queue_counts(ctx: SignedIn) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Tickets per status and per priority (with how many of those breach their SLA)."""
    desk, actor = ctx.desk(), await ctx.actor()

    async def total(**filters: Any) -> int:
        return (await ticket_list(desk, actor, limit=1, **filters)).total

    by_status = [[s.replace("_", " "), await total(status=s), await total(status=s, breached=True)] for s in STATUSES]
    by_priority = [[p, await total(priority=p), await total(priority=p, breached=True)] for p in PRIORITIES]
    headers = ["Tickets", "Breached"]
    return table(by_status, ["Status", *headers]), table(by_priority, ["Priority", *headers])


def build_analytics_tab(ctx: UIContext) -> list[tuple[Any, list[Any], list[Any]]]:
    gr.Markdown(NOTE)
    refresh = gr.Button("Refresh", size="sm", elem_id="an-refresh")
    with gr.Row():
        by_status = gr.Dataframe(label="By status", interactive=False, elem_id="an-status")
        by_priority = gr.Dataframe(label="By priority", interactive=False, elem_id="an-priority")

    @shown
    async def load(request: gr.Request) -> tuple[pd.DataFrame, pd.DataFrame]:
        return await queue_counts(await ctx.signed_in(request))

    refresh.click(load, None, [by_status, by_priority])
    return [(load, [], [by_status, by_priority])]
