"""The audit trail: who did what to which thing, when, from where, with the values before and after.

:func:`record_event` adds the event to the caller's session, so it commits (or rolls back) in the same
transaction as the change it describes: there is never a change without its event, nor an event for a
change that did not happen. :func:`audit_list` is the admins' view of it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from store.models import AuditEvent, User
from tools import permissions
from tools.actor import Actor
from tools.desk import Desk
from tools.errors import InvalidInputError, NotFoundError
from tools.pagination import Page, PageRequest


def record_event(
    session: AsyncSession,
    actor: Actor | None,
    action: str,
    target_type: str,
    target_id: object,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    address: str | None = None,
    at: datetime | None = None,
) -> None:
    """Add an audit event to ``session``'s transaction.

    ``actor`` is None for the system itself (bootstrap, a failed sign-in with an unknown name);
    ``action`` is ``<thing>.<verb>`` (``ticket.update``, ``token.revoke``, ``auth.sign_in_failed``);
    ``address`` is the client's network address when the event came over the network.
    """
    event = AuditEvent(
        actor_id=actor.user_id if actor else None,
        action=action,
        target_type=target_type,
        target_id=str(target_id)[:64],
        before=_jsonable(before),
        after=_jsonable(after),
        address=address[:64] if address else None,
    )
    if at is not None:
        event.created_at = at
    session.add(event)


def _jsonable(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is None:
        return None
    return json.loads(json.dumps(value, default=str))


class AuditEventPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    created_at: datetime
    actor: str | None = Field(description="Username, or null for the system.")
    action: str
    target_type: str
    target_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    address: str | None = Field(description="Client network address, when known.")


async def audit_list(
    desk: Desk,
    actor: Actor,
    *,
    by: str | None = None,
    action: str | None = None,
    target_type: str | None = None,
    target_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[AuditEventPublic]:
    """Audit events, newest first, filtered by who (``by``: username), action, target and time (admins only)."""
    permissions.require(actor, "audit.read", "reading the audit log")
    since, until = _utc(since), _utc(until)
    if since is not None and until is not None and since > until:
        raise InvalidInputError(f"since ({since.isoformat()}) is after until ({until.isoformat()}); swap them")
    window = PageRequest.of(limit, cursor)
    who = aliased(User)
    conds: list[ColumnElement[bool]] = []
    async with desk.sessions() as session:
        if by is not None:
            user_id = (await session.execute(select(User.id).where(User.username == by))).scalar_one_or_none()
            if user_id is None:
                raise NotFoundError(f"user {by!r} does not exist; call user_list to see valid usernames")
            conds.append(AuditEvent.actor_id == user_id)
        if action:
            # 'ticket' matches every ticket.* action; 'ticket.update' only that one.
            conds.append(AuditEvent.action.startswith(action) if "." not in action else AuditEvent.action == action)
        if target_type:
            conds.append(AuditEvent.target_type == target_type)
        if target_id:
            conds.append(AuditEvent.target_id == target_id)
        if since is not None:
            conds.append(AuditEvent.created_at >= since)
        if until is not None:
            conds.append(AuditEvent.created_at <= until)
        total = (await session.execute(select(func.count(AuditEvent.id)).where(*conds))).scalar_one()
        rows = (
            await session.execute(
                select(AuditEvent, who.username)
                .outerjoin(who, who.id == AuditEvent.actor_id)
                .where(*conds)
                .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
                .offset(window.offset)
                .limit(window.size)
            )
        ).all()
    items = [
        AuditEventPublic(
            id=e.id,
            created_at=e.created_at,
            actor=name,
            action=e.action,
            target_type=e.target_type,
            target_id=e.target_id,
            before=e.before,
            after=e.after,
            address=e.address,
        )
        for e, name in rows
    ]
    return window.page(Page[AuditEventPublic], items, total)


def _utc(value: datetime | None) -> datetime | None:
    """A time without a zone is read as UTC, the zone every stored time is in."""
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value
