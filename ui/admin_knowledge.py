"""Admin › Knowledge: upload documents with a progress bar, list them, open one, delete one (confirmed on the
server, see :mod:`ui.confirm`)."""

from __future__ import annotations

import html
import logging
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import gradio as gr
import pandas as pd

from tools import knowledge, knowledge_models, knowledge_query, permissions
from tools.batch_ingest import BatchFile, FileOutcome, ingest_batch
from tools.errors import InvalidInputError
from ui.confirm import Pending, ask, confirmed
from ui.context import SignedIn, UIContext
from ui.errors import shown
from ui.format import cell_int, size, table, when
from ui.viewer import item_viewer

logger = logging.getLogger(__name__)

RESULT_HEADERS = ["File", "Outcome", "Document", "Chunks", "Detail"]
DOC_HEADERS = ["ID", "Title", "File", "Type", "Status", "Pages", "Chunks", "Size", "Updated", "Error"]
DOC_PAGE = 100
REFRESH_S = 3.0
"""How often the open Knowledge tab refreshes the documents table (to follow ingestion jobs)."""

Report = Callable[[float, str], None]
"""Overall progress of a batch: fraction done (0-1) and what is happening."""


def result_row(o: FileOutcome) -> list[Any]:
    return [o.file, o.outcome, o.document_id or "", o.chunks if o.chunks is not None else "", o.detail]


def _read_upload(path: str, max_mb: float) -> bytes:
    """The uploaded file's bytes, refusing one over the upload limit before reading it into memory."""
    size = Path(path).stat().st_size
    if size > max_mb * 1024 * 1024:
        raise InvalidInputError(f"{Path(path).name!r} is {size / 1048576:.1f} MB, over the {max_mb:g} MB limit")
    return Path(path).read_bytes()


async def ingest_uploads(
    ctx: SignedIn, paths: Sequence[str], report: Report | None = None, *, wait: bool = True
) -> list[FileOutcome]:
    """Ingest each uploaded file through the desk's batch ingest (one file's failure does not stop the
    others: see :mod:`tools.batch_ingest`).

    Without ``wait`` each file is stored and queued (outcome ``queued``): the server's ingestion worker
    does the parsing and embedding, and the documents table shows how far it has come.
    """
    desk, actor = ctx.desk(), await ctx.actor()
    count = len(paths)
    max_mb = desk.settings.max_upload_mb

    def progress(index: int, file: BatchFile, done: float, total: float, message: str) -> None:
        if report is not None:
            fraction = done / total if total else 0.0
            report((index + min(max(fraction, 0.0), 1.0)) / count, f"{file.name} ({index + 1}/{count}): {message}")

    # The upload's own name is the source key, as for a base64 upload over MCP: uploading a changed file of
    # the same name replaces the earlier version. The bytes are read here and sent as content: Gradio's
    # temporary file is not a server path a caller chose, and the HTTP app (where the UI lives) refuses
    # server paths outside SUPPORT_INGEST_ROOTS.
    files = [BatchFile(Path(p).name, read=partial(_read_upload, p, max_mb), source_key=Path(p).name) for p in paths]
    outcomes = await ingest_batch(desk, actor, files, wait=wait, progress=progress)
    if report is not None:
        report(1.0, f"{count} file(s) processed")
    return outcomes


def status_text(doc: knowledge_models.DocumentPublic) -> str:
    """The status, with how far a processing document's job has come (e.g. "processing: embedding 64/310")."""
    p = doc.progress
    if doc.status != "processing" or p is None:
        return doc.status
    if p.stage in ("embedding", "indexing") and p.total:
        return f"processing: {p.stage} {p.done}/{p.total} chunks"
    return f"processing: {p.stage}"


