"""The HTTP application: streamable HTTP MCP at /mcp (an OAuth 2.1 protected resource), RFC 9728 metadata,
a health check, and the Gradio UI at /.

The MCP endpoint is the SDK's own assembled Starlette app (``MCPServer.streamable_http_app`` with
``AuthSettings`` and a ``TokenVerifier``), mounted whole: rebuilding an app from its ``routes`` would drop
the SDK's authentication middleware. One desk is opened per process in the app's lifespan and shared by
MCP sessions and the UI. Every route passes the same Host/Origin check, request rate limit, body limit and
security headers.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlparse

from mcp.server.auth.provider import TokenVerifier
from mcp.server.auth.routes import build_resource_metadata_url, cors_middleware, create_protected_resource_routes
from mcp.server.auth.settings import AuthSettings
from pydantic import AnyHttpUrl
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from agent.holder import AgentHolder
from server.app import agent_factory, build_server
from server.auth import DeskTokenVerifier
from server.ratelimit import RateLimits
from server.uploads import upload_route
from server.web import (
    AuthDetails,
    BodyLimit,
    HostOriginGuard,
    RequestRateLimit,
    SecurityHeaders,
    SessionBound,
    content_security_policy,
    transport_security,
)
from server.webhooks import webhook_routes
from store.config import Settings
from tools.desk import DeskRef, open_desk
from tools.indexing import index_worker
from tools.ingest_runner import ingest_worker
from tools.metrics_queue import metrics_worker
from tools.tokens import SCOPES

logger = logging.getLogger(__name__)

REQUIRED_SCOPES = ["desk:read"]
"""Every MCP request needs at least this scope (a credential without it gets 403 insufficient_scope)."""
RESOURCE_NAME = "Support desk"


def build_http_app(
    settings: Settings, *, with_ui: bool = True, token_verifier: TokenVerifier | None = None
) -> Starlette:
    """The ASGI app ``support-agent serve`` runs. ``token_verifier`` replaces the desk's (benchmarks)."""
    if settings.ingest_roots is None:
        # Over HTTP the caller is remote: never let it name arbitrary files on this machine.
        settings = settings.model_copy(update={"ingest_roots": []})
    ref = DeskRef()
    limits = RateLimits(settings)
    auth = AuthSettings(
        # Strings, so the URLs keep their exact spelling (issuer comparison is exact: no added "/").
        issuer_url=settings.oauth_issuer or settings.base_url,  # type: ignore[arg-type]
        resource_server_url=settings.resource_url,  # type: ignore[arg-type]
        required_scopes=REQUIRED_SCOPES,
        # The verifier checks the audience itself (PyJWT ``audience=``); desk tokens belong to this server.
        validate_token_resource=False,
    )
    assert auth.resource_server_url is not None
    resource, issuer = auth.resource_server_url, auth.issuer_url
    verifier = token_verifier or DeskTokenVerifier(settings, lambda: ref.desk)
    # One support agent for the process: support_ask and the web UI's Chat and Voice share it (and its
    # per-conversation locks), made on first use once the lifespan below has opened the desk.
    agent = AgentHolder(lambda: agent_factory(settings, ref.require())())
    mcp = build_server(settings, desk=ref, agent=agent, auth=auth, token_verifier=verifier)
    security = transport_security(settings)
    # A base64 upload through document_ingest is a third larger than the file, plus the JSON around it.
    max_body = int(settings.max_upload_mb * 1024 * 1024 * 4 / 3) + 1024 * 1024
    mcp_app = mcp.streamable_http_app(
        streamable_http_path="/mcp",
        host=settings.host,
        transport_security=security,
        max_request_body_size=max_body,
        session_idle_timeout=settings.session_idle_seconds,
        max_sessions=settings.max_sessions,
        # Stateless: no session lives in this process, so the next request may go to any other one.
        # Responses still stream (SSE), so a waiting document_ingest keeps its progress notifications.
        stateless_http=settings.http_stateless,
    )
    manager = mcp.session_manager
    if not settings.http_stateless:
        manager.asgi_app = SessionBound(  # type: ignore[assignment]
            manager.asgi_app, manager, settings.max_sessions_per_identity, settings.session_idle_seconds
        )

    metadata = _resource_metadata(resource, issuer if settings.oauth_issuer else None)
    root_metadata = Route(
        "/.well-known/oauth-protected-resource", endpoint=metadata[0].endpoint, methods=["GET", "OPTIONS"]
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
        async with open_desk(settings) as desk, index_worker(desk), ingest_worker(desk), metrics_worker(desk):
            desk.extras["rate_limits"] = limits
            ref.desk = desk
            try:
                async with manager.run():
                    logger.info(
                        "serving MCP at %s (resource %s)", f"http://{settings.host}:{settings.port}/mcp", resource
                    )
                    yield
            finally:
                # Its MCP clients and checkpointer close before the desk does.
                await agent.aclose()
            ref.desk = None

    app = Starlette(
        routes=[
            Route("/health", health),
            *metadata,
            root_metadata,
            # The SDK's app as a whole (its auth middleware included) answers /mcp.
            Route("/mcp", endpoint=mcp_app, methods=["GET", "POST", "DELETE"]),
            # Large files for document_ingest (upload_id), with the same credentials as /mcp.
            upload_route(ref, verifier, str(build_resource_metadata_url(resource))),
            # ElevenLabs' post-call webhook: authenticated by its HMAC signature, not by a desk token.
            *webhook_routes(ref),
        ],
        middleware=[
            Middleware(
                SecurityHeaders, hsts=settings.base_url.startswith("https://"), csp=content_security_policy(settings)
            ),
            Middleware(HostOriginGuard, settings=security),
            Middleware(RequestRateLimit, limits=limits),
            Middleware(BodyLimit, max_bytes=max_body),
            Middleware(AuthDetails),
        ],
        lifespan=lifespan,
    )
    app.state.desk_ref = ref
    app.state.mcp = mcp
    if with_ui:
        from ui.mount import mount_ui

        mount_ui(app, settings, ref, agent=agent)
    return app


def _resource_metadata(resource: AnyHttpUrl, issuer: AnyHttpUrl | None) -> list[Route]:
    """RFC 9728 metadata at the /mcp-suffixed path (the caller adds the root), naming every scope the desk knows.

    With OAuth configured it names the issuer, built by the SDK. With desk API tokens only there is no
    authorization server to name: tokens come from ``support-agent token create``, and this server has no
    /authorize or /token. RFC 9728 makes ``authorization_servers`` optional, so the document leaves it out
    rather than send OAuth clients to endpoints that do not exist (the MCP authorization spec requires one
    only of servers that take part in OAuth; the SDK's model insists on one, hence the plain document here).
    """
    if issuer is not None:
        return create_protected_resource_routes(
            resource_url=resource,
            authorization_servers=[issuer],
            scopes_supported=list(SCOPES),
            resource_name=RESOURCE_NAME,
        )
    document = {
        "resource": str(resource),
        "scopes_supported": list(SCOPES),
        "bearer_methods_supported": ["header"],
        "resource_name": RESOURCE_NAME,
    }

    async def handle(_: Request) -> Response:
        return JSONResponse(document, headers={"Cache-Control": "public, max-age=3600"})

    path = urlparse(str(build_resource_metadata_url(resource))).path
    return [Route(path, endpoint=cors_middleware(handle, ["GET", "OPTIONS"]), methods=["GET", "OPTIONS"])]


def app_from_environment() -> Starlette:
    """The app one ``serve --workers N`` process runs: settings come from the environment the CLI set."""
    return build_http_app(Settings())


def app_from_environment_without_ui() -> Starlette:
    """As :func:`app_from_environment`, MCP and health only (``serve --workers N --no-ui``)."""
    return build_http_app(Settings(), with_ui=False)
