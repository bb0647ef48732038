"""The graph's task nodes: retrieval, answer, ticket slot filling and creation, status, comment, list,
escalation, decline and small talk. The offline policy routes to them; each reaches the desk only through
the caller's MCP toolbox (``runtime.context.toolbox``)."""

from __future__ import annotations

import logging
import re
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage
from langgraph.runtime import Runtime

from agent import compose, llm_turn, policy
from agent import record as rec
from agent.bridge import ToolOutcome
from agent.prompts import search_hits
from agent.state import AgentContext, AgentState
from tools.search_models import SearchHit

logger = logging.getLogger(__name__)

ANSWER_THRESHOLD = 0.5
"""Confidence from which the agent answers instead of asking (word coverage or semantic support of the best
hit; see :func:`agent.policy.confidence`)."""
PARTIAL_THRESHOLD = 0.25
BARE_TRIES = 2
"""Clarifying questions asked about a message that names only a system before a ticket is offered instead."""
OPEN_STATUSES = ("new", "open", "in_progress", "pending")
SLOT_ORDER = ("subject", "description", "impact", "contact")


def last_user_text(state: AgentState) -> str:
    for msg in reversed(state.get("messages", [])):
        if isinstance(msg, HumanMessage):
            return msg.content if isinstance(msg.content, str) else str(msg.content)
    return ""


def say(state: AgentState, text: str, **update: Any) -> dict[str, Any]:
    """Finish the turn with ``text`` as the assistant's reply."""
    return {"messages": [AIMessage(content=text)], "reply": text, **update}


async def call(state: AgentState, runtime: Runtime[AgentContext], name: str, args: dict[str, Any]) -> ToolOutcome:
    """Call a desk tool for this turn, within the per-turn cap."""
    ctx = runtime.context
    log = list(state.get("tool_log", []))
    if len(log) >= ctx.max_tool_calls:
        return ToolOutcome(name=name, ok=False, data=None, text="tool-call limit for this turn reached")
    state["tool_log"] = [*log, name]
    return await ctx.toolbox.call(name, ctx.toolbox.fit_args(name, args))


def _base(state: AgentState) -> dict[str, Any]:
    """The per-turn fields a node hands back, so tool calls made in it are kept."""
    return {"tool_log": list(state.get("tool_log", []))}


# --- knowledge ----------------------------------------------------------------------------------------


async def search(state: AgentState, runtime: Runtime[AgentContext], query: str, k: int = 5) -> list[dict[str, Any]]:
    """The search hits for ``query`` (knowledge_search, else the KB article search with the best article's
    full body); [] when the search fails."""
    toolbox = runtime.context.toolbox
    if toolbox.has("knowledge_search"):
        outcome = await call(state, runtime, "knowledge_search", {"query": query, "k": k})
    else:
        outcome = await call(state, runtime, "kb_article_search", {"query": query, "limit": k})
    hits = (search_hits(outcome.data) or []) if outcome.ok else []
    if not outcome.ok:
        logger.warning("search failed: %s", outcome.text)
    if hits and outcome.name == "kb_article_search" and toolbox.has("kb_article_get"):
        # Article search returns snippets; the answer is extracted from the best article's full body.
        article = SearchHit.model_validate(hits[0]).ref_id
        full = await call(state, runtime, "kb_article_get", {"article_id": article})
        if full.ok and isinstance(full.data, dict):
            hits[0] = {**hits[0], "text": full.data.get("body", ""), "source": "kb"}
    return hits


async def scored(
    runtime: Runtime[AgentContext], query: str, hits: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], float]:
    """The hits ranked for ``query`` (words and, with an embedding layer, meaning) and the confidence that
    the first one answers it."""
    ranked, sims = policy.rank_hits(query, hits, await similarities(runtime, query, hits))
    return ranked, supported(query, ranked, policy.confidence(query, ranked, sims), sims)


async def _confidence(runtime: Runtime[AgentContext], query: str, hits: list[dict[str, Any]]) -> float:
    return (await scored(runtime, query, hits))[1]


