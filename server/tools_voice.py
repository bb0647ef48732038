"""MCP tools for voice: voice_transcribe and voice_speak (speech in and out through the desk's engines)."""

from __future__ import annotations

import base64
from typing import Annotated, Any, Literal

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.types import AudioContent, CallToolResult, TextContent, ToolAnnotations
from pydantic import Field

from server.context import resolve, tool_errors
from tools import voice as voice_ops

TOOLSET = "voice"

AudioArg = Annotated[
    str, Field(description="The recording, base64-encoded (WAV, MP3, OGG/Opus, WebM or FLAC).", min_length=1)
]
FilenameArg = Annotated[str | None, Field(description="The file's name, e.g. question.webm.", max_length=255)]
MimeArg = Annotated[str | None, Field(description="The audio's MIME type, e.g. audio/webm.", max_length=100)]
HintArg = Annotated[
    Literal["none", "digits", "ticket_number"],
    Field(description="What is expected: digits, or a ticket number (returned as TCK-000042)."),
]


def register(mcp: MCPServer[Any]) -> None:
    @mcp.tool(
        title="Transcribe speech",
        annotations=ToolAnnotations(readOnlyHint=True, openWorldHint=False),
    )
    @tool_errors
    async def voice_transcribe(
        audio_base64: AudioArg,
        ctx: Context,
        filename: FilenameArg = None,
        mime_type: MimeArg = None,
        language: Annotated[str, Field(description="Language of the speech (ISO 639-1).", max_length=8)] = "en",
        hint: HintArg = "none",
    ) -> voice_ops.TranscribeResult:
        """Transcribe a recording to text, reading spoken ticket numbers and digits when hinted."""
        desk, actor = await resolve(ctx)
        data = voice_ops.audio_bytes(desk, audio_base64)
        return await voice_ops.transcribe(
            desk, actor, data, filename=filename, mime_type=mime_type, language=language, hint=hint
        )

    @mcp.tool(
        title="Speak text",
        annotations=ToolAnnotations(readOnlyHint=True, openWorldHint=False),
    )
    @tool_errors
    async def voice_speak(
        text: Annotated[str, Field(description="What to say.", min_length=1, max_length=voice_ops.MAX_SPEAK_CHARS)],
        ctx: Context,
        voice: Annotated[
            str | None,
            Field(description="Voice: an espeak-ng voice or ElevenLabs voice id; omit for the default."),
        ] = None,
        format: Annotated[Literal["wav", "mp3"], Field(description="Audio format of the result.")] = "wav",
    ) -> Annotated[CallToolResult, voice_ops.SpeakResult]:
        """Speak text aloud and return the audio."""
        desk, actor = await resolve(ctx)
        audio, info = await voice_ops.speak(desk, actor, text, voice=voice, fmt=format)
        structured = info.model_dump(mode="json")
        return CallToolResult(
            content=[
                AudioContent(type="audio", data=base64.b64encode(audio).decode(), mime_type=info.mime_type),
                TextContent(type="text", text=f"{info.duration_s:.1f} s of speech ({info.engine})"),
            ],
            structured_content=structured,
        )
