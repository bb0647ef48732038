"""Admin › Voice conversations in headless Chromium: the list, a status filter, a transcript, playback of a
stored turn, for every staff role; an end user has no such tab.

The conversations are real: two spoken turns through ``voice_ask`` over stdio, as alice and as bob, before
the desk is served; alice's is then ended (completed) and bob's stays active.
"""

from __future__ import annotations

import asyncio
import base64
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters
from playwright.sync_api import expect

from store.audio import encode
from store.speech import EspeakTTS
from tests.servers import BIN, desk_env, free_port, running
from tests.ui.test_browser import (  # noqa: F401
    ADMIN_PASSWORD,
    AGENT_MS,
    PEOPLE,
    browser_page,
    pytestmark,
    sign_in,
)

QUESTIONS = {"alice": "How do I reset my VPN password?", "bob": "My printer shows offline."}


@dataclass
class VoiceDesk:
    base: str
    log: Path
    conversations: dict[str, str]
    """The conversation id of each caller's call."""

    def tracebacks(self) -> list[str]:
        return self.log.read_text(encoding="utf-8", errors="replace").split("Traceback (most recent call last)")[1:]


async def call_in(env: dict[str, str], who: str, end: bool) -> str:
    """One spoken question from ``who`` through voice_ask (stdio MCP, acting as them); its conversation id."""
    audio = encode(EspeakTTS().synthesize(QUESTIONS[who], voice=None), "wav")
    params = StdioServerParameters(command=str(BIN), args=["mcp"], env=env | {"SUPPORT_ACTOR": who})
    async with Client(params, read_timeout_seconds=300) as desk:
        asked = await desk.call_tool(
            "voice_ask", {"audio_base64": base64.b64encode(audio).decode(), "filename": "q.wav"}
        )
        assert not asked.is_error and asked.structured_content is not None, asked.content
        conversation = str(asked.structured_content["conversation_id"])
        if end:
            ended = await desk.call_tool("voice_conversation_end", {"id": conversation, "satisfaction": 5})
            assert not ended.is_error, ended.content
    return conversation


@pytest.fixture(scope="module")
def voice_desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VoiceDesk]:
    tmp = tmp_path_factory.mktemp("voice-admin")
    env = desk_env(
        tmp / "data",
        SUPPORT_LLM="offline",
        GRADIO_ANALYTICS_ENABLED="False",
        SUPPORT_TTS_ENGINE="espeak",
        SUPPORT_ADMIN_PASSWORD=ADMIN_PASSWORD,
    )
    subprocess.run([str(BIN), "demo", "load"], env=env, check=True, timeout=300, capture_output=True)
    conversations = {
        "alice": asyncio.run(call_in(env, "alice", end=True)),
        "bob": asyncio.run(call_in(env, "bob", end=False)),
    }
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp / "serve.log"
    with running([str(BIN), "serve", "--port", str(port)], ready_url=f"{base}/health", log_path=log, env=env,
                 timeout=240):  # fmt: skip
        yield VoiceDesk(base, log, conversations)


@pytest.mark.parametrize("role", ["technician", "manager", "admin"])
def test_staff_list_filter_read_and_play_voice_conversations(voice_desk: VoiceDesk, role: str) -> None:
    base = voice_desk.base
    with browser_page(base) as (page, watch):
        sign_in(page, base, PEOPLE[role])
        page.get_by_role("tab", name="Admin", exact=True).click()
        page.get_by_role("tab", name="Voice conversations", exact=True).click()
        listing = page.locator("#av-list")
        expect(listing).to_contain_text("alice")
        expect(listing).to_contain_text("bob")

        page.locator("#av-status input").click()
        page.get_by_role("option", name="completed", exact=True).click()
        expect(listing).not_to_contain_text("bob")
        expect(listing).to_contain_text("alice")

        chosen = page.locator("#av-id textarea, #av-id input").first
        chosen.fill(voice_desk.conversations["alice"])
        chosen.press("Enter")
        transcript = page.locator("#av-transcript")
        expect(transcript).to_contain_text("completed")
        expect(transcript).to_contain_text(re.compile(r"Caller at \d+ s.*: .*VPN", re.IGNORECASE))
        expect(transcript).to_contain_text("Agent at")
        expect(transcript).to_contain_text("rated 5/5")

        page.locator("#av-turn input").fill("2")  # the agent's spoken reply
        page.locator("#av-play").click()
        watch.settle(AGENT_MS)
        assert watch.failures() == [], "playing the turn went wrong"
        player = page.locator("#av-audio audio")
        expect(player.first).to_have_attribute("src", re.compile(r".+"))
        assert watch.failures() == []
    assert voice_desk.tracebacks() == []


def test_an_end_user_has_no_voice_conversations_tab(voice_desk: VoiceDesk) -> None:
    base = voice_desk.base
    with browser_page(base) as (page, watch):
        sign_in(page, base, "alice")
        expect(page.get_by_role("tab", name="Voice", exact=True)).to_be_visible()
        watch.settle()
        assert page.get_by_role("tab", name="Voice conversations", exact=True).count() == 0
        assert page.get_by_role("tab", name="Admin", exact=True).count() == 0
        assert page.locator("#av-list").count() == 0
        assert watch.failures() == []
