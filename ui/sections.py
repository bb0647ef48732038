"""Which parts of the page a person sees: each section needs one capability of the desk's role table.

The rule itself lives in ``tools/``; this module only names, per section, the capability its actions need,
so a tab is shown exactly when the tools behind it would accept the person (and a hidden tab's handlers,
called through Gradio's API anyway, are refused by the same rule).
"""

from __future__ import annotations

from typing import Literal

from tools.actor import Actor
from tools.permissions import Capability, allows

Section = Literal["chat", "voice", "my_tickets", "queue", "voice_admin", "analytics", "knowledge", "articles", "people"]

NEEDS: dict[Section, Capability] = {
    "chat": "agent.ask",
    "voice": "voice.use",
    "my_tickets": "tickets.read",
    "queue": "tickets.work",
    "voice_admin": "tickets.work",
    "analytics": "analytics.own",
    "knowledge": "knowledge.write",
    "articles": "kb.write",
    "people": "people.write",
}
ADMIN_SECTIONS: tuple[Section, ...] = ("queue", "voice_admin", "analytics", "knowledge", "articles", "people")
"""The sub-tabs of the Admin tab, in page order; the Admin tab shows when any of them does."""


def visible_sections(actor: Actor) -> set[Section]:
    return {section for section, capability in NEEDS.items() if allows(actor.role, capability)}
