"""Stand-in for the role table of ``tools/permissions.py`` until it lands: the UI asks here what a role may use.

Mirrors the capability names of the permissions module, so switching the import is the whole change.
"""

from __future__ import annotations

from typing import Literal

from tools.actor import Role

Capability = Literal[
    "tickets.read",
    "tickets.work",
    "kb.write",
    "knowledge.write",
    "people.write",
    "agent.ask",
    "analytics.read",
    "voice.use",
]
_MINIMUM: dict[Capability, Role] = {
    "tickets.read": "end_user",
    "agent.ask": "end_user",
    "voice.use": "end_user",
    "tickets.work": "technician",
    "analytics.read": "manager",
    "kb.write": "admin",
    "knowledge.write": "admin",
    "people.write": "admin",
}


def allows(role: Role, capability: Capability) -> bool:
    """Whether ``role`` has ``capability`` (the same ranks ``Actor.require`` checks in the tools)."""
    from tools.actor import Actor

    return Actor(user_id=0, username="", role=role).at_least(_MINIMUM[capability])
