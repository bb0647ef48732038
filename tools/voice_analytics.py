"""analytics_voice: voice conversations counted and measured in SQL, offline and ElevenLabs alike."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import get_args

from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, case, func, select

from store.models_voice import VoiceConversation
from tools.actor import Actor
from tools.desk import Desk
from tools.errors import InvalidInputError
from tools.permissions import require
from tools.voice_conversations import Source, VoiceStatus, mark_abandoned


class VoiceAnalytics(BaseModel):
    start: datetime
    end: datetime
    conversations: int = Field(description="Voice conversations started in the period.")
    total_duration_s: float
    avg_duration_s: float | None
    by_status: dict[str, int] = Field(description="active, completed, abandoned, handed_off.")
    by_source: dict[str, int] = Field(description="desk (this desk's voice) or elevenlabs (ElevenLabs Agents).")
    rated: int = Field(description="Conversations with a satisfaction rating.")
    avg_satisfaction: float | None = Field(description="Mean rating, 1-5, over rated conversations.")
    handed_off_share: float | None = Field(description="Share of conversations handed to a human, 0-1.")
    with_tickets: int = Field(description="Conversations that opened or touched a ticket.")


async def analytics_voice(
    desk: Desk, actor: Actor, *, start: datetime | None = None, end: datetime | None = None
) -> VoiceAnalytics:
    """Counts, durations, statuses, satisfaction and hand-off share of voice conversations in [start, end)."""
    require(actor, "analytics.read", "voice analytics")
    end = end or desk.clock() + timedelta(seconds=1)  # default: up to and including now
    start = start or end - timedelta(days=30)
    if start >= end:
        raise InvalidInputError(f"start ({start.isoformat()}) must be before end ({end.isoformat()})")
    await mark_abandoned(desk)
    vc = VoiceConversation
    period = (vc.started_at >= start, vc.started_at < end)
    statuses, sources = get_args(VoiceStatus), get_args(Source)

    def counted(condition: ColumnElement[bool]) -> ColumnElement[int]:
        return func.sum(case((condition, 1), else_=0))

    async with desk.sessions() as session:
        # One pass over the period's conversations for every figure.
        row = (
            await session.execute(
                select(
                    func.count(vc.id),
                    func.coalesce(func.sum(vc.duration_s), 0.0),
                    func.avg(vc.duration_s),
                    func.count(vc.satisfaction),
                    func.avg(vc.satisfaction),
                    # json_array_length exists with this name on SQLite and PostgreSQL (json type) alike.
                    counted(func.json_array_length(vc.tickets) > 0),
                    *(counted(vc.status == s) for s in statuses),
                    *(counted(vc.source == s) for s in sources),
                ).where(*period)
            )
        ).one()
    n, total, avg, rated, avg_sat, with_tickets = row[:6]
    by_status = {s: int(v or 0) for s, v in zip(statuses, row[6 : 6 + len(statuses)], strict=True)}
    by_source = {s: int(v or 0) for s, v in zip(sources, row[6 + len(statuses) :], strict=True)}
    return VoiceAnalytics(
        start=start,
        end=end,
        conversations=n,
        total_duration_s=round(float(total or 0.0), 2),
        avg_duration_s=round(float(avg), 2) if avg is not None else None,
        by_status=by_status,
        by_source=by_source,
        rated=rated,
        avg_satisfaction=round(float(avg_sat), 2) if avg_sat is not None else None,
        handed_off_share=round(by_status["handed_off"] / n, 4) if n else None,
        with_tickets=int(with_tickets or 0),
    )
