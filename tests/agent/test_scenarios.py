"""Conversations in the style of real users (tests/agent/scenarios.py) against the real desk, offline policy.

Each conversation runs on a freshly seeded desk; its outcome is read back through the desk's tools
(tickets and their fields, comments, escalations, counts).
"""

from __future__ import annotations

import os

import pytest

from tests.agent.conftest import desk_agent
from tests.agent.scenarios import SCENARIOS, Scenario, failures, outcome, prepare, snapshot
from tools.desk import Desk

pytestmark = pytest.mark.usefixtures("drop_checkpoints")

POSTGRES_SAMPLE = frozenset(
    {
        "payroll_team_locked_out",
        "everything_in_one_message",
        "cancel_mid_form",
        "correct_comment_ticket",
        "comment_after_status",
        "escalate_existing_ticket",
        "status_of_someone_elses_ticket",
        "procedure_complete_dock",
        "demo_not_working_then_outlook_then_symptom",
    }
)
"""The conversations also run on PostgreSQL: the policy does not depend on the backend, so a sample covering
every kind of desk write keeps the suite inside CI's time (each conversation seeds a desk with embeddings)."""

KNOWN_GAPS: dict[str, str] = {}
"""Scenarios the offline policy does not meet yet, with why (strict: one that starts passing fails)."""


def _param(s: Scenario) -> object:
    marks = [pytest.mark.xfail(reason=KNOWN_GAPS[s.name], strict=True)] if s.name in KNOWN_GAPS else []
    return pytest.param(s, id=s.name, marks=marks)


@pytest.mark.parametrize("scenario", [_param(s) for s in SCENARIOS])
async def test_conversation_outcome(desk: Desk, scenario: Scenario) -> None:
    if desk.dialect == "postgresql" and scenario.name not in POSTGRES_SAMPLE:
        pytest.skip("backend-independent conversation; a sample runs on PostgreSQL")
    numbers = await prepare(desk, scenario)
    before = await snapshot(desk.settings, desk)
    replies = []
    async with desk_agent(desk) as agent:
        conversation = None
        for turn in scenario.render(numbers):
            reply = await agent.ask(turn, conversation, actor=scenario.user)
            conversation = reply.conversation_id
            replies.append(reply)
    after = await snapshot(desk.settings, desk)
    result = outcome(before, after, replies, numbers)
    problems = failures(scenario, result)
    full = bool(os.environ.get("SCENARIO_TRANSCRIPT"))
    transcript = "\n".join(
        f"  > {t}\n  < {r.reply if full else r.reply[:300]}"
        for t, r in zip(scenario.render(numbers), replies, strict=True)
    )
    if full:
        print(f"\n{scenario.name}\n{transcript}")  # -s shows every conversation, passing or not
    assert not problems, "\n".join(problems) + "\n" + transcript


def test_at_least_sixty_scenarios() -> None:
    assert len(SCENARIOS) >= 60
    assert len({s.name for s in SCENARIOS}) == len(SCENARIOS)
