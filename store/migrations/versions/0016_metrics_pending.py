"""metrics queue: ticket writes note which tickets' analytics facts to recompute; a drain does it in batches

Revision ID: 0016_metrics_pending
Revises: 0015_facts_month
Create Date: 2026-12-02

``ticket_metrics_pending`` (tools.metrics_queue): a ticket write inserts its ticket id here instead of
recomputing the facts and moving the shared rollup rows inside its own transaction, which on PostgreSQL made
every ticket write queue on one advisory lock. The server's metrics worker and every analytics read drain it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import store.types

revision = "0016_metrics_pending"
down_revision = "0015_facts_month"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "ticket_metrics_pending",
        sa.Column("id", BigId, nullable=False),
        sa.Column("ticket_id", BigId, nullable=False),
        sa.Column("queued_at", store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table("ticket_metrics_pending")
