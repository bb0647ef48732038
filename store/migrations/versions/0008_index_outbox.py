"""index outbox: KB articles and tickets to (re)embed, written with the change

Revision ID: 0008_index_outbox
Revises: 0007_voice
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import store.types
from store.types import utcnow

revision = "0008_index_outbox"
down_revision = "0007_voice"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "index_outbox",
        sa.Column("item_key", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("available_at", store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("claimed_until", store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("item_key"),
    )
    op.create_index("ix_index_outbox_available_at", "index_outbox", ["available_at"])
    # Searches used to embed changed KB articles and tickets lazily; from here on the outbox does, so
    # everything that exists now is queued once (the drain skips tickets that are not resolved).
    outbox = sa.table(
        "index_outbox",
        sa.column("item_key"),
        sa.column("version"),
        sa.column("attempts"),
        sa.column("available_at"),
        sa.column("updated_at"),
    )
    now = sa.literal(utcnow(), store.types.UTCDateTime(timezone=True))
    for table, prefix in (("kb_articles", "kb:"), ("tickets", "ticket:")):
        src = sa.table(table, sa.column("id"))
        key = (sa.literal(prefix, sa.String()) + sa.cast(src.c.id, sa.String(20))).label("item_key")
        op.execute(
            sa.insert(outbox).from_select(
                ["item_key", "version", "attempts", "available_at", "updated_at"],
                sa.select(key, sa.literal(1), sa.literal(0), now, now).select_from(src),
            )
        )
    # The lazy sync's marks are no longer used.
    op.execute(sa.text("DELETE FROM index_meta WHERE key LIKE 'sync:%'"))


def downgrade() -> None:
    op.drop_index("ix_index_outbox_available_at", table_name="index_outbox")
    op.drop_table("index_outbox")
