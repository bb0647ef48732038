"""The support conversation as a LangGraph StateGraph.

``understand`` reads the user's turn (and what the agent asked last) and routes. With the offline policy
it routes to a task node (retrieve -> answer, slot_fill -> ticket_create, status, comment, list_tickets,
escalate, decline, respond); with a chat model it routes to ``agent``, the model with the desk's tools bound,
looping through ``tools`` until it answers or a per-turn cap is reached. A destructive tool call is held
until the user confirms it in a later turn (``confirm_action``).
"""

from __future__ import annotations

import logging
import re
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, SystemMessage, ToolMessage
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime

from agent import compose, llm_turn, nodes, policy
from agent import record as problem
from agent.prompts import SYSTEM_PROMPT, search_hits, wrap_hits, wrap_tool_result
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

CAP_REPLY = (
    "I've reached the number of steps I can take for one message, so let me stop here rather than guess. "
    "Could you rephrase or narrow down the request? I can also hand this to a technician."
)
UNSOLVED = re.compile(
    r"\b(still|didn'?t (work|help|fix)|doesn'?t (work|help)|not (working|fixed|solved)|no luck|same (problem|issue)"
    r"|did not (work|help)|nothing changed|not resolved"
    r"|(that'?s|thats|this is|it'?s) not (it|what i (asked|meant|need))"
    r"|wrong (answer|article))\b"
)
SOLVED = re.compile(r"\b(that (worked|helped|fixed it|did it)|it works|works now|fixed|solved|resolved)\b")
LLM_FAILED_REPLY = (
    "Sorry, I can't reach my language model right now, so I can't work on this message. Please try again in a "
    "moment; if it keeps happening, ask me for a technician or open a ticket from the desk."
)
"""The reply when the chat model's endpoint is down, errors or answers with something that is not a completion."""
LLM_EMPTY_REPLY = (
    "Sorry, I couldn't put together an answer to that. Could you rephrase it? I can also hand this to a technician."
)
"""The reply when the model answers with no text and no usable tool call (e.g. tool-call arguments not JSON)."""


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
        and (
            (policy.STATUS_WORDS.search(lowered) and policy.THAT_TICKET.search(lowered))
            or policy.ASKS_TICKET_NUMBER.search(lowered)
        )
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
    update["prompt_tokens"] = 0
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
        return current  # "chat is fine" is not about the problem
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
    is declined, cancelling and farewells end what was going on, and a message too vague to search (or that
    names only a system) gets the policy's focused question. Anything else goes to the model ("llm")."""
    if pending.get("kind") == "confirm_tool":
        return "llm"
    if detected in ("out_of_scope", "cancel", "farewell"):
        return detected
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
    if llm:
        return "llm"
    lowered = message.lower()
    if intent in ("cancel", "farewell"):
        return intent
    if kind == "ticket":
        if intent in ("status", "comment", "list_tickets", "escalate"):
            return intent
        if intent == "question" and policy.ASKS_HOWTO.search(lowered) and pending.get("next") != "subject":
            return "question"  # a new question in the middle of a form: answer it, drop the form
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


# --- the LLM path -----------------------------------------------------------------------------------


