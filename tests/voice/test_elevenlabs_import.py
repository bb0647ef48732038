"""ElevenLabs Agents conversations: the post-call webhook (signed, replays refused) and voice sync."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from starlette.applications import Starlette

from server.app import DeskRef
from server.webhooks import webhook_routes
from tests.conftest import MakeUser
from tests.mcp_helpers import call, client
from tests.voice.fake_elevenlabs import API_KEY, FakeElevenLabs, fake_elevenlabs
from tools.actor import Actor
from tools.desk import Desk
from tools.voice_import import sync

SECRET = "whsec-test-secret"


def conversation(cid: str, *, user: str = "alice", rating: int | None = 4, transfer: bool = False) -> dict[str, Any]:
    """A conversation as GET /v1/convai/conversations/{id} returns it (and a post-call webhook carries it)."""
    return {
        "agent_id": "agent_1",
        "conversation_id": cid,
        "status": "done",
        "user_id": user,
        "transcript": [
            {"role": "agent", "message": "Hi, IT support. How can I help?", "time_in_call_secs": 0},
            {"role": "user", "message": "My VPN keeps dropping.", "time_in_call_secs": 3},
            {
                "role": "agent",
                "message": "Let me connect you to a technician.",
                "time_in_call_secs": 9,
                "tool_calls": [{"tool_name": "transfer_to_number"}] if transfer else None,
            },
        ],
        "metadata": {
            "start_time_unix_secs": int(time.time()) - 120,
            "call_duration_secs": 42,
            "feedback": {"rating": rating} if rating else {},
            "termination_reason": "transfer to human" if transfer else "end_call tool",
        },
        "analysis": {"call_successful": "success", "transcript_summary": "VPN drops; advised a reconnect."},
        "has_audio": True,
        "has_user_audio": True,
        "has_response_audio": True,
        "has_auxiliary_audio": False,
    }


def signed(body: str, secret: str = SECRET, at: int | None = None) -> str:
    ts = str(at if at is not None else int(time.time()))
    digest = hmac.new(secret.encode(), f"{ts}.{body}".encode(), hashlib.sha256).hexdigest()
    return f"t={ts},v0={digest}"


@pytest.fixture
def hook_desk(desk: Desk) -> Desk:
    settings = desk.settings.model_copy(update={"elevenlabs_webhook_secret": SecretStr(SECRET)})
    return dataclasses.replace(desk, settings=settings, extras={})


async def post(desk: Desk, body: str, signature: str | None) -> httpx.Response:
    app = Starlette(routes=webhook_routes(DeskRef(desk)))
    headers = {"content-type": "application/json"} | ({"elevenlabs-signature": signature} if signature else {})
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://desk") as http:
        return await http.post("/webhooks/elevenlabs", content=body.encode(), headers=headers)


async def test_webhook_stores_the_call_and_refuses_bad_and_replayed_signatures(
    hook_desk: Desk, admin: Actor, make_user: MakeUser
) -> None:
    await make_user("alice")
    body = json.dumps({"type": "post_call_transcription", "event_timestamp": int(time.time()),
                       "data": conversation("conv_1", transfer=True)})  # fmt: skip
    assert (await post(hook_desk, body, None)).status_code == 401
    bad = await post(hook_desk, body, signed(body, secret="wrong"))
    assert bad.status_code == 401 and "Signature" in bad.json()["error"]
    stale = await post(hook_desk, body, signed(body, at=int(time.time()) - 3600))
    assert stale.status_code == 401 and "tolerance" in stale.json()["error"]

    signature = signed(body)
    ok = await post(hook_desk, body, signature)
    assert ok.status_code == 200 and ok.json()["status"] == "stored", ok.text
    replay = await post(hook_desk, body, signature)
    assert replay.status_code == 409 and "replay" in replay.json()["error"]

    async with client(hook_desk, "alice") as c:  # the caller is a desk user: it is her conversation
        mine = await call(c, "voice_conversation_list", {})
        assert mine["total"] == 1 and mine["items"][0]["source"] == "elevenlabs"
        detail = await call(c, "voice_conversation_get", {"id": "conv_1"})
    assert detail["status"] == "handed_off" and detail["satisfaction"] == 4 and detail["duration_s"] == 42
    assert [t["speaker"] for t in detail["items"]] == ["agent", "user", "agent"]
    assert detail["summary"].startswith("VPN drops")


async def test_webhook_without_a_configured_secret_accepts_nothing(desk: Desk) -> None:
    body = json.dumps({"type": "post_call_transcription", "data": conversation("conv_2")})
    response = await post(dataclasses.replace(desk, extras={}), body, signed(body))
    assert response.status_code == 503 and "ELEVENLABS_WEBHOOK_SECRET" in response.json()["error"]


@pytest.fixture
def fake() -> Iterator[FakeElevenLabs]:
    with fake_elevenlabs() as server:
        yield server


async def test_sync_imports_every_page_and_is_idempotent(desk: Desk, admin: Actor, fake: FakeElevenLabs) -> None:
    for n in range(3):
        full = conversation(f"conv_{n}", user=f"+4479000000{n}", rating=None if n else 5)
        fake.conversations[full["conversation_id"]] = full
        fake.summaries.append(
            {
                "agent_id": "agent_1",
                "conversation_id": full["conversation_id"],
                "start_time_unix_secs": 1,
                "call_duration_secs": 42,
                "message_count": 3,
                "status": "done",
                "call_successful": "success",
            }
        )
    settings = desk.settings.model_copy(
        update={"elevenlabs_api_key": SecretStr(API_KEY), "elevenlabs_base_url": fake.base_url}
    )
    synced = dataclasses.replace(desk, settings=settings, extras={})
    assert await sync(synced, agent_id="agent_1") == {"seen": 3, "created": 3, "updated": 0}
    assert await sync(synced, agent_id="agent_1") == {"seen": 3, "created": 0, "updated": 3}
    assert any("cursor=2" in r["path"] for r in fake.requests)  # the second page was asked for
    async with client(synced, "admin") as c:
        listed = await call(c, "voice_conversation_list", {})
        stats = await call(c, "analytics_voice", {"start": "2020-01-01T00:00:00Z", "end": "2040-01-01T00:00:00Z"})
    assert listed["total"] == 3 and {i["user"] for i in listed["items"]} == {f"+4479000000{n}" for n in range(3)}
    assert stats["by_source"]["elevenlabs"] == 3 and stats["avg_satisfaction"] == 5 and stats["rated"] == 1
