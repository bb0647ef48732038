"""Mount the Gradio UI at / on the HTTP app, next to /mcp and /health."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

import gradio as gr
from fastapi import FastAPI
from starlette.applications import Starlette

from server.app import DeskRef
from store.config import Settings
from ui.app import build_ui
from ui.context import UIContext

logger = logging.getLogger(__name__)


def mount_ui(app: Starlette, settings: Settings, ref: DeskRef) -> None:
    """Serve the UI at / on ``app``; it uses the desk the app's lifespan opens in ``ref``."""
    ctx = UIContext(settings=settings, ref=ref)
    blocks = build_ui(ctx)
    serve_desk = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(parent: Any) -> AsyncIterator[Any]:
        async with serve_desk(parent) as state:
            try:
                yield state
            finally:
                # Inside the desk's lifespan: the agent's MCP clients and checkpointer close before the desk.
                await ctx.aclose()

    app.router.lifespan_context = lifespan
    app.state.ui = ctx
    # mount_gradio_app only uses what Starlette has (router.lifespan_context, mount, user_middleware);
    # the FastAPI type is its annotation, not a requirement, so the app stays a plain Starlette app.
    gr.mount_gradio_app(
        cast(FastAPI, app),
        blocks,
        path="/",
        server_name=settings.host,
        server_port=settings.port,
        footer_links=["api", "settings"],
        run_history=False,
        max_file_size=int(settings.max_upload_mb * 1024 * 1024),
        ssr_mode=False,
        mcp_server=False,
        enable_monitoring=False,
        pwa=False,
        theme=gr.themes.Default(),
    )
    logger.debug("Gradio UI mounted at /")
