"""ticket_metrics.created_month, and the percentile's second-step indexes start with it

Revision ID: 0015_facts_month
Revises: 0014_histogram_resolution
Create Date: 2026-12-02

The second step of an exact percentile reads the facts inside one histogram bin. With ``(duration, created_at)``
indexes it read the bin's facts of the whole period to keep one month's; ``(created_month, duration)`` reads
that month's alone. ``created_month`` is the UTC month of ``created_at`` as ``YYYY-MM-01`` (the histogram's
month), kept by the facts' refresh.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from store import rollup

revision = "0015_facts_month"
down_revision = "0014_histogram_resolution"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    op.add_column("ticket_metrics", sa.Column("created_month", sa.String(length=10), nullable=True))
    op.execute(f"UPDATE ticket_metrics SET created_month = {rollup.month_of(pg, 'created_at')}")
    for d in rollup.DURATIONS:
        op.drop_index(f"ix_ticket_metrics_{d}", table_name="ticket_metrics")
        op.create_index(f"ix_ticket_metrics_{d}_month", "ticket_metrics", ["created_month", f"{d}_s"], unique=False)
    op.execute("ANALYZE ticket_metrics")


def downgrade() -> None:
    for d in rollup.DURATIONS:
        op.drop_index(f"ix_ticket_metrics_{d}_month", table_name="ticket_metrics")
        op.create_index(f"ix_ticket_metrics_{d}", "ticket_metrics", [f"{d}_s", "created_at"], unique=False)
    with op.batch_alter_table("ticket_metrics", schema=None) as batch_op:
        batch_op.drop_column("created_month")
