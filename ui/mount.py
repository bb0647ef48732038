"""Mount the Gradio UI on the HTTP app (placeholder until the UI issue lands)."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from server.app import DeskRef
from store.config import Settings


def mount_ui(app: Starlette, settings: Settings, ref: DeskRef) -> None:
    async def index(_: Request) -> Response:
        return HTMLResponse(
            "<h1>support-agent</h1><p>MCP over streamable HTTP is at <code>/mcp</code>; "
            "health at <code>/health</code>.</p>"
        )

    app.router.routes.append(Route("/", index))
