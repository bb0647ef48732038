"""``POST /uploads``: a large file's raw bytes as the body, for document_ingest's ``upload_id``.

The same credentials as ``/mcp`` (a desk API token or an OAuth JWT through the SDK's bearer backend and
the desk's verifier, needing the ``desk:write`` scope), or a signed-in web UI session (with the UI's
cross-site check); the app's Host/Origin guard, rate limit and body limit apply as to every route.
Who may upload is decided in :mod:`tools.uploads` (``knowledge.write``).
"""

from __future__ import annotations

import logging

from mcp.server.auth.middleware.bearer_auth import BearerAuthBackend
from mcp.server.auth.provider import TokenVerifier
from starlette.authentication import AuthCredentials
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from server.context import DeskAccessToken
from tools.actor import Actor
from tools.desk import DeskRef
from tools.errors import DeskError, ForbiddenError, InvalidInputError, NotFoundError
from tools.uploads import UploadTooLargeError, store_upload
from tools.users import current_actor

logger = logging.getLogger(__name__)

UPLOAD_SCOPE = "desk:write"


def _status(exc: DeskError) -> int:
    if isinstance(exc, UploadTooLargeError):
        return 413
    if isinstance(exc, ForbiddenError):
        return 403
    if isinstance(exc, NotFoundError):
        return 404
    return 400 if isinstance(exc, InvalidInputError) else 409


def upload_route(ref: DeskRef, verifier: TokenVerifier, resource_metadata_url: str) -> Route:
    """The ``/uploads`` route, with bearer authentication in front of it."""

    async def who(request: Request) -> Actor | Response:
        user = request.scope.get("user")
        token = getattr(user, "access_token", None)
        if isinstance(token, DeskAccessToken):
            auth = request.scope.get("auth")
            if not isinstance(auth, AuthCredentials) or UPLOAD_SCOPE not in auth.scopes:
                return JSONResponse(
                    {"error": "insufficient_scope", "error_description": f"uploads need the {UPLOAD_SCOPE} scope"},
                    status_code=403,
                )
            return await current_actor(ref.require(), token.user_id)
        from tools.web_sessions import session_actor
        from ui.context import SESSION_COOKIE
        from ui.gate import cross_site_reason

        cookie = request.cookies.get(SESSION_COOKIE)
        if cookie:
            reason = cross_site_reason(request.method, {k.lower(): v for k, v in request.headers.items()})
            if reason is not None:
                return JSONResponse({"error": "cross-site request refused", "detail": reason}, status_code=403)
            actor = await session_actor(ref.require(), cookie)
            if actor is not None:
                return actor
        return JSONResponse(
            {"error": "invalid_token", "error_description": "send Authorization: Bearer <desk token> (as for /mcp)"},
            status_code=401,
            headers={"WWW-Authenticate": f'Bearer error="invalid_token", resource_metadata="{resource_metadata_url}"'},
        )

    async def upload(request: Request) -> Response:
        try:
            found = await who(request)
            if isinstance(found, Response):
                return found
            result = await store_upload(ref.require(), found, request.stream(), request.query_params.get("filename"))
        except DeskError as exc:
            return JSONResponse({"error": str(exc)}, status_code=_status(exc))
        logger.info("stored upload %s (%s, %d bytes)", result.upload_id, result.filename, result.size_bytes)
        return JSONResponse(result.model_dump(mode="json"), status_code=201)

    inner = Route("/uploads", upload, methods=["POST"])
    app: ASGIApp = AuthenticationMiddleware(inner, backend=BearerAuthBackend(verifier))
    return Route("/uploads", endpoint=app, methods=["POST"])
