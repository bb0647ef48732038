"""MCP tools and the kb:// resource for knowledge-base articles."""

from __future__ import annotations

from typing import Annotated, Literal

from mcp.server.mcpserver import Context
from pydantic import BaseModel, Field

from server.context import CurrentActor, CurrentDesk, desk_and_actor, resource_errors
from server.surface import Registrar
from tools import kb, kb_models, kb_query
from tools.pagination import Page

ArticleId = Annotated[int, Field(description="The article's id (from kb_article_search or ticket links).")]


class KBSearchResults(BaseModel):
    query: str
    items: list[kb_models.KBSearchHit]


def register(reg: Registrar) -> None:
    mcp = reg.mcp

    @reg.tool(toolset="kb", capability="kb.write", kind="write", title="Create a KB article")
    async def kb_article_create(
        title: Annotated[str, Field(description=f"Headline, 1-{kb_models.MAX_TITLE} characters.")],
        body: Annotated[str, Field(description="The article text (Markdown).")],
        desk: CurrentDesk,
        actor: CurrentActor,
        url: Annotated[str | None, Field(description="Optional http(s) link to the source.")] = None,
        tags: Annotated[
            list[str] | None, Field(description=f"Up to {kb_models.MAX_TAGS} tags, e.g. ['vpn', 'windows'].")
        ] = None,
    ) -> kb_models.KBArticlePublic:
        """Create a knowledge-base article at revision 1 (admins only)."""
        data = kb_models.KBArticleCreate(title=title, body=body, url=url, tags=tags or [])
        return await kb.kb_article_create(desk, actor, data)

    @reg.tool(toolset="kb", capability="kb.read", kind="read", title="Get a KB article")
    async def kb_article_get(
        article_id: ArticleId,
        desk: CurrentDesk,
        actor: CurrentActor,
        revision: Annotated[
            int | None, Field(description="Read this earlier revision instead of the current one.", ge=1)
        ] = None,
    ) -> kb_models.KBArticlePublic:
        """Read a knowledge-base article, or one of its earlier revisions."""
        return await kb_query.kb_article_get(desk, actor, article_id, revision=revision)

    @reg.tool(toolset="kb", capability="kb.write", kind="write", title="Update a KB article")
    async def kb_article_update(
        article_id: ArticleId,
        revision: Annotated[int, Field(description="current_revision as you last read it; stale means conflict.")],
        desk: CurrentDesk,
        actor: CurrentActor,
        title: Annotated[str | None, Field(description="New headline; omit to keep.")] = None,
        body: Annotated[str | None, Field(description="New text; omit to keep.")] = None,
        url: Annotated[str | None, Field(description="New http(s) link; an empty string removes it.")] = None,
        tags: Annotated[list[str] | None, Field(description="New full tag list; omit to keep.")] = None,
        note: Annotated[str | None, Field(description="Why it changed, kept with the revision.")] = None,
    ) -> kb_models.KBArticlePublic:
        """Edit a knowledge-base article, keeping the old text as a revision (admins only)."""
        given = {"title": title, "body": body, "url": url, "tags": tags, "note": note}
        data = kb_models.KBArticleUpdate(revision=revision, **{k: v for k, v in given.items() if v is not None})
        return await kb.kb_article_update(desk, actor, article_id, data)

    @reg.tool(
        toolset="kb",
        capability="kb.write",
        kind="write",
        title="Delete a KB article",
        destructive=True,
        idempotent=True,
    )
    async def kb_article_delete(
        article_id: ArticleId,
        desk: CurrentDesk,
        actor: CurrentActor,
        revision: Annotated[
            int | None, Field(description="If given, delete only while the article is still at this revision.")
        ] = None,
    ) -> kb_models.KBArticleDeleted:
        """Delete a knowledge-base article with its revisions and ticket links (admins only)."""
        return await kb.kb_article_delete(desk, actor, article_id, revision=revision)

    @reg.tool(toolset="kb", capability="kb.read", kind="read", title="List KB articles")
    async def kb_article_list(
        desk: CurrentDesk,
        actor: CurrentActor,
        tag: Annotated[str | None, Field(description="Only articles with this tag.")] = None,
        sort: Annotated[
            Literal["updated_at", "view_count", "title"],
            Field(description="updated_at (newest first), view_count (most read first) or title."),
        ] = "updated_at",
        limit: Annotated[int, Field(description="Page size, 1-100.", ge=1, le=100)] = 20,
        cursor: Annotated[str | None, Field(description="next_cursor from the previous page.")] = None,
    ) -> Page[kb_models.KBArticleSummary]:
        """List knowledge-base articles a page at a time, newest first unless sorted otherwise."""
        return await kb_query.kb_article_list(desk, actor, tag=tag, sort=sort, limit=limit, cursor=cursor)

    @reg.tool(toolset="kb", capability="kb.read", kind="read", title="Search the KB")
    async def kb_article_search(
        query: Annotated[str, Field(description="Keywords, an error code or a product name.")],
        desk: CurrentDesk,
        actor: CurrentActor,
        tags: Annotated[list[str] | None, Field(description="Only articles carrying all of these tags.")] = None,
        limit: Annotated[int, Field(description="Most hits to return, 1-100.", ge=1, le=100)] = 10,
    ) -> KBSearchResults:
        """Search knowledge-base articles by keywords, best match first."""
        hits = await kb_query.kb_article_search(desk, actor, query, tags=tags, limit=limit)
        return KBSearchResults(query=query, items=hits)

    @reg.tool(toolset="kb", capability="kb.read", kind="read", title="List KB article revisions")
    async def kb_article_revisions(
        article_id: ArticleId,
        desk: CurrentDesk,
        actor: CurrentActor,
        limit: Annotated[int, Field(description="Page size, 1-100.", ge=1, le=100)] = 20,
        cursor: Annotated[str | None, Field(description="next_cursor from the previous page.")] = None,
    ) -> Page[kb_models.KBRevisionPublic]:
        """List a knowledge-base article's revisions, newest first."""
        return await kb_query.kb_article_revisions(desk, actor, article_id, limit=limit, cursor=cursor)

    @reg.tool(toolset="kb", capability="kb.write", kind="write", title="Restore a KB article revision")
    async def kb_article_restore(
        article_id: ArticleId,
        revision: Annotated[int, Field(description="The earlier revision whose content becomes current.", ge=1)],
        current_revision: Annotated[int, Field(description="current_revision as you last read it.")],
        desk: CurrentDesk,
        actor: CurrentActor,
        note: Annotated[str | None, Field(description="Why it is restored, kept with the new revision.")] = None,
    ) -> kb_models.KBArticlePublic:
        """Restore an earlier revision of a knowledge-base article as a new revision (admins only)."""
        return await kb.kb_article_restore(
            desk, actor, article_id, revision=revision, expected_revision=current_revision, note=note
        )

    @mcp.resource("kb://{id}", title="Knowledge-base article", mime_type="text/markdown")
    @resource_errors
    async def kb_article_resource(id: str, ctx: Context) -> str:
        """A knowledge-base article as Markdown: title, tags, link and body."""
        desk, actor = await desk_and_actor(ctx)
        return kb_models.kb_article_markdown(await kb_query.kb_article_get(desk, actor, id))
