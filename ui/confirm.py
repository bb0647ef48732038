"""Destructive actions are confirmed on the server: a first call only asks, a second call performs.

The question's answer lives in per-session server state (``gr.State``), never in the browser, so calling
the Delete endpoint of the Gradio API directly only produces the question; the action runs when the same
session confirms within ``CONFIRM_WINDOW_S``, and only on the target the question named.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from tools.errors import InvalidInputError

CONFIRM_WINDOW_S = 120.0
"""How long a question stays answerable."""


@dataclass(frozen=True)
class Pending:
    """A destructive action waiting for its confirmation."""

    action: str
    target: int
    question: str
    expires_at: float


def ask(action: str, target: int, question: str) -> Pending:
    return Pending(action=action, target=target, question=question, expires_at=time.monotonic() + CONFIRM_WINDOW_S)


def confirmed(pending: Pending | None, action: str) -> int:
    """The target to act on, if ``pending`` is a live question about ``action``; otherwise a clear refusal."""
    if pending is None or pending.action != action:
        raise InvalidInputError(f"nothing to confirm: press the button to {action} first, then confirm")
    if time.monotonic() > pending.expires_at:
        raise InvalidInputError(
            f"the question expired after {CONFIRM_WINDOW_S:g} s; press the button to {action} again"
        )
    return pending.target
