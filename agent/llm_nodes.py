"""The LLM path's graph nodes: ``agent`` (one model step, with the dialogue state and the retrieval done for
the model as context) and ``tools`` (the model's calls run through MCP under the guards: only the support
tools, per-turn caps, writes held until the user confirms them, tool failures in plain words).
"""

from __future__ import annotations

import difflib
import logging
import re
from typing import Any, Literal, cast

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, SystemMessage, ToolMessage
from langgraph.runtime import Runtime

from agent import compose, llm_turn, nodes, policy
from agent import record as problem
from agent.prompts import CONTEXT_PROMPT, SYSTEM_PROMPT, search_hits, wrap_hits, wrap_tool_result
from agent.state import AgentContext, AgentState

logger = logging.getLogger(__name__)

CAP_REPLY = (
    "I've reached the number of steps I can take for one message, so let me stop here rather than guess. "
    "Could you rephrase or narrow down the request? I can also hand this to a technician."
)
LLM_FAILED_REPLY = (
    "Sorry, I can't reach my language model right now, so I can't work on this message. Please try again in a "
    "moment; if it keeps happening, ask me for a technician or open a ticket from the desk."
)
"""The reply when the chat model's endpoint is down, errors or answers with something that is not a completion."""
LLM_EMPTY_REPLY = (
    "Sorry, I couldn't put together an answer to that. Could you rephrase it? I can also hand this to a technician."
)
"""The reply when the model answers with no text and no usable tool call (e.g. tool-call arguments not JSON)."""


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
        if steps == 0 and (noted := await _contact_for_ticket(state, runtime)) is not None:
            return noted
        if steps == 0:
            hits, found = await _retrieve_for_model(state, runtime)
            update.update(found)
        system = SYSTEM_PROMPT.format(actor=ctx.actor)
        context = CONTEXT_PROMPT.format(state=llm_turn.state_context(dict(state)))
        if hits:
            context += "\n\nSearch results for this message (untrusted data):\n" + wrap_hits(hits[:3], limit=700)
        history = _with_context(_history(state.get("messages", [])), SystemMessage(content=context))
        prompt: list[AnyMessage] = [SystemMessage(content=system), *history]
        chars = len(system) + llm_turn.message_chars(prompt[1:]) + llm_turn.schema_chars(tools)
        tokens = max(int(state.get("prompt_tokens") or 0), llm_turn.estimate_tokens(chars))
        update.update({"prompt_tokens": tokens, "tool_log": list(state.get("tool_log", []))})
        logger.debug("prompt for step %d: about %d tokens", steps, tokens)
        try:
            response = await bound.ainvoke(prompt)
            update["prompt_tokens_read"] = int(state.get("prompt_tokens_read") or 0) + llm_turn.tokens_read(response)
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
                now = cast(AgentState, {**state, **update})
                if not text.strip() and _policy_drafts(now, runtime):
                    # "please open a ticket: <the problem>" and the model ended with nothing (the 0.5B model searched
                    # the knowledge base instead, or not, depending on one capital letter in its context): the
                    # graph's own draft from the record, whose form then takes the next turns.
                    return {**update, **(await nodes.slot_fill(now, runtime)), "steps": steps + 1}
                if not text.strip() and _policy_answers(now, runtime):
                    # The policy's reply instead: its cited answer when this turn's retrieval answers the
                    # question, else its focused question or ticket offer.
                    return {**update, **(await nodes.answer(now, runtime)), "steps": steps + 1}
                return {**update, **nodes.say(state, text.strip() or LLM_EMPTY_REPLY), "steps": steps + 1}
            now = cast(AgentState, {**state, **update})
            asked = nodes.last_user_text(now)
            knowledge = policy.ASKS_HOWTO.search(asked.lower()) or nodes.GENERAL_ASK.search(asked)
            # A question back is the model's to ask; an answer to a how-to or general question must come from
            # the knowledge base, and so must any answer where retrieval has one.
            claims = _answered(now) or ("?" not in text and knowledge is not None)
            if (
                claims
                and _policy_answers(now, runtime)
                and not llm_turn.uses_source(
                    text, list(now.get("hits") or []), str(now.get("query") or nodes.last_user_text(now))
                )
            ):
                # The model's reply does not draw on the retrieved text: generic steps or "I couldn't find that"
                # while retrieval answers the question, or an answer from its own knowledge ("1" legs, Slack's
                # menus) when nothing does. The policy's reply instead: its cited answer, its focused question,
                # its "I couldn't find a reliable answer" with a ticket offer, or its decline.
                logger.info("model answer does not use the retrieved source; answering from it instead")
                return {**update, **(await nodes.answer(now, runtime)), "steps": steps + 1}
            if _answered(now) and _policy_answers(now, runtime) and await _cuts_the_procedure(text, now, runtime):
                # The model copied a procedure from a chunk the context cut short: the policy's has every step.
                logger.info("model answer stops before the procedure ends; answering from the source instead")
                return {**update, **(await nodes.answer(now, runtime)), "steps": steps + 1}
            if (number := status_asked(nodes.last_user_text(state))) and not _read(number, ctx.extra):
                # A status answered without reading the ticket: the facts would be made up. Look it up.
                logger.info("model answered the status of %s without reading it; looking it up", number)
                return {**update, **(await nodes.status(now, runtime)), "steps": steps + 1}
            if _repeats(text, list(state.get("messages", []))):
                # A small model copies its last reply ("I've created ticket ...") for whatever comes next.
                logger.info("model repeated an earlier reply; answering without it")
                return {**update, **(await _instead_of_repeat(now, runtime)), "steps": steps + 1}
            reply = llm_turn.with_ticket_facts(_clean(text), ctx.extra.get("tickets_read", []))
            if _answered(now):
                reply = compose.with_sources(reply, list(now.get("citations") or []))
            return {**update, "messages": [response], "steps": steps + 1, "reply": reply}
        return {**update, "messages": [response], "steps": steps + 1}

    return agent


