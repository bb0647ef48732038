"""voice: voice conversations, their turns, webhook receipts

Revision ID: 0007_voice
Revises: 0005_web_sign_in
Create Date: 2026-12-01 11:13:25.540274
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import store.types

revision = "0007_voice"
down_revision = "0005_web_sign_in"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webhook_receipts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("signature_sha256", sa.String(length=64), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=True),
        sa.Column("received_at", store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("signature_sha256"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "voice_conversations",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("conversation_id", sa.String(length=100), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_at", store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_turn_at", store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("satisfaction", sa.Integer(), nullable=True),
        sa.Column("tickets", sa.JSON(), nullable=False),
        sa.Column("handoff_ticket", sa.String(length=20), nullable=True),
        sa.Column("handoff_reason", sa.String(length=32), nullable=True),
        sa.Column("caller", sa.String(length=200), nullable=True),
        sa.Column("updated_at", store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source", "conversation_id", name="uq_voice_conversations_source_conversation"),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("voice_conversations", schema=None) as batch_op:
        batch_op.create_index("ix_voice_conversations_started_at", ["started_at"], unique=False)
        batch_op.create_index("ix_voice_conversations_status", ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_voice_conversations_user_id"), ["user_id"], unique=False)

    op.create_table(
        "voice_turns",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("voice_conversation_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("speaker", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("at_s", sa.Float(), nullable=False),
        sa.Column("audio_s", sa.Float(), nullable=True),
        sa.Column("audio_sha256", sa.String(length=64), nullable=True),
        sa.Column("audio_mime", sa.String(length=40), nullable=True),
        sa.Column("engine", sa.String(length=40), nullable=True),
        sa.Column("latency_ms", sa.Integer(), nullable=True),
        sa.Column("citations", sa.JSON(), nullable=False),
        sa.Column("created_at", store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["voice_conversation_id"], ["voice_conversations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("voice_conversation_id", "seq", name="uq_voice_turns_conversation_seq"),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table("voice_turns")
    with op.batch_alter_table("voice_conversations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_voice_conversations_user_id"))
        batch_op.drop_index("ix_voice_conversations_status")
        batch_op.drop_index("ix_voice_conversations_started_at")

    op.drop_table("voice_conversations")
    op.drop_table("webhook_receipts")
