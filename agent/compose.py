"""What the user reads: answers built from retrieved text, ticket drafts, and tool failures in plain words.

Answers are whole sentences with every step of a procedure in order (a list cut by a chunk boundary is
joined with the neighbouring chunk of the same section), the source named, a few short paragraphs at most,
and never a sentence of retrieved text that addresses an assistant or a system.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from agent import policy

logger = logging.getLogger(__name__)

STEP_RE = re.compile(r"^\s*(\d+)[.)]\s+")
ANSWER_LIMIT = 1400
"""Characters of an answer body; a procedure keeps every step up to this."""


def chunk_position(hit: dict[str, Any]) -> tuple[str, int] | None:
    """(document id, chunk ordinal) of a document chunk hit ("doc:<document>:<ordinal>"), else None."""
    m = re.fullmatch(r"doc:(\d+):(\d+)", str(hit.get("id") or ""))
    return (m.group(1), int(m.group(2))) if m else None


def section_of(hit: dict[str, Any]) -> str:
    return str(hit.get("citation") or "")


def list_continues(text: str) -> bool:
    """The text ends inside a numbered list (the last logical line is a step)."""
    lines = policy.unwrap(text)
    return bool(lines) and STEP_RE.match(lines[-1]) is not None


def list_started_before(text: str) -> bool:
    """The text starts with a step other than the first (the list began in the previous chunk)."""
    lines = policy.unwrap(text)
    m = STEP_RE.match(lines[0]) if lines else None
    return m is not None and int(m.group(1)) > 1


def join_neighbours(best: dict[str, Any], pool: list[dict[str, Any]]) -> str:
    """The best hit's text with the chunks of the same section right before and after it, when a numbered
    list runs across the boundary (the chunks must be in ``pool``)."""
    pos = chunk_position(best)
    text = policy.hit_text(best)
    if pos is None:
        return text
    doc, ordinal = pos
    by_ordinal = {}
    for h in pool:
        p = chunk_position(h)
        if p and p[0] == doc and section_of(h) == section_of(best):
            by_ordinal[p[1]] = policy.hit_text(h)
    after, before = ordinal + 1, ordinal - 1
    while list_continues(text) and after in by_ordinal:
        text = f"{text}\n{by_ordinal[after]}"
        after += 1
    while list_started_before(text) and before in by_ordinal:
        text = f"{by_ordinal[before]}\n{text}"
        before -= 1
    return text


def step_count(text: str) -> int:
    """How many numbered steps the text holds."""
    return sum(1 for line in text.splitlines() if STEP_RE.match(line))


def with_sources(reply: str, citations: list[dict[str, Any]]) -> str:
    """A model's answer with the source named, as the policy's answers are, when it does not name it."""
    if not citations or str(citations[0].get("title") or "").lower() in reply.lower():
        return reply
    cited = "\n".join(f"[{n}] {c.get('citation') or c.get('title')}" for n, c in enumerate(citations[:1], 1))
    return f"{reply}\n\nSources:\n{cited}"


def needs_neighbours(best: dict[str, Any], pool: list[dict[str, Any]]) -> bool:
    """Whether the best hit's list runs into a chunk that is not among the hits."""
    pos = chunk_position(best)
    if pos is None:
        return False
    text = join_neighbours(best, pool)
    return list_continues(text) or list_started_before(text)


