"""teams: named groups of staff, and who belongs to which

Revision ID: 0012_teams
Revises: 0011_ticket_facts
Create Date: 2026-12-01

A technician or manager belongs to zero or more teams; analytics read a team's numbers as the tickets
assigned to its members (``ix_team_members_user_id`` finds a person's teams).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import store.types

revision = "0012_teams"
down_revision = "0011_ticket_facts"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = store.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "teams",
        sa.Column("id", BigId, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "team_members",
        sa.Column("team_id", BigId, nullable=False),
        sa.Column("user_id", BigId, nullable=False),
        sa.Column("added_at", When, nullable=False),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("team_id", "user_id"),
    )
    with op.batch_alter_table("team_members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_team_members_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("team_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_team_members_user_id"))
    op.drop_table("team_members")
    op.drop_table("teams")