async def documents_table(ctx: SignedIn, query: str | None = None) -> tuple[pd.DataFrame, str]:
    """The newest documents (one page) and a line saying how many there are."""
    page = await knowledge_query.document_list(
        ctx.desk(), await ctx.actor(), query=(query or "").strip() or None, limit=DOC_PAGE
    )
    rows = [
        [
            d.id,
            d.title,
            d.filename,
            d.doc_type or "",
            status_text(d),
            d.pages or "",
            d.chunk_count,
            size(d.size_bytes),
            when(d.updated_at),
            d.error or "",
        ]
        for d in page.items
    ]
    shown_count = f"the newest {len(rows)} of " if page.total > len(rows) else ""
    return table(rows, DOC_HEADERS), f"Showing {shown_count}{page.total} document(s)."


async def document_markdown(ctx: SignedIn, document_id: int) -> str:
    """A document's facts and the citations of its first chunks."""
    doc = await knowledge_query.document_get(ctx.desk(), await ctx.actor(), document_id, chunk_limit=10)
    lines = [
        f"### {html.escape(doc.title)}",
        f"- Document {doc.id} · {doc.doc_type or 'unknown type'} · {doc.status} · {size(doc.size_bytes)}",
        f"- Chunks: {doc.chunk_count}" + (f" · pages: {doc.pages}" if doc.pages else ""),
        f"- Updated: {when(doc.updated_at)}",
    ]
    if doc.error:
        lines.append(f"- **Failed:** {html.escape(doc.error)}")
    if doc.ocr_pages:
        lines.append("- Read by OCR: pages " + ", ".join(map(str, doc.ocr_pages)))
    lines.extend(f"- Warning: {html.escape(w)}" for w in doc.warnings)
    if doc.chunks:
        lines.append("\n**First chunks**")
        lines.extend(f"{c.ordinal + 1}. {html.escape(c.citation)}" for c in doc.chunks)
    return "\n".join(lines)


DELETE = "delete a document"


async def request_delete(ctx: SignedIn, document_id: int) -> Pending:
    """The question a Delete asks (nothing is deleted yet); the document must exist and the caller be an admin."""
    actor = await ctx.actor()
    permissions.require(actor, "knowledge.write", "document delete")
    doc = await knowledge_query.document_get(ctx.desk(), actor, document_id, chunk_limit=1)
    question = html.escape(f"Delete document {doc.id} ({doc.filename}), its chunks and its vectors?")
    return ask(DELETE, doc.id, f"**{question}**")


async def confirm_delete(ctx: SignedIn, asked: Pending | None) -> knowledge_models.DocumentPublic:
    """Delete the document ``asked`` named, if the question is live; otherwise refuse and delete nothing."""
    return await knowledge.document_delete(ctx.desk(), await ctx.actor(), confirmed(asked, DELETE))


async def _document(ctx: UIContext, request: gr.Request, document_id: int) -> str:
    return await document_markdown(await ctx.signed_in(request), document_id)


