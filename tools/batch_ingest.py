"""Ingest a batch of files, one after another, for the CLI (``support-agent ingest``) and the UI uploads.

What one file's trouble does to the rest of the batch, for every caller alike:

* a refusal of the caller (not allowed to ingest at all) is the same for every file: it is raised once,
  before anything is read or stored;
* a file the desk refuses or fails (empty, corrupt, encrypted, too large, outside the ingest roots...)
  is reported ``failed`` with the desk's message, and the next file goes on;
* an unexpected error on one file is logged with its traceback and reported ``failed`` with a plain
  reason ("internal error: <kind>"); the next file goes on (the document itself, if one was recorded,
  is already ``failed`` with the reason, see :func:`tools.ingest_pipeline.failure_reason`);
* cancelling the batch (Ctrl-C, a closed browser request) stops it there.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from tools import permissions
from tools.actor import Actor
from tools.desk import Desk
from tools.errors import DeskError
from tools.knowledge import document_ingest
from tools.knowledge_models import IngestResult

logger = logging.getLogger(__name__)

OutcomeKind = Literal["added", "replaced", "duplicate", "queued", "failed"]
FileProgress = Callable[[int, "BatchFile", float, float, str], None]
"""Progress of one file: its index in the batch, the file, done, total and what is happening."""


@dataclass(frozen=True)
class BatchFile:
    """One file of a batch: a path on the server, or bytes ``read`` here (in a worker thread)."""

    name: str
    """What the outcome calls it (the path given, or the uploaded file's name)."""
    path: str | None = None
    """A file on the server, read by document_ingest (its ingest-root rules apply)."""
    read: Callable[[], bytes] | None = None
    """Returns the file's bytes (may raise DeskError, e.g. when it is over the size limit)."""
    filename: str | None = None
    source_key: str | None = None
    """Which earlier document a new version replaces; by default as document_ingest decides."""


@dataclass
class FileOutcome:
    file: str
    outcome: OutcomeKind
    document_id: int | None = None
    chunks: int | None = None
    detail: str = ""


def outcome_of(name: str, result: IngestResult) -> FileOutcome:
    """How one file's ingestion ended, in words a person reads."""
    doc = result.document
    if result.duplicate:
        return FileOutcome(name, "duplicate", doc.id, doc.chunk_count, f"same bytes as document {doc.id}")
    if doc.status == "processing":
        return FileOutcome(
            name, "queued", doc.id, None, f"job {result.job_id}: queued; document {doc.id} shows progress"
        )
    if result.replaced_document_id is not None:
        detail = (
            f"document {doc.id}, {doc.chunk_count} chunks; new version, replaced document {result.replaced_document_id}"
        )
        return FileOutcome(name, "replaced", doc.id, doc.chunk_count, detail)
    detail = "; ".join([f"document {doc.id}, {doc.chunk_count} chunks", *doc.warnings])
    return FileOutcome(name, "added", doc.id, doc.chunk_count, detail)


async def ingest_batch(
    desk: Desk,
    actor: Actor,
    files: Sequence[BatchFile],
    *,
    wait: bool = True,
    progress: FileProgress | None = None,
    finished: Callable[[FileOutcome], None] | None = None,
) -> list[FileOutcome]:
    """Ingest ``files`` in order and say how each ended (see the module docstring for failures).

    With ``wait`` each file is ingested to the end (``added``/``replaced``/``duplicate``/``failed``);
    without, each is stored and queued (``queued``) for the server's ingestion worker. ``finished`` hears
    each outcome as soon as it is known.
    """
    permissions.require(actor, "knowledge.write", "document ingest")
    outcomes: list[FileOutcome] = []
    for index, file in enumerate(files):

        async def report(done: float, total: float, message: str, index: int = index, file: BatchFile = file) -> None:
            if progress is not None:
                progress(index, file, done, total, message)

        try:
            if file.read is not None:
                data = await asyncio.to_thread(file.read)
                result = await document_ingest(
                    desk, actor, data=data, filename=file.filename or file.name, source_key=file.source_key,
                    wait=wait, progress=report if wait else None,
                )  # fmt: skip
            else:
                result = await document_ingest(
                    desk, actor, path=file.path or file.name, filename=file.filename, source_key=file.source_key,
                    wait=wait, progress=report if wait else None,
                )  # fmt: skip
        except DeskError as exc:
            outcome = FileOutcome(file.name, "failed", detail=str(exc))
        except Exception as exc:  # one broken file must not lose the rest of the batch
            logger.exception("ingesting %r failed", file.name)
            outcome = FileOutcome(file.name, "failed", detail=f"internal error: {type(exc).__name__}")
        else:
            outcome = outcome_of(file.name, result)
        outcomes.append(outcome)
        if finished is not None:
            finished(outcome)
    return outcomes
