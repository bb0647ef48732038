"""The Gradio Blocks: Chat | Voice | Admin (Knowledge, Articles, Tickets, Analytics)."""

from __future__ import annotations

import gradio as gr

from ui.admin_analytics import build_analytics_tab
from ui.admin_articles import build_articles_tab
from ui.admin_knowledge import build_knowledge_tab
from ui.admin_tickets import build_tickets_tab
from ui.admin_voice import build_admin_voice_tab
from ui.chat import build_chat_tab
from ui.context import UIContext
from ui.voice import build_voice_tab

TITLE = "Support desk"
UPLOAD_CACHE = (3600, 3600)
"""Gradio's copies of uploaded files are removed hourly once an hour old; the desk keeps its own copy."""


def build_ui(ctx: UIContext) -> gr.Blocks:
    """The whole page. Every handler reaches the desk through ``ctx`` as ``settings.actor``."""
    settings = ctx.settings
    with gr.Blocks(title=TITLE, analytics_enabled=False, delete_cache=UPLOAD_CACHE) as blocks:
        gr.Markdown(
            f"## {TITLE}\nSigned in as **{settings.actor}**. MCP clients connect to `/mcp` on this server.",
            elem_id="header",
        )
        with gr.Tabs(elem_id="main-tabs"):
            with gr.Tab("Chat", id="chat", elem_id="tab-chat"):
                build_chat_tab(ctx)
            with gr.Tab("Voice", id="voice", elem_id="tab-voice"):
                build_voice_tab(ctx)
            with gr.Tab("Admin", id="admin", elem_id="tab-admin"), gr.Tabs(elem_id="admin-tabs"):
                with gr.Tab("Knowledge", id="knowledge", elem_id="tab-knowledge"):
                    on_load = build_knowledge_tab(ctx)
                with gr.Tab("Articles", id="articles", elem_id="tab-articles"):
                    on_load += build_articles_tab(ctx)
                with gr.Tab("Ticket queue", id="tickets", elem_id="tab-tickets"):
                    on_load += build_tickets_tab(ctx)
                with gr.Tab("Voice conversations", id="admin-voice", elem_id="tab-admin-voice") as voice_admin:
                    for fn, inputs, outputs in build_admin_voice_tab(ctx):
                        voice_admin.select(fn, inputs, outputs)
                with gr.Tab("Analytics", id="analytics", elem_id="tab-analytics") as analytics:
                    # Twenty small counts: run them when the tab is opened, not on every page load.
                    for fn, inputs, outputs in build_analytics_tab(ctx):
                        analytics.select(fn, inputs, outputs)
        for fn, inputs, outputs in on_load:
            blocks.load(fn, inputs, outputs)
    return blocks
