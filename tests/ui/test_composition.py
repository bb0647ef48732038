"""The HTTP app is one composition root: the MCP tools and the web UI share the process's one support agent."""

from __future__ import annotations

from sqlalchemy import text

from agent.memory import CHECKPOINT_TABLES
from server.context import AppState
from server.http import build_http_app
from tools.desk import Desk


async def test_support_ask_and_the_web_ui_share_one_agent(desk: Desk) -> None:
    settings = desk.settings.model_copy(update={"llm": "offline"})
    app = build_http_app(settings, with_ui=True)
    try:
        async with app.router.lifespan_context(app):
            ui_agent = await app.state.ui.agent()
            # The state the MCP tools resolve CurrentAgent from (the SDK keeps the lifespan's yield there).
            state = app.state.mcp.session_manager._lifespan_state
            assert isinstance(state, AppState)
            assert await state.agent.get() is ui_agent
    finally:
        # The checkpointer's tables are not the desk's schema (tests/test_store.py compares the two).
        async with desk.engine.begin() as conn:
            for table in CHECKPOINT_TABLES[desk.dialect]:
                await conn.execute(text(f"DROP TABLE IF EXISTS {table}"))
