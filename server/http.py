"""The HTTP application: streamable HTTP MCP at /mcp, a health check, and the Gradio UI at /.

One desk is opened per process in the app's lifespan and shared by MCP sessions and the UI.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from mcp.server.transport_security import TransportSecuritySettings
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from server.app import DeskRef, build_server
from store.config import Settings
from tools.desk import open_desk

logger = logging.getLogger(__name__)


def build_http_app(settings: Settings, *, with_ui: bool = True) -> Starlette:
    """The ASGI app ``support-agent serve`` runs."""
    if settings.ingest_roots is None:
        # Over HTTP the caller is remote: never let it name arbitrary files on this machine.
        settings = settings.model_copy(update={"ingest_roots": []})
    ref = DeskRef()
    mcp = build_server(settings, desk=ref)
    allowed = [f"{settings.host}:{settings.port}", f"127.0.0.1:{settings.port}", f"localhost:{settings.port}"]
    allowed += settings.allowed_hosts
    mcp_app = mcp.streamable_http_app(
        streamable_http_path="/mcp",
        host=settings.host,
        transport_security=TransportSecuritySettings(
            enable_dns_rebinding_protection=True,
            allowed_hosts=allowed,
            allowed_origins=[f"http://{h}" for h in allowed] + [f"https://{h}" for h in allowed],
        ),
    )

    async def health(_: Request) -> Response:
        desk = ref.desk
        if desk is None:
            return JSONResponse({"status": "starting"}, status_code=503)
        async with desk.engine.connect() as conn:
            await conn.exec_driver_sql("SELECT 1")
        return JSONResponse({"status": "ok", "database": desk.dialect})

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with open_desk(settings) as desk:
            ref.desk = desk
            async with mcp.session_manager.run():
                logger.info("serving MCP at http://%s:%s/mcp", settings.host, settings.port)
                yield
            ref.desk = None

    app = Starlette(routes=[*mcp_app.routes, Route("/health", health)], lifespan=lifespan)
    app.state.desk_ref = ref
    app.state.mcp = mcp
    if with_ui:
        from ui.mount import mount_ui

        mount_ui(app, settings, ref)
    return app
