"""Uploads streamed in over HTTP (``POST /uploads``): bytes to the blob store, a random id for document_ingest.

Files too large for a tool call's base64 (MCP clients and proxies often cap a message at 4 MiB) come in
as a raw request body. The size limit is enforced while the body is read, so an oversized upload is cut
off at the limit and leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import secrets
import tempfile
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel

from store.models_knowledge import Upload
from tools import permissions
from tools.actor import Actor
from tools.desk import Desk
from tools.errors import InvalidInputError


class UploadTooLargeError(InvalidInputError):
    """The body passed ``max_upload_mb`` while it was read."""


class UploadPublic(BaseModel):
    upload_id: str
    """Pass it to document_ingest as ``upload_id``."""
    filename: str
    size_bytes: int
    sha256: str
    created_at: datetime


async def store_upload(desk: Desk, actor: Actor, body: AsyncIterator[bytes], filename: str | None) -> UploadPublic:
    """Stream ``body`` into the blob store (refusing it once it passes the upload limit); admins only."""
    permissions.require(actor, "knowledge.write", "document upload")
    name = Path((filename or "").strip()).name[:255]
    if not name:
        raise InvalidInputError("filename is required: POST /uploads?filename=<the file's name, e.g. report.pdf>")
    limit = int(desk.settings.max_upload_mb * 1024 * 1024)
    digest = hashlib.sha256()
    size = 0
    fd, tmp_name = tempfile.mkstemp(dir=desk.blobs.staging(), prefix="upload-")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            async for part in body:
                size += len(part)
                if size > limit:
                    raise UploadTooLargeError(
                        f"{name!r} is over the {desk.settings.max_upload_mb:g} MB upload limit; split the file, or "
                        "ask the operator to raise SUPPORT_MAX_UPLOAD_MB"
                    )
                digest.update(part)
                fh.write(part)
        if size == 0:
            raise InvalidInputError(f"{name!r} is empty; send the file's bytes as the request body")
        sha = await asyncio.to_thread(desk.blobs.adopt, tmp, digest.hexdigest())
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp_name)  # one quick syscall; must also run when the request is cancelled
        raise
    upload = Upload(
        id=secrets.token_urlsafe(24),
        blob_sha256=sha,
        filename=name,
        size_bytes=size,
        uploaded_by_id=actor.user_id,
        created_at=desk.clock(),
    )
    async with desk.sessions.begin() as session:
        session.add(upload)
    return UploadPublic(upload_id=upload.id, filename=name, size_bytes=size, sha256=sha, created_at=upload.created_at)
