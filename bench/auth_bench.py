"""Cost of authentication per call: ticket_get over streamable HTTP with no verification, a desk API token
and an OAuth JWT, in one run on one desk. Run by hand, prints figures.

    .venv/bin/python bench/auth_bench.py [--calls 500] [--database-url postgresql://...] [--redis-url redis://...]

All three servers are the same assembled HTTP app (same middleware, same session handling) on loopback;
the baseline's verifier returns a fixed identity without looking anything up, so the differences are the
token checks themselves: for the API token the credential cache's generation check (a marker file on SQLite,
a Redis GET with --redis-url; PostgreSQL without Redis has no cache and reads the token every time), for the
JWT its signature and claims plus the same cached user match (with the JWKS cached, served by a local HTTP
server started here).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import jwt
import uvicorn
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from mcp.server.auth.provider import AccessToken
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from server.auth import DeskTokenVerifier
from server.context import DeskAccessToken
from server.http import build_http_app
from store.config import Settings
from tools.desk import Desk, open_desk
from tools.ticket_models import TicketCreate
from tools.tickets import ticket_create
from tools.tokens import token_create
from tools.users import ensure_actor

ACCEPT = "application/json, text/event-stream"
INIT = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}}


class FixedIdentity:
    """The baseline: every bearer value is the admin, with no look-up or cryptography."""

    def __init__(self, user_id: int) -> None:
        self.user_id = user_id

    async def verify_token(self, token: str) -> AccessToken | None:
        return DeskAccessToken(
            token="x",
            client_id="bench",
            scopes=["desk:read", "desk:write", "desk:admin"],
            subject="bench",
            user_id=self.user_id,
            username="admin",
            role="admin",
            via="token",
        )


async def serve(app: Starlette, port: int) -> tuple[uvicorn.Server, asyncio.Task[None]]:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(60):
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.02)
    return server, task


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Session:
    """One MCP session over raw HTTP, so each timed call is exactly one POST."""

    def __init__(self, http: httpx.AsyncClient, base: str, token: str) -> None:
        self.http, self.url = http, f"{base}/mcp"
        self.headers = {"Authorization": f"Bearer {token}", "Accept": ACCEPT, "MCP-Protocol-Version": "2025-06-18"}

    async def open(self) -> None:
        init = {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": INIT}
        response = await self.http.post(self.url, json=init, headers=self.headers)
        response.raise_for_status()
        self.headers["Mcp-Session-Id"] = response.headers["mcp-session-id"]
        note = {"jsonrpc": "2.0", "method": "notifications/initialized"}
        await self.http.post(self.url, json=note, headers=self.headers)

    async def ticket_get(self, number: str, call_id: int) -> float:
        params = {"name": "ticket_get", "arguments": {"ticket": number}}
        body = {"jsonrpc": "2.0", "id": call_id, "method": "tools/call", "params": params}
        t0 = time.perf_counter()
        response = await self.http.post(self.url, json=body, headers=self.headers)
        elapsed = (time.perf_counter() - t0) * 1000
        if response.status_code != 200 or '"isError":true' in response.text:
            raise RuntimeError(f"ticket_get failed: {response.status_code} {response.text[:300]}")
        return elapsed


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def main(n: int, database_url: str | None, redis_url: str | None) -> None:
    logging.basicConfig(level=logging.WARNING)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = {**json.loads(RSAAlgorithm.to_jwk(key.public_key())), "kid": "k1", "use": "sig", "alg": "RS256"}

    async def jwks(_: Request) -> JSONResponse:
        return JSONResponse({"keys": [jwk]})

    issuer_port = free_port()
    issuer = f"http://127.0.0.1:{issuer_port}"
    servers: list[tuple[uvicorn.Server, asyncio.Task[None]]] = [
        await serve(Starlette(routes=[Route("/jwks", jwks)]), issuer_port)
    ]
    with tempfile.TemporaryDirectory() as tmp:
        base_settings = Settings(
            data_dir=Path(tmp),
            database_url=database_url,
            redis_url=redis_url,
            rate_limit_prefix=f"bench-{uuid.uuid4().hex[:12]}",
            _env_file=None,  # type: ignore[call-arg]
        )
        async with open_desk(base_settings) as desk:
            admin = await ensure_actor(desk, "admin", "admin")
            desk_token = (await token_create(desk, admin, username="admin", name="bench")).token
            number = (await ticket_create(desk, admin, TicketCreate(subject="Bench", description="ticket_get"))).number
            figures: dict[str, list[float]] = {}
            sessions: dict[str, tuple[str, str]] = {}
            for label in ("no verification", "desk API token", "OAuth JWT"):
                port = free_port()
                settings = base_settings.model_copy(
                    update={
                        "port": port,
                        "oauth_issuer": issuer,
                        "oauth_jwks_url": f"{issuer}/jwks",
                        "rate_limit_http": "1000000/minute",
                        "rate_limit_read": "1000000/minute",
                    }
                )
                verifier = FixedIdentity(admin.user_id) if label == "no verification" else None
                servers.append(await serve(build_http_app(settings, with_ui=False, token_verifier=verifier), port))
                now = int(time.time())
                claims: dict[str, Any] = {
                    "iss": issuer,
                    "aud": f"http://127.0.0.1:{port}/mcp",
                    "sub": "admin",
                    "exp": now + 3600,
                    "email": "admin@localhost.localdomain",
                    "scope": "desk:read desk:write",
                }
                bearer = {
                    "no verification": "anything",
                    "desk API token": desk_token,
                    "OAuth JWT": jwt.encode(claims, key, algorithm="RS256", headers={"kid": "k1"}),
                }[label]
                sessions[label] = (f"http://127.0.0.1:{port}", bearer)
            async with httpx.AsyncClient(timeout=30) as http:
                opened = {label: Session(http, base, bearer) for label, (base, bearer) in sessions.items()}
                for session in opened.values():
                    await session.open()
                figures = {label: [] for label in opened}
                # Interleaved, so load on the machine drifts over all three alike, and in a rotating order,
                # since all share this event loop and a call pays for the tail of the one before (the first
                # 20 rounds warm up).
                labels = list(opened)
                for i in range(n + 20):
                    for label in labels[i % 3 :] + labels[: i % 3]:
                        session = opened[label]
                        elapsed = await session.ticket_get(number, i + 1)
                        if i >= 20:
                            figures[label].append(elapsed)
                # The verifiers alone, in this process: the same checks without HTTP around them, so a busy
                # machine blurs them less.
                in_process = await verifier_figures(desk, issuer, desk_token, key, max(n, 1000))
            # Before the data directory goes: the servers' index workers still use it.
            for server, task in servers:
                server.should_exit = True
                await asyncio.wait_for(task, 30)
    backend = "PostgreSQL" if database_url else "SQLite"
    shared = f", credential cache generation in Redis ({redis_url})" if redis_url else ""
    print(f"ticket_get over streamable HTTP on loopback, {n} sequential calls each, {backend}{shared}:")
    base50 = statistics.median(figures["no verification"])
    for label, values in figures.items():
        p50, p99 = statistics.median(values), pct(values, 0.99)
        extra = "" if label == "no verification" else f"   (+{p50 - base50:.2f} ms at p50)"
        print(f"  {label:<16} p50 {p50:6.2f} ms   p99 {p99:6.2f} ms{extra}")
    print("DeskTokenVerifier.verify_token alone, in process (what each request adds):")
    for label, values in in_process.items():
        print(f"  {label:<16} p50 {statistics.median(values):6.3f} ms   p99 {pct(values, 0.99):6.3f} ms")


async def verifier_figures(desk: Desk, issuer: str, desk_token: str, key: Any, n: int) -> dict[str, list[float]]:
    settings = desk.settings.model_copy(update={"oauth_issuer": issuer, "oauth_jwks_url": f"{issuer}/jwks"})
    verifier = DeskTokenVerifier(settings, lambda: desk)
    claims = {
        "iss": issuer,
        "aud": settings.resource_url,
        "sub": "admin",
        "exp": int(time.time()) + 3600,
        "email": "admin@localhost.localdomain",
        "scope": "desk:read desk:write",
    }
    bearers = {
        "desk API token": desk_token,
        "OAuth JWT": jwt.encode(claims, key, algorithm="RS256", headers={"kid": "k1"}),
    }
    figures: dict[str, list[float]] = {label: [] for label in bearers}
    for i in range(n + 20):
        for label, bearer in bearers.items():
            t0 = time.perf_counter()
            found = await verifier.verify_token(bearer)
            elapsed = (time.perf_counter() - t0) * 1000
            if found is None:
                raise RuntimeError(f"{label} was refused")
            if i >= 20:
                figures[label].append(elapsed)
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--redis-url", default=None, help="rate limits and the credential cache's generation")
    args = parser.parse_args()
    asyncio.run(main(args.calls, args.database_url, args.redis_url))
