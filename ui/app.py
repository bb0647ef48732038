"""The Gradio Blocks: Chat | Voice | My tickets | Admin (queue, analytics, knowledge, articles, users and tokens).

Every tab starts hidden; when the page opens, the signed-in person's role decides which are shown
(:mod:`ui.sections`). A tab's data loads when it is opened, so nothing runs for a tab the person lacks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gradio as gr

from ui.admin_analytics import build_analytics_tab
from ui.admin_articles import build_articles_tab
from ui.admin_knowledge import build_knowledge_tab
from ui.admin_people import build_people_tab
from ui.admin_tickets import build_tickets_tab
from ui.admin_voice import build_admin_voice_tab
from ui.chat import build_chat_tab
from ui.context import UIContext
from ui.errors import shown
from ui.my_tickets import build_my_tickets_tab
from ui.sections import ADMIN_SECTIONS, Section, visible_sections
from ui.voice import build_voice_tab

TITLE = "Support desk"
UPLOAD_CACHE = (3600, 3600)
"""Gradio's copies of uploaded files are removed hourly once an hour old; the desk keeps its own copy."""
SIGN_OUT_PATH = "/signout"
SIGN_OUT = f"""<form method="post" action="{SIGN_OUT_PATH}" id="signout-form">
<button type="submit" id="signout" class="lg secondary">Sign out</button></form>"""
"""A plain form post: the session cookie (SameSite=Lax) and the Origin check guard it like every UI action."""

Loader = tuple[Callable[..., Any], list[Any], list[Any]]


def header_markdown(display: str, role: str) -> str:
    return f"## {TITLE}\nSigned in as **{display}** ({role.replace('_', ' ')}). MCP clients connect to `/mcp`."


def build_ui(ctx: UIContext) -> gr.Blocks:
    """The whole page; every handler acts as the person signed in on its request."""
    tabs: dict[Section, gr.Tab] = {}
    loaders: dict[Section, list[Loader]] = {}
    with gr.Blocks(title=TITLE, analytics_enabled=False, delete_cache=UPLOAD_CACHE) as blocks:
        with gr.Row(equal_height=True):
            with gr.Column(scale=8):
                header = gr.Markdown(f"## {TITLE}", elem_id="header")
            with gr.Column(scale=1, min_width=120):
                gr.HTML(SIGN_OUT, elem_id="signout-box")
        with gr.Tabs(elem_id="main-tabs") as main_tabs:
            with gr.Tab("Chat", id="chat", elem_id="tab-chat", visible=False) as tabs["chat"]:
                build_chat_tab(ctx)
            with gr.Tab("Voice", id="voice", elem_id="tab-voice", visible=False) as tabs["voice"]:
                build_voice_tab(ctx)
            with gr.Tab("My tickets", id="my-tickets", elem_id="tab-my-tickets", visible=False) as tabs["my_tickets"]:
                loaders["my_tickets"] = build_my_tickets_tab(ctx)
            with (
                gr.Tab("Admin", id="admin", elem_id="tab-admin", visible=False) as admin,
                gr.Tabs(elem_id="admin-tabs"),
            ):
                with gr.Tab("Ticket queue", id="tickets", elem_id="tab-tickets", visible=False) as tabs["queue"]:
                    loaders["queue"] = build_tickets_tab(ctx)
                with gr.Tab("Voice conversations", id="admin-voice", elem_id="tab-admin-voice", visible=False) as tabs[
                    "voice_admin"
                ]:
                    loaders["voice_admin"] = build_admin_voice_tab(ctx)
                with gr.Tab("Analytics", id="analytics", elem_id="tab-analytics", visible=False) as tabs["analytics"]:
                    loaders["analytics"] = build_analytics_tab(ctx)
                with gr.Tab("Knowledge", id="knowledge", elem_id="tab-knowledge", visible=False) as tabs["knowledge"]:
                    loaders["knowledge"] = build_knowledge_tab(ctx)
                with gr.Tab("Articles", id="articles", elem_id="tab-articles", visible=False) as tabs["articles"]:
                    loaders["articles"] = build_articles_tab(ctx)
                with gr.Tab("Users and tokens", id="people", elem_id="tab-people", visible=False) as tabs["people"]:
                    loaders["people"] = build_people_tab(ctx)

        order = list(tabs)

        @shown
        async def open_page(request: gr.Request) -> tuple[Any, ...]:
            me = await ctx.signed_in(request)
            shown_sections = visible_sections(me.person)
            updates = [gr.Tab(visible=section in shown_sections) for section in order]
            admin_update = gr.Tab(visible=any(s in shown_sections for s in ADMIN_SECTIONS))
            return (
                header_markdown(me.person.username, me.person.role),
                gr.Tabs(selected="chat"),
                admin_update,
                *updates,
            )

        blocks.load(open_page, None, [header, main_tabs, admin, *(tabs[s] for s in order)])
        # Data loads when its tab opens. Opening Admin shows its first sub-tab without a select event of
        # its own, so it loads that one (the queue, which every role with an Admin tab has).
        for section, section_loaders in loaders.items():
            for fn, inputs, outputs in section_loaders:
                tabs[section].select(fn, inputs, outputs)
        for fn, inputs, outputs in loaders["queue"]:
            admin.select(fn, inputs, outputs)
    return blocks
