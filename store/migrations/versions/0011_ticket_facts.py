"""ticket facts: ticket_metrics carries each ticket's group keys and SLA clock, so analytics reads it alone

Revision ID: 0011_ticket_facts
Revises: 0010_ingest_jobs
Create Date: 2026-12-01

``ticket_metrics`` becomes the per-ticket facts table: beside the durations it holds the created time, the
group keys (priority, category, assignee, requester, channel), the status and the SLA clock's instants, all
kept by :func:`tools.metrics.refresh_metrics` in the transaction of every ticket write. Existing rows are
filled from ``tickets`` here.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

import store.types

revision = "0011_ticket_facts"
down_revision = "0010_ingest_jobs"
branch_labels = None
depends_on = None

DONE = "('resolved', 'closed')"
EVENTS = (
    f"(to_status IN {DONE} AND (from_status IS NULL OR from_status NOT IN {DONE})) "
    f"OR (from_status IN {DONE} AND to_status NOT IN {DONE})"
)
"""The partial index's condition, written out: a migration keeps the text it was created with."""
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
FACTS: dict[str, Any] = {
    "created_at": store.types.UTCDateTime(timezone=True),
    "status": sa.String(length=16),
    "priority": sa.String(length=16),
    "channel": sa.String(length=16),
    "requester_id": ID,
    "assignee_id": ID,
    "category_id": ID,
    "first_response_at": store.types.UTCDateTime(timezone=True),
    "resolution_stopped_at": store.types.UTCDateTime(timezone=True),
    "paused_at": store.types.UTCDateTime(timezone=True),
    "first_response_due_at": store.types.UTCDateTime(timezone=True),
    "sla_due_at": store.types.UTCDateTime(timezone=True),
    # Left NULL here: the desk computes both states with the rest of a row on the first analytics call.
    "first_response_sla": sa.String(length=8),
    "resolution_sla": sa.String(length=8),
}
INDEXES = {
    "ix_ticket_metrics_created_at": ["created_at"],
    "ix_ticket_metrics_assignee_created": ["assignee_id", "created_at"],
    "ix_ticket_metrics_requester_created": ["requester_id", "created_at"],
}


def upgrade() -> None:
    # Plain ADD COLUMN (SQLite does it in place, keeping the table as it is).
    for name, type_ in FACTS.items():
        op.add_column("ticket_metrics", sa.Column(name, type_, nullable=True))
    op.execute(
        "UPDATE ticket_metrics SET created_at = t.created_at, status = t.status, priority = t.priority, "
        "channel = t.channel, requester_id = t.requester_id, assignee_id = t.assignee_id, "
        "category_id = t.category_id, first_response_at = t.first_response_at, "
        "resolution_stopped_at = COALESCE(t.resolved_at, t.closed_at), paused_at = t.paused_at, "
        "first_response_due_at = t.first_response_due_at, sla_due_at = t.sla_due_at "
        "FROM tickets t WHERE t.id = ticket_metrics.ticket_id"
    )
    for name, cols in INDEXES.items():
        op.create_index(name, "ticket_metrics", cols, unique=False)
    # Solves and reopens only, with every column the volume figures read: the history's scan stays in the index.
    op.create_index(
        "ix_ticket_status_changes_events",
        "ticket_status_changes",
        ["changed_at", "ticket_id", "from_status", "to_status"],
        unique=False,
        sqlite_where=sa.text(EVENTS),
        postgresql_where=sa.text(EVENTS),
    )


def downgrade() -> None:
    op.drop_index("ix_ticket_status_changes_events", table_name="ticket_status_changes")
    for name in INDEXES:
        op.drop_index(name, table_name="ticket_metrics")
    with op.batch_alter_table("ticket_metrics", schema=None) as batch_op:
        for name in reversed(FACTS):
            batch_op.drop_column(name)