def answer_body(query: str, text: str) -> str:
    """The part of a retrieved text that answers the question: a procedure whole and in order, prose as the
    best whole sentences; nothing that reads like an instruction to an assistant."""
    pieces = policy.safe_sentences(text)
    if not pieces:
        return ""
    lines: dict[int, list[str]] = {}
    for n, sentence in pieces:
        lines.setdefault(n, []).append(sentence)
    ordered = [" ".join(lines[n]) for n in sorted(lines)]
    # A chunk that starts mid-sentence (an overlap with the previous one) loses its broken first words.
    if ordered and ordered[0][:1].islower() and not STEP_RE.match(ordered[0]):
        rest = re.split(r"(?<=[.!?])\s+", ordered[0], maxsplit=1)
        ordered = ([rest[1]] if len(rest) > 1 else []) + ordered[1:]
    steps = [i for i, line in enumerate(ordered) if STEP_RE.match(line)]
    if steps:
        # The procedure: the line that introduces it and every step, in order.
        start = steps[0]
        intro = [ordered[start - 1]] if start > 0 and not STEP_RE.match(ordered[start - 1]) else []
        body_lines = intro + ordered[start : steps[-1] + 1]
        body = "\n".join(body_lines)
        if len(body) <= ANSWER_LIMIT:
            return body
        return policy.clip(body, ANSWER_LIMIT)
    body = "\n".join(ordered)
    if len(body) <= 700:
        return paragraphs(body)
    return paragraphs(policy.extract(query, text, limit=700))


def paragraphs(text: str) -> str:
    """At most a few short paragraphs."""
    parts = [p.strip() for p in text.split("\n") if p.strip()]
    return "\n\n".join(parts[:4])


def answer_text(title: str, body: str, sources: list[str]) -> str:
    cited = "\n".join(f"[{n}] {c}" for n, c in enumerate(sources, 1))
    return (
        f"Here is what I found in “{title}” [1]:\n\n{body}\n\nSources:\n{cited}\n\n"
        "If this doesn't fix it, just say so and I'll open a ticket for you."
    )


# --- tickets ---------------------------------------------------------------------------------------------


def draft_text(slots: dict[str, Any]) -> str:
    """The ticket about to be created, as the user sees it before it is."""
    lines = ["Here is the ticket I'll open:", f"- Subject: {slots.get('subject', '')}"]
    prio = slots.get("priority") or "medium"
    impact = slots.get("impact")
    if not slots.get("priority") and not slots.get("impact_unstated"):
        lines.append("- Priority: from your answer below")
    elif impact:
        lines.append(f"- Priority: {prio} (impact: “{policy.clip(str(impact), 90)}”)")
    elif slots.get("impact_unstated"):
        lines.append(f"- Priority: {prio} (the default: tell me if it stops you or others from working)")
    else:
        lines.append(f"- Priority: {prio}")
    if slots.get("affected_system"):
        lines.append(f"- System: {slots['affected_system']}")
    if slots.get("affected"):
        lines.append(f"- Affected: {policy.clip(str(slots['affected']), 120)}")
    if slots.get("since"):
        lines.append(f"- Since: {policy.clip(str(slots['since']), 60)}")
    if slots.get("error_message"):
        lines.append(f"- Error message: {policy.clip(str(slots['error_message']), 120)}")
    if slots.get("steps_taken"):
        tried = "; ".join(s.lstrip("- ") for s in str(slots["steps_taken"]).splitlines())
        lines.append(f"- Already tried: {policy.clip(tried, 200)}")
    contact = slots.get("contact_email") or slots.get("contact_phone")
    if contact:
        lines.append(f"- Contact: {contact}")
    return "\n".join(lines)


# --- tool failures ---------------------------------------------------------------------------------------

NOT_FOUND = re.compile(r"does not exist|not visible|no ticket|not found|unknown ticket|no such", re.I)
FORBIDDEN = re.compile(r"permission|not allowed|forbidden|only (admins|agents|technicians)|may not|not permitted", re.I)
INVALID = re.compile(r"must be|invalid|expected|too long|too short|required", re.I)


def failure(outcome_text: str, doing: str, ticket: str | None = None) -> str:
    """A tool failure in plain language; the tool's own text (meant for programs) goes to the log only."""
    logger.warning("desk tool failed while trying to %s: %s", doing, outcome_text)
    if ticket and NOT_FOUND.search(outcome_text):
        return f"I can't see {ticket}. It may belong to someone else, or the number may be wrong."
    if NOT_FOUND.search(outcome_text):
        return f"I couldn't {doing}: I can't find what it refers to. Could you check the number or name?"
    if FORBIDDEN.search(outcome_text):
        return f"I'm not able to {doing} for you: your account doesn't have permission for that."
    if "limit" in outcome_text and "turn" in outcome_text:
        return f"I've done as much as I can for one message, so I couldn't {doing}. Please ask again."
    if INVALID.search(outcome_text):
        return f"I couldn't {doing}: the desk didn't accept the details. Could you say it another way?"
    return f"Something went wrong on the desk's side, so I couldn't {doing}. Please try again in a moment."


