"""The agent with a real language model over real HTTP (llama.cpp + Qwen2.5-Coder from a local-model extra;
``SUPPORT_LOCAL_MODEL=0.5b|1.5b`` picks the model).

Marked ``local_model``; skipped when the chosen model's extra is not installed. Assertions are on outcomes
(what the desk stored, which source was cited, that no program text reached the user), never on wording;
every conversation is a fixed, short list of turns.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from store.config import Settings
from tests.agent import local_model
from tests.agent.conftest import VPN_DOC, converse, llm_settings
from tests.agent.fakedesk import FakeDesk

pytestmark = [
    pytest.mark.local_model,
    pytest.mark.skipif(
        not local_model.available(), reason=f"the local-model extra for {local_model.selected().key} is not installed"
    ),
]


@pytest.fixture(scope="module")
def local_url() -> Iterator[str]:
    with local_model.serve() as url:
        yield url


def settings_for(tmp_path: Path, url: str) -> Settings:
    return llm_settings(tmp_path, url, openai_model=local_model.selected().name, llm="openai", llm_timeout=300)


async def test_knowledge_answer_cites_the_article(local_url: str, tmp_path: Path) -> None:
    fake = FakeDesk(docs=[dict(VPN_DOC)])
    (reply,) = await converse(settings_for(tmp_path, local_url), fake, "How do I reset my VPN password?")
    assert reply.citations and reply.citations[0].title == "Reset your VPN password"
    assert fake.tickets == {}


async def test_ticket_created_with_the_record(local_url: str, tmp_path: Path) -> None:
    fake = FakeDesk(docs=[])
    await converse(
        settings_for(tmp_path, local_url),
        fake,
        "Please open a ticket: the Payroll portal shows error 0x80070005 for the whole accounts team since "
        "this morning, nobody can submit the salary run.",
        "yes, create it",
    )
    # Shown first, created on "yes", once, with what the user said: the system, their words and the error.
    (ticket,) = fake.tickets.values()
    assert "payroll" in (ticket.subject + ticket.description).lower()
    assert "nobody can submit the salary run" in ticket.description
    assert ticket.error_message is not None and "0x80070005" in ticket.error_message


async def test_status_lookup_and_a_tool_error(local_url: str, tmp_path: Path) -> None:
    fake = FakeDesk(docs=[])
    replies = await converse(settings_for(tmp_path, local_url), fake, "What is the status of TCK-000077?")
    text = replies[0].reply
    assert "Error executing" not in text and "ToolError" not in text
    assert fake.tickets == {}


async def test_a_context_too_small_is_explained(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # llama.cpp refuses a prompt longer than its context (HTTP 400) before computing anything.
    with local_model.serve(ctx=512) as url, caplog.at_level(logging.WARNING, logger="agent.llm_turn"):
        (reply,) = await converse(settings_for(tmp_path, url), FakeDesk(docs=[dict(VPN_DOC)]), "How do I reset my VPN?")
    assert "context window" in reply.reply and "--ctx-size" in caplog.text
