"""MCP tools for voice: voice_transcribe and voice_speak (speech in and out through the desk's engines)."""

from __future__ import annotations

import asyncio
import base64
from datetime import datetime
from typing import Annotated, Any, Literal

from mcp.types import AudioContent, CallToolResult, TextContent
from pydantic import BaseModel, Field

from agent.reply import Citation, Handoff
from server.context import CurrentActor, CurrentAgent, CurrentDesk
from server.surface import Registrar
from store.audio import MIME_OF, encode
from tools import voice as voice_ops
from tools import voice_analytics, voice_conversations
from tools.pagination import Page

AudioArg = Annotated[
    str, Field(description="The recording, base64-encoded (WAV, MP3, OGG/Opus, WebM or FLAC).", min_length=1)
]
FilenameArg = Annotated[str | None, Field(description="The file's name, e.g. question.webm.", max_length=255)]
MimeArg = Annotated[str | None, Field(description="The audio's MIME type, e.g. audio/webm.", max_length=100)]
StatusArg = Annotated[
    voice_conversations.VoiceStatus | None, Field(description="active, completed, abandoned or handed_off.")
]
IdArg = Annotated[str, Field(description="The voice conversation's id or conversation_id.", max_length=100)]
HintArg = Annotated[
    Literal["none", "digits", "ticket_number"],
    Field(description="What is expected: digits, or a ticket number (returned as TCK-000042)."),
]


class VoiceAnswer(BaseModel):
    transcript: str = Field(description="What the recogniser heard.")
    reply: str = Field(description="The agent's answer as text.")
    conversation_id: str = Field(description="Pass it back to continue (voice_ask or support_ask).")
    voice_conversation_id: int
    citations: list[Citation]
    actions: list[str] = Field(description="Ticket numbers created, commented on or escalated in this turn.")
    handoff: Handoff | None
    duration_s: float = Field(description="Length of the spoken reply in seconds.")
    engine: str | None = Field(description="The text-to-speech engine that spoke the reply.")
    latency_ms: int | None = Field(description="End of the caller's audio to the first sentence of audio.")


def register(reg: Registrar) -> None:
    register_conversations(reg)
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


def register_conversations(reg: Registrar) -> None:
    """voice_ask, the voice conversation tools and analytics_voice."""

    @reg.tool(toolset="voice", capability="voice.use", kind="voice", title="Ask by voice", open_world=True)
    async def voice_ask(
        audio_base64: AudioArg,
        desk: CurrentDesk,
        actor: CurrentActor,
        agent: CurrentAgent,
        filename: FilenameArg = None,
        mime_type: MimeArg = None,
        conversation_id: Annotated[
            str | None,
            Field(description="Continue this conversation (voice or text); omit to start one.", max_length=100),
        ] = None,
        format: Annotated[Literal["mp3", "wav"], Field(description="Audio format of the spoken reply.")] = "mp3",
    ) -> Annotated[CallToolResult, VoiceAnswer]:
        """Ask the support agent by voice: transcribe, answer with citations and actions, and speak the reply."""
        from agent.voice import TurnDone, voice_turn

        data = voice_ops.audio_bytes(desk, audio_base64)
        done: TurnDone | None = None
        async for event in voice_turn(
            desk, agent, actor, data, filename=filename, mime_type=mime_type, conversation_id=conversation_id
        ):
            if isinstance(event, TurnDone):
                done = event
        assert done is not None
        reply = done.reply
        answer = VoiceAnswer(
            transcript=done.transcript.text,
            reply=reply.reply,
            conversation_id=reply.conversation_id,
            voice_conversation_id=done.voice_id,
            citations=reply.citations,
            actions=reply.actions,
            handoff=reply.handoff,
            duration_s=round(done.audio.duration_s, 2) if done.audio else 0.0,
            engine=done.engine,
            latency_ms=done.latency_ms,
        )
        content: list[Any] = [TextContent(type="text", text=reply.reply)]
        if done.audio is not None:
            # MP3: a spoken answer of a minute is ~0.4 MB instead of ~2.6 MB of WAV, inside one MCP message.
            audio = await asyncio.to_thread(encode, done.audio, format)
            if voice_ops.fits_one_message(audio):
                content.insert(
                    0, AudioContent(type="audio", data=base64.b64encode(audio).decode(), mime_type=MIME_OF[format])
                )
            else:
                content.append(
                    TextContent(
                        type="text",
                        text="(The spoken reply is too long for one message; read the text"
                        + (", or ask for format mp3.)" if format == "wav" else ".)"),
                    )
                )
        return CallToolResult(content=content, structured_content=answer.model_dump(mode="json"))

    @reg.tool(toolset="voice", capability="voice.use", kind="read", title="List voice conversations")
    async def voice_conversation_list(
        desk: CurrentDesk,
        actor: CurrentActor,
        status: StatusArg = None,
        start: Annotated[datetime | None, Field(description="Started at or after (ISO time).")] = None,
        end: Annotated[datetime | None, Field(description="Started before (ISO time).")] = None,
        cursor: Annotated[str | None, Field(description="next_cursor from the previous page.")] = None,
        limit: Annotated[int, Field(description="Page size, 1-100.", ge=1, le=100)] = 20,
    ) -> Page[voice_conversations.VoiceConversationSummary]:
        """List voice conversations (your own, or all for staff), newest first."""
        return await voice_conversations.conversation_list(
            desk, actor, status=status, start=start, end=end, cursor=cursor, limit=limit
        )

    @reg.tool(toolset="voice", capability="voice.use", kind="read", title="Read a voice conversation")
    async def voice_conversation_get(
        id: IdArg, desk: CurrentDesk, actor: CurrentActor
    ) -> voice_conversations.VoiceConversationDetail:
        """Read a voice conversation: turns with transcripts, timings, tickets, hand-off, summary, satisfaction."""
        return await voice_conversations.conversation_get(desk, actor, id)

    @reg.tool(toolset="voice", capability="voice.use", kind="write", title="End a voice conversation", idempotent=True)
    async def voice_conversation_end(
        id: IdArg,
        desk: CurrentDesk,
        actor: CurrentActor,
        satisfaction: Annotated[int | None, Field(description="The caller's rating, 1-5.", ge=1, le=5)] = None,
    ) -> voice_conversations.VoiceConversationDetail:
        """End a voice conversation, optionally with the caller's satisfaction rating."""
        return await voice_conversations.conversation_end(desk, actor, id, satisfaction=satisfaction)

    @reg.tool(toolset="analytics", capability="analytics.read", kind="read", title="Voice analytics")
    async def analytics_voice(
        desk: CurrentDesk,
        actor: CurrentActor,
        start: Annotated[datetime | None, Field(description="Start of the period; default 30 days ago.")] = None,
        end: Annotated[datetime | None, Field(description="End of the period, exclusive; default now.")] = None,
    ) -> voice_analytics.VoiceAnalytics:
        """Report voice conversations: count, total and mean duration, statuses, satisfaction, hand-off share."""
        return await voice_analytics.analytics_voice(desk, actor, start=start, end=end)
