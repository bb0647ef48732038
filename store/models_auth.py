"""Web sign-in: password credentials, server-side browser sessions and the sign-in attempts that throttle guessing."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from store.models import NO_REUSE, Base, BigId
from store.types import utcnow


class UserCredential(Base):
    """A user's password, as an Argon2id hash (never the password). Users without a row cannot sign in."""

    __tablename__ = "user_credentials"

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebSession(Base):
    """A signed-in browser. The cookie holds a random token; only its SHA-256 is stored."""

    __tablename__ = "web_sessions"
    __table_args__ = NO_REUSE

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    """The absolute end of the session; an idle session also ends ``session_idle_minutes`` after last_seen_at."""
    address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))


class SignInAttempt(Base):
    """One sign-in attempt: what was typed as the account, from where, and how it ended."""

    __tablename__ = "sign_in_attempts"
    __table_args__ = (
        Index("ix_sign_in_attempts_identifier_created", "identifier", "created_at"),
        Index("ix_sign_in_attempts_address_created", "address", "created_at"),
        NO_REUSE,
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    identifier: Mapped[str] = mapped_column(String(254))
    """The username or e-mail address as typed, lower-cased (unknown accounts are throttled too)."""
    address: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    outcome: Mapped[str] = mapped_column(String(16))
    """``success``, ``bad_credentials``, ``throttled`` or ``locked``; only bad credentials count towards a lock."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Team(Base):
    """A group of staff who work tickets together (Zendesk and Freshdesk call it a group)."""

    __tablename__ = "teams"
    __table_args__ = NO_REUSE

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TeamMember(Base):
    """A staff member of a team; a person belongs to any number of teams."""

    __tablename__ = "team_members"

    team_id: Mapped[int] = mapped_column(BigId, ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
