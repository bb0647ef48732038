"""Voice conversations: every spoken turn stored, listed and read per role, ended with a rating, imported.

End users see their own voice conversations; staff see all (``tools.permissions.is_staff``). A conversation
is ``active`` until ended (``completed``), handed to a technician (``handed_off``), or left without a turn
for ``SUPPORT_VOICE_ABANDON_MINUTES`` (``abandoned``, applied in SQL before every read).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, func, select, true, update

from store.models import User
from store.models_voice import VoiceConversation, VoiceTurn
from tools.actor import Actor
from tools.common import parse_id
from tools.desk import Desk
from tools.errors import InvalidInputError, NotFoundError
from tools.pagination import Page, PageRequest
from tools.permissions import is_staff, require

VoiceStatus = Literal["active", "completed", "abandoned", "handed_off"]
Speaker = Literal["user", "agent"]
Source = Literal["desk", "elevenlabs"]


class VoiceTurnPublic(BaseModel):
    seq: int
    speaker: Speaker
    text: str
    at_s: float = Field(description="Seconds from the start of the conversation.")
    audio_s: float | None = Field(description="Length of this turn's audio in seconds.")
    has_audio: bool
    engine: str | None
    latency_ms: int | None = Field(description="Agent turns: end of the user's audio to the first reply audio.")
    citations: list[str]


class VoiceConversationSummary(BaseModel):
    id: int
    conversation_id: str = Field(description="Pass to voice_ask or support_ask to continue it.")
    source: Source
    user: str | None
    status: VoiceStatus
    started_at: datetime
    last_turn_at: datetime
    duration_s: float
    turns: int
    tickets: list[str]
    satisfaction: int | None


class VoiceConversationDetail(VoiceConversationSummary):
    summary: str | None
    handoff_ticket: str | None
    handoff_reason: str | None
    ended_at: datetime | None
    items: list[VoiceTurnPublic]


def _visible(actor: Actor) -> ColumnElement[bool]:
    return true() if is_staff(actor) else VoiceConversation.user_id == actor.user_id


async def mark_abandoned(desk: Desk) -> None:
    """Active conversations with no turn for the configured time become abandoned.

    Called before every voice read; it only reads unless some conversation has gone quiet, so reads do not
    open a write transaction (on SQLite, one writer for the whole database) every time.
    """
    cutoff = desk.clock() - timedelta(minutes=desk.settings.voice_abandon_minutes)
    quiet = (VoiceConversation.status == "active", VoiceConversation.last_turn_at < cutoff)
    async with desk.sessions() as session:
        found = (await session.execute(select(VoiceConversation.id).where(*quiet).limit(1))).first()
    if found is None:
        return
    async with desk.sessions.begin() as session:
        await session.execute(
            update(VoiceConversation).where(*quiet).values(status="abandoned", ended_at=VoiceConversation.last_turn_at)
        )


async def find_or_start(desk: Desk, actor: Actor, conversation_id: str) -> tuple[int, str | None]:
    """The desk voice conversation of ``actor`` with this agent conversation id (started when new), and the
    agent's last spoken reply in it (to choose the recogniser's hint)."""
    async with desk.sessions.begin() as session:
        row = (
            await session.execute(
                select(VoiceConversation).where(
                    VoiceConversation.source == "desk", VoiceConversation.conversation_id == conversation_id
                )
            )
        ).scalar_one_or_none()
        if row is not None and row.user_id != actor.user_id:
            raise NotFoundError(f"voice conversation {conversation_id!r} not found; omit conversation_id to start one")
        if row is None:
            now = desk.clock()
            row = VoiceConversation(
                source="desk",
                conversation_id=conversation_id,
                user_id=actor.user_id,
                status="active",
                started_at=now,
                last_turn_at=now,
                tickets=[],
            )
            session.add(row)
            await session.flush()
            return row.id, None
        if row.status in ("completed", "abandoned"):
            row.status = "active"
            row.ended_at = None
        last = (
            await session.execute(
                select(VoiceTurn.text)
                .where(VoiceTurn.voice_conversation_id == row.id, VoiceTurn.speaker == "agent")
                .order_by(VoiceTurn.seq.desc())
                .limit(1)
            )
        ).scalar_one_or_none()
        return row.id, last


async def record_exchange(
    desk: Desk,
    voice_id: int,
    *,
    user_text: str,
    user_audio: bytes,
    user_mime: str,
    user_audio_s: float,
    stt_engine: str,
    reply_text: str,
    reply_audio: bytes | None,
    reply_audio_s: float,
    tts_engine: str | None,
    latency_ms: int | None,
    citations: list[str],
    tickets: list[str],
    handoff: tuple[str, str, str] | None,
) -> None:
    """Store one spoken exchange (the user's turn and the agent's reply) in one transaction."""
    user_sha = desk.blobs.put(user_audio)
    reply_sha = desk.blobs.put(reply_audio) if reply_audio else None
    now = desk.clock()
    async with desk.sessions.begin() as session:
        row = await session.get(VoiceConversation, voice_id, with_for_update=desk.dialect == "postgresql")
        assert row is not None
        seq = (
            await session.execute(
                select(func.coalesce(func.max(VoiceTurn.seq), 0)).where(VoiceTurn.voice_conversation_id == voice_id)
            )
        ).scalar_one()
        at = (now - row.started_at).total_seconds()
        session.add_all(
            [
                VoiceTurn(
                    voice_conversation_id=voice_id, seq=seq + 1, speaker="user", text=user_text, at_s=at,
                    audio_s=user_audio_s, audio_sha256=user_sha, audio_mime=user_mime, engine=stt_engine,
                    citations=[],
                ),
                VoiceTurn(
                    voice_conversation_id=voice_id, seq=seq + 2, speaker="agent", text=reply_text, at_s=at,
                    audio_s=reply_audio_s, audio_sha256=reply_sha, audio_mime="audio/wav" if reply_sha else None,
                    engine=tts_engine, latency_ms=latency_ms, citations=citations,
                ),
            ]
        )  # fmt: skip
        row.last_turn_at = now
        row.duration_s = (row.duration_s or 0.0) + user_audio_s + reply_audio_s
        row.tickets = list(dict.fromkeys([*(row.tickets or []), *tickets]))
        if handoff is not None:
            row.status = "handed_off"
            row.handoff_ticket, row.handoff_reason, row.summary = handoff
        elif row.status != "handed_off":
            row.status = "active"


def _summary(row: VoiceConversation, username: str | None, turns: int) -> dict[str, Any]:
    return {
        "id": row.id,
        "conversation_id": row.conversation_id,
        "source": row.source,
        "user": username or row.caller,
        "status": row.status,
        "started_at": row.started_at,
        "last_turn_at": row.last_turn_at,
        "duration_s": round(row.duration_s or 0.0, 2),
        "turns": turns,
        "tickets": row.tickets or [],
        "satisfaction": row.satisfaction,
    }


async def conversation_list(
    desk: Desk,
    actor: Actor,
    *,
    status: VoiceStatus | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    cursor: str | None = None,
    limit: int | None = None,
) -> Page[VoiceConversationSummary]:
    """Voice conversations the actor may see, newest first."""
    require(actor, "voice.use", "listing voice conversations")
    await mark_abandoned(desk)
    window = PageRequest.of(limit, cursor)
    where = [_visible(actor)]
    if status:
        where.append(VoiceConversation.status == status)
    if start:
        where.append(VoiceConversation.started_at >= start)
    if end:
        where.append(VoiceConversation.started_at < end)
    turns = (
        select(func.count(VoiceTurn.id))
        .where(VoiceTurn.voice_conversation_id == VoiceConversation.id)
        .scalar_subquery()
    )
    async with desk.sessions() as session:
        total = (await session.execute(select(func.count(VoiceConversation.id)).where(*where))).scalar_one()
        rows = (
            await session.execute(
                select(VoiceConversation, User.username, turns)
                .outerjoin(User, User.id == VoiceConversation.user_id)
                .where(*where)
                .order_by(VoiceConversation.started_at.desc(), VoiceConversation.id.desc())
                .offset(window.offset)
                .limit(window.size)
            )
        ).all()
    items = [VoiceConversationSummary(**_summary(r, u, n)) for r, u, n in rows]
    return window.page(Page[VoiceConversationSummary], items, total)


async def _load(desk: Desk, actor: Actor, ref: int | str) -> VoiceConversation:
    number = parse_id(ref)
    cond = VoiceConversation.id == number if number is not None else VoiceConversation.conversation_id == str(ref)
    async with desk.sessions() as session:
        row = (await session.execute(select(VoiceConversation).where(cond, _visible(actor)).limit(1))).scalars().first()
    if row is None:
        raise NotFoundError(f"voice conversation {ref!r} not found; list them with voice_conversation_list")
    return row


async def conversation_get(desk: Desk, actor: Actor, ref: int | str) -> VoiceConversationDetail:
    """One voice conversation with its turns."""
    require(actor, "voice.use", "reading voice conversations")
    await mark_abandoned(desk)
    row = await _load(desk, actor, ref)
    async with desk.sessions() as session:
        turns = (
            (
                await session.execute(
                    select(VoiceTurn).where(VoiceTurn.voice_conversation_id == row.id).order_by(VoiceTurn.seq)
                )
            )
            .scalars()
            .all()
        )
        username = (
            (await session.execute(select(User.username).where(User.id == row.user_id))).scalar_one_or_none()
            if row.user_id
            else None
        )
    return VoiceConversationDetail(
        **_summary(row, username, len(turns)),
        summary=row.summary,
        handoff_ticket=row.handoff_ticket,
        handoff_reason=row.handoff_reason,
        ended_at=row.ended_at,
        items=[
            VoiceTurnPublic(
                seq=t.seq, speaker=t.speaker, text=t.text, at_s=round(t.at_s, 2), audio_s=t.audio_s,  # type: ignore[arg-type]
                has_audio=t.audio_sha256 is not None, engine=t.engine, latency_ms=t.latency_ms,
                citations=t.citations or [],
            )
            for t in turns
        ],
    )  # fmt: skip


async def turn_audio(desk: Desk, actor: Actor, ref: int | str, seq: int) -> tuple[bytes, str]:
    """The stored audio of one turn, for playback (same visibility as the conversation)."""
    require(actor, "voice.use", "playing voice conversations")
    row = await _load(desk, actor, ref)
    async with desk.sessions() as session:
        turn = (
            await session.execute(
                select(VoiceTurn).where(VoiceTurn.voice_conversation_id == row.id, VoiceTurn.seq == seq)
            )
        ).scalar_one_or_none()
    if turn is None or turn.audio_sha256 is None:
        raise NotFoundError(f"turn {seq} of voice conversation {ref!r} has no stored audio")
    return desk.blobs.get(turn.audio_sha256), turn.audio_mime or "audio/wav"


async def conversation_end(
    desk: Desk, actor: Actor, ref: int | str, *, satisfaction: int | None = None
) -> VoiceConversationDetail:
    """End a voice conversation (completed, unless already handed off), optionally rated 1-5."""
    require(actor, "voice.use", "ending voice conversations")
    if satisfaction is not None and not 1 <= satisfaction <= 5:
        raise InvalidInputError(f"satisfaction must be 1-5, got {satisfaction}")
    row = await _load(desk, actor, ref)
    if not is_staff(actor) and row.user_id != actor.user_id:
        raise NotFoundError(f"voice conversation {ref!r} not found")
    async with desk.sessions.begin() as session:
        live = await session.get(VoiceConversation, row.id)
        assert live is not None
        if live.status != "handed_off":
            live.status = "completed"
        live.ended_at = live.ended_at or desk.clock()
        if satisfaction is not None:
            live.satisfaction = satisfaction
    return await conversation_get(desk, actor, row.id)
