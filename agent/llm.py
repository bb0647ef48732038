"""The LLM factory: an OpenAI-compatible chat model when one is configured, else None (the offline policy)."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from langchain_core.language_models import BaseChatModel

from store.config import Settings

logger = logging.getLogger(__name__)


def llm_configured(settings: Settings) -> bool:
    """Whether the settings ask for the OpenAI-compatible model rather than the offline policy."""
    if settings.llm == "offline":
        return False
    if settings.llm == "openai":
        return True
    return settings.openai_api_key is not None or bool(settings.openai_base_url)


def make_chat_model(settings: Settings) -> BaseChatModel | None:
    """ChatOpenAI against ``openai_base_url`` (any OpenAI-compatible server), or None for the offline policy."""
    if not llm_configured(settings):
        return None
    from langchain_openai import ChatOpenAI

    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else "not-needed"
    local = is_local(settings.openai_base_url)
    logger.info(
        "agent uses %s at %s (timeout %.0f s)",
        settings.openai_model,
        settings.openai_base_url or "api.openai.com",
        settings.llm_timeout,
    )
    return ChatOpenAI(
        model=settings.openai_model,
        base_url=settings.openai_base_url,
        api_key=key,  # type: ignore[arg-type]
        temperature=0,
        # A local model on a few cores takes seconds per completion: a retry doubles the wait for nothing.
        max_retries=0 if local else 1,
        timeout=settings.llm_timeout,
    )


def is_local(base_url: str | None) -> bool:
    """Whether the endpoint runs on this machine (loopback), where a completion may take many seconds."""
    if not base_url:
        return False
    host = urlsplit(base_url).hostname or ""
    return host in ("localhost", "::1") or host.startswith("127.")