def build_knowledge_tab(ctx: UIContext) -> list[tuple[Callable[..., Any], list[Any], list[Any]]]:
    """The upload area and the documents table; returns the loaders to run when the page opens."""
    gr.Markdown("Upload PDF, Word, Excel, CSV, text, Markdown, HTML or image files. The type is read from the bytes.")
    files = gr.File(
        label="Files to add to the knowledge base",
        file_count="multiple",
        # No extension filter: the desk reads the type from the bytes and says why it refuses a file.
        type="filepath",
        elem_id="kb-upload",
    )
    ingest = gr.Button("Ingest files", variant="primary", elem_id="kb-ingest")
    results = gr.Dataframe(
        value=table([], RESULT_HEADERS), label="Upload results", interactive=False, elem_id="kb-results", wrap=True
    )
    gr.Markdown("#### Documents")
    with gr.Row(equal_height=True):
        query = gr.Textbox(placeholder="Filter by title or file name", show_label=False, scale=4)
        refresh = gr.Button("Refresh", scale=1, min_width=80, elem_id="docs-refresh")
    summary = gr.Markdown()
    docs = gr.Dataframe(
        value=table([], DOC_HEADERS),
        interactive=False,
        wrap=True,
        column_widths=["5%", "19%", "15%", "8%", "7%", "6%", "6%", "7%", "13%", "14%"],
        elem_id="docs-table",
    )
    with gr.Row(equal_height=True):
        doc_id = gr.Textbox(label="Document id", placeholder="pick a row or type an id", scale=2, elem_id="doc-id")
        open_doc = gr.Button("Open", scale=1, min_width=80)
        delete = gr.Button("Delete", variant="stop", scale=1, min_width=80, elem_id="doc-delete")
    pending = gr.State(None)
    with gr.Row(visible=False, equal_height=True, elem_id="doc-confirm") as confirm_row:
        question = gr.Markdown(elem_id="doc-confirm-question")
        confirm = gr.Button("Confirm delete", variant="stop", scale=0, min_width=140, elem_id="doc-confirm-delete")
        cancel = gr.Button("Cancel", scale=0, min_width=80, elem_id="doc-cancel-delete")
    detail = gr.Markdown(elem_id="doc-detail")

    @shown
    async def run_ingest(
        paths: list[str] | None, filter_text: str, request: gr.Request, progress: gr.Progress = gr.Progress()
    ) -> Any:
        if not paths:
            gr.Warning("Choose one or more files first.")
            return gr.skip(), gr.skip(), gr.skip(), gr.skip()
        me = await ctx.signed_in(request)
        progress(0.0, desc="starting")
        # Stored and queued: the request returns at once and the documents table (refreshed by the timer
        # below) follows each job, so a large PDF does not hold the browser's request open.
        outcomes = await ingest_uploads(
            me, paths, lambda fraction, message: progress(fraction, desc=message), wait=False
        )
        failed = [o for o in outcomes if o.outcome == "failed"]
        if failed:
            gr.Warning(html.escape(f"{len(failed)} of {len(outcomes)} file(s) failed; the table says why."))
        table_value, line = await documents_table(me, filter_text)
        return table([result_row(o) for o in outcomes], RESULT_HEADERS), table_value, line, None

    @shown
    async def refresh_docs(filter_text: str, request: gr.Request) -> tuple[pd.DataFrame, str]:
        return await documents_table(await ctx.signed_in(request), filter_text)

    show_doc, pick = item_viewer(
        lambda request, ident: _document(ctx, request, ident), cell_int, "Enter a document id."
    )

    @shown
    async def ask_delete(value: Any, request: gr.Request) -> tuple[Pending | None, Any, str]:
        document_id = cell_int(value)
        if document_id is None:
            gr.Warning("Enter a document id.")
            return gr.skip(), gr.skip(), gr.skip()
        asked = await request_delete(await ctx.signed_in(request), document_id)
        return asked, gr.Row(visible=True), asked.question

    @shown
    async def remove(asked: Pending | None, filter_text: str, request: gr.Request) -> tuple[Any, ...]:
        me = await ctx.signed_in(request)
        gone = await confirm_delete(me, asked)
        gr.Info(html.escape(f"Deleted document {gone.id} ({gone.filename})."))
        table_value, line = await documents_table(me, filter_text)
        return table_value, line, "", "", None, gr.Row(visible=False)

    def never_mind() -> tuple[None, Any]:
        return None, gr.Row(visible=False)

    ingest.click(
        run_ingest, [files, query], [results, docs, summary, files], concurrency_limit=2, show_progress_on=[results]
    )
    refresh.click(refresh_docs, [query], [docs, summary])
    # While jobs run the table follows them; idle, a tick is one small query.
    gr.Timer(REFRESH_S).tick(refresh_docs, [query], [docs, summary], show_progress="hidden")
    query.submit(refresh_docs, [query], [docs, summary])
    open_doc.click(show_doc, [doc_id], [detail])
    docs.select(pick, None, [doc_id, detail], show_progress_on=[detail])
    delete.click(ask_delete, [doc_id], [pending, confirm_row, question], api_name="document_delete_request")
    confirm.click(
        remove,
        [pending, query],
        [docs, summary, detail, doc_id, pending, confirm_row],
        show_progress_on=[docs],
        api_name="document_delete_confirm",
    )
    cancel.click(never_mind, None, [pending, confirm_row], api_visibility="private")
    return [(refresh_docs, [query], [docs, summary])]