# --- confirmations -----------------------------------------------------------------------------------------

_ACTIONS: dict[str, str] = {
    "ticket_create": "open a new {priority} ticket “{subject}”",
    "ticket_update": "change ticket {ticket} ({changes})",
    "ticket_comment": "add a comment to {ticket}: “{body}”",
    "ticket_escalate": "hand ticket {ticket} to a technician",
    "ticket_assign": "assign ticket {ticket} to {assignee}",
    "kb_article_create": "publish a new knowledge-base article “{title}” that every user will see",
    "kb_article_update": "change knowledge-base article #{article_id}",
    "kb_article_delete": "delete knowledge-base article #{article_id} (it disappears from answers)",
    "document_delete": "delete document #{document_id} and everything indexed from it",
    "user_upsert": "create or change the account “{username}” with the role {role}",
}
"""What a write tool does, in words, for a confirmation question."""


def action_phrase(name: str, args: dict[str, Any]) -> str:
    """The exact action a tool call takes, in words ("delete knowledge-base article #3 ...")."""
    template = _ACTIONS.get(name)
    values = {k: policy.clip(str(v), 80) for k, v in args.items()}
    values.setdefault("priority", "medium")
    values.setdefault("role", "unchanged")
    if template:
        changes = ", ".join(f"{k} to {v}" for k, v in values.items() if k not in ("ticket", "version"))
        values["changes"] = changes or "no fields"
        try:
            phrase = template.format(**values)
        except KeyError:
            phrase = template.split(" {")[0].replace("{", "").replace("}", "")
        if name == "user_upsert" and str(args.get("role")) == "admin":
            phrase += ", which gives that account full control of the desk"
        return phrase
    shown = ", ".join(f"{k}={policy.clip(str(v), 40)}" for k, v in args.items())
    return f"run {name.replace('_', ' ')} ({shown})"


OFFER_LEAD = "I couldn't find an answer to this in the knowledge base. I can open a ticket for a technician"


def ticket_draft(args: dict[str, Any], lead: str = "Here is the ticket I'll open") -> str:
    """The ticket the user asked for (or that ``lead`` offers), shown before it is created, with what it will
    say."""
    subject = str(args.get("subject") or "your problem")
    priority = args.get("priority")
    lines = [f"{lead}: “{subject}”, {priority} priority." if priority else f"{lead}: “{subject}”."]
    for label, key in (
        ("System", "affected_system"),
        ("Error", "error_message"),
        ("Already tried", "steps_taken"),
        ("Impact", "business_impact"),
    ):
        if value := str(args.get(key) or "").strip():
            lines.append(f"- {label}: {value if len(value) <= 200 else value[:200] + '…'}")
    # It ends in a question: the user is asked, not told.
    if not priority:
        lines.append(
            "Shall I go ahead? Reply “yes” (I'll ask how much it affects your work), or tell me what to change."
        )
    elif args.get("contact_email") or args.get("contact_phone"):
        lines.append("Shall I create it? Reply “yes, do it”, or tell me what to change.")
    else:
        lines.append(
            "Shall I create it? Reply “yes, do it”, or tell me what to change. If a technician should reach you by "
            "email or phone, just send it and I'll create the ticket with it."
        )
    return "\n".join(lines)


def confirmation(name: str, args: dict[str, Any], why: str = "") -> str:
    """The question that holds a write: it names the exact action and its effect."""
    lead = f"{why} " if why else ""
    return (
        f"{lead}Before I do anything: this would {action_phrase(name, args)}. You didn't ask for that in your own "
        "words, so I haven't done it. Reply “yes, do it” to go ahead, or tell me what you'd like instead."
    )
