"""The LLM path's pieces besides the graph: the tools a support conversation binds (lean schemas), the
context the model gets (dialogue state, retrieval done for it), the check that holds writes the user did
not ask for, and the plain reason when the endpoint refuses a request.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from langchain_core.messages import AnyMessage
from langchain_core.tools import BaseTool, StructuredTool

from agent import compose, policy
from agent import record as problem

logger = logging.getLogger(__name__)

SUPPORT_TOOLS: dict[str, tuple[str, tuple[str, ...]]] = {
    "knowledge_search": ("Search the help articles, documents and solved tickets.", ("query", "k")),
    "ticket_create": (
        "Open a ticket for the user.",
        (
            "subject",
            "description",
            "priority",
            "business_impact",
            "error_message",
            "steps_taken",
            "affected_system",
            "contact_email",
            "contact_phone",
            "preferred_contact",
        ),
    ),
    "ticket_get": ("Read one ticket and its public comments.", ("ticket",)),
    "ticket_list": ("List the user's tickets.", ("requester", "status", "limit")),
    "ticket_comment": ("Add a comment to a ticket.", ("ticket", "body")),
    "ticket_escalate": ("Hand a ticket to a human technician.", ("ticket", "reason", "summary")),
}
"""The tools a support conversation needs, with the one-line description and the arguments the model sees.
The caller's role decides which of them the desk offers at all."""
WRITE_TOOLS = frozenset({"ticket_create", "ticket_comment", "ticket_escalate"})
ASKED_FOR: dict[str, re.Pattern[str]] = {
    "ticket_create": re.compile(
        r"\b(ticket|tiket|case|incident|report (a|an|the|this)|log (it|this)|raise|escalat\w*|technician|someone"
        r"|open one|create one|look at it)\b",
        re.I,
    ),
    "ticket_comment": re.compile(r"\b(comment|note|add|tell (them|the)|update|reply|let them know|append)\b", re.I),
    "ticket_escalate": policy.HUMAN,
}
"""What the user's own words must contain for a write to run without a confirmation."""
NOT_SOLVED = re.compile(
    r"\b(still|didn'?t|doesn'?t|did not|does not|no luck|same (problem|issue)|nothing changed"
    r"|not (working|fixed|solved|resolved))\b",
    re.I,
)
"""An answer that did not help, which takes up the ticket it offered."""
CHARS_PER_TOKEN = 4
"""Prompt sizes are estimated at four characters a token (no tokenizer download at run time)."""
HISTORY_MESSAGES = 12
TOOL_RESULT_CHARS = 2400
"""A tool result the model reads is cut here: the history must fit a 4k-token local context."""


def lean_schema(schema: dict[str, Any], keep: tuple[str, ...]) -> dict[str, Any]:
    """The input schema with only ``keep``'s properties, short descriptions and no titles."""
    props = schema.get("properties", {})
    out: dict[str, Any] = {}
    for name in keep:
        if name not in props:
            continue
        out[name] = _lean_property(props[name])
    required = [r for r in schema.get("required", []) if r in out]
    lean: dict[str, Any] = {"type": "object", "properties": out}
    if required:
        lean["required"] = required
    return lean


def _lean_property(prop: dict[str, Any]) -> dict[str, Any]:
    lean: dict[str, Any] = {}
    variants = [v for v in prop.get("anyOf", []) if v.get("type") != "null"]
    base = variants[0] if len(variants) == 1 else prop
    if variants and len(variants) > 1:
        base = next((v for v in variants if v.get("type") == "array"), variants[0])
    for key in ("type", "enum", "items"):
        if key in base:
            lean[key] = base[key]
    if "items" in lean and isinstance(lean["items"], dict):
        lean["items"] = {k: v for k, v in lean["items"].items() if k in ("type", "enum")}
    if desc := prop.get("description"):
        lean["description"] = policy.clip(str(desc), 70)
    return lean or {"type": "string"}


def support_tools(toolbox: Any) -> list[BaseTool]:
    """LangChain tools for the support tools the caller may use, with lean descriptions and schemas."""
    tools: list[BaseTool] = []
    for name, (description, keep) in SUPPORT_TOOLS.items():
        if not toolbox.has(name):
            continue
        spec = toolbox.specs[name]
        schema = lean_schema(dict(spec.input_schema or {}), keep)

        async def run(_name: str = name, **kwargs: Any) -> str:
            return str((await toolbox.call(_name, kwargs)).text)

        tools.append(StructuredTool(name=name, description=description, args_schema=schema, coroutine=run))
    return tools


