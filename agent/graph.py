"""The support conversation as a LangGraph StateGraph.

``understand`` reads the user's turn (and what the agent asked last) and routes. With the offline policy
it routes to a task node (retrieve -> answer, slot_fill -> ticket_create, status, comment, list_tickets,
escalate, decline, respond); with a chat model it routes to ``agent``, the model with the desk's tools bound,
looping through ``tools`` until it answers or a per-turn cap is reached (those two nodes live in
``agent/llm_nodes.py``). A destructive tool call is held until the user confirms it in a later turn
(``confirm_action``).
"""

from __future__ import annotations

import logging
import re
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime

from agent import llm_nodes, nodes, policy
from agent import record as problem
from agent.semantic import SemanticMatcher
from agent.state import AgentContext, AgentState, Intent

logger = logging.getLogger(__name__)

Route = Literal[
    "retrieve",
    "slot_fill",
    "status",
    "comment",
    "list_tickets",
    "escalate",
    "decline",
    "respond",
    "confirm_action",
    "agent",
]

UNSOLVED = re.compile(
    r"\b(still|didn'?t (work|help|fix)|doesn'?t (work|help)|not (working|fixed|solved)|no luck|same (problem|issue)"
    r"|did not (work|help)|nothing changed|not resolved"
    r"|(that'?s|thats|this is|it'?s) not (it|what i (asked|meant|need))"
    r"|wrong (answer|article))\b"
)
SOLVED = re.compile(r"\b(that (worked|helped|fixed it|did it)|it works|works now|fixed|solved|resolved)\b")


SEMANTIC_INTENTS: dict[str | None, frozenset[str]] = {
    None: frozenset(
        {
            "question",
            "create_ticket",
            "status",
            "list_tickets",
            "escalate",
            "comment",
            "out_of_scope",
            "greeting",
            "thanks",
        }
    ),
    "offer_ticket": frozenset({"create_ticket", "status", "list_tickets", "escalate", "thanks", "out_of_scope"}),
    "offer_escalate": frozenset({"escalate", "thanks", "status", "list_tickets"}),
    # An answer to a clarifying question is more detail about the problem: only a clear change of course counts.
    "clarify": frozenset({"escalate", "status", "list_tickets", "out_of_scope"}),
}
"""Semantic intents trusted for each pending question (a message answering a slot question is never classified:
"call me on +44 ..." is a contact, not a request for a call-back)."""
PRONOUN_IT = re.compile(r"\bit\b")
SMALL_TALK_WORDS = 8
"""Longer messages are not greetings or thanks, however polite they sound."""