async def _contact_for_ticket(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any] | None:
    """An email or phone number sent right after a ticket was created (nothing else pending): it is added to
    that ticket as a comment, the way the form takes the contact last (a small model offered the same ticket
    again). None when the message is anything else."""
    message = nodes.last_user_text(state)
    ticket = state.get("last_ticket")
    pending = runtime.context.extra.get("pending_before") or {}
    if not ticket or pending.get("kind") is not None:
        return None
    if only_contact_method(message) and not only_contact(message):
        # "chat is fine" after the ticket exists: nothing to add to it (a small model said it couldn't help).
        how = {"chat": "here in the chat", "email": "by email", "phone": "by phone"}
        way = how.get(policy.contact_of(message).get("preferred_contact", ""), "that way")
        return nodes.say(state, f"Noted: the technician working on {ticket} will reach you {way}.")
    if not only_contact(message):
        return None
    found = policy.contact_of(message)
    contact = found.get("contact_email") or found.get("contact_phone") or message.strip()
    body = f"The requester can be reached at {contact}."
    outcome = await nodes.call(state, runtime, "ticket_comment", {"ticket": ticket, "body": body})
    if not outcome.ok:
        return nodes.say(state, compose.failure(outcome.text, f"add your contact to {ticket}", ticket))
    text = f"Thanks, I've added {contact} to {ticket}, so the technician can reach you there."
    return nodes.say(state, text, tool_log=list(state.get("tool_log", [])), actions=[ticket])


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
        return [], {"hits": [], "query": ""}
    if not runtime.context.toolbox.has("knowledge_search"):
        return [], {"hits": [], "query": ""}
    record = state.get("record") or {}
    asked = runtime.context.extra.get("pending_before") or {}
    query = problem.followup_query(record, message) if problem.FOLLOW_UP.search(message) else None
    if asked.get("kind") == "clarify":
        query = f"{asked.get('query', '')} {message}".strip()  # the answer to "what exactly happens with X?"
    query = query or message
    hits = await nodes.search(state, runtime, query)
    if not hits:
        return [], {"hits": [], "query": query, "tool_log": list(state.get("tool_log", []))}
    ranked, conf = await nodes.scored(runtime, query, hits)
    found: dict[str, Any] = {
        "hits": ranked[:3],
        "query": query,
        "confidence": conf,
        "tool_log": list(state.get("tool_log", [])),
    }
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