def schema_chars(tools: list[BaseTool]) -> int:
    """The characters of the tool definitions as an OpenAI request carries them."""
    from langchain_core.utils.function_calling import convert_to_openai_tool

    return len(json.dumps([convert_to_openai_tool(t) for t in tools]))


def estimate_tokens(chars: int) -> int:
    return -(-chars // CHARS_PER_TOKEN)


def tokens_read(response: Any) -> int:
    """The prompt tokens the endpoint says it read for ``response``, less those it reused from its cache
    (0 when it reports no usage)."""
    usage = getattr(response, "usage_metadata", None) or {}
    cached = (usage.get("input_token_details") or {}).get("cache_read") or 0
    return max(0, int(usage.get("input_tokens") or 0) - int(cached))


def message_chars(messages: list[AnyMessage]) -> int:
    total = 0
    for m in messages:
        total += len(m.content if isinstance(m.content, str) else json.dumps(m.content))
        for call in getattr(m, "tool_calls", None) or []:
            total += len(json.dumps(call.get("args", {}))) + len(call.get("name", ""))
    return total


def state_context(state: dict[str, Any]) -> str:
    """What the agent knows so far, for the system prompt: the problem record, the open question, the ticket."""
    rec = state.get("record") or {}
    lines = []
    if rec.get("statement"):
        lines.append(f"Problem: {rec['statement']}")
    for key, label in (("system", "System"), ("since", "Since"), ("affected", "Affected"), ("priority", "Priority")):
        if rec.get(key):
            lines.append(f"{label}: {rec[key]}")
    if rec.get("errors"):
        lines.append("Error: " + "; ".join(rec["errors"]))
    if rec.get("tried"):
        lines.append("Tried: " + "; ".join(rec["tried"]))
    if rec.get("answered"):
        lines.append("Articles already offered: " + "; ".join(rec["answered"]))
    if state.get("last_ticket"):
        lines.append(f"Ticket in this conversation: {state['last_ticket']}")
    if rec.get("statement"):
        draft = {
            "subject": problem.subject(rec),
            "error_message": "; ".join(rec.get("errors", [])) or None,
            "steps_taken": problem.steps_taken(rec),
            "affected_system": rec.get("system"),
            "priority": rec.get("priority"),
        }
        fields = {k: v for k, v in draft.items() if v}
        lines.append("Ticket fields from the record (use them for ticket_create): " + json.dumps(fields))
        missing = [k for k in ("priority",) if not rec.get(k)]
        if missing:
            lines.append("Still unknown: the impact (to choose the priority). Ask for it, one question.")
    return "\n".join(lines) or "Nothing yet."


GROUNDED_WORDS = 2
GROUNDED_SHARE = 0.25
"""A model's answer uses the retrieved text when at least this many of its content words that the question did
not already contain come from the text, and they are at least this share of those words."""


def uses_source(answer: str, hits: list[dict[str, Any]], query: str) -> bool:
    """Whether the model's answer draws on the retrieved hits it was shown (by word overlap, not wording):
    generic steps or "I couldn't find that" share little with the source beyond the question's own words."""
    asked = set(policy.words(query))
    source: set[str] = set()
    for hit in hits:
        source |= set(policy.words(f"{hit.get('title') or ''} {policy.hit_text(hit)}"))
    said = set(policy.words(answer)) - asked
    shared = said & source
    if not said:
        return False
    needed = min(GROUNDED_WORDS, len(source - asked))
    return len(shared) >= needed and len(shared) / len(said) >= GROUNDED_SHARE


def asked_for(name: str, message: str, pending: dict[str, Any] | None = None) -> bool:
    """Whether the user's own words in this turn ask for the write ``name``."""
    pattern = ASKED_FOR.get(name)
    if pattern is None:
        return False
    kind = (pending or {}).get("kind")
    if name == "ticket_create" and kind == "ticket":
        return True  # answering the agent's own form
    if (
        name == "ticket_create"
        and kind == "offer_ticket"
        and (policy.CONFIRM.search(message) or NOT_SOLVED.search(message))
    ):
        return True  # "yes" or "that didn't help" to "shall I open a ticket?"; more detail is not a yes
    return pattern.search(message) is not None


REFUSALS: list[tuple[re.Pattern[str], frozenset[int], str, str]] = [
    (
        re.compile(
            r"context (length|window|size)|maximum context|n_ctx|too many tokens|exceeds? the (context|available)"
            r"|prompt is too long|context_length_exceeded",
            re.I,
        ),
        frozenset(),
        "The conversation is too long for my language model's context window, so I couldn't answer. Starting a "
        "new conversation usually helps; I can also hand this to a technician.",
        "the model's context is too small for this request: raise the server's context size (llama.cpp --ctx-size, "
        "Ollama num_ctx) or use a larger model (SUPPORT_OPENAI_MODEL)",
    ),
    (
        re.compile(r"model .*(not found|does not exist)|no such model|unknown model|model_not_found", re.I),
        frozenset(),
        "My language model isn't available on its server right now, so I couldn't answer. Please try again "
        "later, or ask me for a technician.",
        "the endpoint does not serve the configured model: check SUPPORT_OPENAI_MODEL",
    ),
    (
        re.compile(r"unauthori[sz]ed|invalid api key|incorrect api key|authentication|401|403|permission", re.I),
        frozenset({401, 403}),
        "My language model's server refused my credentials, so I couldn't answer. An administrator needs to fix "
        "the connection; meanwhile I can hand this to a technician.",
        "the endpoint rejected the API key: check SUPPORT_OPENAI_API_KEY",
    ),
    (
        # A 404 that names no model: nothing serves chat completions at that address.
        re.compile(r"404 page not found|cannot post|no route", re.I),
        frozenset({404}),
        "My language model's server doesn't answer at the address I'm set up with, so I couldn't answer. An "
        "administrator needs to fix the connection; meanwhile I can hand this to a technician.",
        "no chat completions at this URL: check SUPPORT_OPENAI_BASE_URL (an OpenAI-compatible server's usually "
        "ends in /v1)",
    ),
    (
        re.compile(r"timed? ?out|timeout", re.I),
        frozenset(),
        "My language model took too long to answer, so I stopped waiting. Please try again; a shorter question "
        "may help.",
        "the model did not answer within SUPPORT_LLM_TIMEOUT seconds: raise it, or use a faster model",
    ),
]
"""An endpoint's refusal, recognised by its words (each server has its own) or else by its HTTP status: the
user's reply and the setting to change, for the log."""


def refusal(exc: BaseException, *, base_url: str | None, model: str) -> str | None:
    """The user's reply for an endpoint that refused the request, logging the setting to change; None when
    the failure is not a refusal we can name (the caller then says the model cannot be reached)."""
    text = f"{type(exc).__name__}: {exc}"
    status = getattr(exc, "status_code", None)
    matched = next((r for r in REFUSALS if r[0].search(text)), None) or next(
        (r for r in REFUSALS if status in r[1]), None
    )
    if matched is None:
        return None
    _, _, reply, hint = matched
    logger.warning("chat model at %s (%s) refused the request: %s; %s", base_url, model, text[:300], hint)
    return reply


FENCED = re.compile(r"```(?:json)?\s*(\{.*?\})\s*```|<tool_call>\s*(\{.*?\})\s*</tool_call>", re.S)


def text_tool_calls(text: str, names: set[str]) -> list[dict[str, Any]]:
    """Tool calls written as JSON text ({"name": ..., "arguments": {...}}, bare, fenced or in <tool_call> tags)
    naming a bound tool; [] when the text is an ordinary answer."""
    stripped = text.strip()
    blobs = [a or b for a, b in FENCED.findall(stripped)]
    if not blobs and stripped.startswith("{") and stripped.endswith("}"):
        blobs = [stripped]
    calls = []
    for n, blob in enumerate(blobs):
        data = _lenient_json(blob)
        if data is None:
            continue
        if not isinstance(data, dict) or data.get("name") not in names:
            continue
        args = data.get("arguments", data.get("parameters", {}))
        if isinstance(args, str):
            try:
                args = json.loads(args)
            except ValueError:
                continue
        if isinstance(args, dict):
            calls.append({"name": data["name"], "args": args, "id": f"text_call_{n}", "type": "tool_call"})
    return calls


def _lenient_json(blob: str) -> Any:
    """``blob`` parsed as JSON, or with the closing braces a small model left off (the 0.5B model ends a call
    ``...}`` one ``}`` short); None when it is not JSON either way."""
    for attempt in (blob, blob + "}" * (blob.count("{") - blob.count("}"))):
        try:
            return json.loads(attempt)
        except ValueError:
            continue
    return None


def hold(name: str, args: dict[str, Any], *, why: str = "") -> str:
    return compose.confirmation(name, args, why)


def ticket_from_record(args: dict[str, Any], record: dict[str, Any], actor: str) -> dict[str, Any]:
    """The model's ticket_create arguments with what the problem record knows filled in: the description
    quotes the user (the model's own summary, if any, leads it), and the error, the steps tried, the system
    and the priority come from the record where the model left them out. The model's error, steps and
    contact stay only when the user's words contain them, and a subject that names nothing the user said is
    the record's."""
    if not record.get("statement"):
        return args
    out = dict(args)
    quoted = problem.description(record, actor)
    summary = str(out.get("description") or "").strip()
    if record.get("quotes"):
        out["description"] = f"{summary}\n\n{quoted}" if summary and summary not in quoted else quoted
    filled = {
        "subject": problem.subject(record),
        "error_message": "; ".join(record.get("errors", [])) or None,
        "steps_taken": problem.steps_taken(record),
        "affected_system": record.get("system"),
        "priority": record.get("priority"),
        "business_impact": record.get("impact"),
    }
    # What the technician reads must be what the user said: the model's contact, error and steps are kept
    # only when the user's own words contain them (a small model invents an address, or copies a document).
    words = " ".join(str(q) for q in record.get("quotes", [])).lower()
    for key in (
        "error_message",
        "steps_taken",
        "business_impact",
        "contact_email",
        "contact_phone",
        "preferred_contact",
    ):
        value = str(out.get(key) or "").strip()
        if value and value.lower() not in words:
            out.pop(key)
    if out.get("contact_email") and not policy.EMAIL_RE.fullmatch(str(out["contact_email"]).strip()):
        out.pop("contact_email")  # "me": a substring of what the user said is not an address
    if out.get("contact_phone") and len(re.sub(r"\D", "", str(out["contact_phone"]))) < 6:
        out.pop("contact_phone")
    for key, value in (record.get("contact") or {}).items():
        out[key] = value
    if out.get("preferred_contact") not in (None, "email", "phone", "chat"):
        out.pop("preferred_contact")
    for key, known in filled.items():
        if known and not out.get(key):
            out[key] = known
    if record.get("priority"):
        # The user's own words about the impact set the priority, as in the form; a model's is a guess.
        out["priority"], out["business_impact"] = record["priority"], record.get("impact")
    said = set(policy.words(f"{record.get('statement', '')} {record.get('system') or ''}"))
    if not said & set(policy.words(str(out.get("subject") or ""))):
        out["subject"] = filled["subject"]  # "Open a ticket": the model echoed the request, not the problem
    return out


def ticket_ref(value: Any, message: str) -> Any:
    """The ticket the user named, where the model shortened its number ("16" for TCK-000016): the desk reads
    a bare number as an id, which may be another ticket."""
    named = {m.upper() for m in policy.TICKET_RE.findall(message)}
    text = str(value).strip()
    if len(named) != 1 or policy.TICKET_RE.fullmatch(text) or not re.fullmatch(r"(?i)(tck-?)?0*\d+", text):
        return value
    (number,) = named
    return number if int(re.sub(r"\D", "", text)) == int(number[4:]) else value


def call_key(args: dict[str, Any]) -> str:
    """A tool call's arguments as one comparable string (the same write twice in a turn runs once)."""
    return json.dumps(args, sort_keys=True, default=str)


def with_ticket_facts(reply: str, tickets: list[Any]) -> str:
    """The model's reply, with a line for each ticket it read whose status or priority the reply leaves out
    (a status answer always says both)."""
    lines = [reply]
    for data in tickets:
        ticket = data.get("ticket", data) if isinstance(data, dict) else None
        if not isinstance(ticket, dict) or not ticket.get("number"):
            continue
        status = str(ticket.get("status") or "").replace("_", " ")
        priority = str(ticket.get("priority") or "")
        low = reply.lower()
        if priority and (priority.lower() not in low or status.lower() not in low):
            lines.append(f"{ticket['number']} is {status}, {priority} priority.")
    return "\n\n".join(dict.fromkeys(lines))
