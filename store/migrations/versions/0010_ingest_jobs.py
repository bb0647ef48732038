"""ingest jobs: document_ingest returns at once; progress, cancellation and streamed uploads

Revision ID: 0010_ingest_jobs
Revises: 0008_index_outbox
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import store.types

revision = "0010_ingest_jobs"
down_revision = "0008_index_outbox"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN (SQLite does it in place): a batch rebuild would drop the table's AUTOINCREMENT.
    op.add_column("documents", sa.Column("job_id", sa.String(length=32), nullable=True))
    op.add_column("documents", sa.Column("progress", sa.JSON(), nullable=True))
    op.add_column("documents", sa.Column("cancel_requested", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        "uploads",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("blob_sha256", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["uploaded_by_id"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("uploads")
    with op.batch_alter_table("documents", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.drop_column("cancel_requested")
        batch.drop_column("progress")
        batch.drop_column("job_id")
