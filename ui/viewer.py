"""Open one item of an admin table: by the id typed in a box, or by clicking its row."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import gradio as gr

from ui.errors import shown

Render = Callable[[gr.Request, Any], Awaitable[str]]
"""Render the item with this key for the person signed in on the request."""
Parse = Callable[[Any], Any | None]


def item_viewer(render: Render, parse: Parse, prompt: str) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """``(show, pick)`` handlers: ``show(value) -> markdown`` for the id box, ``pick(evt) -> (id, markdown)``
    for a row click. ``parse`` turns a box value or first cell into the key ``render`` takes (None: no key)."""

    @shown
    async def show(value: Any, request: gr.Request) -> str:
        key = parse(value)
        if key is None:
            gr.Warning(prompt)
            return ""
        return await render(request, key)

    @shown
    async def pick(evt: gr.SelectData, request: gr.Request) -> tuple[Any, str]:
        row = evt.row_value or []
        key = parse(row[0]) if row else None
        if key is None:
            return gr.skip(), gr.skip()
        return str(key), await render(request, key)

    return show, pick
