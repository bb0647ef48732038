"""HTTP authentication with the SDK's own pieces: a ``TokenVerifier`` for desk API tokens and OAuth JWTs.

The SDK's ``BearerAuthBackend`` calls :meth:`DeskTokenVerifier.verify_token` on every HTTP request (so a
revocation applies to the next one), its ``RequireAuthMiddleware`` answers 401 (no or bad credentials,
with ``WWW-Authenticate: Bearer ... resource_metadata=...``) or 403 ``insufficient_scope`` before any MCP
handler runs, and its session manager binds each session to the principal that opened it
(``client_id``, ``iss``, ``sub`` of the access token built here).

Why a token was refused travels from the verifier to the 401 response through :data:`request_info`,
set per request by :class:`server.web.AuthDetails`.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable
from dataclasses import dataclass

from mcp.server.auth.provider import AccessToken, TokenVerifier

from server.context import DeskAccessToken
from server.oauth import JwtVerifier, OAuthRefused
from store.config import Settings
from tools.desk import Desk
from tools.errors import DeskError
from tools.tokens import SCOPES, TOKEN_PREFIX, TokenIdentity, identity_for_token
from tools.users import user_for_identity

logger = logging.getLogger(__name__)


@dataclass
class RequestInfo:
    """Per HTTP request: the client's address (for the audit), and why its token was refused."""

    address: str | None = None
    refusal: str | None = None


request_info: contextvars.ContextVar[RequestInfo | None] = contextvars.ContextVar("support_http", default=None)


def _refuse(reason: str) -> None:
    info = request_info.get()
    if info is not None:
        info.refusal = reason


class DeskTokenVerifier(TokenVerifier):
    """Desk API tokens (``sa_...``) always; JWT access tokens of ``SUPPORT_OAUTH_ISSUER`` when configured."""

    def __init__(self, settings: Settings, desk: Callable[[], Desk | None]) -> None:
        self.settings = settings
        self.desk = desk
        self.jwt = JwtVerifier(settings) if settings.oauth_issuer else None

    async def verify_token(self, token: str) -> AccessToken | None:
        desk = self.desk()
        if desk is None:
            _refuse("the server is still starting; try again in a moment")
            return None
        info = request_info.get()
        address = info.address if info else None
        if token.startswith(TOKEN_PREFIX):
            found = await identity_for_token(desk, token, address=address)
            if isinstance(found, str):
                _refuse(found)
                return None
            return _desk_token(found, self.settings)
        if self.jwt is None:
            _refuse("the token is not a desk API token (OAuth is not configured on this server)")
            return None
        try:
            identity = await self.jwt.verify(token)
        except OAuthRefused as exc:
            _refuse(str(exc))
            return None
        try:
            actor = await user_for_identity(
                desk,
                match=self.settings.oauth_user_claim,
                value=identity.match_value,
                email=identity.email,
                display_name=identity.display_name,
                role=identity.role,
                address=address,
            )
        except DeskError as exc:
            _refuse(str(exc))
            return None
        return DeskAccessToken(
            token="<jwt>",  # the credential itself is not kept on the request
            client_id=identity.client_id,
            scopes=list(identity.scopes),
            expires_at=identity.expires_at,
            resource=self.settings.resource_url,
            subject=identity.subject,
            claims={"iss": identity.issuer},
            user_id=actor.user_id,
            username=actor.username,
            role=actor.role,
            via="oauth",
        )


def _desk_token(found: TokenIdentity, settings: Settings) -> DeskAccessToken:
    return DeskAccessToken(
        token="<desk token>",
        client_id=f"token:{found.token_id}",
        scopes=[s for s in SCOPES if s in found.scopes],
        expires_at=int(found.expires_at.timestamp()) if found.expires_at else None,
        resource=settings.resource_url,
        subject=f"user:{found.actor.user_id}",
        claims={"iss": settings.base_url},
        user_id=found.actor.user_id,
        username=found.actor.username,
        role=found.actor.role,
        via="token",
    )
