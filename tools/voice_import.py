"""Conversations held in ElevenLabs' own widget or phone line, brought into the desk's voice tables.

One importer serves the post-call webhook and ``support-agent voice sync``: both hand it the conversation as
ElevenLabs describes it (``GET /v1/convai/conversations/{id}``, the ``data`` of a ``post_call_transcription``
event). Importing the same conversation again replaces it whole, so both paths are idempotent.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, select

from store.config import Settings
from store.models import User
from store.models_voice import VoiceConversation, VoiceTurn, WebhookReceipt
from store.speech import SpeechUnavailableError, elevenlabs_client
from tools.desk import Desk
from tools.errors import ConflictError, InvalidInputError, UnavailableError

logger = logging.getLogger(__name__)

WIDGET_SCRIPT = "https://unpkg.com/@elevenlabs/convai-widget-embed"
"""ElevenLabs' conversation widget (the ``<elevenlabs-convai>`` element), as ElevenLabs publishes it."""
WIDGET_SOURCES: dict[str, tuple[str, ...]] = {
    "script-src": ("https://unpkg.com",),
    "connect-src": (
        "https://api.elevenlabs.io",
        "wss://api.elevenlabs.io",
        "https://livekit.rtc.elevenlabs.io",
        "wss://livekit.rtc.elevenlabs.io",
    ),
}
"""What the page's Content-Security-Policy adds, per directive, while the widget is offered: its script's
origin, and the ElevenLabs API and WebRTC endpoints it talks to. Nothing is added otherwise."""


def widget_agent_id(settings: Settings) -> str | None:
    """The ElevenLabs agent the Voice tab embeds, when both ``ELEVENLABS_API_KEY`` and an agent id are set."""
    agent = (settings.elevenlabs_agent_id or "").strip()
    return agent if agent and settings.elevenlabs_api_key is not None else None


STATUSES = {"done": "completed", "failed": "abandoned", "initiated": "active", "in-progress": "active"}


def _status(data: dict[str, Any]) -> str:
    metadata = data.get("metadata") or {}
    reason = str(metadata.get("termination_reason") or "").lower()
    tools = [
        str(call.get("tool_name") or "")
        for turn in data.get("transcript") or []
        for call in (turn.get("tool_calls") or [])
        if isinstance(call, dict)
    ]
    if "transfer" in reason or any("transfer" in t for t in tools):
        return "handed_off"
    return STATUSES.get(str(data.get("status") or ""), "active")


def _rating(metadata: dict[str, Any]) -> int | None:
    feedback = metadata.get("feedback") or {}
    rating = feedback.get("rating")
    if isinstance(rating, int | float) and 1 <= rating <= 5:
        return int(rating)
    score = feedback.get("overall_score")
    return {"like": 5, "dislike": 1}.get(str(score)) if score else None


async def import_conversation(desk: Desk, data: dict[str, Any]) -> tuple[int, bool]:
    """Store (or replace) one ElevenLabs conversation; returns its desk id and whether it was new."""
    conversation_id = data.get("conversation_id")
    if not isinstance(conversation_id, str) or not conversation_id or len(conversation_id) > 100:
        raise InvalidInputError("the ElevenLabs conversation has no conversation_id")
    metadata = data.get("metadata") or {}
    analysis = data.get("analysis") or {}
    started = datetime.fromtimestamp(int(metadata.get("start_time_unix_secs") or 0), tz=UTC)
    duration = float(metadata.get("call_duration_secs") or 0)
    caller = data.get("user_id") or ((metadata.get("phone_call") or {}).get("external_number"))
    turns = [t for t in data.get("transcript") or [] if isinstance(t, dict) and (t.get("message") or "").strip()]
    async with desk.sessions.begin() as session:
        user_id = None
        if caller:
            user_id = (
                await session.execute(
                    select(User.id).where(or_(User.username == str(caller), User.email == str(caller))).limit(1)
                )
            ).scalar_one_or_none()
        row = (
            await session.execute(
                select(VoiceConversation).where(
                    VoiceConversation.source == "elevenlabs", VoiceConversation.conversation_id == conversation_id
                )
            )
        ).scalar_one_or_none()
        created = row is None
        if row is None:
            row = VoiceConversation(source="elevenlabs", conversation_id=conversation_id, tickets=[])
            session.add(row)
        row.user_id = user_id
        row.caller = str(caller)[:200] if caller else None
        row.status = _status(data)
        row.started_at = started
        row.last_turn_at = started + timedelta(seconds=duration)
        row.ended_at = row.last_turn_at if row.status != "active" else None
        row.duration_s = duration
        row.summary = analysis.get("transcript_summary") or None
        row.satisfaction = _rating(metadata)
        await session.flush()
        await session.execute(delete(VoiceTurn).where(VoiceTurn.voice_conversation_id == row.id))
        for seq, turn in enumerate(turns, 1):
            session.add(
                VoiceTurn(
                    voice_conversation_id=row.id,
                    seq=seq,
                    speaker="user" if turn.get("role") == "user" else "agent",
                    text=str(turn["message"]),
                    at_s=float(turn.get("time_in_call_secs") or 0),
                    engine="elevenlabs-agent",
                    citations=[],
                )
            )
        return row.id, created