async def retrieve(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    message = last_user_text(state)
    pending = state.get("pending") or {}
    record = state.get("record") or {}
    if pending.get("kind") == "clarify":
        query = f"{pending.get('query', '')} {message}".strip()
        return {**_base(state), "query": query, "hits": await search(state, runtime, query)}
    rewritten = rec.followup_query(record, message)
    if rewritten and rec.FOLLOW_UP.search(message):
        # "and on a Mac?": the question is the conversation's topic with this turn's change.
        return {**_base(state), "query": rewritten, "hits": await search(state, runtime, rewritten)}
    hits = await search(state, runtime, message)
    if not hits and (fixed := rec.spelled(message)):
        # Nothing at all for "outlok kepps askin for my pasword": try again with the words spelt out.
        fixed_hits = await search(state, runtime, fixed)
        if fixed_hits:
            return {**_base(state), "query": fixed, "hits": fixed_hits}
    if rewritten and await _confidence(runtime, message, hits) < ANSWER_THRESHOLD:
        # A short follow-up that does not stand on its own ("how long does the new one need to be?").
        more = await search(state, runtime, rewritten)
        if await _confidence(runtime, rewritten, more) >= ANSWER_THRESHOLD:
            return {**_base(state), "query": rewritten, "hits": more}
    return {**_base(state), "query": message, "hits": hits}


async def similarities(runtime: Runtime[AgentContext], query: str, hits: list[dict[str, Any]]) -> list[float] | None:
    """Cosine between the question and each hit, or None without an embedding layer."""
    semantic = runtime.context.semantic
    if semantic is None or not hits or not query.strip():
        return None
    return await semantic.similarities(query, [policy.semantic_text(h) for h in hits])


THIN_QUERY_WORDS = 2
"""A question with this many specific words or fewer is answered only when the hit covers all of them."""
THIN_CAP = 0.45


def supported(query: str, hits: list[dict[str, Any]], conf: float, sims: list[float] | None = None) -> float:
    """The confidence, capped below the answer threshold when retrieval cannot support an answer: the query
    names nothing specific ("not working"), or is so short that a hit missing one of its words is a guess
    ("printer broken" against an article about adding printers)."""
    specific = set(rec.specific_words(query))
    if not specific:
        return min(conf, 0.0)
    if rec.bare_system(query):
        return min(conf, THIN_CAP)  # "outlook": which of the articles about it? Ask what happens first.
    if hits and len(specific) <= THIN_QUERY_WORDS:
        if sims and policy.semantic_part(hits, sims) >= ANSWER_THRESHOLD:
            return conf  # short, but clearly closer in meaning to this hit than to any other source
        best = hits[0]
        if policy.coverage(query, f"{best.get('title') or ''} {policy.hit_text(best)}") < 1.0:
            return min(conf, THIN_CAP)
    return conf


async def procedure(
    state: AgentState, runtime: Runtime[AgentContext], best: dict[str, Any], hits: list[dict[str, Any]]
) -> str:
    """The best hit's text, with the neighbouring chunks of its section when a numbered list runs on."""
    pool = list(hits)
    if compose.needs_neighbours(best, pool):
        # The rest of the list is in a chunk the search did not return: ask for the section by name.
        pool += await search(state, runtime, f"{compose.section_of(best)} {policy.hit_text(best)[-200:]}", k=10)
    return compose.join_neighbours(best, pool)


def _platform_not_covered(message: str, hits: list[dict[str, Any]]) -> str | None:
    """The platform ``message`` asks about (macOS, Linux, iOS...) when none of the hits mentions it."""
    platform = rec.platform_of(message)
    if platform is None:
        return None
    pattern = rec.PLATFORMS[platform]
    named = pattern.search(message)
    if named is None or named.group(0).lower() == "pc":  # "my pc won't print" names no operating system
        return None
    if any(pattern.search(f"{h.get('title') or ''} {policy.hit_text(h)}") for h in hits):
        return None
    return platform


async def answer(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    query = state.get("query") or last_user_text(state)
    hits = state.get("hits") or []
    hits, conf = await scored(runtime, query, hits)
    pending = state.get("pending") or {}
    clarifying = pending.get("kind") == "clarify"
    detail = last_user_text(state)
    record = dict(state.get("record") or rec.new())
    if clarifying and len(set(policy.words(detail))) >= 2:
        # The clarification alone may name the thing precisely ("it's the VPN password").
        alone = policy.confidence(detail, hits, await similarities(runtime, detail, hits))
        conf = max(conf, supported(detail, hits, alone))
    tries = int(pending.get("tries", 0)) if clarifying else 0
    # The first message states the problem (a ticket's subject); later ones add detail.
    root = str(pending.get("root") or query) if clarifying else last_user_text(state)
    base = {**_base(state), "hits": [], "confidence": conf, "last_question": query}
    if hits and conf >= ANSWER_THRESHOLD:
        best = hits[0]
        text = await procedure(state, runtime, best, hits)
        body = compose.answer_body(query, text) or policy.clip(policy.hit_text(best), 400)
        # Only what the answer quotes is a source; other hits were not used.
        cites = [hit_citation(h) for h in hits[:1]]
        title = best.get("title") or cites[0]["citation"]
        reply = compose.answer_text(str(title), body, [c["citation"] for c in cites])
        if platform := _platform_not_covered(detail, hits):
            # "and on a mac?" when no article says a word about Macs: the steps may still help, but say so, and
            # do not claim an answer.
            reply = (
                f"I don't have steps written for {platform} in the knowledge base. The closest article doesn't "
                f"mention {platform}, so some menus may differ there.\n\n{reply}"
            )
            base["confidence"] = min(conf, ANSWER_THRESHOLD - 0.05)
        return say(
            state,
            reply,
            **base,
            citations=cites,
            last_answer_title=str(title),
            record=rec.note_answer(record, str(title), query),
            pending={"kind": "offer_ticket", "question": query, "root": root, "answered": str(title)},
        )
    it_related = policy.looks_it_related(query) or bool(record.get("system"))
    vague = rec.is_vague(query)
    # Only a product named ("not working" + "outlook"): which of its articles? Ask what happens before offering
    # a ticket; a ticket about nothing in particular helps nobody.
    bare = rec.bare_system(query) is not None and tries < BARE_TRIES
    # "how many legs does a spider have?", "recommend a novel": a question or a request about nothing IT that the
    # knowledge base does not answer is declined at once, even when some article shares a word or two with it
    # (a partial match is no reason to ask what IT system it concerns).
    general = GENERAL_ASK.search(query) is not None and not rec.SYMPTOM_RE.search(query)
    if not it_related and not vague and ((conf < PARTIAL_THRESHOLD and tries >= 1) or general):
        return say(state, decline_text(), **base, pending=None)
    if conf < PARTIAL_THRESHOLD and not it_related and not vague:
        text = (
            "I'm the IT support assistant, so I want to be sure this is something I can help with. Is it about a "
            "computer, an account, an application or another IT system? Tell me a bit more about what happens."
        )
        return say(state, text, **base, pending={"kind": "clarify", "query": query, "root": root, "tries": tries + 1})
    # "how do I delete my account in Slack?": asking what happens with Slack would not help; say there's nothing.
    howto = policy.ASKS_HOWTO.search(query.lower()) is not None and rec.system_of(query) is not None
    if not vague and not bare and (tries >= 1 or (clarifying and not hits) or rec.rich(record) or howto):
        about = rec.known_summary(record) or (rec.system_of(query) if howto else "")
        lead = (
            f"I couldn't find a reliable answer about {about} in the knowledge base"
            if about
            else ("I couldn't find a reliable answer to that in the knowledge base")
        )
        text = f"{lead}, and I'd rather not guess. Shall I open a ticket so a technician can look at it?"
        offer = {"kind": "offer_ticket", "question": query, "root": root, "reason": "missing_knowledge"}
        return say(state, text, **base, pending=offer)
    closest = ""
    if hits and conf >= PARTIAL_THRESHOLD and not vague and not bare:
        closest = f" The closest article I have is “{hits[0].get('title') or policy.citation_of(hits[0])}”."
    text = f"I want to be sure I give you the right answer.{closest} {clarifying_question(record, query)}"
    return say(state, text, **base, pending={"kind": "clarify", "query": query, "root": root, "tries": tries + 1})


GENERAL_ASK = re.compile(
    r"^\s*(who|what|when|which|why|how (many|much|old|far|tall|big)|recommend|suggest|write|tell me|give me"
    r"|can you (recommend|suggest|write|tell me|give me))\b",
    re.I,
)
LOGIN_RE = re.compile(r"\b(log ?in|sign ?in|signin|login|password|locked out)\b", re.I)


def clarifying_question(record: dict[str, Any], query: str) -> str:
    """One focused question for what the record lacks, using what it already knows."""
    system = record.get("system") or rec.system_of(query)
    if not system and LOGIN_RE.search(query):
        return "Could you tell me a bit more: which app or system can't you sign in to, and what does it say?"
    if not system:
        return "Could you tell me a bit more: which app or device is it, and what exactly happens?"
    # A product is named as such ("with Outlook"); a kind of device takes an article ("with the printer").
    the = system if system[:1].isupper() else f"the {system}"
    if not record.get("errors"):
        return f"Could you tell me a bit more: what exactly happens with {the}, and is there an error message?"
    return f"Could you tell me a bit more: when did the problem with {the} start, and who else is affected?"


def hit_citation(hit: dict[str, Any]) -> dict[str, Any]:
    score = hit.get("score")
    return {
        "source": str(hit.get("source") or "kb"),
        "id": str(hit.get("document_id") or hit.get("id") or ""),
        "title": str(hit.get("title") or ""),
        "citation": policy.citation_of(hit),
        "score": float(score) if isinstance(score, int | float) else None,
    }


# --- tickets ----------------------------------------------------------------------------------------


def _add_detail(slots: dict[str, Any], text: str) -> None:
    """An answer that is not what was asked is still about the problem: keep it in the description."""
    if text and len(policy.words(text)) >= 3 and text not in str(slots.get("description", "")):
        slots["description"] = f"{slots.get('description', '')}\n{text}".strip()


def _fill_from(message: str, slots: dict[str, Any], slot: str | None, retry: bool = False) -> dict[str, Any]:
    """Fill the slot the agent asked for from the answer, and any others the message happens to carry."""
    slots = dict(slots)
    text = message.strip()
    if slot == "subject" and text:
        slots["subject"] = policy.clip(policy.first_sentence(text), 120)
        if len(policy.words(text)) > 12:
            slots.setdefault("description", text)
    elif slot == "description" and text:
        slots["description"] = text
    elif slot == "impact":
        if prio := policy.impact_priority(text):
            slots["impact"], slots["priority"] = policy.impact_text(text), prio
            slots.pop("impact_unstated", None)
        elif retry and policy.says_nothing(text):
            slots["priority"], slots["impact_unstated"] = "medium", True  # asked twice: the default, not "yes"
        elif retry:
            slots["impact"], slots["priority"] = text, "medium"
        else:
            _add_detail(slots, text)
    elif slot == "contact":
        found = policy.contact_of(text)
        if not found and policy.CONFIRM.search(text.lower()):
            found = {"preferred_contact": "chat"}  # "yes" to "how should we reach you": here is fine
        if found or retry:
            slots.update(found or {"preferred_contact": "chat"})
            slots["contact"] = True
        else:
            _add_detail(slots, text)
    correcting = policy.CORRECTION.search(text.lower()) is not None
    if slot != "impact" and (correcting or "priority" not in slots) and (prio := policy.impact_priority(text)):
        slots["priority"] = prio
        slots["impact"] = policy.impact_text(text)
    if (
        slot != "contact"
        and (found := policy.contact_of(text))
        and ("contact_email" in found or "contact_phone" in found)
    ):
        slots.update(found)
        slots["contact"] = True
    if "error_message" not in slots and (err := policy.error_message_of(text)):
        slots["error_message"] = err
    return slots


def _missing(slots: dict[str, Any]) -> str | None:
    if slots.get("escalate"):
        return None if slots.get("subject") else "subject"
    for slot in SLOT_ORDER:
        if slot == "impact" and slots.get("priority"):
            continue
        if not slots.get(slot):
            return slot
    return None


def _from_record(slots: dict[str, Any], record: dict[str, Any], actor: str) -> dict[str, Any]:
    """The draft's fields that the problem record fills: description, error, steps tried, system, impact."""
    slots = dict(slots)
    if record.get("statement") and not slots.get("subject"):
        slots["subject"] = rec.subject(record)
    if rec.rich(record) or (slots.get("description") and record.get("quotes")):
        slots["description"] = rec.description(record, actor)
    if record.get("errors"):
        slots["error_message"] = policy.clip("; ".join(record["errors"]), 500)
    if steps := rec.steps_taken(record):
        slots["steps_taken"] = steps
    if record.get("system"):
        slots["affected_system"] = str(record["system"])
    for key in ("affected", "since"):  # shown in the draft; the description carries them to the technician
        if record.get(key):
            slots[key] = str(record[key])
    if record.get("priority") and (not slots.get("priority") or record.get("corrected")):
        slots["priority"], slots["impact"] = record["priority"], record.get("impact")
    if contact := record.get("contact"):
        slots.update(contact)
        slots["contact"] = True
    return slots


CONFIRM_QUESTION = "Shall I create it? You can also correct anything above."


def _asks_about_draft(message: str) -> bool:
    """'what's the status of that ticket?' while the ticket is still a draft: there is nothing to look up."""
    return policy.asks_about_that_ticket(message) and not policy.TICKET_RE.search(message)


def _draft_not_created(
    state: AgentState, slots: dict[str, Any], record: dict[str, Any], pending: dict[str, Any]
) -> dict[str, Any]:
    if pending.get("next") == "confirm":
        text = (
            "I haven't created it yet: it waits for your go-ahead.\n\n"
            + compose.draft_text(slots)
            + "\n\n"
            + CONFIRM_QUESTION
        )
    else:
        nxt = str(pending.get("next") or "subject")
        text = "I haven't created the ticket yet; I need one more thing first. " + policy.SLOT_QUESTIONS[nxt]
    return say(state, text, slots=slots, record=record, pending=dict(pending))


def _at_confirmation(
    state: AgentState,
    runtime: Runtime[AgentContext],
    message: str,
    slots: dict[str, Any],
    record: dict[str, Any],
) -> dict[str, Any]:
    """The answer to "Shall I create it?": a go-ahead creates it; "no" keeps the draft and creates nothing;
    anything else is a correction or an addition, applied and shown again before anything is created."""
    low = message.lower()
    said = len(policy.words(message))
    go = bool(policy.CONFIRM.search(low) or policy.CREATE.search(low)) and not policy.DENY.search(low)
    held = {"kind": "ticket", "next": "confirm", "shown": True}
    if go and said <= 4:
        return {"slots": slots, "pending": None, "record": record}
    if policy.DENY.search(low) and said <= 3:
        text = "Alright, I haven't created it. Tell me what to change, or say “cancel” to drop it."
        return say(state, text, slots=slots, record=record, pending=held)
    before = dict(slots)
    slots = _fill_from(message, slots, None)
    if prio := policy.impact_priority(message):
        slots["priority"], slots["impact"] = prio, policy.impact_text(message)
        slots.pop("impact_unstated", None)
    if record.get("corrected"):
        slots["subject"] = rec.subject(record)
    slots = _from_record(slots, record, runtime.context.actor)
    record.pop("corrected", None)
    if go and slots == before:
        return {"slots": slots, "pending": None, "record": record}
    if slots == before:
        _add_detail(slots, message.strip())
    text = "I've updated the ticket.\n\n" + compose.draft_text(slots) + "\n\n" + CONFIRM_QUESTION
    return say(state, text, slots=slots, record=record, pending=held)


async def slot_fill(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    message = last_user_text(state)
    pending = state.get("pending") or {}
    record = dict(state.get("record") or rec.new())
    actor = runtime.context.actor
    shown = bool(pending.get("shown"))
    if pending.get("kind") == "ticket":
        slots = dict(state.get("slots") or {})
        if _asks_about_draft(message):
            return _draft_not_created(state, slots, record, pending)
        if pending.get("next") == "confirm":
            return _at_confirmation(state, runtime, message, slots, record)
        else:
            slots = _fill_from(message, slots, pending.get("next"), retry=bool(pending.get("retry")))
        if record.get("corrected"):
            slots["subject"] = rec.subject(record)
        slots = _from_record(slots, record, actor)
        if pending.get("next") == "description" and slots.get("description") == message.strip():
            slots["description"] = rec.description(record, actor) if record.get("quotes") else message.strip()
    else:
        # A new draft: from 'open a ticket: ...' or from the question the agent could not answer.
        slots = {}
        root = str(pending.get("root") or pending.get("question") or "")
        other = policy.new_problem(message, root) if pending.get("kind") == "offer_ticket" else None
        if other and rec.is_problem_text(message) and not rec.related(record, message):
            # Accepting the offer while naming another problem: the ticket is about the new one.
            record = rec.update(None, message)
        elif pending.get("kind") == "offer_ticket" and not record.get("statement") and root:
            record = rec.update(record, root)
        if pending.get("answered") and pending["answered"] not in record.get("answered", []):
            record = rec.note_answer(record, str(pending["answered"]), str(pending.get("question") or ""))
        if not record.get("statement") and (subject := policy.subject_from(message)):
            slots["subject"] = subject
        slots = _from_record(_fill_from(message, slots, None), record, actor)
        said = len(policy.words(" ".join(record.get("quotes", []))))
        if not slots.get("description") and record.get("quotes") and (said > 12 or pending.get("answered")):
            # After an answer that did not help, the question and the article tried describe the problem.
            slots["description"] = rec.description(record, actor)
    record.pop("corrected", None)
    nxt = _missing(slots)
    if nxt is None and (shown or slots.get("escalate")):
        return {"slots": slots, "pending": None, "record": record}
    if nxt is None:
        text = compose.draft_text(slots) + "\n\n" + CONFIRM_QUESTION
        return say(
            state, text, slots=slots, record=record, pending={"kind": "ticket", "next": "confirm", "shown": True}
        )
    again = pending.get("kind") == "ticket" and pending.get("next") == nxt
    question = policy.SLOT_RETRY.get(nxt, policy.SLOT_QUESTIONS[nxt]) if again else policy.SLOT_QUESTIONS[nxt]
    if nxt == "contact":
        question = compose.draft_text(slots) + "\n\n" + question
        shown = True
    elif nxt != "subject" and pending.get("kind") != "ticket":
        question = f"I'll open a ticket about “{slots.get('subject', '')}”. " + question
    return say(
        state,
        question,
        slots=slots,
        record=record,
        pending={"kind": "ticket", "next": nxt, "retry": again, "shown": shown},
    )


async def ticket_create(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    slots = dict(state.get("slots") or {})
    subject = str(slots.get("subject") or "Support request")
    description = str(slots.get("description") or subject)
    if slots.get("escalate"):
        description = f"{description}\n\nConversation:\n{policy.transcript_summary(state.get('messages', []))}"
    args = {
        "subject": subject,
        "description": description,
        "priority": slots.get("priority") or "medium",
        "business_impact": slots.get("impact"),
        "contact_email": slots.get("contact_email"),
        "contact_phone": slots.get("contact_phone"),
        "preferred_contact": slots.get("preferred_contact"),
        "error_message": slots.get("error_message"),
        "steps_taken": slots.get("steps_taken"),
        "affected_system": slots.get("affected_system"),
        "channel": "chat",
    }
    outcome = await call(state, runtime, "ticket_create", args)
    if not outcome.ok:
        text = (
            compose.failure(outcome.text, "create the ticket")
            + " Would you like me to hand this conversation to a technician instead?"
        )
        return say(state, text, **_base(state), pending={"kind": "offer_escalate", "reason": "tool_failure"})
    ticket = outcome.data or {}
    number = str(ticket.get("number", "?"))
    actions = [*state.get("actions", []), number]
    # The problem is filed: a next question starts a record of its own instead of inheriting this one's topic.
    update = {
        **_base(state),
        "actions": actions,
        "last_ticket": number,
        "slots": {},
        "pending": None,
        "record": rec.new(),
    }
    if slots.get("escalate"):
        state = {**state, **update}  # type: ignore[typeddict-item]
        return await _escalate(state, runtime, number, str(slots["escalate"]))
    return say(state, created_text(number, ticket, args), **update)


async def status(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    message = last_user_text(state)
    m = policy.TICKET_RE.search(message)
    number = m.group(0).upper() if m else state.get("last_ticket")
    if not number:
        return await list_tickets(state, runtime)
    outcome = await call(state, runtime, "ticket_get", {"ticket": number})
    if not outcome.ok:
        return say(state, compose.failure(outcome.text, f"look up {number}", number), **_base(state), pending=None)
    data = outcome.data or {}
    ticket = data.get("ticket", data)
    who = f"assigned to {ticket['assignee']}" if ticket.get("assignee") else "not assigned to a technician yet"
    state_word = str(ticket.get("status", "unknown")).replace("_", " ")
    lines = [
        f"{ticket.get('number', number)} “{ticket.get('subject', '')}” is {state_word}, "
        f"{ticket.get('priority', '?')} priority, {who}."
    ]
    if ticket.get("status") in OPEN_STATUSES:
        late = " (the target has passed, so it is overdue)" if ticket.get("sla_breached") else ""
        lines.append(f"Target resolution: {policy.format_due(ticket.get('sla_due_at'))}{late}.")
    public = [c for c in data.get("comments", []) if not c.get("is_internal")]
    if public:
        last = public[-1]
        lines.append(f"Latest update from {last.get('author')}: {policy.clip(str(last.get('body', '')), 300)}")
    return say(state, "\n".join(lines), **_base(state), last_ticket=str(ticket.get("number", number)), pending=None)


async def comment(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    message = last_user_text(state)
    pending = state.get("pending") or {}
    last = state.get("last_comment") or {}
    m = policy.TICKET_RE.search(message)
    if pending.get("kind") == "comment_body":
        number, body = str(pending["ticket"]), message.strip()
    elif m and last.get("body") and policy.CORRECTION.search(message.lower()) and m.group(0).upper() != last["ticket"]:
        # "sorry, that was for TCK-...": a comment cannot be moved, so it goes where it was meant to.
        number, body = m.group(0).upper(), str(last["body"])
    else:
        number = m.group(0).upper() if m else str(state.get("last_ticket") or "")
        body = policy.comment_body(message) or policy.relayed(message) or ""
    if not number:
        return say(state, "Which ticket should I add the comment to? Please give its number (like TCK-000042).")
    if not body:
        return say(
            state, f"What would you like me to add to {number}?", pending={"kind": "comment_body", "ticket": number}
        )
    outcome = await call(state, runtime, "ticket_comment", {"ticket": number, "body": body})
    if not outcome.ok:
        text = compose.failure(outcome.text, f"add the comment to {number}", number)
        return say(state, text, **_base(state), pending=None)
    actions = [*state.get("actions", []), number]
    text = f"I've added your comment to {number}. The technician working on it will see it."
    if last.get("body") == body and last.get("ticket") != number:
        text += (
            f" I can't take it back from {last['ticket']}, but the technician there will see it was meant for {number}."
        )
    return say(
        state,
        text,
        **_base(state),
        actions=actions,
        last_ticket=number,
        pending=None,
        last_comment={"ticket": number, "body": body},
    )


async def list_tickets(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    outcome = await call(state, runtime, "ticket_list", {"requester": "me", "status": list(OPEN_STATUSES), "limit": 50})
    if not outcome.ok:
        return say(state, compose.failure(outcome.text, "list your tickets"), **_base(state), pending=None)
    items = [t for t in (outcome.data or {}).get("items", []) if t.get("status") in OPEN_STATUSES]
    if not items:
        return say(state, "You have no open tickets right now.", **_base(state), pending=None)
    lines = [f"You have {len(items)} open ticket{'s' if len(items) != 1 else ''}:"]
    for t in items[:20]:
        lines.append(
            f"- {t.get('number')} “{t.get('subject')}”: {str(t.get('status')).replace('_', ' ')}, "
            f"{t.get('priority')} priority, due {policy.format_due(t.get('sla_due_at'))}"
        )
    lines.append("Ask me about any of them by number for details.")
    return say(state, "\n".join(lines), **_base(state), pending=None)


# --- handoff, decline, small talk --------------------------------------------------------------------


async def escalate(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    message = last_user_text(state)
    pending = state.get("pending") or {}
    reason = str(pending.get("reason") or "customer_asked")
    m = policy.TICKET_RE.search(message)
    number = m.group(0).upper() if m else None
    if number is None and not pending.get("question"):
        number = state.get("last_ticket")
    if number:
        return await _escalate(state, runtime, number, reason)
    # No ticket yet: draft one from the conversation, asking only for the problem if we have nothing.
    question = pending.get("question") or state.get("last_question")
    slots: dict[str, Any] = {"escalate": reason, "priority": "medium", "preferred_contact": "chat"}
    draft = state.get("slots") or {}
    if draft.get("subject"):
        # A ticket draft that could not be created (a tool failure): hand over what was gathered.
        state = {**state, "slots": {**slots, **draft, "escalate": reason}}  # type: ignore[typeddict-item]
        return await ticket_create(state, runtime)
    record = state.get("record") or {}
    if record.get("statement"):
        slots = _from_record(slots, record, runtime.context.actor)
        slots.setdefault("description", rec.description(record, runtime.context.actor))
        state = {**state, "slots": slots}  # type: ignore[typeddict-item]
        return await ticket_create(state, runtime)
    if question:
        slots["subject"] = policy.clip(policy.first_sentence(str(question)), 120)
        slots["description"] = str(question)
        state = {**state, "slots": slots}  # type: ignore[typeddict-item]
        return await ticket_create(state, runtime)
    text = "Of course, I'll get a technician for you. So they can pick it up quickly: what is the problem, in a line?"
    return say(state, text, slots=slots, pending={"kind": "ticket", "next": "subject"})


async def _escalate(state: AgentState, runtime: Runtime[AgentContext], number: str, reason: str) -> dict[str, Any]:
    summary = policy.transcript_summary(state.get("messages", [])) or "The user asked for a technician."
    outcome = await call(state, runtime, "ticket_escalate", {"ticket": number, "reason": reason, "summary": summary})
    if not outcome.ok:
        text = compose.failure(outcome.text, f"hand {number} to a technician", number)
        return say(state, text, **_base(state), pending=None, slots={})
    actions = [*state.get("actions", []), number]
    text = (
        f"I've handed {number} to a technician with a summary of our conversation "
        f"(reason: {reason.replace('_', ' ')}). They'll get back to you; you can ask me for its status any time."
    )
    return say(
        state,
        text,
        **_base(state),
        actions=list(dict.fromkeys(actions)),
        last_ticket=number,
        pending=None,
        slots={},
        handoff={"ticket": number, "reason": reason, "summary": summary},
    )


def decline_text() -> str:
    return (
        "Sorry, that's outside what I can help with: I'm the IT support assistant. I can answer IT questions, "
        "open a ticket, check or update one, or get you a technician."
    )


async def decline(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    del runtime
    return say(state, decline_text(), pending=None)


async def respond(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """Small talk and control words: greetings, thanks, cancel, yes/no with nothing pending, unsupported asks."""
    del runtime
    intent = state.get("intent")
    pending = state.get("pending") or {}
    if intent == "greeting":
        return say(state, "Hello! I'm the IT support assistant. What can I help you with today?", pending=None)
    if intent == "thanks":
        return say(state, "Glad I could help! Anything else, just ask.", pending=None)
    if intent == "cancel":
        dropped = (
            "Okay, I've dropped that ticket; nothing was created."
            if pending.get("kind") == "ticket"
            else ("Okay, I've dropped that.")
        )
        return say(state, f"{dropped} Anything else I can do?", pending=None, slots={}, record=rec.new())
    if intent == "detail":
        text = (
            "Thanks, I've noted that for the technician. I still have no article that solves this, so shall I "
            "open a ticket now?"
        )
        return say(state, text, pending=pending)
    if intent == "farewell":
        dropped = "Okay, I've dropped that ticket; nothing was created. " if pending.get("kind") == "ticket" else ""
        text = f"{dropped}Thanks for getting in touch. Goodbye!"
        return say(state, text, pending=None, slots={}, record=rec.new())
    if intent == "unsupported":
        about = f" {state['last_ticket']}" if state.get("last_ticket") else ""
        text = (
            f"I can't delete{about or ' records'} from the chat. If{about or ' a ticket'} is no longer needed, a "
            "technician can close it: shall I hand this request to one?"
        )
        request = last_user_text(state)
        return say(
            state, text, pending={"kind": "offer_escalate", "reason": "unsupported_request", "question": request}
        )
    if intent == "deny" and pending:
        return say(state, "No problem. Anything else I can help with?", pending=None)
    return say(state, "How can I help? Describe the problem, or ask me about a ticket (like TCK-000042).")


async def confirm_action(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """Run the destructive call the user has just confirmed."""
    pending = state.get("pending") or {}
    name, args = str(pending.get("tool")), dict(pending.get("args") or {})
    message = last_user_text(state)
    found = policy.contact_of(message) if name == "ticket_create" else {}
    if found:
        args.update(found)  # "dana@example.org" or "email is fine" in answer to the draft
    if name == "ticket_create" and pending.get("ask_impact"):
        if prio := policy.impact_priority(message):
            args["priority"], args["business_impact"] = prio, policy.impact_text(message)  # "yes, it's urgent"
        else:
            return _form_at_impact(state, args)
    outcome = await call(state, runtime, name, args)
    what = compose.action_phrase(name, args)
    if not outcome.ok:
        return say(state, compose.failure(outcome.text, what), **_base(state), pending=None)
    data: dict[str, Any] = outcome.data if isinstance(outcome.data, dict) else {}
    inner = data.get("ticket")
    ticket: dict[str, Any] = inner if isinstance(inner, dict) else data
    number = str(ticket.get("number") or args.get("ticket") or "") if name.startswith("ticket_") else ""
    update: dict[str, Any] = {"pending": None}
    if number:
        update["actions"] = [*state.get("actions", []), number]
        update["last_ticket"] = number
        what = compose.action_phrase(name, {**args, "ticket": number})
    if name == "ticket_create" and number:
        text = created_text(number, ticket, args, contact=args.get("contact_email") or args.get("contact_phone"))
        return say(state, text, **_base(state), **update, slots={}, record=rec.new())
    if name == "ticket_comment" and number:
        text = f"I've added your comment to {number}. The technician working on it will see it."
        return say(state, text, **_base(state), **update)
    return say(state, f"Done, as you confirmed: {what}.", **_base(state), **update)


def _form_at_impact(state: AgentState, args: dict[str, Any]) -> dict[str, Any]:
    """A drafted ticket taken up before anyone said how much it matters: the form goes on at the impact
    question (then the contact), with the draft's fields as its slots."""
    text = "Good, I'll open it. One question first: " + policy.SLOT_QUESTIONS["impact"]
    return say(state, text, slots=form_slots(args), pending={"kind": "ticket", "next": "impact", "shown": False})


FORM_FIELDS = tuple(f for f in llm_turn.SUPPORT_TOOLS["ticket_create"][1] if f not in ("priority", "business_impact"))
"""The model's ticket_create fields the form keeps; the priority and impact come from the form's own question."""


def form_slots(args: dict[str, Any]) -> dict[str, Any]:
    """A model's ticket_create arguments (already filled from the record) as the form's slots, without the
    model's priority: the form asks for the impact and sets the priority from the answer."""
    slots = {key: args[key] for key in FORM_FIELDS if args.get(key)}
    slots.setdefault("subject", "Support request")
    slots.setdefault("description", slots["subject"])
    if slots.get("contact_email") or slots.get("contact_phone"):
        slots["contact"] = True  # an address the user gave: the form does not ask how to reach them
    return slots


def created_text(number: str, ticket: dict[str, Any], args: dict[str, Any], *, contact: str | None = None) -> str:
    """What the user reads once a ticket exists: its number, subject, priority and target (and how the
    technician will reach them), in plain words."""
    subject = ticket.get("subject") or args.get("subject") or ""
    priority = ticket.get("priority") or args.get("priority") or "medium"
    text = (
        f"I've created ticket {number} “{subject}” with {priority} priority. "
        f"Our target is to resolve it by {policy.format_due(ticket.get('sla_due_at'))}. "
    )
    if contact:
        text += f"The technician can reach you at {contact}. "
    return text + "You can ask me for its status any time."