async def understand(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """Reset the turn's bookkeeping and decide what the user's message asks for."""
    message = nodes.last_user_text(state)
    pending = state.get("pending") or {}
    llm = runtime.context.extra.get("llm", False)
    detected, source = await detect(message, pending, runtime.context.semantic, llm=llm)
    topic = (state.get("record") or {}).get("topic")
    if (
        topic
        and detected in ("confirm", "deny", "create_ticket", "thanks")
        and problem.FOLLOW_UP.search(message)
        and not policy.CREATE.search(message.lower())
    ):
        detected = "question"  # "ok and for macos?" carries on with the topic; it is not a yes
    intent = _intent(message, pending, llm=llm, detected=detected)
    if llm and intent == "llm":
        intent = _around_model(message, pending, detected)
    update: dict[str, Any] = {
        "intent": intent,
        "intent_source": source,
        "reply": "",
        "citations": [],
        "confidence": None,
        "actions": [],
        "handoff": None,
        "tool_log": [],
        "steps": 0,
    }
    if (
        intent == "question"
        and state.get("last_ticket")
        and (policy.relayed(message) or (policy.COMMENT_WORDS.search(message.lower()) and pending.get("kind") is None))
    ):
        update["intent"] = intent = "comment"  # "tell them it jams on every double-sided print"
    lowered = message.lower()
    if (
        intent in ("question", "list_tickets")
        and state.get("last_ticket")
        and pending.get("kind") != "ticket"  # "that ticket" is then the draft (nodes.slot_fill answers it)
        and not policy.LIST.search(lowered)
        and (policy.asks_about_that_ticket(message) or policy.ASKS_TICKET_NUMBER.search(lowered))
    ):
        update["intent"] = intent = "status"  # "what's the status of that ticket?": the one the conversation named
    record = state.get("record") or {}
    if source == "semantic" and not llm and problem.FOLLOW_UP.search(message) and record.get("topic"):
        update["intent"] = intent = "question"  # "ok and for macos?" continues the topic; it asks for nothing
    if (
        intent == "status"
        and state.get("last_comment")
        and policy.CORRECTION.search(message.lower())
        and re.search(r"\b(meant|was for|should (be|go)|wrong ticket)\b", message.lower())
        and policy.TICKET_RE.search(message)
    ):
        update["intent"] = intent = "comment"  # "sorry, that was for TCK-...": the comment goes there
    if (
        intent == "question"
        and pending.get("kind") == "offer_ticket"
        and pending.get("reason") == "missing_knowledge"
        and "?" not in message
        and not policy.ASKS_HOWTO.search(message.lower())
        and problem.is_problem_text(message)
    ):
        update["intent"] = intent = "detail"  # more about the problem, in answer to "shall I open a ticket?"
    if pending.get("kind") == "confirm_tool" and intent != "confirm":
        update["pending"] = None
    if pending.get("kind") == "ticket" and intent not in ("fill", "escalate", "create_ticket"):
        update["slots"] = {}  # the user moved on; an abandoned draft must not resurface later
    update["record"] = _record_turn(state.get("record"), message, pending, "question" if intent == "llm" else intent)
    if intent == "llm" and pending.get("kind") not in (None, "confirm_tool"):
        update["pending"] = None  # the model answers this turn; the policy's open question is answered or moot
    update["hits"] = []
    update["prompt_tokens"] = update["prompt_tokens_read"] = 0
    runtime.context.extra["pending_before"] = pending
    return update


def _record_turn(record: dict[str, Any] | None, message: str, pending: dict[str, Any], intent: str) -> dict[str, Any]:
    """The problem record after this turn: what the message adds about the problem, a correction applied,
    or a fresh record when the user has moved on to something else."""
    current = dict(record or problem.new())
    aside = current.get("aside")
    elsewhere = not current.get("statement") or not problem.related(current, message)
    if aside and problem.related(aside, message) and elsewhere:
        current = dict(aside)  # "ok, back to the outlook thing": the problem set aside for a question returns
    if intent not in ("question", "clarify", "fill", "create_ticket", "escalate", "detail"):
        return problem.add_tried(current, message)  # "tried restarting, didn't help" answers a yes/no too
    lowered = message.lower()
    correction = policy.CORRECTION.search(lowered) is not None and pending.get("kind") in ("ticket", "offer_ticket")
    if pending.get("kind") == "ticket" and pending.get("next") == "contact" and not correction:
        found = policy.contact_of(message)
        if "contact_email" in found or "contact_phone" in found:
            current["contact"] = found
        return problem.note_affected(current, message)  # "chat is fine" is not about the problem; "all 12 of us" is
    new_howto = pending.get("kind") in ("ticket", "offer_ticket") and policy.ASKS_HOWTO.search(lowered) is not None
    if (
        intent == "question"
        and not problem.followup_query(current, message)
        and (problem.is_problem_text(message) or new_howto)
        and not problem.related(current, message)
    ):
        # A new subject: the old record must not leak into its answer or ticket, but the user may come back to it.
        old = {k: v for k, v in current.items() if k != "aside"}
        current = problem.new()
        if old.get("statement"):
            current["aside"] = old
    current = problem.update(current, message, correction=correction)
    if correction:
        current["corrected"] = True
    found = policy.contact_of(message)
    if "contact_email" in found or "contact_phone" in found:
        current["contact"] = found
    return current


def _around_model(message: str, pending: dict[str, Any], detected: Intent) -> str:
    """What the graph decides itself on the LLM path, whatever the model would propose: an off-topic request
    is declined, cancelling and farewells end what was going on, a bare greeting is returned, and a message
    too vague to search (or that names only a system) gets the policy's focused question. An email or phone
    number in answer to a ticket draft creates it. Anything else goes to the model ("llm")."""
    if pending.get("kind") == "confirm_tool" and detected in ("cancel", "farewell"):
        return detected  # "forget it" while a draft or a held action waits: drop it
    if pending.get("kind") == "confirm_tool":
        # The answer to a ticket draft's one question, how to reach them: create it with that contact.
        # Asking for the ticket right after seeing its draft takes it up (a small model repeats the draft).
        ticket = pending.get("tool") == "ticket_create" and bool(pending.get("draft"))
        takes_it = detected == "create_ticket" and not policy.CORRECTION.search(message.lower())
        answers = llm_nodes.only_contact(message) or llm_nodes.only_contact_method(message)
        return "confirm" if ticket and (answers or takes_it) else "llm"
    body = policy.comment_body(message) if detected == "comment" else None
    if body and policy.TICKET_RE.search(message) and len(policy.words(body)) >= 2:
        return "comment"  # "add a comment to TCK-...: <text>" says it all (the 0.5B model retried until the cap)
    if detected == "out_of_scope" and llm_nodes.only_contact_method(message):
        return "llm"  # "chat is fine" says how to be reached; it is not off-topic
    if detected in ("out_of_scope", "cancel", "farewell", "greeting"):
        return detected  # a bare "hello" too: a small model searches the knowledge base for it
    if detected != "question":
        return "llm"
    query = f"{pending.get('query', '')} {message}" if pending.get("kind") == "clarify" else message
    if problem.is_vague(query) or problem.bare_system(query):
        return "clarify" if pending.get("kind") == "clarify" else "question"
    return "llm"


async def detect(
    message: str, pending: dict[str, Any], semantic: SemanticMatcher | None, *, llm: bool
) -> tuple[Intent, str]:
    """The message's intent and the layer that decided it: the rules first; when they are inconclusive, the
    closest exemplar intent if the match is strong and clear; else the default, a question."""
    rule = policy.rule_intent(message)
    if rule is not None:
        return rule, "rules"
    allowed = SEMANTIC_INTENTS.get(pending.get("kind"))
    if llm and allowed is not None:
        allowed = allowed & {"out_of_scope"}  # the model decides the rest; an off-topic request is declined
    if semantic is None or allowed is None or not message.strip():
        return "question", "default"
    match = await semantic.classify(message)
    logger.debug("semantic intent %s (%.2f, margin %.2f) for %r", match.intent, match.score, match.margin, message)
    if not match.confident or match.intent not in allowed:
        return "question", "default"
    # "it" the pronoun is in the IT word list (for "IT"); here it would make "that sorted it" an IT message.
    it_related = policy.looks_it_related(PRONOUN_IT.sub(" ", message))
    if match.intent == "out_of_scope" and it_related:
        return "question", "default"  # an IT word means it may well be ours: let retrieval decide
    if match.intent in ("greeting", "thanks") and (it_related or len(message.split()) > SMALL_TALK_WORDS):
        return "question", "default"
    return match.intent, "semantic"


def _intent(message: str, pending: dict[str, Any], *, llm: bool, detected: Intent | None = None) -> str:
    intent = detected or policy.detect_intent(message)
    kind = pending.get("kind")
    if kind == "confirm_tool":
        return "confirm" if intent == "confirm" else ("llm" if llm else intent)
    # On the LLM path the graph runs the form itself once a ticket is drafted (the impact and contact questions).
    form = kind == "ticket" and pending.get("next") not in (None, "subject")
    if llm and not form:
        return "llm"
    lowered = message.lower()
    if intent in ("cancel", "farewell"):
        return intent
    if kind == "ticket":
        if intent in ("status", "comment", "list_tickets", "escalate"):
            return intent
        if intent == "question" and policy.ASKS_HOWTO.search(lowered) and pending.get("next") != "subject":
            return "llm" if llm else "question"  # a new question in the middle of a form: answer it, drop the form
        return "fill"
    if kind == "comment_body":
        return "comment"
    if kind == "offer_ticket":
        if UNSOLVED.search(lowered) or intent in ("confirm", "create_ticket"):
            return "create_ticket"
        if SOLVED.search(lowered) and not UNSOLVED.search(lowered):
            return "thanks"
        if intent == "question" and policy.impact_priority(message):
            return "create_ticket"  # "it's urgent" answers the offer: they want someone on it
        return intent
    if kind == "offer_escalate":
        if intent == "confirm":
            return "escalate"
        return "deny" if intent in ("deny", "thanks") else intent
    if (
        kind == "clarify"
        and intent == "question"
        and policy.HOWTO.search(lowered)
        and len(problem.specific_words(message)) >= 2
    ):
        return "question"  # a question of its own, not more detail for the last one
    if kind == "clarify" and intent in ("question", "confirm", "deny"):
        return "clarify"
    return intent


def route(state: AgentState) -> Route:
    intent = state.get("intent")
    match intent:
        case "llm":
            return "agent"
        case "confirm" if (state.get("pending") or {}).get("kind") == "confirm_tool":
            return "confirm_action"
        case "question" | "clarify":
            return "retrieve"
        case "create_ticket" | "fill":
            return "slot_fill"
        case "status":
            return "status"
        case "comment":
            return "comment"
        case "list_tickets":
            return "list_tickets"
        case "escalate":
            return "escalate"
        case "out_of_scope":
            return "decline"
        case _:
            return "respond"


def after_slot_fill(state: AgentState) -> Literal["ticket_create", "__end__"]:
    return "__end__" if state.get("pending") else "ticket_create"


# --- wiring ---------------------------------------------------------------------------------------------


def build_graph(
    model: BaseChatModel | None = None, checkpointer: BaseCheckpointSaver[str] | None = None
) -> CompiledStateGraph[Any, Any, Any, Any]:
    """Compile the graph; ``model`` None means the offline policy handles every turn."""
    graph = StateGraph(AgentState, context_schema=AgentContext)
    graph.add_node("understand", understand)
    graph.add_node("retrieve", nodes.retrieve)
    graph.add_node("answer", nodes.answer)
    graph.add_node("slot_fill", nodes.slot_fill)
    graph.add_node("ticket_create", nodes.ticket_create)
    graph.add_node("status", nodes.status)
    graph.add_node("comment", nodes.comment)
    graph.add_node("list_tickets", nodes.list_tickets)
    graph.add_node("escalate", nodes.escalate)
    graph.add_node("decline", nodes.decline)
    graph.add_node("respond", nodes.respond)
    graph.add_node("confirm_action", nodes.confirm_action)
    if model is not None:
        graph.add_node("agent", llm_nodes.make_agent_node(model))
    else:
        graph.add_node("agent", _no_model)
    graph.add_node("tools", llm_nodes.tools)

    graph.add_edge(START, "understand")
    graph.add_conditional_edges("understand", route)
    graph.add_edge("retrieve", "answer")
    graph.add_conditional_edges("slot_fill", after_slot_fill)
    graph.add_conditional_edges("agent", llm_nodes.after_agent)
    graph.add_conditional_edges("tools", llm_nodes.after_tools)
    for node in ("answer", "ticket_create", "status", "comment", "list_tickets", "escalate", "decline", "respond"):
        graph.add_edge(node, END)
    graph.add_edge("confirm_action", END)
    return graph.compile(checkpointer=checkpointer)


async def _no_model(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    del runtime
    return nodes.say(state, "No language model is configured for this agent.")
