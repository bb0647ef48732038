"""ORM models for voice (issue 11): voice conversations, their turns, and received webhook signatures.

Offline conversations (the Voice tab, ``voice_ask``) and those held in ElevenLabs' own widget or phone line
(imported from the post-call webhook or ``voice sync``) live in the same tables: ``source`` tells them apart.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from store.models import NO_REUSE, Base, BigId
from store.types import utcnow


class VoiceConversation(Base):
    __tablename__ = "voice_conversations"
    __table_args__ = (
        UniqueConstraint("source", "conversation_id", name="uq_voice_conversations_source_conversation"),
        Index("ix_voice_conversations_started_at", "started_at"),
        Index("ix_voice_conversations_status", "status"),
        NO_REUSE,
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    source: Mapped[str] = mapped_column(String(16))
    """``desk`` (offline or ElevenLabs speech through this desk) or ``elevenlabs`` (ElevenLabs Agents)."""
    conversation_id: Mapped[str] = mapped_column(String(100))
    """The agent's conversation id (shared with text turns), or ElevenLabs' conversation id."""
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_turn_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column()
    duration_s: Mapped[float] = mapped_column(Float, default=0.0)
    """Speech time: the user's audio plus the spoken replies (for ElevenLabs, the call's duration)."""
    summary: Mapped[str | None] = mapped_column(Text)
    satisfaction: Mapped[int | None] = mapped_column(Integer)
    """1-5 from the person (ElevenLabs' rating is mapped onto the same scale)."""
    tickets: Mapped[list[str]] = mapped_column(JSON, default=list)
    handoff_ticket: Mapped[str | None] = mapped_column(String(20))
    handoff_reason: Mapped[str | None] = mapped_column(String(32))
    caller: Mapped[str | None] = mapped_column(String(200))
    """Who spoke, as ElevenLabs names them (user_id or phone number); desk conversations use user_id."""
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class VoiceTurn(Base):
    __tablename__ = "voice_turns"
    __table_args__ = (
        UniqueConstraint("voice_conversation_id", "seq", name="uq_voice_turns_conversation_seq"),
        NO_REUSE,
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    voice_conversation_id: Mapped[int] = mapped_column(ForeignKey("voice_conversations.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    speaker: Mapped[str] = mapped_column(String(16))
    """``user`` or ``agent``."""
    text: Mapped[str] = mapped_column(Text)
    at_s: Mapped[float] = mapped_column(Float, default=0.0)
    """Seconds from the start of the conversation."""
    audio_s: Mapped[float | None] = mapped_column(Float)
    """Length of this turn's audio (what the user said, or the spoken reply)."""
    audio_sha256: Mapped[str | None] = mapped_column(String(64))
    """The audio in the blob store, for playback (None when not kept, e.g. ElevenLabs calls)."""
    audio_mime: Mapped[str | None] = mapped_column(String(40))
    engine: Mapped[str | None] = mapped_column(String(40))
    latency_ms: Mapped[int | None] = mapped_column(Integer)
    """Agent turns: end of the user's audio to the first audio of the reply."""
    citations: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookReceipt(Base):
    """Every accepted webhook signature: the same signed body sent again is a replay and refused."""

    __tablename__ = "webhook_receipts"
    __table_args__ = NO_REUSE

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    source: Mapped[str] = mapped_column(String(16))
    signature_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    event_type: Mapped[str | None] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