def _with_context(history: list[AnyMessage], context: SystemMessage) -> list[AnyMessage]:
    """The history with this turn's context just before the user's latest message (what came before it is the
    same as in the last request, so a local server reuses it)."""
    last_user = max((n for n, m in enumerate(history) if isinstance(m, HumanMessage)), default=0)
    return [*history[:last_user], context, *history[last_user:]]


def after_agent(state: AgentState) -> Literal["tools", "__end__"]:
    last = state.get("messages", [])[-1:]
    if last and isinstance(last[0], AIMessage) and last[0].tool_calls and not state.get("reply"):
        return "tools"
    return "__end__"


async def tools(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """Run the model's tool calls through MCP: only the support tools, capped per turn, none twice; a write
    the user did not ask for in their own words, or a destructive call, is held until they confirm that exact
    action. Some results end the turn without another model step: a refused or repeated ticket look-up, a
    ticket asked for before the problem, a ticket proposed for a question the search answers."""
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
    ends: str | None = None
    answer_instead = False
    status_instead = False
    done: list[tuple[str, str]] = ctx.extra.setdefault("calls_done", [])
    withdrawn = policy.CANCEL.search(message.lower()) is not None
    for call in last.tool_calls:
        name, args = call["name"], dict(call.get("args") or {})
        call_id = call.get("id") or name
        if name == "ticket_create":
            # The ticket is filled from the problem record: the user's own words, the error, what was tried.
            args = llm_turn.ticket_from_record(args, state.get("record") or {}, ctx.actor)
        if "ticket" in args:
            args["ticket"] = llm_turn.ticket_ref(args["ticket"], message)
        if held is not None:
            text = "Not run: another action is waiting for the user's confirmation."
        elif name in llm_turn.WRITE_TOOLS and withdrawn:
            text = "Not run: the user withdrew the request. Confirm that nothing was done."
        elif name == "ticket_create" and status_asked(message):
            # "any news on TCK-000047?" asks about a ticket the user has; a new one was not asked for.
            text = "Not run: the user asked for the status of a ticket."
            status_instead = True
        elif name in llm_turn.WRITE_TOOLS and (name, llm_turn.call_key(args)) in done:
            text = "Not run: this was already done this turn. Tell the user the result."
        elif (name, llm_turn.call_key(args)) in done:
            # The same read again (a small model repeats it until the step cap): a status look-up ends with
            # the ticket's facts, anything else is answered from the result already given.
            text = "Not run: the result is above. Answer the user with it."
            facts = llm_turn.with_ticket_facts("", ctx.extra.get("tickets_read", [])).strip()
            if name == "ticket_get" and facts:
                ends = ends or facts
        elif len(log) >= ctx.max_tool_calls:
            text = "Not run: the tool-call limit for this turn is reached. Answer the user with what you have."
        elif name not in llm_turn.SUPPORT_TOOLS or not ctx.toolbox.has(name):
            text = f"Not run: there is no tool named {name!r}."
        elif name == "ticket_create" and not (state.get("record") or {}).get("statement"):
            # "open a ticket please" before saying what is wrong: the form's first question, asked once (a
            # model told to ask proposed the ticket again until the step cap).
            text = "Not run: the user has not said what the problem is."
            ends = ends or policy.SLOT_QUESTIONS["subject"]
            update["pending"] = {"kind": "ticket", "next": "subject"}
        elif name == "ticket_create" and _answered(state) and not llm_turn.asked_for(name, message, pending_before):
            # A question the search answers, turned into a ticket nobody asked for: the answer is the reply.
            text = "Not run: the search results answer the question."
            answer_instead = True
        elif (
            name == "ticket_create"
            and not _raised(args, state, read_retrieved)
            and not (state.get("record") or {}).get("priority")
            and llm_turn.asked_for(name, message, pending_before)
        ):
            # Nobody said how much it matters: the model's priority is a guess ("high" for a double-clicking
            # mouse). The draft is shown and the graph's own form asks for the impact, as the offline policy does;
            # an answer to it is not a go-ahead (not "shown"): the form's contact or "Shall I create it?" follows.
            slots = nodes.form_slots(args)
            held = compose.draft_text(slots) + "\n\n" + policy.SLOT_QUESTIONS["impact"]
            update.update({"slots": slots, "pending": {"kind": "ticket", "next": "impact", "shown": False}})
            text = "Held: the graph asks the user for the impact. Do not call it again this turn."
        elif (question := _confirmation(name, args, state, ctx, message, pending_before, read_retrieved)) is not None:
            held = question
            # A draft (not a hold for a priority nobody gave) may be taken up by a contact or "open it".
            draft = name == "ticket_create" and not _raised(args, state, read_retrieved)
            # Taking up a draft whose impact nobody gave starts the form at the impact question.
            ask_impact = draft and not (state.get("record") or {}).get("priority")
            update["pending"] = {
                "kind": "confirm_tool",
                "tool": name,
                "args": args,
                "draft": draft,
                "ask_impact": ask_impact,
            }
            text = "Held: the user has to confirm this action first. Do not call it again this turn."
        else:
            log.append(name)
            outcome = await ctx.toolbox.call(name, ctx.toolbox.fit_args(name, args))
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
                if name == "ticket_get" and compose.NOT_FOUND.search(outcome.text):
                    # A look-up of a ticket the caller cannot see: the refusal is the answer. A model asked
                    # again tends to retry the same number until the step cap.
                    ends = ends or plain
        results.append(ToolMessage(content=text, tool_call_id=call_id, name=name))
    out = {**update, "messages": results, "tool_log": log, "citations": citations, "actions": actions}
    if status_instead and held is None and ends is None:
        now = cast(AgentState, {**state, **{k: v for k, v in out.items() if k != "messages"}})
        looked = await nodes.status(now, runtime)
        return {**out, **looked, "messages": [*results, *looked["messages"]]}
    if answer_instead and held is None and ends is None:
        now = cast(AgentState, {**state, **{k: v for k, v in out.items() if k != "messages"}})
        answered = await nodes.answer(now, runtime)
        return {**out, **answered, "messages": [*results, *answered["messages"]]}
    if (final := held or ends) is not None:
        out["messages"] = [*results, AIMessage(content=final)]
        out["reply"] = final
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
        if _raised(args, state, read_retrieved):
            return llm_turn.hold(name, args, why="The priority is higher than what you told me.")
        if not (state.get("record") or {}).get("priority"):
            args.pop("priority", None)  # the model's guess: the form asks for the impact once it is taken up
        # One the user did not ask for is offered as the same draft: it names the action, and waits for a yes.
        return compose.ticket_draft(args) if asked else compose.ticket_draft(args, lead=compose.OFFER_LEAD)
    if ctx.toolbox.destructive(name) or (name in llm_turn.WRITE_TOOLS and not asked):
        return llm_turn.hold(name, args, why=why)
    return None


async def _cuts_the_procedure(text: str, state: AgentState, runtime: Runtime[AgentContext]) -> bool:
    """Whether the model's answer lists fewer steps than the best hit's whole procedure (with the neighbouring
    chunks of its section), as when it copies a chunk cut at the context's limit."""
    given = compose.step_count(text)
    hits = list(state.get("hits") or [])
    if not given or not hits:
        return False
    whole = await nodes.procedure(state, runtime, hits[0], hits)
    return compose.step_count(compose.answer_body(str(state.get("query") or ""), whole)) > given


def status_asked(message: str) -> str | None:
    """The ticket number whose status the message asks for ("any news on TCK-000047?", "wrong ticket, I meant
    TCK-000019"), or None."""
    named = {m.upper() for m in policy.TICKET_RE.findall(message)}
    if len(named) != 1 or policy.rule_intent(message) != "status":
        return None
    return named.pop()


def _read(number: str, extra: dict[str, Any]) -> bool:
    """Whether this turn read ``number`` through ticket_get (or tried: a refusal ends the turn itself)."""
    for data in extra.get("tickets_read", []):
        ticket = data.get("ticket", data) if isinstance(data, dict) else None
        if isinstance(ticket, dict) and str(ticket.get("number", "")).upper() == number:
            return True
    return False


REPEAT_RATIO = 0.9
"""A model reply this similar (difflib ratio) to one of the conversation's last assistant replies is a copy."""


def _repeats(text: str, messages: list[AnyMessage]) -> bool:
    """Whether ``text`` repeats one of the last three replies the assistant gave in this conversation."""
    said = " ".join(text.lower().split())
    earlier = [
        " ".join(str(m.content).lower().split())
        for m in messages
        if isinstance(m, AIMessage) and isinstance(m.content, str) and m.content.strip()
    ][-3:]
    return bool(said) and any(difflib.SequenceMatcher(None, said, e).ratio() >= REPEAT_RATIO for e in earlier)


async def _instead_of_repeat(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """The reply when the model only repeated itself: more about the problem after a ticket exists is offered
    as a comment on it (added on a yes); otherwise the ticket is named, or the policy answers a question."""
    message = nodes.last_user_text(state)
    ticket = state.get("last_ticket")
    about = problem.is_problem_text(message) or policy.impact_priority(message) is not None
    if ticket and about and runtime.context.toolbox.has("ticket_comment"):
        text = (
            f"{ticket} is already open, so I haven't opened another ticket. Shall I add what you just said to it "
            "as a comment, so the technician sees it?"
        )
        args = {"ticket": ticket, "body": message.strip()}
        return nodes.say(state, text, pending={"kind": "confirm_tool", "tool": "ticket_comment", "args": args})
    if ticket:
        text = f"Your ticket {ticket} is open; you can ask me for its status any time. Anything else I can help with?"
        return nodes.say(state, text)
    if _policy_drafts(state, runtime):
        return await nodes.slot_fill(state, runtime)  # the request and the problem were there: draft it
    if _policy_answers(state, runtime):
        return await nodes.answer(state, runtime)
    return nodes.say(state, LLM_EMPTY_REPLY)


def only_contact(message: str) -> bool:
    """Whether the message is an email address or phone number and little else ("dana@example.org", "call
    me on 0151 234567")."""
    found = policy.contact_of(message)
    if "contact_email" not in found and "contact_phone" not in found:
        return False
    rest = policy.EMAIL_RE.sub(" ", message)
    if "contact_phone" in found:
        rest = policy.PHONE_RE.sub(" ", rest)
    return len(policy.words(rest)) <= 3 and not policy.CANCEL.search(rest.lower())


def only_contact_method(message: str) -> bool:
    """Whether the message only says how to be reached ("email is fine", "chat", "phone please"): the answer
    to a ticket draft's one question, like an address."""
    found = policy.contact_of(message)
    low = message.lower()
    return (
        "preferred_contact" in found
        and len(policy.words(message)) <= 4
        and not (policy.CANCEL.search(low) or policy.DENY.search(low) or policy.CORRECTION.search(low))
    )


def _policy_answers(state: AgentState, runtime: Runtime[AgentContext]) -> bool:
    """Whether the policy's answer node may reply for the model this turn: the message is a question (not a
    request for a ticket or another desk action) and nothing but the knowledge search ran."""
    message = nodes.last_user_text(state)
    pending = runtime.context.extra.get("pending_before") or {}
    if policy.rule_intent(message) not in (None, "question") or llm_turn.asked_for("ticket_create", message, pending):
        return False
    if policy.TICKET_RE.search(message):
        return False  # about a ticket, not the knowledge base
    return _only_searched(state)


def _policy_drafts(state: AgentState, runtime: Runtime[AgentContext]) -> bool:
    """Whether the graph may draft the ticket for the model this turn: the message asks for one and states the
    problem, nothing was pending, and no desk write ran."""
    message = nodes.last_user_text(state)
    pending = runtime.context.extra.get("pending_before") or {}
    if pending.get("kind") is not None or not llm_turn.asked_for("ticket_create", message, pending):
        return False
    if not problem.is_problem_text(message) or policy.TICKET_RE.search(message):
        return False
    return _only_searched(state)


def _only_searched(state: AgentState) -> bool:
    """Whether nothing but a knowledge search ran this turn (no desk write the policy's reply would hide)."""
    return set(state.get("tool_log") or []) <= {"knowledge_search", "kb_article_search", "kb_article_get"}


def _answered(state: AgentState) -> bool:
    """Whether this turn's own retrieval found an answer the policy would give (the model was shown it)."""
    return bool(state.get("hits")) and float(state.get("confidence") or 0.0) >= nodes.ANSWER_THRESHOLD


def _raised(args: dict[str, Any], state: AgentState, read_retrieved: bool) -> bool:
    """Whether a ticket's priority may come from retrieved text rather than the user (it is held, not drafted)."""
    return read_retrieved and _priority_raised(args, state)


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
