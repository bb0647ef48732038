"""The gate in front of the Gradio app: a signed-in session for everything but static assets, and a CSRF check.

Gradio's own routes (``/config``, ``/gradio_api/queue/join``, ``/gradio_api/upload``, ``/gradio_api/file=...``
and the rest) do not all check a login, so the gate wraps the whole mounted app: a request without a valid
session gets 401 (the page itself redirects to the sign-in page) before Gradio sees it.

CSRF: the session cookie is ``SameSite=Lax`` (a cross-site page's POST does not carry it), and every
state-changing request must come from this origin: its ``Origin`` header, when present, names this host,
and its ``Sec-Fetch-Site`` header, when present, says ``same-origin``. Browsers send at least one of them
on every POST; a client that sends neither is not a browser that could be tricked into the request.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

from tools.desk import Desk
from tools.web_sessions import session_actor
from ui.context import SESSION_COOKIE

logger = logging.getLogger(__name__)

SIGN_IN_PATH = "/signin"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
PUBLIC_PREFIXES = ("/assets/", "/static/", "/svelte/", "/gradio_api/static/")
PUBLIC_PATHS = frozenset(
    {"/favicon.ico", "/theme.css", "/gradio_api/theme.css", "/robots.txt", "/manifest.json", "/pwa_icon"}
)
"""What the sign-in page and the browser fetch before anyone signs in: code, styles, icons. No data."""


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


def _cookies(headers: Mapping[str, str]) -> dict[str, str]:
    jar: dict[str, str] = {}
    for part in headers.get("cookie", "").split(";"):
        name, _, value = part.strip().partition("=")
        if name:
            jar[name] = value
    return jar


def cross_site_reason(method: str, headers: Mapping[str, str]) -> str | None:
    """Why a state-changing request looks cross-site (None when it is same-origin or a safe method)."""
    if method.upper() in SAFE_METHODS:
        return None
    fetch_site = headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        return f"Sec-Fetch-Site is {fetch_site!r}"
    origin = headers.get("origin")
    if origin is not None:
        host = headers.get("host", "")
        if origin == "null" or urlsplit(origin).netloc.lower() != host.lower():
            return f"Origin {origin!r} is not this site ({host!r})"
    return None


def is_public(path: str, method: str) -> bool:
    return method.upper() in SAFE_METHODS and (path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES))


class SessionGate:
    """ASGI middleware for the mounted Gradio app (see the module docstring)."""

    def __init__(self, app: ASGIApp, desk: Callable[[], Desk]) -> None:
        self.app = app
        self.desk = desk

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        path, method = scope.get("path", "/"), scope.get("method", "GET")
        if is_public(path, method):
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        reason = cross_site_reason(method, headers)
        if reason is not None:
            logger.warning("refused a cross-site %s %s: %s", method, path, reason)
            await _reply(send, 403, {"error": "cross-site request refused", "detail": reason})
            return
        token = _cookies(headers).get(SESSION_COOKIE)
        # An open tab's heartbeat is not a person using the desk: it must not keep the session from idling.
        actor = await session_actor(self.desk(), token, activity="/heartbeat/" not in path)
        if actor is None and scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        if actor is None:
            if method in ("GET", "HEAD") and path in ("/", ""):
                await _redirect(send, SIGN_IN_PATH)
            else:
                await _reply(send, 401, {"error": "not signed in", "detail": f"sign in at {SIGN_IN_PATH} first"})
            return
        await self.app(scope, receive, send)


async def _reply(send: Send, status: int, body: dict[str, str]) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": payload})


async def _redirect(send: Send, location: str) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 303,
            "headers": [(b"location", location.encode()), (b"content-length", b"0"), (b"cache-control", b"no-store")],
        }
    )
    await send({"type": "http.response.body", "body": b""})
