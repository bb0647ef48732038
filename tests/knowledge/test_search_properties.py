"""Arbitrary text never breaks a search: every search tool either answers or raises a DeskError that says
what to fix, on both databases (hypothesis generates the text; the desk is seeded once per test)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.conftest import MakeUser
from tests.ticket_helpers import new_article, new_ticket
from tools.actor import Actor
from tools.desk import Desk
from tools.errors import DeskError
from tools.kb_query import kb_article_search
from tools.knowledge import document_ingest
from tools.knowledge_service import Knowledge
from tools.search import knowledge_search
from tools.suggest import ticket_suggest
from tools.ticket_query import ticket_list

# Few examples per test: the point is the breadth of alphabets and punctuation, not volume (CI has 2 cores).
FEW = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)
HOSTILE = [
    "TCK-000001",
    "tck-000001",
    "OutOfMemoryException",
    '"unbalanced',
    "NEAR(a b)",
    "a AND OR NOT b",
    "*",
    "-",
    "col:value",
    "%_\\",
    "'; DROP TABLE tickets; --",
    "!!! ??? ...",
    "\x00",
    "a\x00b",
    "\ud7ff\ue000",
    "日本語のテキスト",
    "x" * 1000,
    " ",
    "the of and",
]
TEXT = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=80), st.text(alphabet="abcTCK-0123_.:*\"'() ", max_size=40))


async def _seed(desk: Desk, admin: Actor, make_user: MakeUser) -> Actor:
    alice = await make_user("alice")
    await new_ticket(desk, alice, subject="Outlook crashes with System.OutOfMemoryException")
    await new_ticket(desk, alice, subject="Chrome shows ERR_CONNECTION_RESET on the intranet")
    await new_article(desk, admin, "Printer jams", "Open tray 2 and remove the paper.")
    return alice


async def _answers_or_explains(call: Callable[[], Awaitable[Any]]) -> None:
    try:
        await call()
    except DeskError as exc:
        assert str(exc).strip(), "a desk error must say what to fix"


@pytest.fixture
def seeded() -> dict[str, Actor]:
    return {}


async def _once(seeded: dict[str, Actor], desk: Desk, admin: Actor, make_user: MakeUser) -> Actor:
    # Hypothesis calls the test body once per example with the same fixtures: seed on the first only.
    if "alice" not in seeded:
        seeded["alice"] = await _seed(desk, admin, make_user)
    return seeded["alice"]


@FEW
@given(text=TEXT, sort=st.sampled_from([None, "relevance", "created_at", "priority"]))
@example(text="TCK-000001", sort="relevance")
@example(text="nothing matches this", sort="relevance")
async def test_ticket_list_any_text(
    desk: Desk, admin: Actor, make_user: MakeUser, knowledge: Knowledge, seeded: dict[str, Actor], text: str, sort: Any
) -> None:
    alice = await _once(seeded, desk, admin, make_user)
    for actor in (admin, alice):
        await _answers_or_explains(lambda actor=actor: ticket_list(desk, actor, text=text, sort=sort))


@FEW
@given(text=TEXT)
async def test_kb_article_search_any_text(
    desk: Desk, admin: Actor, make_user: MakeUser, knowledge: Knowledge, seeded: dict[str, Actor], text: str
) -> None:
    alice = await _once(seeded, desk, admin, make_user)
    await _answers_or_explains(lambda: kb_article_search(desk, alice, text))


@FEW
@given(subject=TEXT, description=TEXT)
async def test_ticket_suggest_any_text(
    desk: Desk,
    admin: Actor,
    make_user: MakeUser,
    knowledge: Knowledge,
    seeded: dict[str, Actor],
    subject: str,
    description: str,
) -> None:
    alice = await _once(seeded, desk, admin, make_user)
    for actor in (admin, alice):
        await _answers_or_explains(
            lambda actor=actor: ticket_suggest(desk, actor, subject=subject, description=description)
        )


@FEW
@given(text=TEXT)
async def test_knowledge_search_any_text(
    desk: Desk, admin: Actor, make_user: MakeUser, knowledge: Knowledge, seeded: dict[str, Actor], text: str
) -> None:
    if "alice" not in seeded:
        await document_ingest(desk, admin, data=b"# VPN\n\nConnect to vpn.example.com.", filename="vpn.md")
    alice = await _once(seeded, desk, admin, make_user)
    await _answers_or_explains(lambda: knowledge_search(desk, alice, text))
