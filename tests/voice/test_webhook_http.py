"""POST /webhooks/elevenlabs through the assembled HTTP app (UI, Host/Origin guard, headers, rate limits) over
real HTTP: its HMAC signature is its authentication, and it opens nothing else."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from pydantic import SecretStr

from server.http import build_http_app
from tests.auth.conftest import ACCEPT, INIT_PARAMS, serve
from tests.conftest import MakeUser
from tests.servers import free_port
from tests.voice.test_elevenlabs_import import SECRET, conversation, signed
from tools import voice_conversations as vc
from tools.actor import Actor
from tools.desk import Desk

HOOK = "/webhooks/elevenlabs"
JSON = {"content-type": "application/json"}


@asynccontextmanager
async def desk_over_http(desk: Desk, **overrides: Any) -> AsyncIterator[str]:
    """The whole app ``support-agent serve`` runs (the UI included) on a free port, with the webhook secret."""
    port = free_port()
    settings = desk.settings.model_copy(
        update={
            "host": "127.0.0.1",
            "port": port,
            "rate_limit_prefix": f"test-{uuid.uuid4().hex[:12]}",
            "elevenlabs_webhook_secret": SecretStr(SECRET),
            **overrides,
        }
    )
    async with serve(build_http_app(settings, with_ui=True), port) as base:
        yield base


def event(cid: str) -> str:
    data = conversation(cid)
    return json.dumps({"type": "post_call_transcription", "event_timestamp": int(time.time()), "data": data})


async def test_a_signed_webhook_needs_no_token_or_origin_and_bad_or_replayed_ones_are_refused(
    desk: Desk, admin: Actor, make_user: MakeUser
) -> None:
    await make_user("alice")
    body = event("conv_http_1")
    async with desk_over_http(desk) as base, httpx.AsyncClient(base_url=base, timeout=30) as http:
        # As ElevenLabs sends it: server to server, no browser Origin, no Authorization header.
        signature = JSON | {"elevenlabs-signature": signed(body)}
        ok = await http.post(HOOK, content=body, headers=signature)
        assert ok.status_code == 200 and ok.json()["status"] == "stored", ok.text
        assert "frame-ancestors 'none'" in ok.headers["content-security-policy"]
        assert ok.headers["x-content-type-options"] == "nosniff"

        replay = await http.post(HOOK, content=body, headers=signature)
        assert replay.status_code == 409 and "replay" in replay.json()["error"]

        other = event("conv_http_2")
        forged = await http.post(HOOK, content=other, headers=JSON | {"elevenlabs-signature": signed(other, "nope")})
        assert forged.status_code == 401 and "Signature" in forged.json()["error"]
        unsigned = await http.post(HOOK, content=other, headers=JSON)
        assert unsigned.status_code == 401

        port = base.rsplit(":", 1)[1]
        good = JSON | {"elevenlabs-signature": signed(other)}
        rebinding = await http.post(HOOK, content=other, headers=good | {"Host": f"evil.example:{port}"})
        assert rebinding.status_code == 421
        cross_site = await http.post(HOOK, content=other, headers=good | {"Origin": "http://evil.example"})
        assert cross_site.status_code == 403

    stored = await vc.conversation_list(desk, admin)
    assert [i.conversation_id for i in stored.items] == ["conv_http_1"]  # nothing refused above was stored
    assert stored.items[0].source == "elevenlabs" and stored.items[0].user == "alice"


async def test_the_public_host_reaches_the_webhook_when_allowed(desk: Desk, admin: Actor) -> None:
    public = {"public_url": "https://desk.example.com", "allowed_hosts": ["desk.example.com"]}
    body = event("conv_http_public")
    async with desk_over_http(desk, **public) as base, httpx.AsyncClient(base_url=base, timeout=30) as http:
        headers = JSON | {"elevenlabs-signature": signed(body), "Host": "desk.example.com"}
        ok = await http.post(HOOK, content=body, headers=headers)
    assert ok.status_code == 200, ok.text
    assert ok.headers["strict-transport-security"].startswith("max-age=")
    assert (await vc.conversation_get(desk, admin, "conv_http_public")).source == "elevenlabs"


async def test_a_webhook_signature_opens_no_other_route(desk: Desk) -> None:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": INIT_PARAMS})
    signature = {"elevenlabs-signature": signed(body)}
    async with desk_over_http(desk) as base, httpx.AsyncClient(base_url=base, timeout=30) as http:
        mcp = await http.post("/mcp", content=body, headers=JSON | signature | {"Accept": ACCEPT})
        assert mcp.status_code == 401  # MCP still needs a bearer token
        for path in ("/gradio_api/info", "/config", "/"):
            page = await http.get(path, headers=signature, follow_redirects=False)
            assert page.status_code in (302, 303, 307, 401), (path, page.status_code)  # the sign-in gate
            assert "signin" in page.headers.get("location", "/signin"), path
        # Other methods fall through to the UI mount, which answers them from behind its sign-in gate.
        assert (await http.get(HOOK, headers=signature)).status_code in (401, 405)
        for path in (f"{HOOK}/extra", "/webhooks/other"):
            sideways = await http.post(path, content=body, headers=JSON | signature, follow_redirects=False)
            assert sideways.status_code in (302, 303, 307, 401, 404, 405), (path, sideways.status_code)


async def test_webhook_floods_are_rate_limited(desk: Desk) -> None:
    async with desk_over_http(desk, rate_limit_http="3/minute") as base, httpx.AsyncClient(base_url=base) as http:
        codes = []
        for n in range(5):
            body = event(f"conv_flood_{n}")
            response = await http.post(HOOK, content=body, headers=JSON | {"elevenlabs-signature": signed(body)})
            codes.append(response.status_code)
        assert codes[:3] == [200, 200, 200] and codes[3:] == [429, 429], codes
        assert int(response.headers["retry-after"]) > 0
