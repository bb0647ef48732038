"""Speech to text and text to speech as desk operations: decode, check, recognise, read numbers, speak."""

from __future__ import annotations

import asyncio
import re
from typing import Literal

from pydantic import BaseModel, Field

from store.audio import MIME_OF, AudioError, Pcm, decode, encode, format_of
from store.speech import Hint, SpeechEngines, SpeechUnavailableError, Transcript
from tools.actor import Actor
from tools.common import decode_base64
from tools.desk import Desk
from tools.errors import InvalidInputError, UnavailableError
from tools.permissions import require
from tools.spoken import rewrite_ticket_numbers, spoken_digits, ticket_number

MAX_SPEAK_CHARS = 2000
VOICE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_+-]{0,63}")
SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+|\n+")


class TranscriptSegment(BaseModel):
    start: float = Field(description="Seconds from the start of the audio.")
    end: float
    text: str


class TranscribeResult(BaseModel):
    text: str = Field(description="What was said; with a hint, the number read as TCK-000042 or digits.")
    heard: str = Field(description="The recogniser's words before any number was read from them.")
    language: str
    duration_s: float = Field(description="Length of the audio in seconds.")
    engine: str = Field(description="The speech-to-text engine that ran.")
    segments: list[TranscriptSegment]
    ticket_number: str | None = Field(default=None, description="A ticket number heard in the audio, if any.")


class SpeakResult(BaseModel):
    duration_s: float = Field(description="Length of the audio in seconds.")
    engine: str = Field(description="The text-to-speech engine that ran.")
    mime_type: str
    sample_rate: int


def speech_engines(desk: Desk) -> SpeechEngines:
    """The desk's speech engines: created on first use, once per desk (models load on first call)."""
    engines = desk.extras.get("speech")
    if engines is None:
        engines = SpeechEngines(desk.settings)
        desk.extras["speech"] = engines
    assert isinstance(engines, SpeechEngines)
    return engines


def audio_bytes(desk: Desk, audio_base64: str) -> bytes:
    """Decode the base64 payload, refusing anything over the upload limit before decoding it."""
    return decode_base64(audio_base64, field="audio_base64", max_mb=desk.settings.max_upload_mb)


async def transcribe(
    desk: Desk,
    actor: Actor,
    data: bytes,
    *,
    filename: str | None = None,
    mime_type: str | None = None,
    language: str = "en",
    hint: Hint = "none",
) -> TranscribeResult:
    """Recognise the speech in ``data``; with ``hint`` the words are read as digits or a ticket number."""
    require(actor, "voice.use", "transcribing speech")
    try:
        audio = decode(data, max_seconds=desk.settings.max_audio_s, declared=format_of(filename, mime_type))
    except AudioError as exc:
        raise InvalidInputError(str(exc)) from exc
    try:
        found = await speech_engines(desk).transcribe(audio, data, language=language, hint=hint)
    except SpeechUnavailableError as exc:
        raise UnavailableError(str(exc)) from exc
    return shape_transcript(found, hint)


def shape_transcript(found: Transcript, hint: Hint) -> TranscribeResult:
    heard = found.text
    if not heard.strip():
        raise InvalidInputError(
            f"no speech was recognised in {found.duration_s:.1f} s of audio; speak closer to the microphone "
            "and try again"
        )
    number = ticket_number(heard) if hint == "ticket_number" else None
    if hint == "ticket_number":
        text = number or heard
    elif hint == "digits":
        text = spoken_digits(heard) or heard
    else:
        text = rewrite_ticket_numbers(heard)
        match = re.search(r"TCK-\d{6,}", text)
        number = match.group(0) if match else None
    return TranscribeResult(
        text=text,
        heard=heard,
        language=found.language,
        duration_s=found.duration_s,
        engine=found.engine,
        segments=[TranscriptSegment(start=s.start, end=s.end, text=s.text) for s in found.segments],
        ticket_number=number,
    )


def sentences(text: str) -> list[str]:
    """``text`` cut into sentences, the unit speech is synthesised in (so playback can start early)."""
    parts = [p.strip() for p in SENTENCE_END.split(text) if p and p.strip()]
    return [p for p in parts if re.search(r"\w", p)]


def speakable(text: str) -> str:
    """Text as it should be read aloud: markdown and ticket numbers made sayable."""
    text = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", text)  # links: keep the words
    text = re.sub(r"[*_`#>|]+", " ", text)
    text = re.sub(r"TCK-0*(\d+)", lambda m: "ticket number " + m.group(1), text)
    return " ".join(text.split())


async def synthesize(desk: Desk, text: str, *, voice: str | None = None) -> tuple[Pcm, str]:
    """``text`` spoken, sentence by sentence, joined; and the engine's name."""
    clean = speakable(text)
    if not clean or not re.search(r"\w", clean):
        raise InvalidInputError("text has nothing to say; pass a sentence")
    if len(clean) > MAX_SPEAK_CHARS:
        raise InvalidInputError(f"text is {len(clean)} characters; at most {MAX_SPEAK_CHARS} can be spoken at once")
    if voice is not None and not VOICE_NAME.fullmatch(voice):
        raise InvalidInputError(
            f"voice {voice!r} is not a voice name; use letters, digits, '_', '+' or '-', or omit it"
        )
    engines = speech_engines(desk)
    pcm: Pcm | None = None
    try:
        for sentence in sentences(clean) or [clean]:
            part = await engines.synthesize(sentence, voice=voice)
            pcm = part if pcm is None else pcm + part
        engine = engines.tts.name
    except SpeechUnavailableError as exc:
        raise UnavailableError(str(exc)) from exc
    assert pcm is not None
    return pcm, engine


MAX_MESSAGE_AUDIO_BYTES = 740 * 1024
"""The most audio one tool result carries: base64 makes it a third larger, and MCP clients refuse a message
over 1 MiB (the SDK's streamable HTTP client drops a server-sent event above that), so this keeps the
whole result, text and JSON included, inside one MiB."""


def fits_one_message(audio: bytes) -> bool:
    return len(audio) <= MAX_MESSAGE_AUDIO_BYTES


async def speak(
    desk: Desk, actor: Actor, text: str, *, voice: str | None = None, fmt: Literal["wav", "mp3"] = "wav"
) -> tuple[bytes, SpeakResult]:
    """The encoded audio of ``text`` and what describes it; audio too large for one MCP message is refused
    with what to ask for instead."""
    require(actor, "voice.use", "speaking text")
    pcm, engine = await synthesize(desk, text, voice=voice)
    audio = await asyncio.to_thread(encode, pcm, fmt)
    if not fits_one_message(audio):
        instead = "ask for format mp3 (about a tenth of the size) or " if fmt == "wav" else ""
        raise InvalidInputError(
            f"the speech is {pcm.duration_s:.0f} s long; as {fmt.upper()} that is {len(audio) / 1048576:.1f} MiB, "
            f"more than one MCP message carries (1 MiB with base64): {instead}send shorter text"
        )
    return audio, SpeakResult(
        duration_s=round(pcm.duration_s, 2), engine=engine, mime_type=MIME_OF[fmt], sample_rate=pcm.sample_rate
    )
