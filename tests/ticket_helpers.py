"""Small factories shared by the ticket tests."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from store.models import AuditEvent, KBArticle
from tools.actor import Actor
from tools.desk import Desk
from tools.ticket_models import TicketCreate, TicketPublic
from tools.tickets import ticket_create


async def new_ticket(
    desk: Desk, actor: Actor, subject: str = "Printer on floor 3 is jammed", **extra: Any
) -> TicketPublic:
    extra.setdefault("description", f"{subject}. It started this morning.")
    return await ticket_create(desk, actor, TicketCreate(subject=subject, **extra))


async def new_article(desk: Desk, author: Actor, title: str, body: str) -> int:
    async with desk.sessions.begin() as session:
        article = KBArticle(title=title, body=body, author_id=author.user_id, tags=[])
        session.add(article)
        await session.flush()
        return article.id


async def audit_events(desk: Desk, action: str | None = None) -> list[AuditEvent]:
    async with desk.sessions() as session:
        stmt = select(AuditEvent).order_by(AuditEvent.id)
        if action:
            stmt = stmt.where(AuditEvent.action == action)
        return list((await session.execute(stmt)).scalars().all())
