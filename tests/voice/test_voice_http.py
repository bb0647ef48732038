"""The voice tools through a real MCP client over streamable HTTP, as Claude Desktop or an agent would call them.

The SDK's client refuses a server-sent event over 1 MiB (``max_sse_event_size``), and other clients and
proxies cap a message likewise: a spoken reply must fit one message, or the caller is told what to ask for.
"""

from __future__ import annotations

import base64
import io
import uuid
import wave
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from server.http import build_http_app
from store.audio import decode
from tests.auth.conftest import serve
from tests.conftest import MakeUser
from tests.mcp_helpers import client
from tests.servers import free_port
from tests.voice.conftest import Say
from tools.actor import Actor
from tools.desk import Desk
from tools.indexing import drain
from tools.tokens import token_create

# A long procedure: spoken, its WAV is well over a megabyte.
STEPS = [
    "Shut the laptop down completely and do not just close the lid or put it to sleep.",
    "Connect the dock's power supply and wait until the dock's power light turns white.",
    "Plug the monitors into the dock, not into the laptop, using the DisplayPort cables on the desk.",
    "Connect the dock to the laptop with the Thunderbolt cable, the one with the lightning symbol.",
    "Start the laptop and sign in with your work account as usual.",
    "Open the Software Center and run Dock Firmware Check, and install any update it offers.",
    "Restart the laptop when the firmware update asks for it, and leave the dock connected.",
    "Open Settings, then System, then Display, and choose Extend these displays for the monitors.",
    "Drag the monitor pictures so that they match how the screens stand on your desk.",
    "Test the USB keyboard and mouse on the dock's ports, then lock the screen with Windows and L.",
]
LONG_TEXT = " ".join(STEPS * 2)


ONE_MESSAGE = 1024 * 1024
"""What the SDK's streamable HTTP client takes in one server-sent event (its max_sse_event_size)."""


@asynccontextmanager
async def mcp_over_http(desk: Desk, token: str) -> AsyncIterator[Client]:
    """A real MCP client (the SDK's, as an agent or IDE uses it) on the desk served over HTTP as ``token``."""
    port = free_port()
    settings = desk.settings.model_copy(
        update={"host": "127.0.0.1", "port": port, "rate_limit_prefix": f"test-{uuid.uuid4().hex[:12]}"}
    )
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        serve(build_http_app(settings, with_ui=False), port) as base,
        httpx.AsyncClient(headers=headers, timeout=120) as http,
        Client(streamable_http_client(f"{base}/mcp", http_client=http), read_timeout_seconds=120) as c,
    ):
        yield c


async def test_a_long_spoken_reply_reaches_a_real_client_over_http(
    voice_desk: Desk, admin: Actor, make_user: MakeUser, say: Say
) -> None:
    await make_user("alice")
    async with client(voice_desk) as c:
        created = await c.call_tool(
            "kb_article_create",
            {
                "title": "Set up the docking station",
                "body": "How to set up the docking station at your desk.\n\n"
                + "\n".join(f"{n}. {s}" for n, s in enumerate(STEPS, 1)),
            },
        )
        assert not created.is_error, created.content
    await drain(voice_desk)
    token = (await token_create(voice_desk, admin, username="alice")).token
    async with mcp_over_http(voice_desk, token) as c:
        question = say("How do I set up the docking station at my desk?")
        result = await c.call_tool("voice_ask", {"audio_base64": base64.b64encode(question).decode()})
        assert not result.is_error, result.content
        answer = result.structured_content
        assert answer is not None and "Thunderbolt" in answer["reply"], answer
        audio = result.content[0]
        assert audio.type == "audio" and audio.mime_type == "audio/mpeg", audio.type
        assert len(result.model_dump_json()) < ONE_MESSAGE
        spoken = decode(base64.b64decode(audio.data), max_seconds=600, declared="mp3")
        assert spoken.duration_s > 20 and abs(spoken.duration_s - answer["duration_s"]) < 1.0


async def test_voice_speak_fits_one_message_or_says_what_to_ask_for(
    voice_desk: Desk, admin: Actor, make_user: MakeUser
) -> None:
    await make_user("alice")
    token = (await token_create(voice_desk, admin, username="alice")).token
    async with mcp_over_http(voice_desk, token) as c:
        too_big = await c.call_tool("voice_speak", {"text": LONG_TEXT, "format": "wav"})
        assert too_big.is_error
        message = too_big.content[0].text  # type: ignore[union-attr]
        assert "mp3" in message and "MiB" in message, message
        mp3 = await c.call_tool("voice_speak", {"text": LONG_TEXT, "format": "mp3"})
        assert not mp3.is_error, mp3.content
        assert mp3.content[0].mime_type == "audio/mpeg"  # type: ignore[union-attr]
        assert len(mp3.model_dump_json()) < ONE_MESSAGE
        short = await c.call_tool("voice_speak", {"text": "Your ticket is TCK-000042."})
        assert not short.is_error
        with wave.open(io.BytesIO(base64.b64decode(short.content[0].data))) as w:  # type: ignore[union-attr]
            assert w.getnframes() > 0
