"""OAuth 2.1 resource-server mode over real HTTP, against a local JWKS server and tokens minted here."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import jwt
import pytest_asyncio
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.auth.conftest import Mcp, Serve, serve, tool
from tests.conftest import MakeUser
from tests.servers import free_port
from tools.desk import Desk


class Issuer:
    """A minimal authorization server: discovery, a JWKS whose keys can rotate, and token minting."""

    def __init__(self) -> None:
        self.base = ""
        self.keys: dict[str, rsa.RSAPrivateKey] = {}
        self.rotate()

    def rotate(self) -> str:
        kid = uuid.uuid4().hex[:8]
        self.keys = {kid: rsa.generate_private_key(public_exponent=65537, key_size=2048)}
        self.kid = kid
        return kid

    def jwks(self) -> dict[str, Any]:
        out = []
        for kid, key in self.keys.items():
            jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
            out.append({**jwk, "kid": kid, "use": "sig", "alg": "RS256"})
        return {"keys": out}

    def mint(self, audience: str, *, issuer: str | None = None, expires_in: int = 300, **claims: Any) -> str:
        now = int(time.time())
        payload = {
            "iss": issuer or self.base,
            "aud": audience,
            "sub": claims.pop("sub", "user-123"),
            "iat": now,
            "exp": now + expires_in,
            "scope": "desk:read desk:write",
            "client_id": "inspector",
            **claims,
        }
        return jwt.encode(payload, self.keys[self.kid], algorithm="RS256", headers={"kid": self.kid})

    def app(self) -> Starlette:
        async def discovery(_: Request) -> JSONResponse:
            return JSONResponse({"issuer": self.base, "jwks_uri": f"{self.base}/jwks"})

        async def jwks(_: Request) -> JSONResponse:
            return JSONResponse(self.jwks())

        return Starlette(routes=[Route("/.well-known/oauth-authorization-server", discovery), Route("/jwks", jwks)])


@pytest_asyncio.fixture(loop_scope="session")
async def issuer() -> AsyncIterator[Issuer]:
    it = Issuer()
    async with serve(it.app(), free_port()) as base:
        it.base = base
        yield it


async def test_jwt_access_tokens_are_validated_and_users_provisioned(
    desk: Desk, make_user: MakeUser, served: Serve, issuer: Issuer
) -> None:
    await make_user("tess", "technician", email="tess@corp.example")
    settings = desk.settings
    oauth = {"oauth_issuer": issuer.base, "oauth_role_claim": "desk_role", "oauth_jwks_cooldown_seconds": 0}
    async with served(settings, **oauth) as base, httpx.AsyncClient() as http:
        audience = f"{base}/mcp"
        meta = (await http.get(f"{base}/.well-known/oauth-protected-resource/mcp")).json()
        assert meta["authorization_servers"] == [issuer.base] and meta["resource"] == audience

        # A new person: provisioned as an end user by e-mail.
        new = issuer.mint(audience, sub="u-1", email="nina@corp.example", name="Nina Park")
        mcp = Mcp(http, base)
        assert (await mcp.open(new)).status_code == 200
        me = (await tool(mcp, new, "whoami"))["structuredContent"]
        assert (me["username"], me["role"], me["via"]) == ("nina", "end_user", "oauth")
        assert me["scopes"] == ["desk:read", "desk:write"]

        # An existing user matched by e-mail, with the role the identity provider states.
        tess = issuer.mint(audience, sub="u-2", email="tess@corp.example", desk_role="manager")
        tm = Mcp(http, base)
        assert (await tm.open(tess)).status_code == 200
        assert (await tool(tm, tess, "whoami"))["structuredContent"]["role"] == "manager"

        async def refused(token: str) -> str:
            response = await Mcp(http, base).open(token)
            assert response.status_code == 401, response.text
            return response.headers["www-authenticate"]

        assert "not issued for this resource" in await refused(issuer.mint("http://other.example/mcp", email="a@b.c"))
        assert "not issued by" in await refused(issuer.mint(audience, issuer="http://evil.example", email="a@b.c"))
        assert "expired" in await refused(issuer.mint(audience, expires_in=-120, email="a@b.c"))
        no_claim = await refused(issuer.mint(audience))
        assert "'email'" in no_claim
        forged = jwt.encode(
            {"iss": issuer.base, "aud": audience, "sub": "x", "exp": int(time.time()) + 60, "email": "a@b.c"},
            rsa.generate_private_key(public_exponent=65537, key_size=2048),
            algorithm="RS256",
            headers={"kid": issuer.kid},
        )
        assert "signature" in await refused(forged)
        no_scope = issuer.mint(audience, email="nina@corp.example", scope="profile")
        assert (await Mcp(http, base).open(no_scope)).status_code == 403

        # Key rotation: a token signed with a key the server has not seen makes it refetch the JWKS.
        issuer.rotate()
        rotated = issuer.mint(audience, sub="u-1", email="nina@corp.example")
        rm = Mcp(http, base)
        assert (await rm.open(rotated)).status_code == 200
        assert (await tool(rm, rotated, "whoami"))["structuredContent"]["username"] == "nina"
        # The old key is gone from the set: its tokens no longer verify.
        assert "signing key" in await refused(new)
