"""OAuth 2.1 resource-server mode: validate JWT access tokens from the configured authorization server.

PyJWT does the JOSE work: the signature against the issuer's JWKS (cached by ``PyJWKClient``; a key id it
has not seen makes it refetch the set, so a rotated key is picked up at once), ``iss``, ``aud`` (this
server's resource URL: a token minted for another resource is refused), ``exp``/``nbf`` with a small
leeway. Nothing here hand-rolls a JWT check.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
import httpx
import jwt
from jwt import PyJWKClient

from store.config import Settings
from tools.actor import ROLES, Role

logger = logging.getLogger(__name__)


class OAuthRefused(Exception):
    """The access token is not acceptable; the message says why (it reaches the client)."""


@dataclass(frozen=True, slots=True)
class OAuthIdentity:
    """What a valid access token says about its holder."""

    subject: str
    issuer: str
    client_id: str
    scopes: tuple[str, ...]
    expires_at: int | None
    match_value: str
    email: str | None
    display_name: str | None
    role: Role | None


class JwtVerifier:
    """Validates access tokens of one issuer for one audience."""

    def __init__(self, settings: Settings) -> None:
        assert settings.oauth_issuer, "JwtVerifier needs SUPPORT_OAUTH_ISSUER"
        self.settings = settings
        self.issuer = settings.oauth_issuer
        self.audience = settings.resource_url
        self._jwks_url = settings.oauth_jwks_url
        self._client: PyJWKClient | None = None
        self._keys: dict[str, tuple[Any, float]] = {}
        """Signing keys by key id, with when they were fetched: a hit needs no thread hop and no I/O."""

    async def _jwks(self) -> PyJWKClient:
        if self._client is None:
            url = self._jwks_url or await self._discover()
            self._client = PyJWKClient(
                url,
                cache_jwk_set=True,
                lifespan=self.settings.oauth_jwks_cache_seconds,
                cooldown_duration=self.settings.oauth_jwks_cooldown_seconds,
                timeout=10,
            )
        return self._client

    async def _discover(self) -> str:
        """``jwks_uri`` from the issuer's RFC 8414 / OpenID discovery document."""
        base = self.issuer.rstrip("/")
        async with httpx.AsyncClient(timeout=10) as client:
            for path in ("/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"):
                try:
                    response = await client.get(base + path)
                except httpx.HTTPError as exc:
                    raise OAuthRefused(f"the authorization server {base} cannot be reached: {exc}") from exc
                if response.status_code == 200 and "jwks_uri" in response.json():
                    return str(response.json()["jwks_uri"])
        raise OAuthRefused(f"the authorization server {base} publishes no jwks_uri; set SUPPORT_OAUTH_JWKS_URL")

    async def verify(self, token: str) -> OAuthIdentity:
        """The identity in ``token``, or :class:`OAuthRefused` saying what is wrong with it."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise OAuthRefused("the token is neither a desk API token nor a JWT") from exc
        if header.get("alg") not in self.settings.oauth_algorithms:
            raise OAuthRefused(f"the token is signed with {header.get('alg')!r}, which this server does not accept")
        key = await self._signing_key(token, str(header.get("kid", "")))
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=self.settings.oauth_algorithms,
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.settings.oauth_leeway_seconds,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise OAuthRefused("the token expired") from exc
        except jwt.InvalidAudienceError as exc:
            raise OAuthRefused(f"the token was not issued for this resource ({self.audience})") from exc
        except jwt.InvalidIssuerError as exc:
            raise OAuthRefused(f"the token was not issued by {self.issuer}") from exc
        except jwt.InvalidSignatureError as exc:
            raise OAuthRefused("the token's signature does not verify") from exc
        except jwt.PyJWTError as exc:
            raise OAuthRefused(f"the token is not valid: {exc}") from exc
        return self._identity(claims)

    async def _signing_key(self, token: str, kid: str) -> Any:
        cached = self._keys.get(kid)
        if cached is not None and time.monotonic() - cached[1] < self.settings.oauth_jwks_cache_seconds:
            return cached[0]
        client = await self._jwks()
        try:
            # PyJWKClient fetches over urllib (blocking): keep it off the event loop. It refetches the set
            # for a key id it has not seen (rotation), at most once per cooldown.
            found = await anyio.to_thread.run_sync(client.get_signing_key_from_jwt, token)
        except jwt.PyJWKClientConnectionError as exc:
            raise OAuthRefused(f"the signing keys cannot be fetched: {exc}") from exc
        except jwt.PyJWKClientError as exc:
            raise OAuthRefused(f"the token's signing key is not published by the issuer: {exc}") from exc
        # A rotation drops the keys the issuer no longer publishes.
        published = {k.key_id for k in client.get_signing_keys()} if kid not in self._keys else None
        if published is not None:
            self._keys = {k: v for k, v in self._keys.items() if k in published}
        self._keys[kid] = (found.key, time.monotonic())
        return found.key

    def _identity(self, claims: dict[str, Any]) -> OAuthIdentity:
        match_claim = self.settings.oauth_user_claim
        value = claims.get(match_claim)
        if not isinstance(value, str) or not value.strip():
            raise OAuthRefused(f"the token has no {match_claim!r} claim to match a desk user by")
        raw_scopes = claims.get("scope", claims.get("scp", ""))
        scopes = tuple(raw_scopes.split() if isinstance(raw_scopes, str) else [str(s) for s in raw_scopes or []])
        role: Role | None = None
        if self.settings.oauth_role_claim:
            stated = claims.get(self.settings.oauth_role_claim)
            candidates = stated if isinstance(stated, list) else [stated]
            # Several roles in the claim: the highest desk role among them counts.
            found = [r for r in ROLES if r in candidates]
            role = found[-1] if found else None
        email = claims.get("email")
        name = claims.get("name") or claims.get("preferred_username")
        return OAuthIdentity(
            subject=str(claims["sub"]),
            issuer=str(claims["iss"]),
            client_id=str(claims.get("client_id") or claims.get("azp") or "oauth"),
            scopes=scopes,
            expires_at=int(claims["exp"]) if "exp" in claims else None,
            match_value=value,
            email=email if isinstance(email, str) else None,
            display_name=name if isinstance(name, str) else None,
            role=role,
        )
