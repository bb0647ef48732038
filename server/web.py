"""ASGI middleware for the whole HTTP app: Host/Origin checks, security headers, request rate limits, the
body-size limit while the body is read, the reason behind a 401, and per-identity MCP session bounds.

Each is a plain ASGI callable (no BaseHTTPMiddleware), so streaming responses (SSE for MCP and Gradio)
pass through untouched and context variables set here are seen by the handlers.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser, authorization_context
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecurityMiddleware, TransportSecuritySettings
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.auth import RequestInfo, request_info
from server.ratelimit import RateLimits
from store.config import Settings
from tools.voice_import import WIDGET_SOURCES, widget_agent_id

logger = logging.getLogger(__name__)

# Gradio runs inline scripts and styles and evaluates its own code; everything else stays on this origin.
CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; media-src 'self' data: blob:; font-src 'self' data:; "
    "connect-src 'self'; worker-src 'self' blob:; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)


def content_security_policy(settings: Settings) -> str:
    """:data:`CSP`, plus the ElevenLabs widget's origins only while the Voice tab offers the widget."""
    if widget_agent_id(settings) is None:
        return CSP
    directives = []
    for directive in CSP.split("; "):
        name = directive.split(" ", 1)[0]
        directives.append(" ".join([directive, *WIDGET_SOURCES.get(name, ())]))
    return "; ".join(directives)


def transport_security(settings: Settings) -> TransportSecuritySettings:
    """The SDK's DNS-rebinding settings for this server, applied to /mcp by the SDK and to every route here."""
    port = settings.port
    hosts = [f"{settings.host}:{port}", f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}"]
    public = settings.base_url.split("://", 1)[-1].split("/", 1)[0]
    hosts += [public, *settings.allowed_hosts]
    hosts = list(dict.fromkeys(hosts))
    origins = [f"{scheme}://{h}" for h in hosts for scheme in ("http", "https")]
    origins += settings.allowed_origins
    return TransportSecuritySettings(enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins)


def client_address(scope: Scope) -> str | None:
    client = scope.get("client")
    return str(client[0]) if client else None


class HostOriginGuard:
    """Refuse a request whose Host or Origin is not this server's (DNS rebinding, cross-site pages)."""

    def __init__(self, app: ASGIApp, settings: TransportSecuritySettings) -> None:
        self.app = app
        self.checker = TransportSecurityMiddleware(settings)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            error = await self.checker.validate_request(Request(scope), is_post=False)
            if error is not None:
                if scope["type"] == "websocket":
                    await send({"type": "websocket.close", "code": 1008})
                    return
                await error(scope, receive, send)
                return
        await self.app(scope, receive, send)


class SecurityHeaders:
    """CSP (with frame-ancestors), nosniff, Referrer-Policy on every response; HSTS behind TLS."""

    def __init__(self, app: ASGIApp, *, hsts: bool, csp: str = CSP) -> None:
        self.app = app
        self.headers = [
            (b"content-security-policy", csp.encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"strict-origin-when-cross-origin"),
            (b"x-frame-options", b"DENY"),
        ]
        if hsts:
            self.headers.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))
        self.names = {name for name, _ in self.headers}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in self.names]
                message = {**message, "headers": kept + self.headers}
            await send(message)

        await self.app(scope, receive, with_headers)


