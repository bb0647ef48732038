"""Mount the Gradio UI at / on the HTTP app, next to /mcp and /health, behind the sign-in page."""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, cast

import gradio as gr
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.routing import Mount

from agent.holder import AgentHolder
from store.config import Settings
from tools.desk import DeskRef
from tools.passwords import bootstrap_admin
from ui.app import build_ui
from ui.context import UIContext
from ui.gate import SessionGate
from ui.signin import sign_in_routes

if TYPE_CHECKING:
    from agent.runner import SupportAgent

logger = logging.getLogger(__name__)


def mount_ui(
    app: Starlette, settings: Settings, ref: DeskRef, *, agent: AgentHolder[SupportAgent] | None = None
) -> None:
    """Serve the UI at / on ``app``; it uses the desk the app's lifespan opens in ``ref``, and the process's
    support agent ``agent`` (the composition root's, handed in so ``ui/`` never imports ``server/``; its
    owner closes it)."""
    ctx = UIContext(settings=settings, ref=ref, agent_holder=agent)
    blocks = build_ui(ctx)
    serve_desk = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(parent: Any) -> AsyncIterator[Any]:
        async with serve_desk(parent) as state:
            await announce_first_admin(ctx)
            yield state

    app.router.lifespan_context = lifespan
    app.state.ui = ctx
    # Before the Gradio mount at "/", which would otherwise answer these paths itself.
    app.router.routes.extend(sign_in_routes(settings, ctx.desk))
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
    mount = app.router.routes[-1]
    assert isinstance(mount, Mount), "gr.mount_gradio_app did not mount the UI last"
    # Every Gradio route, including those that check no login of their own, sits behind the session gate.
    mount.app = SessionGate(mount.app, ctx.desk)
    logger.debug("Gradio UI mounted at / behind the sign-in page")


async def announce_first_admin(ctx: UIContext) -> None:
    """On a new data directory, give the admin a password and print it once (it is not kept in clear)."""
    made = await bootstrap_admin(ctx.desk(), ctx.settings)
    if made is None:
        return
    if made.generated_password:
        print(
            f"support-agent: first start: sign in at http://{ctx.settings.host}:{ctx.settings.port}/ as "
            f"{made.username!r} with password {made.generated_password!r} (shown only now; change it with "
            f"'support-agent user password {made.username}')",
            file=sys.stderr,
            flush=True,
        )
    else:
        logger.info("first start: %r can sign in with SUPPORT_ADMIN_PASSWORD", made.username)
