"""One spoken turn through the support agent: hear, answer, speak sentence by sentence, store.

:func:`voice_turn` is an async generator so the Voice tab can play the first sentence while the rest is
still being synthesised; ``voice_ask`` (MCP) collects the whole turn.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Protocol

from agent.state import AgentReply
from store.audio import Pcm, encode
from store.speech import Hint
from tools import voice, voice_conversations
from tools.actor import Actor
from tools.desk import Desk
from tools.errors import UnavailableError


class Asker(Protocol):
    """The support agent as a voice turn needs it (:class:`agent.runner.SupportAgent`)."""

    async def ask(
        self, message: str, conversation_id: str | None = None, actor: str | None = None, token: str | None = None
    ) -> AgentReply: ...


ASKS_FOR_TICKET = re.compile(r"ticket number|which ticket|TCK-0+42|number of (the|your) ticket", re.IGNORECASE)


@dataclass
class Heard:
    """The transcript, first thing out of a turn."""

    transcript: voice.TranscribeResult
    conversation_id: str


@dataclass
class Sentence:
    """One spoken sentence of the reply, as soon as it is synthesised."""

    text: str
    pcm: Pcm
    first: bool


@dataclass
class TurnDone:
    """The turn, complete and stored."""

    reply: AgentReply
    transcript: voice.TranscribeResult
    audio: Pcm | None
    engine: str | None
    latency_ms: int | None
    voice_id: int
    sentences: list[str] = field(default_factory=list)


TurnEvent = Heard | Sentence | TurnDone


def hint_after(last_reply: str | None) -> Hint:
    """A ticket number is expected when the agent's last spoken reply asked for one."""
    return "ticket_number" if last_reply and ASKS_FOR_TICKET.search(last_reply) else "none"


async def voice_turn(
    desk: Desk,
    agent: Asker,
    actor: Actor,
    data: bytes,
    *,
    filename: str | None = None,
    mime_type: str | None = None,
    conversation_id: str | None = None,
    speak: bool = True,
) -> AsyncIterator[TurnEvent]:
    """Yield the transcript, then each spoken sentence of the reply, then the stored turn."""
    # The caller has finished speaking and the clip has arrived: from here on, every step (hearing it
    # included) is time the caller waits for the first audio of the reply.
    end_of_audio = time.perf_counter()
    conversation_id = conversation_id or uuid.uuid4().hex
    voice_id, last_reply = await voice_conversations.find_or_start(desk, actor, conversation_id)
    heard = await voice.transcribe(
        desk, actor, data, filename=filename, mime_type=mime_type, hint=hint_after(last_reply)
    )
    yield Heard(heard, conversation_id)
    question = heard.ticket_number if heard.text == heard.ticket_number and heard.ticket_number else heard.text
    if question == heard.ticket_number and last_reply:
        question = f"It is {heard.ticket_number}"
    reply = await agent.ask(question, conversation_id, actor=actor.username)
    pcm: Pcm | None = None
    engine: str | None = None
    latency_ms: int | None = None
    spoken: list[str] = []
    if speak:
        engines = voice.speech_engines(desk)
        try:
            for n, sentence in enumerate(voice.sentences(voice.speakable(_spoken_part(reply.reply)))):
                part = await engines.synthesize(sentence)
                if latency_ms is None:
                    latency_ms = int((time.perf_counter() - end_of_audio) * 1000)
                pcm = part if pcm is None else pcm + part
                spoken.append(sentence)
                yield Sentence(sentence, part, first=n == 0)
            engine = engines.tts.name
        except voice.SpeechUnavailableError as exc:
            raise UnavailableError(str(exc)) from exc
    handoff = (reply.handoff.ticket, reply.handoff.reason, reply.handoff.summary) if reply.handoff else None
    await voice_conversations.record_exchange(
        desk,
        voice_id,
        user_text=heard.text,
        user_audio=data,
        user_mime=mime_type or f"audio/{heard_format(data)}",
        user_audio_s=heard.duration_s,
        stt_engine=heard.engine,
        reply_text=reply.reply,
        reply_audio=encode(pcm, "wav") if pcm is not None else None,
        reply_audio_s=pcm.duration_s if pcm is not None else 0.0,
        tts_engine=engine,
        latency_ms=latency_ms,
        citations=[c.citation or c.title or c.id for c in reply.citations],
        tickets=reply.actions,
        handoff=handoff,
    )
    yield TurnDone(reply, heard, pcm, engine, latency_ms, voice_id, spoken)


def _spoken_part(text: str) -> str:
    """The reply without its written source list: sources are shown, not read out."""
    return re.split(r"\n\s*\**Sources\**:?", text, maxsplit=1)[0]


def heard_format(data: bytes) -> str:
    from store.audio import sniff

    fmt = sniff(data)
    return {"mp3": "mpeg"}.get(fmt, fmt)
