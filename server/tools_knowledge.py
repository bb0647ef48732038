"""MCP tools for the knowledge base: ingest documents (with progress), list, read, delete, reindex, search."""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from server.context import CurrentActor, CurrentDesk, desk_and_actor, resource_errors
from server.surface import Registrar
from tools import knowledge, knowledge_models, knowledge_query, search, usage_log
from tools.common import decode_base64, parse_id
from tools.errors import InvalidInputError
from tools.pagination import Page

SourceList = list[search.SourceName]


# Base64 in a tool call is a third larger than the file, and many MCP clients and proxies cap a message
# at 4 MiB: large files go to the upload endpoint instead.
LARGE_FILE_HINT = (
    "send large files to POST /uploads (the raw bytes as the body, ?filename=..., the same Authorization "
    "header as /mcp) and call document_ingest with the upload_id it returns"
)


def register(reg: Registrar) -> None:
    mcp = reg.mcp

    # Destructive: a new version of a source replaces the old version's chunks and vectors.
    @reg.tool(
        toolset="knowledge",
        capability="knowledge.write",
        kind="ingest",
        title="Ingest a document",
        destructive=True,
        idempotent=True,
    )
    async def document_ingest(
        desk: CurrentDesk,
        actor: CurrentActor,
        ctx: Context,
        path: Annotated[str | None, Field(description="A file on the server's disk (stdio use).")] = None,
        content_base64: Annotated[
            str | None,
            Field(
                description="The file's bytes, base64-encoded (files up to a few MB; for larger ones, "
                f"{LARGE_FILE_HINT})."
            ),
        ] = None,
        upload_id: Annotated[
            str | None, Field(description="The upload_id POST /uploads returned (large files over HTTP).")
        ] = None,
        filename: Annotated[
            str | None, Field(description="File name, required with content_base64 (e.g. 'vpn-guide.pdf').")
        ] = None,
        source_key: Annotated[
            str | None,
            Field(description="What identifies this source across versions; defaults to the path or file name."),
        ] = None,
        wait: Annotated[
            bool,
            Field(
                description="Wait until the document is ready (progress notifications meanwhile); by default "
                "return at once with the document processing and a job id, and follow it with document_get."
            ),
        ] = False,
    ) -> knowledge_models.IngestResult:
        """Add a PDF, Office, CSV, text, Markdown, HTML or image file to the knowledge base (admins only)."""
        if sum(x is not None for x in (path, content_base64, upload_id)) != 1:
            raise ToolError(
                "pass exactly one of: path (a file on the server), content_base64 with filename, or upload_id "
                "(from POST /uploads)"
            )
        data = None
        if content_base64 is not None:
            data = decode_base64(
                content_base64, field="content_base64", max_mb=desk.settings.max_upload_mb, too_large=LARGE_FILE_HINT
            )
        if data is not None and not filename:
            raise ToolError("filename is required with content_base64 (it names the document and hints its type)")

        async def progress(done: float, total: float, message: str) -> None:
            await ctx.report_progress(done, total, message)

        return await knowledge.document_ingest(
            desk,
            actor,
            data=data,
            path=path,
            upload_id=upload_id,
            filename=filename,
            source_key=source_key,
            wait=wait,
            progress=progress if wait else None,
        )

    @reg.tool(
        toolset="knowledge",
        capability="knowledge.write",
        kind="write",
        title="Cancel a document's ingestion",
        destructive=True,
    )
    async def document_ingest_cancel(
        document_id: Annotated[int, Field(description="The processing document's id.")],
        desk: CurrentDesk,
        actor: CurrentActor,
    ) -> knowledge_models.DocumentPublic:
        """Stop a document's ingestion, leaving it failed with the reason "cancelled" (admins only)."""
        return await knowledge.document_ingest_cancel(desk, actor, document_id)

    @reg.tool(toolset="knowledge", capability="knowledge.read", kind="read", title="List documents")
    async def document_list(
        desk: CurrentDesk,
        actor: CurrentActor,
        status: Annotated[
            knowledge_models.DocStatus | None,
            Field(description="Only documents in this state: processing, ready, failed."),
        ] = None,
        query: Annotated[str | None, Field(description="Text to find in the title or file name.")] = None,
        limit: Annotated[int, Field(description="Page size, 1-100.", ge=1, le=100)] = 20,
        cursor: Annotated[str | None, Field(description="next_cursor from the previous page.")] = None,
    ) -> Page[knowledge_models.DocumentPublic]:
        """List the knowledge base's documents, newest first, a page at a time."""
        return await knowledge_query.document_list(desk, actor, status=status, query=query, limit=limit, cursor=cursor)

    @reg.tool(toolset="knowledge", capability="knowledge.read", kind="read", title="Get a document")
    async def document_get(
        document_id: Annotated[int, Field(description="The document's id.")],
        desk: CurrentDesk,
        actor: CurrentActor,
        chunk_limit: Annotated[int, Field(description="How many chunk previews to include, 0-200.", ge=0, le=200)] = 20,
    ) -> knowledge_models.DocumentDetail:
        """Show a document's details and previews of its first chunks."""
        return await knowledge_query.document_get(desk, actor, document_id, chunk_limit=chunk_limit)

    @reg.tool(
        toolset="knowledge", capability="knowledge.write", kind="write", title="Delete a document", destructive=True
    )
    async def document_delete(
        document_id: Annotated[int, Field(description="The document's id.")], desk: CurrentDesk, actor: CurrentActor
    ) -> knowledge_models.DocumentPublic:
        """Delete a document with its chunks and vectors (admins only)."""
        return await knowledge.document_delete(desk, actor, document_id)

    @reg.tool(
        toolset="knowledge", capability="knowledge.write", kind="ingest", title="Re-embed documents", idempotent=True
    )
    async def document_reindex(
        desk: CurrentDesk,
        actor: CurrentActor,
        ctx: Context,
        document_id: Annotated[
            int | None, Field(description="One document; omit to rebuild the whole index (after a model change).")
        ] = None,
    ) -> knowledge_models.ReindexResult:
        """Re-embed one document, or all of them into a fresh index with the configured embedder (admins only)."""

        async def progress(done: float, total: float, message: str) -> None:
            await ctx.report_progress(done, total, message)

        return await knowledge.document_reindex(desk, actor, document_id, progress=progress)

    @reg.tool(toolset="knowledge", capability="knowledge.read", kind="read", title="Search knowledge")
    async def knowledge_search(
        query: Annotated[str, Field(description="What to look for: a question, an error code, a product name.")],
        desk: CurrentDesk,
        actor: CurrentActor,
        k: Annotated[int, Field(description="How many results, 1-50.", ge=1, le=50)] = 5,
        sources: Annotated[
            SourceList | None, Field(description="Any of documents, kb, tickets (resolved ones); default all.")
        ] = None,
        document_ids: Annotated[list[int] | None, Field(description="Only these documents.")] = None,
        doc_types: Annotated[list[str] | None, Field(description="Only these document types, e.g. ['pdf'].")] = None,
    ) -> search.KnowledgeSearchResult:
        """Search documents, KB articles and resolved tickets; each hit carries a citation."""
        filters = search.KnowledgeFilters(document_ids=document_ids, doc_types=doc_types)
        result = await search.knowledge_search(
            desk, actor, query, k=k, sources=tuple(sources or search.ALL_SOURCES), filters=filters
        )
        usage_log.log_search_later(desk, actor, query, result.hits)
        return result

    @mcp.resource("document://{document_id}", title="Knowledge document", mime_type="application/json")
    @resource_errors
    async def document_resource(document_id: str, ctx: Context) -> str:
        """A document's details and chunk previews, as JSON."""
        desk, actor = await desk_and_actor(ctx)
        number = parse_id(document_id)
        if number is None:
            raise InvalidInputError(f"document id must be a number, got {document_id!r}")
        detail = await knowledge_query.document_get(desk, actor, number)
        return detail.model_dump_json()