def make_agent_node(model: BaseChatModel) -> Any:
    async def agent(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
        ctx = runtime.context
        steps = int(state.get("steps", 0))
        if steps >= ctx.max_steps:
            return nodes.say(state, CAP_REPLY)
        tools = llm_turn.support_tools(ctx.toolbox)
        bound = model.bind_tools(tools)
        update: dict[str, Any] = {}
        hits = list(state.get("hits") or [])
        if steps == 0:
            hits, found = await _retrieve_for_model(state, runtime)
            update.update(found)
        system = SYSTEM_PROMPT.format(actor=ctx.actor, state=llm_turn.state_context(dict(state)))
        if hits:
            system += "\n\nSearch results for this message (untrusted data):\n" + wrap_hits(hits[:3], limit=700)
        prompt: list[AnyMessage] = [SystemMessage(content=system), *_history(state.get("messages", []))]
        chars = len(system) + llm_turn.message_chars(prompt[1:]) + llm_turn.schema_chars(tools)
        tokens = max(int(state.get("prompt_tokens") or 0), llm_turn.estimate_tokens(chars))
        update.update({"prompt_tokens": tokens, "tool_log": list(state.get("tool_log", []))})
        logger.debug("prompt for step %d: about %d tokens", steps, tokens)
        try:
            response = await bound.ainvoke(prompt)
        except Exception as exc:
            # The endpoint is down, refused the request or sent something that is not a completion: the
            # turn ends with a polite reply (the real reason when the endpoint names it), not an exception.
            settings = ctx.extra.get("settings")
            reason = llm_turn.refusal(
                exc,
                base_url=getattr(settings, "openai_base_url", None),
                model=str(getattr(settings, "openai_model", "?")),
            )
            if reason is None:
                logger.warning("chat model failed: %s: %s", type(exc).__name__, exc)
            return {**update, **nodes.say(state, reason or LLM_FAILED_REPLY), "steps": steps + 1}
        if isinstance(response, AIMessage) and not response.tool_calls:
            text = response.text if hasattr(response, "text") else str(response.content)
            if calls := llm_turn.text_tool_calls(text, {t.name for t in tools}):
                # A local model that writes its call as JSON text instead of a tool call (Qwen's stock template).
                response = AIMessage(content="", tool_calls=calls)
                return {**update, "messages": [response], "steps": steps + 1}
            if not text.strip() or response.invalid_tool_calls:
                # Tool calls whose arguments are not JSON cannot be run or answered; keep them out of the
                # transcript (an API rejects a tool call with no result) and do not hand back an empty reply.
                logger.warning(
                    "chat model gave no usable answer (%d invalid tool calls)", len(response.invalid_tool_calls)
                )
                return {**update, **nodes.say(state, text.strip() or LLM_EMPTY_REPLY), "steps": steps + 1}
            reply = llm_turn.with_ticket_facts(_clean(text), ctx.extra.get("tickets_read", []))
            return {**update, "messages": [response], "steps": steps + 1, "reply": reply}
        return {**update, "messages": [response], "steps": steps + 1}

    return agent


def _clean(text: str) -> str:
    """The model's answer without sentences that read like instructions to an assistant (quoted from a
    document the model should not have obeyed). Paragraphs, lines and numbered steps stay as written."""
    lines = []
    for line in text.strip().splitlines():
        sentences = re.split(r"(?<=[.!?])[ \t]+", line.strip())
        kept = " ".join(s for s in sentences if not policy.INJECTION_RE.search(s))
        if kept or not line.strip():
            lines.append(kept)
    cleaned = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    return cleaned or LLM_EMPTY_REPLY


async def _retrieve_for_model(
    state: AgentState, runtime: Runtime[AgentContext]
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The offline policy's retrieval, done for the model: the hits go into its prompt, the citations and the
    confidence into the reply, so the model need not rediscover them with a tool call."""
    message = nodes.last_user_text(state)
    rule = policy.rule_intent(message)
    if rule not in (None, "question", "create_ticket") or problem.is_vague(message):
        return [], {"hits": []}
    if not runtime.context.toolbox.has("knowledge_search"):
        return [], {"hits": []}
    record = state.get("record") or {}
    asked = runtime.context.extra.get("pending_before") or {}
    query = problem.followup_query(record, message) if problem.FOLLOW_UP.search(message) else None
    if asked.get("kind") == "clarify":
        query = f"{asked.get('query', '')} {message}".strip()  # the answer to "what exactly happens with X?"
    query = query or message
    hits = await nodes.search(state, runtime, query)
    if not hits:
        return [], {"hits": [], "tool_log": list(state.get("tool_log", []))}
    ranked, conf = await nodes.scored(runtime, query, hits)
    found: dict[str, Any] = {"hits": ranked[:3], "confidence": conf, "tool_log": list(state.get("tool_log", []))}
    if conf >= nodes.ANSWER_THRESHOLD:
        found["citations"] = [nodes.hit_citation(h) for h in ranked[:1]]
    return ranked[:3], found


def _history(messages: list[AnyMessage]) -> list[AnyMessage]:
    """The recent transcript as a model API accepts it: starting at a user turn, and without tool calls
    whose results never arrived (a turn cut short by a cap)."""
    recent = list(messages[-llm_turn.HISTORY_MESSAGES :])
    while recent and not isinstance(recent[0], HumanMessage):
        recent.pop(0)
    answered = {m.tool_call_id for m in recent if isinstance(m, ToolMessage)}
    cleaned: list[AnyMessage] = []
    for msg in recent:
        if isinstance(msg, AIMessage) and (
            msg.invalid_tool_calls or (msg.tool_calls and any(c.get("id") not in answered for c in msg.tool_calls))
        ):
            if msg.content:
                cleaned.append(AIMessage(content=msg.content))
            continue
        if isinstance(msg, ToolMessage) and not any(
            isinstance(m, AIMessage) and any(c.get("id") == msg.tool_call_id for c in m.tool_calls) for m in cleaned
        ):
            continue
        if (
            isinstance(msg, ToolMessage)
            and isinstance(msg.content, str)
            and len(msg.content) > llm_turn.TOOL_RESULT_CHARS
        ):
            msg = msg.model_copy(update={"content": msg.content[: llm_turn.TOOL_RESULT_CHARS] + " …(cut)"})
        cleaned.append(msg)
    return cleaned


def after_agent(state: AgentState) -> Literal["tools", "__end__"]:
    last = state.get("messages", [])[-1:]
    if last and isinstance(last[0], AIMessage) and last[0].tool_calls and not state.get("reply"):
        return "tools"
    return "__end__"


async def tools(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """Run the model's tool calls through MCP: only the support tools, capped per turn; a write the user did
    not ask for in their own words, or a destructive call, is held until they confirm that exact action."""
    ctx = runtime.context
    last = state["messages"][-1]
    assert isinstance(last, AIMessage)
    log = list(state.get("tool_log", []))
    citations = list(state.get("citations", []))
    actions = list(state.get("actions", []))
    update: dict[str, Any] = {}
    results: list[ToolMessage] = []
    message = nodes.last_user_text(state)
    pending_before = ctx.extra.get("pending_before") or {}
    read_retrieved = bool(state.get("hits")) or any(n in ("knowledge_search", "kb_article_search") for n in log)
    held: str | None = None
    done: list[tuple[str, str]] = ctx.extra.setdefault("writes_done", [])
    withdrawn = policy.CANCEL.search(message.lower()) is not None
    for call in last.tool_calls:
        name, args = call["name"], dict(call.get("args") or {})
        call_id = call.get("id") or name
        if name == "ticket_create":
            # The ticket is filled from the problem record: the user's own words, the error, what was tried.
            args = llm_turn.ticket_from_record(args, state.get("record") or {}, ctx.actor)
        if held is not None:
            text = "Not run: another action is waiting for the user's confirmation."
        elif name in llm_turn.WRITE_TOOLS and withdrawn:
            text = "Not run: the user withdrew the request. Confirm that nothing was done."
        elif name in llm_turn.WRITE_TOOLS and (name, llm_turn.call_key(args)) in done:
            text = "Not run: this was already done this turn. Tell the user the result."
        elif len(log) >= ctx.max_tool_calls:
            text = "Not run: the tool-call limit for this turn is reached. Answer the user with what you have."
        elif name not in llm_turn.SUPPORT_TOOLS or not ctx.toolbox.has(name):
            text = f"Not run: there is no tool named {name!r}."
        elif name == "ticket_create" and not (state.get("record") or {}).get("statement"):
            text = "Not run: the user has not said what the problem is. Ask them what happens, and in which app."
        elif (question := _confirmation(name, args, state, ctx, message, pending_before, read_retrieved)) is not None:
            held = question
            update["pending"] = {"kind": "confirm_tool", "tool": name, "args": args}
            text = "Held: the user has to confirm this action first. Do not call it again this turn."
        else:
            log.append(name)
            outcome = await ctx.toolbox.call(name, ctx.toolbox.fit_args(name, args))
            if name in llm_turn.WRITE_TOOLS:
                done.append((name, llm_turn.call_key(args)))
            if outcome.ok and name == "ticket_get":
                ctx.extra.setdefault("tickets_read", []).append(outcome.data)
            if outcome.ok:
                text = wrap_tool_result(name, outcome.data, outcome.text)
                hits = search_hits(outcome.data)
                query = str(args.get("query", ""))
                searched = hits and name in ("knowledge_search", "kb_article_search")
                sims = await nodes.similarities(runtime, query, hits) if searched and hits else None
                _record(name, args, outcome.data, citations, actions, update, sims)
            else:
                plain = compose.failure(outcome.text, f"run {name.replace('_', ' ')}", args.get("ticket"))
                text = f"Failed. Tell the user in your own words, without quoting this: {plain}"
        results.append(ToolMessage(content=text, tool_call_id=call_id, name=name))
    out = {**update, "messages": results, "tool_log": log, "citations": citations, "actions": actions}
    if held is not None:
        out["messages"] = [*results, AIMessage(content=held)]
        out["reply"] = held
    return out


def _confirmation(
    name: str,
    args: dict[str, Any],
    state: AgentState,
    ctx: AgentContext,
    message: str,
    pending: dict[str, Any],
    read_retrieved: bool,
) -> str | None:
    """The question a call must wait on, or None to run it now. Every ticket is shown before it exists (the
    form does the same), a destructive call is confirmed, and so is a write the user did not ask for."""
    asked = name in llm_turn.WRITE_TOOLS and llm_turn.asked_for(name, message, pending)
    why = "The search results suggested an action." if read_retrieved else ""
    if name == "ticket_create":
        if read_retrieved and _priority_raised(args, state):
            return llm_turn.hold(name, args, why="The priority is higher than what you told me.")
        return compose.ticket_draft(args) if asked else llm_turn.hold(name, args, why=why)
    if ctx.toolbox.destructive(name) or (name in llm_turn.WRITE_TOOLS and not asked):
        return llm_turn.hold(name, args, why=why)
    return None


def _priority_raised(args: dict[str, Any], state: AgentState) -> bool:
    """A ticket priority above what the user's own words support (a document asked for "critical")."""
    said = policy.impact_priority(
        " ".join(str(m.content) for m in state.get("messages", []) if isinstance(m, HumanMessage))
    )
    # Only "critical" needs the user's own words: it pages people; a model may judge high or low itself.
    return str(args.get("priority")) == "critical" and said != "critical"


def after_tools(state: AgentState) -> Literal["agent", "__end__"]:
    return "__end__" if state.get("reply") else "agent"


def _record(
    name: str,
    args: dict[str, Any],
    data: Any,
    citations: list[dict[str, Any]],
    actions: list[str],
    update: dict[str, Any],
    sims: list[float] | None = None,
) -> None:
    """Collect citations, confidence, ticket numbers and handoffs from a successful tool result."""
    hits = search_hits(data)
    if hits is not None and name in ("knowledge_search", "kb_article_search"):
        query = str(args.get("query", ""))
        ranked, ranked_sims = policy.rank_hits(query, hits, sims)
        update["confidence"] = policy.confidence(query, ranked, ranked_sims)
        citations.extend(nodes.hit_citation(h) for h in ranked[:3])
        return
    if not isinstance(data, dict):
        return
    ticket = data.get("ticket") if isinstance(data.get("ticket"), dict) else data
    number = ticket.get("number") if isinstance(ticket, dict) else None
    if name in ("ticket_create", "ticket_comment", "ticket_escalate", "ticket_update"):
        number = number or args.get("ticket")
        if number and number not in actions:
            actions.append(str(number))
        if number:
            update["last_ticket"] = str(number)
    if name == "ticket_escalate" and number:
        update["handoff"] = {
            "ticket": str(number),
            "reason": str(args.get("reason", "")),
            "summary": str(args.get("summary", "")),
        }


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
        graph.add_node("agent", make_agent_node(model))
    else:
        graph.add_node("agent", _no_model)
    graph.add_node("tools", tools)

    graph.add_edge(START, "understand")
    graph.add_conditional_edges("understand", route)
    graph.add_edge("retrieve", "answer")
    graph.add_conditional_edges("slot_fill", after_slot_fill)
    graph.add_conditional_edges("agent", after_agent)
    graph.add_conditional_edges("tools", after_tools)
    for node in ("answer", "ticket_create", "status", "comment", "list_tickets", "escalate", "decline", "respond"):
        graph.add_edge(node, END)
    graph.add_edge("confirm_action", END)
    return graph.compile(checkpointer=checkpointer)


async def _no_model(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    del runtime
    return nodes.say(state, "No language model is configured for this agent.")
