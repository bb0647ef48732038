"""analytics rollup: per-day sums and per-month duration histograms, so a year's report reads small rows

Revision ID: 0013_analytics_rollup
Revises: 0011_ticket_facts
Create Date: 2026-12-01

``ticket_rollup`` (per UTC day and dimension value: cohort sums, solves, reopens), ``ticket_rollup_hist``
(per UTC month, dimension value, duration and log-scale bin: ticket counts), ``ticket_metric_events`` (what the
rollup counted per ticket and day) and ``analytics_bins`` (the bins), kept by
:func:`tools.metrics.refresh_metrics` in the transaction of every ticket write. ``ticket_metrics`` gains
``live_until`` and an index per duration. The rollup is built here from the existing facts (store.rollup).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import store.types
from store import rollup

revision = "0013_analytics_rollup"
down_revision = "0012_teams"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("ticket_metrics", sa.Column("live_until", store.types.UTCDateTime(timezone=True), nullable=True))
    op.create_index("ix_ticket_metrics_live_until", "ticket_metrics", ["live_until"], unique=False)
    for d in rollup.DURATIONS:
        op.create_index(f"ix_ticket_metrics_{d}", "ticket_metrics", [f"{d}_s", "created_at"], unique=False)
    op.create_table(
        "ticket_rollup",
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("dim", sa.String(length=10), nullable=False),
        sa.Column("value", sa.String(length=40), nullable=False),
        *(sa.Column(c, sa.BigInteger(), nullable=False) for c in rollup.ROLLUP_SUMS),
        sa.PrimaryKeyConstraint("day", "dim", "value"),
    )
    op.create_table(
        "ticket_rollup_hist",
        sa.Column("dim", sa.String(length=10), nullable=False),
        sa.Column("value", sa.String(length=40), nullable=False),
        sa.Column("duration", sa.String(length=20), nullable=False),
        sa.Column("month", sa.String(length=10), nullable=False),
        sa.Column("bin", sa.Integer(), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("dim", "value", "duration", "month", "bin"),
    )
    op.create_table(
        "ticket_metric_events",
        sa.Column("ticket_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("solved", sa.Integer(), nullable=False),
        sa.Column("reopened", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("ticket_id", "day"),
    )
    bins = op.create_table(
        "analytics_bins",
        sa.Column("lo", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hi", sa.BigInteger(), nullable=False),
        sa.Column("bin", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("lo"),
        sa.UniqueConstraint("bin"),
    )
    # The bins as this revision made them (eight per doubling); 0014 replaces them and builds the histogram.
    los = rollup.bins(8)
    highs = (*los[1:], 2**62)
    op.bulk_insert(bins, [{"lo": lo, "hi": hi, "bin": i} for i, (lo, hi) in enumerate(zip(los, highs, strict=True))])
    op.execute("UPDATE ticket_metrics SET live_until = " + rollup.live_until("first_response_due_at", "sla_due_at"))
    pg = op.get_bind().dialect.name == "postgresql"
    for statement in rollup.build_sql(pg, histogram=False):
        op.execute(statement)
    # Fresh statistics, so the planner knows the new tables' sizes and the new indexes' spread.
    for table in ("ticket_metrics", "ticket_rollup", "ticket_rollup_hist", "ticket_metric_events"):
        op.execute(f"ANALYZE {table}")


def downgrade() -> None:
    for table in ("analytics_bins", "ticket_metric_events", "ticket_rollup_hist", "ticket_rollup"):
        op.drop_table(table)
    for d in rollup.DURATIONS:
        op.drop_index(f"ix_ticket_metrics_{d}", table_name="ticket_metrics")
    op.drop_index("ix_ticket_metrics_live_until", table_name="ticket_metrics")
    with op.batch_alter_table("ticket_metrics", schema=None) as batch_op:
        batch_op.drop_column("live_until")
