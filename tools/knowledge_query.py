"""Reading the knowledge base's documents: the list, one document with its first chunks (anyone may read)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from store.models_knowledge import Document, DocumentChunk
from tools.actor import Actor
from tools.common import MAX_ID, truncate
from tools.desk import Desk
from tools.errors import InvalidInputError, NotFoundError
from tools.knowledge_models import ChunkPreview, DocStatus, DocumentDetail, DocumentPublic, document_public
from tools.pagination import Page, PageRequest


async def require_document(session: AsyncSession, document_id: int) -> Document:
    doc = await session.get(Document, document_id) if 0 <= document_id <= MAX_ID else None
    if doc is None:
        raise NotFoundError(f"document {document_id} does not exist; call document_list to see the documents")
    return doc


async def document_list(
    desk: Desk,
    actor: Actor,
    *,
    status: DocStatus | None = None,
    query: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[DocumentPublic]:
    """Documents, newest first, a page at a time."""
    del actor  # everyone may see what the knowledge base holds
    window = PageRequest.of(limit, cursor)
    stmt = select(Document)
    if status:
        stmt = stmt.where(Document.status == status)
    if query:
        like = f"%{query.lower()}%"
        stmt = stmt.where(func.lower(Document.title).like(like) | func.lower(Document.filename).like(like))
    async with desk.sessions() as session:
        total = (await session.execute(select(func.count()).select_from(stmt.subquery()))).scalar_one()
        rows = (
            await session.execute(
                stmt.order_by(Document.created_at.desc(), Document.id.desc()).offset(window.offset).limit(window.size)
            )
        ).scalars()
        items = [document_public(d) for d in rows]
    return window.page(Page[DocumentPublic], items, total)


async def document_get(desk: Desk, actor: Actor, document_id: int, *, chunk_limit: int = 20) -> DocumentDetail:
    """A document with previews of its first chunks."""
    del actor
    if not 0 <= chunk_limit <= 200:
        raise InvalidInputError(f"chunk_limit must be between 0 and 200, got {chunk_limit}")
    async with desk.sessions() as session:
        doc = await require_document(session, document_id)
        chunks = (
            await session.execute(
                select(DocumentChunk)
                .where(DocumentChunk.document_id == document_id)
                .order_by(DocumentChunk.ordinal)
                .limit(chunk_limit)
            )
        ).scalars()
        previews = [
            ChunkPreview(
                ordinal=c.ordinal,
                kind=c.kind,
                page=c.page,
                sheet=c.sheet,
                heading_path=list(c.heading_path or []),
                citation=c.citation,
                text=truncate(c.text, 400) or "",
            )
            for c in chunks
        ]
        return DocumentDetail(**document_public(doc).model_dump(), chunks=previews)
