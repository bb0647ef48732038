"""Admin › Articles: search KB articles, read one, write a new one."""

from __future__ import annotations

import html
from typing import Any

import gradio as gr
import pandas as pd

from tools import kb, kb_models, kb_query
from ui.context import SignedIn, UIContext
from ui.errors import shown
from ui.format import cell_int, csv_list, table
from ui.viewer import item_viewer

HEADERS = ["ID", "Title", "Tags", "Score", "Snippet"]
SEARCH_LIMIT = 50


async def search_articles(ctx: SignedIn, query: str | None) -> pd.DataFrame:
    """Articles matching every word of ``query``, best first; with no query, the newest articles."""
    # On page load Gradio passes None for a textbox nobody has typed in.
    query = (query or "").strip()
    if not query:
        page = await kb_query.kb_article_list(ctx.desk(), await ctx.actor(), limit=SEARCH_LIMIT)
        rows = [
            [a.id, a.title, ", ".join(a.tags), "", f"revision {a.revision}, {a.view_count} views"] for a in page.items
        ]
        return table(rows, HEADERS)
    hits = await kb_query.kb_article_search(ctx.desk(), await ctx.actor(), query, limit=SEARCH_LIMIT)
    return table([[h.id, h.title, ", ".join(h.tags), round(h.score, 3), h.snippet] for h in hits], HEADERS)


async def article_markdown(ctx: SignedIn, article_id: int) -> str:
    article = await kb_query.kb_article_get(ctx.desk(), await ctx.actor(), article_id)
    return kb_models.kb_article_markdown(article)


async def create_article(ctx: SignedIn, title: str, body: str, tags: str, url: str) -> kb_models.KBArticlePublic:
    data = kb_models.KBArticleCreate(title=title, body=body, tags=csv_list(tags), url=url.strip() or None)
    return await kb.kb_article_create(ctx.desk(), await ctx.actor(), data)


async def _article(ctx: UIContext, request: gr.Request, article_id: int) -> str:
    return await article_markdown(await ctx.signed_in(request), article_id)


def build_articles_tab(ctx: UIContext) -> list[tuple[Any, list[Any], list[Any]]]:
    with gr.Row(equal_height=True):
        query = gr.Textbox(
            placeholder="Search articles: words, error codes (0x80070005), product names",
            show_label=False,
            scale=5,
            elem_id="kb-query",
        )
        search = gr.Button("Search", variant="primary", scale=1, min_width=80, elem_id="kb-search")
    hits = gr.Dataframe(
        value=table([], HEADERS),
        interactive=False,
        wrap=True,
        column_widths=["6%", "28%", "16%", "8%", "42%"],
        elem_id="kb-hits",
    )
    with gr.Row(equal_height=True):
        article_id = gr.Textbox(
            label="Article id", placeholder="pick a row or type an id", scale=2, elem_id="kb-article-id"
        )
        open_article = gr.Button("Open", scale=1, min_width=80, elem_id="kb-open")
    article = gr.Markdown(elem_id="kb-article")
    with gr.Accordion("New article", open=False, elem_id="kb-new"):
        title = gr.Textbox(label="Title", max_length=300, elem_id="kb-new-title")
        body = gr.Textbox(label="Body (Markdown)", lines=8, elem_id="kb-new-body")
        with gr.Row():
            tags = gr.Textbox(label="Tags (comma separated)", elem_id="kb-new-tags")
            url = gr.Textbox(label="Source URL (optional)", elem_id="kb-new-url")
        create = gr.Button("Create article", variant="primary", elem_id="kb-create")

    @shown
    async def run_search(text: str | None, request: gr.Request) -> pd.DataFrame:
        return await search_articles(await ctx.signed_in(request), text)

    show, pick = item_viewer(lambda request, ident: _article(ctx, request, ident), cell_int, "Enter an article id.")

    @shown
    async def run_create(
        title_text: str, body_text: str, tags_text: str, url_text: str, request: gr.Request
    ) -> tuple[Any, ...]:
        created = await create_article(await ctx.signed_in(request), title_text, body_text, tags_text, url_text)
        gr.Info(html.escape(f"Created article {created.id}: {created.title}"))
        return str(created.id), kb_models.kb_article_markdown(created), "", "", "", ""

    search.click(run_search, [query], [hits])
    query.submit(run_search, [query], [hits])
    open_article.click(show, [article_id], [article])
    hits.select(pick, None, [article_id, article], show_progress_on=[article])
    # Progress and a failure show on the form being submitted, never on the article that happens to be open.
    create.click(
        run_create, [title, body, tags, url], [article_id, article, title, body, tags, url], show_progress_on=[title]
    )
    # With the query box empty the table lists the newest articles, so open the tab on that list.
    return [(run_search, [query], [hits])]