def verify_webhook(desk: Desk, body: bytes, signature: str | None) -> dict[str, Any]:
    """The event in ``body`` when its ``ElevenLabs-Signature`` is valid (HMAC, timestamp within 30 min)."""
    secret = desk.settings.elevenlabs_webhook_secret
    if secret is None:
        raise UnavailableError("ELEVENLABS_WEBHOOK_SECRET is not configured; the webhook accepts nothing")
    from elevenlabs.client import ElevenLabs
    from elevenlabs.core.api_error import ApiError

    client = ElevenLabs(api_key="unused-for-verification", base_url=desk.settings.elevenlabs_base_url or None)
    try:
        event = client.webhooks.construct_event(body.decode("utf-8"), signature or "", secret.get_secret_value())
    except ApiError as exc:
        detail = getattr(exc, "body", None)
        raise InvalidInputError(f"webhook refused: {getattr(detail, 'error', None) or exc}") from exc
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidInputError(f"webhook refused: the body is not JSON text ({exc})") from exc
    if not isinstance(event, dict):
        raise InvalidInputError("webhook refused: the event is not a JSON object")
    return event


async def receive_webhook(desk: Desk, body: bytes, signature: str | None) -> dict[str, Any]:
    """Verify, refuse replays, and import a post-call transcription; other event types are acknowledged."""
    event = verify_webhook(desk, body, signature)
    digest = hashlib.sha256((signature or "").encode()).hexdigest()
    async with desk.sessions.begin() as session:
        seen = (
            await session.execute(select(WebhookReceipt.id).where(WebhookReceipt.signature_sha256 == digest))
        ).scalar_one_or_none()
        if seen is not None:
            raise ConflictError("webhook refused: this signed event was already received (a replay)")
        session.add(
            WebhookReceipt(source="elevenlabs", signature_sha256=digest, event_type=str(event.get("type"))[:64])
        )
    if event.get("type") != "post_call_transcription":
        return {"status": "ignored", "type": event.get("type")}
    data = event.get("data")
    if not isinstance(data, dict):
        raise InvalidInputError("webhook refused: a post_call_transcription event without data")
    voice_id, created = await import_conversation(desk, data)
    return {"status": "stored", "voice_conversation_id": voice_id, "created": created}


async def sync(desk: Desk, *, agent_id: str | None = None, max_pages: int = 1000) -> dict[str, int]:
    """Import every conversation ElevenLabs lists (for the agent), idempotently; returns counts."""
    try:
        client = elevenlabs_client(desk.settings)
    except SpeechUnavailableError as exc:
        raise UnavailableError(str(exc)) from exc
    from elevenlabs.core.api_error import ApiError

    agent = agent_id or desk.settings.elevenlabs_agent_id
    counts = {"seen": 0, "created": 0, "updated": 0}
    cursor: str | None = None
    for _ in range(max_pages):
        try:
            page = await asyncio.to_thread(
                client.conversational_ai.conversations.list, agent_id=agent, cursor=cursor, page_size=100
            )
        except ApiError as exc:
            raise UnavailableError(f"ElevenLabs refused the conversation list (HTTP {exc.status_code})") from exc
        for summary in page.conversations:
            try:
                full = await asyncio.to_thread(client.conversational_ai.conversations.get, summary.conversation_id)
            except ApiError as exc:
                raise UnavailableError(
                    f"ElevenLabs refused conversation {summary.conversation_id!r} (HTTP {exc.status_code})"
                ) from exc
            _, created = await import_conversation(desk, full.model_dump(mode="json"))
            counts["seen"] += 1
            counts["created" if created else "updated"] += 1
        if not page.has_more or not page.next_cursor:
            break
        cursor = page.next_cursor
    return counts
