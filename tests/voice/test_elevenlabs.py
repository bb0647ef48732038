"""The ElevenLabs path: the real SDK against a local server that speaks ElevenLabs' API shape."""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from tests.mcp_helpers import call, client, error
from tests.voice.conftest import Say
from tests.voice.fake_elevenlabs import API_KEY, FakeElevenLabs, fake_elevenlabs
from tools.desk import Desk


@pytest.fixture
def fake() -> Iterator[FakeElevenLabs]:
    with fake_elevenlabs() as server:
        yield server


@pytest.fixture
def eleven_desk(desk: Desk, fake: FakeElevenLabs) -> Desk:
    settings = desk.settings.model_copy(
        update={"elevenlabs_api_key": SecretStr(API_KEY), "elevenlabs_base_url": fake.base_url}
    )
    return dataclasses.replace(desk, settings=settings, extras={})


async def test_transcribe_through_scribe(eleven_desk: Desk, fake: FakeElevenLabs, say: Say) -> None:
    clip = say("my laptop will not connect")
    fake.transcript = "What is the status of ticket number forty two?"
    async with client(eleven_desk) as c:
        got = await call(c, "voice_transcribe", {"audio_base64": base64.b64encode(clip).decode()})
    assert got["engine"] == "elevenlabs-scribe"
    assert got["text"] == "What is the status of TCK-000042?"
    assert got["segments"][0]["end"] > 0
    sent = fake.requests[-1]
    assert sent["path"].startswith("/v1/speech-to-text") and sent["key"] == API_KEY
    assert b'name="model_id"' in sent["body"] and b"scribe_v1" in sent["body"]
    assert clip[:64] in sent["body"]  # the original file, not a re-encoding


async def test_speak_through_elevenlabs(eleven_desk: Desk, fake: FakeElevenLabs) -> None:
    async with client(eleven_desk) as c:
        result = await c.call_tool(
            "voice_speak", {"text": "Your ticket is open. A technician will call.", "format": "wav"}
        )
    assert not result.is_error, result.content
    assert result.structured_content["engine"] == "elevenlabs"  # type: ignore[index]
    assert result.structured_content["sample_rate"] == 16_000  # type: ignore[index]
    tts = [r for r in fake.requests if "/v1/text-to-speech/" in r["path"]]
    assert len(tts) == 2  # one request per sentence
    assert "output_format=pcm_16000" in tts[0]["path"] and "/stream" in tts[0]["path"]
    assert base64.b64decode(result.content[0].data)[:4] == b"RIFF"  # type: ignore[union-attr]


async def test_an_api_failure_is_a_clear_error(eleven_desk: Desk, fake: FakeElevenLabs, say: Say) -> None:
    fake.fail_with = 429
    async with client(eleven_desk) as c:
        text = await error(c, "voice_speak", {"text": "Hello."})
        assert "HTTP 429" in text
        text = await error(c, "voice_transcribe", {"audio_base64": base64.b64encode(say("hello")).decode()})
        assert "HTTP 429" in text
