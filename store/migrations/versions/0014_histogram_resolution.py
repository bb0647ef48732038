"""analytics histogram bins by dimension: finer bins for the dimensions of few large groups

Revision ID: 0014_histogram_resolution
Revises: 0013_analytics_rollup
Create Date: 2026-12-02

``analytics_bins`` gains ``res`` (bins per doubling) and holds the bins of every resolution in
``store.rollup.RESOLUTION`` (none 64, priority and channel 32, category and assignee 8, as before); the
histogram ``ticket_rollup_hist`` is rebuilt from the facts with them (on SQLite as a table without rowid: its rows are
read by key ranges). The eight-per-doubling bins keep their
numbers, so the downgrade rebuilds the histogram at eight per doubling and puts the old table back.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from store import rollup

revision = "0014_histogram_resolution"
down_revision = "0013_analytics_rollup"
branch_labels = None
depends_on = None


def _refresh_statistics() -> None:
    for table in ("analytics_bins", "ticket_rollup_hist"):
        op.execute(f"ANALYZE {table}")


def _histogram_table(*, with_rowid: bool) -> None:
    """``ticket_rollup_hist`` anew (empty); without a rowid on SQLite, where its rows are read by key ranges."""
    op.drop_table("ticket_rollup_hist")
    op.create_table(
        "ticket_rollup_hist",
        sa.Column("dim", sa.String(length=10), nullable=False),
        sa.Column("value", sa.String(length=40), nullable=False),
        sa.Column("duration", sa.String(length=20), nullable=False),
        sa.Column("month", sa.String(length=10), nullable=False),
        sa.Column("bin", sa.Integer(), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("dim", "value", "duration", "month", "bin"),
        sqlite_with_rowid=with_rowid,
    )


def upgrade() -> None:
    op.drop_table("analytics_bins")
    bins = op.create_table(
        "analytics_bins",
        sa.Column("res", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("lo", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hi", sa.BigInteger(), nullable=False),
        sa.Column("bin", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("res", "lo"),
        sa.UniqueConstraint("res", "bin", name="uq_analytics_bins_res_bin"),
    )
    op.bulk_insert(bins, rollup.bin_rows())
    pg = op.get_bind().dialect.name == "postgresql"
    _histogram_table(with_rowid=False)
    for statement in rollup.hist_build_sql(pg):
        op.execute(statement)
    _refresh_statistics()


def downgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    # Eight per doubling for every dimension, numbered as 0013 numbered them, then the old table.
    _histogram_table(with_rowid=True)
    for statement in rollup.hist_build_sql(pg, dict.fromkeys(rollup.DIMS, 8)):
        op.execute(statement)
    op.drop_table("analytics_bins")
    bins = op.create_table(
        "analytics_bins",
        sa.Column("lo", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hi", sa.BigInteger(), nullable=False),
        sa.Column("bin", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("lo"),
        sa.UniqueConstraint("bin"),
    )
    los = rollup.bins(8)
    highs = (*los[1:], 2**62)
    op.bulk_insert(bins, [{"lo": lo, "hi": hi, "bin": i} for i, (lo, hi) in enumerate(zip(los, highs, strict=True))])
    _refresh_statistics()