class RequestRateLimit:
    """HTTP requests per identity (the bearer token, else the client address): over the limit, 429 + Retry-After."""

    def __init__(self, app: ASGIApp, limits: RateLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] == "/health":
            await self.app(scope, receive, send)
            return
        auth = next((v for k, v in scope["headers"] if k == b"authorization"), b"")
        if auth[:7].lower() == b"bearer ":
            identity = "bearer:" + hashlib.sha256(auth[7:].strip()).hexdigest()[:32]
        else:
            identity = f"addr:{client_address(scope)}"
        refusal = await self.limits.hit("http", identity)
        if refusal is not None:
            response = JSONResponse(
                {"error": "rate_limited", "error_description": refusal.message},
                status_code=429,
                headers={"Retry-After": str(refusal.retry_after)},
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


UPLOAD_HINT = (
    "Files for document_ingest: POST the raw bytes to /uploads?filename=NAME (same Authorization header as /mcp) "
    "and pass the returned upload_id"
)


class BodyLimit:
    """Refuse a body larger than ``max_bytes`` while it is read, before anyone buffers or decodes it."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_bytes
        declared = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._too_large(scope, receive, send)
            return
        seen = 0
        state = {"refused": False, "started": False}

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    state["refused"] = True
                    # The application sees the client go away and stops reading; the 413 goes out below.
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if state["refused"]:
                return
            if message["type"] == "http.response.start":
                state["started"] = True
            await send(message)

        try:
            await self.app(scope, counted, guarded_send)
        finally:
            if state["refused"] and not state["started"]:
                await self._too_large(scope, receive, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        mb = self.max_bytes / 1024 / 1024
        response = PlainTextResponse(
            f"request body too large: at most {mb:.1f} MB (SUPPORT_MAX_UPLOAD_MB); send a smaller file. {UPLOAD_HINT}",
            413,
        )
        await response(scope, receive, send)


class AuthDetails:
    """Carries the client address to the token verifier and puts its reason for refusing into the 401."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        info = RequestInfo(address=client_address(scope))
        token = request_info.set(info)
        pending: list[Message] = []

        async def explain(message: Message) -> None:
            # Only a 401 without a reason from the SDK's RequireAuthMiddleware is rewritten; it is small.
            if message["type"] == "http.response.start" and message["status"] == 401 and info.refusal:
                pending.append(message)
                return
            if pending and message["type"] == "http.response.body":
                start = pending.pop()
                await _send_explained_401(send, start, message, info.refusal or "")
                return
            await send(message)

        try:
            await self.app(scope, receive, explain)
        finally:
            request_info.reset(token)


async def _send_explained_401(send: Send, start: Message, body_message: Message, reason: str) -> None:
    try:
        body: dict[str, Any] = json.loads(body_message.get("body", b"{}"))
    except ValueError:
        body = {}
    body["error_description"] = reason
    data = json.dumps(body).encode()
    safe = reason.replace('"', "'")
    headers = []
    for key, value in start.get("headers", []):
        if key == b"content-length":
            value = str(len(data)).encode()
        elif key == b"www-authenticate":
            text = value.decode()
            text = text.replace('error_description="Authentication required"', f'error_description="{safe}"')
            value = text.encode()
        headers.append((key, value))
    await send({**start, "headers": headers})
    await send({"type": "http.response.body", "body": data})


class SessionBound:
    """At most ``per_identity`` open MCP sessions per principal (issuer + subject); others are not crowded out.

    Wraps the SDK session manager's ASGI entry, which runs after authentication (``scope["user"]`` is set)
    and before a new session is admitted; counts come from the manager's own session-owner table. The SDK
    (2.3) offers no public way to read it, nor a hook when a session closes or idles out (which a count of
    our own would need), so this reads the private table; tests/auth/test_http.py's session-bound test
    fails if the SDK changes it.
    """

    def __init__(self, app: ASGIApp, manager: StreamableHTTPSessionManager, per_identity: int, idle: float) -> None:
        self.app = app
        self.manager = manager
        self.per_identity = per_identity
        self.idle = idle

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        user = scope.get("user")
        opening = scope.get("method") == "POST" and not any(k == b"mcp-session-id" for k, _ in scope["headers"])
        if opening and isinstance(user, AuthenticatedUser):
            who = authorization_context(user)
            owners = self.manager._session_owners.values()  # the SDK's binding of sessions to principals
            open_sessions = sum(1 for o in owners if o["subject"] == who["subject"] and o["issuer"] == who["issuer"])
            if open_sessions >= self.per_identity:
                logger.warning("refusing a new MCP session for %s: %d open", who["subject"], open_sessions)
                message = (
                    f"too many open MCP sessions for this identity ({open_sessions}); close some (HTTP DELETE) "
                    f"or let them idle out ({self.idle:.0f} s)"
                )
                response = JSONResponse(
                    {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": message}},
                    status_code=429,
                    headers={"Retry-After": str(int(self.idle))},
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
