"""Pydantic models of knowledge-base articles, one per role (create, update, public, revision, list row,
search hit, deleted), and the rules for their fields (tags, URLs); kept apart from the ORM.

Commands (create, edit, restore, delete) are in :mod:`tools.kb`; reading, listing and search in
:mod:`tools.kb_query`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

MAX_TITLE = 300
MAX_TAGS = 20
MAX_TAG_CHARS = 50
MAX_URL = 2000
MAX_NOTE = 500
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TITLE)]
Body = Annotated[str, StringConstraints(min_length=1)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_NOTE)]


def normalise_tags(tags: Iterable[str] | None) -> list[str]:
    """Tags lower-cased, trimmed, blank ones dropped and duplicates removed (first spelling wins)."""
    seen: dict[str, None] = {}
    for raw in tags or ():
        tag = " ".join(str(raw).split()).lower()
        if not tag:
            continue
        if len(tag) > MAX_TAG_CHARS:
            raise ValueError(f"tag {tag[:20]!r}… is longer than {MAX_TAG_CHARS} characters; shorten it")
        seen.setdefault(tag, None)
    if len(seen) > MAX_TAGS:
        raise ValueError(f"at most {MAX_TAGS} distinct tags are allowed, got {len(seen)}; drop some")
    return list(seen)


def normalise_url(url: str | None) -> str | None:
    """An http(s) URL, or None for none; an empty string clears the URL."""
    if url is None or not url.strip():
        return None
    url = url.strip()
    if len(url) > MAX_URL:
        raise ValueError(f"url is longer than {MAX_URL} characters")
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise ValueError(f"url {url!r} must be an absolute http:// or https:// address")
    return url


class KBArticleCreate(BaseModel):
    """A new article (admins only)."""

    model_config = ConfigDict(extra="forbid")

    title: Title = Field(description=f"Headline, 1-{MAX_TITLE} characters.")
    body: Body = Field(description="The article text (Markdown).")
    url: str | None = Field(default=None, description="Optional http(s) link to the source or a fuller version.")
    tags: list[str] = Field(
        default_factory=list, description=f"Up to {MAX_TAGS} tags; stored lower-case without duplicates."
    )

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return normalise_url(value)

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: list[str]) -> list[str]:
        return normalise_tags(value)


class KBArticleUpdate(BaseModel):
    """A change to an article: only the fields that are set change; ``revision`` is the one the caller read."""

    model_config = ConfigDict(extra="forbid")

    revision: int = Field(ge=1, description="The article's revision as last read; a stale one is a conflict.")
    title: Title | None = None
    body: Body | None = None
    url: str | None = Field(default=None, description="New link; an empty string removes it.")
    tags: list[str] | None = None
    note: Note | None = Field(default=None, description="Why the article changed, kept with the revision.")

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return normalise_url(value)

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else normalise_tags(value)

    @field_validator("title", "body")
    @classmethod
    def _not_null(cls, value: str | None) -> str:
        if value is None:
            raise ValueError("cannot be null; omit the field to keep the current value")
        return value


class KBArticlePublic(BaseModel):
    """An article (or one of its earlier revisions) as callers see it."""

    id: int
    title: str
    body: str
    body_truncated: bool = Field(description="True when the body was cut to keep the output small.")
    url: str | None
    tags: list[str]
    author: str | None = Field(description="Username of whoever wrote this revision.")
    revision: int = Field(description="The revision shown.")
    current_revision: int = Field(description="The latest revision; pass it to kb_article_update or restore.")
    revision_note: str | None = None
    view_count: int
    created_at: datetime
    updated_at: datetime = Field(description="When the revision shown was written.")
    indexed: bool | None = Field(
        default=None,
        description="kb_article_get only: False while the latest change is not yet in the semantic search index.",
    )


class KBRevisionPublic(BaseModel):
    """One entry of an article's history (read its body with kb_article_get and ``revision``)."""

    article_id: int
    revision: int
    title: str
    url: str | None
    tags: list[str]
    body_chars: int
    author: str | None
    note: str | None
    created_at: datetime


class KBSearchHit(BaseModel):
    id: int
    title: str
    snippet: str = Field(description="A short excerpt around the first matching word.")
    score: float = Field(description="Relevance, higher is better; comparable within one search only.")
    url: str | None
    tags: list[str]


class KBArticleSummary(BaseModel):
    """One row of the article list (read the body with kb_article_get)."""

    id: int
    title: str
    tags: list[str]
    url: str | None
    revision: int
    view_count: int
    updated_at: datetime


class KBArticleDeleted(BaseModel):
    id: int
    title: str
    revision: int = Field(description="The last revision, kept in full in the audit log.")
    revisions_deleted: int
    ticket_links_removed: int


def kb_article_markdown(article: KBArticlePublic) -> str:
    """The article as a Markdown document (the kb:// resource)."""
    lines = [f"# {article.title}", ""]
    meta = [f"- Article: {article.id}, revision {article.revision} of {article.current_revision}"]
    if article.tags:
        meta.append("- Tags: " + ", ".join(article.tags))
    if article.url:
        meta.append(f"- URL: {article.url}")
    meta.append(f"- Updated: {article.updated_at.isoformat()}" + (f" by {article.author}" if article.author else ""))
    return "\n".join([*lines, *meta, "", article.body, ""])
