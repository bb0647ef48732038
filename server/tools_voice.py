"""MCP tools for voice: voice_transcribe and voice_speak (speech in and out through the desk's engines)."""

from __future__ import annotations

import base64
from typing import Annotated, Literal

from mcp.types import AudioContent, CallToolResult, TextContent
from pydantic import Field

from server.context import CurrentActor, CurrentDesk
from server.surface import Registrar
from tools import voice as voice_ops

AudioArg = Annotated[
    str, Field(description="The recording, base64-encoded (WAV, MP3, OGG/Opus, WebM or FLAC).", min_length=1)
]
FilenameArg = Annotated[str | None, Field(description="The file's name, e.g. question.webm.", max_length=255)]
MimeArg = Annotated[str | None, Field(description="The audio's MIME type, e.g. audio/webm.", max_length=100)]
HintArg = Annotated[
    Literal["none", "digits", "ticket_number"],
    Field(description="What is expected: digits, or a ticket number (returned as TCK-000042)."),
]


def register(reg: Registrar) -> None:
    # With an ElevenLabs key the audio goes to ElevenLabs; without one everything stays on this machine.
    external = reg.settings.elevenlabs_api_key is not None

    @reg.tool(
        toolset="voice",
        capability="voice.use",
        kind="voice",
        title="Transcribe speech",
        open_world=external,
        read_only=True,
    )
    async def voice_transcribe(
        audio_base64: AudioArg,
        desk: CurrentDesk,
        actor: CurrentActor,
        filename: FilenameArg = None,
        mime_type: MimeArg = None,
        language: Annotated[str, Field(description="Language of the speech (ISO 639-1).", max_length=8)] = "en",
        hint: HintArg = "none",
    ) -> voice_ops.TranscribeResult:
        """Transcribe a recording to text, reading spoken ticket numbers and digits when hinted."""
        data = voice_ops.audio_bytes(desk, audio_base64)
        return await voice_ops.transcribe(
            desk, actor, data, filename=filename, mime_type=mime_type, language=language, hint=hint
        )

    @reg.tool(
        toolset="voice", capability="voice.use", kind="voice", title="Speak text", open_world=external, read_only=True
    )
    async def voice_speak(
        text: Annotated[str, Field(description="What to say.", min_length=1, max_length=voice_ops.MAX_SPEAK_CHARS)],
        desk: CurrentDesk,
        actor: CurrentActor,
        voice: Annotated[
            str | None,
            Field(description="Voice: an espeak-ng voice or ElevenLabs voice id; omit for the default."),
        ] = None,
        format: Annotated[Literal["wav", "mp3"], Field(description="Audio format of the result.")] = "wav",
    ) -> Annotated[CallToolResult, voice_ops.SpeakResult]:
        """Speak text aloud and return the audio."""
        audio, info = await voice_ops.speak(desk, actor, text, voice=voice, fmt=format)
        structured = info.model_dump(mode="json")
        return CallToolResult(
            content=[
                AudioContent(type="audio", data=base64.b64encode(audio).decode(), mime_type=info.mime_type),
                TextContent(type="text", text=f"{info.duration_s:.1f} s of speech ({info.engine})"),
            ],
            structured_content=structured,
        )
