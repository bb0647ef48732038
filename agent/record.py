"""The conversation's running problem record: what the user has said about their problem so far.

Every user turn that talks about the problem adds to it (the affected system, the symptom in the user's
words, error codes and messages by pattern, who is affected and since when, what was tried, the impact),
and every answer the agent gives is noted. Retrieval for a follow-up is rewritten from it, clarifying
questions ask for what it lacks, and a ticket is filled from it. Plain data (a dict), so the checkpointer
keeps it across turns and restarts.
"""

from __future__ import annotations

import difflib
import re
from typing import Any

from agent import policy

Record = dict[str, Any]
"""Keys: system, statement, quotes (list), errors (list), affected, since, tried (list), answered (list),
impact, priority, topic, platform."""

_R = re.compile

SYSTEM_RE = _R(
    r"\b(?:the\s+|our\s+|my\s+)?((?:[A-Z][\w&.-]*\s+){0,2}(?:portal|app|application|system|site|server|tool|client))\b"
    r"|\b(vpn|outlook|teams|zoom|slack|sharepoint|onedrive|excel|word|powerpoint|chrome|edge|firefox|sap|crm|erp"
    r"|navision|salesforce|jira|intranet|wi-?fi|wifi|email|e-mail|printer|scanner|scaner|laptop|desktop|monitor"
    r"|docking station|dock|keyboard|mouse|headset|webcam|camera|projector|display|badge reader|card reader|kiosk"
    r"|tablet|phone|mfa|authenticator|timesheet app|timesheet|payroll portal|payroll|expenses app|expenses"
    r"|software center|self service)\b",
    re.IGNORECASE,
)
"""A named system ("the Payroll portal", "Timesheet app") or a known product or device."""
SYSTEM_NAMES = {
    "vpn": "VPN",
    "outlook": "Outlook",
    "teams": "Teams",
    "sap": "SAP",
    "crm": "CRM",
    "erp": "ERP",
    "wifi": "Wi-Fi",
    "wi-fi": "Wi-Fi",
    "mfa": "MFA",
    "scaner": "scanner",
    "zoom": "Zoom",
    "slack": "Slack",
    "sharepoint": "SharePoint",
    "onedrive": "OneDrive",
    "excel": "Excel",
    "powerpoint": "PowerPoint",
    "chrome": "Chrome",
    "firefox": "Firefox",
    "navision": "Navision",
    "salesforce": "Salesforce",
    "jira": "Jira",
    "email": "e-mail",
}
GENERIC_SYSTEMS = frozenset({"app", "application", "system", "site", "server", "tool", "client", "portal"})
SINCE_RE = _R(
    r"\b(since (?:this morning|yesterday|last \w+|the (?:update|upgrade|weekend)(?: on \w+)?|\w+day|\d[\w:./-]*"
    r"|(?:early |late )?(?:morning|today|lunch|monday|tuesday|wednesday|thursday|friday|saturday|sunday)))"
    r"|\b(for (?:the (?:last|past) )?(?:\d+|two|three|a few|several) (?:hours?|days?|weeks?))"
    r"|\b((?:this|every) (?:morning|week)|after the (?:update|upgrade)|started (?:this week|today|yesterday))\b",
    re.IGNORECASE,
)
WHO_RE = _R(
    r"\b((?:nobody|no one|everyone|everybody|all of us|the whole [\w-]+(?: team| office| shift)?|whole [\w-]+ team"
    r"|(?:all|several|many) (?:users|staff|people|colleagues)|my (?:whole )?team|our team"
    r"|me and (?:\d+|two|three|a few) colleag\w*|just me|only me|only for me)(?: (?:in|on|from) (?:the )?[\w-]+)?"
    r"(?: (?:shift|team|department))?)\b",
    re.IGNORECASE,
)
TRIED_RE = _R(
    r"\b((?:i(?:'ve| have)?|we(?:'ve| have)?)\s+(?:already\s+)?(?:tried|restarted|rebooted|reinstalled|cleared"
    r"|reset|removed|swapped|updated|checked|re-?installed)[^.!?;]*"
    r"|(?:already|also)\s+(?:tried|restarted|rebooted|reinstalled|cleared|reset|removed|swapped|updated)[^.!?;]*"
    r"|tried [^.!?;]*|(?:hdmi|usb-?c|cable)[^.!?;]*(?:tried|swapped)[^.!?;]*|did that[^.!?;]*"
    r"|(?:restarted|rebooted|reinstalled|cleared|swapped) [^.!?;]*)",
    re.IGNORECASE,
)
PLATFORMS: dict[str, re.Pattern[str]] = {
    "Windows": _R(r"\b(windows|win ?1[01]|pc)\b", re.IGNORECASE),
    "macOS": _R(r"\b(mac|macos|macbook|os ?x|imac)\b", re.IGNORECASE),
    "Linux": _R(r"\b(linux|ubuntu)\b", re.IGNORECASE),
    "iOS": _R(r"\b(iphone|ipad|ios)\b", re.IGNORECASE),
    "Android": _R(r"\b(android)\b", re.IGNORECASE),
}
FOLLOW_UP = _R(
    r"^\s*(?:ok(?:ay)?[,.]?\s+|and\s+|so\s+|also\s+|but\s+)*(?:and|what about|how about|what if|and if|same for"
    r"|also|and for|and on|for)\b",
    re.IGNORECASE,
)
NOT_PROBLEM = _R(
    r"^\s*(?:yes|yeah|yep|ok|okay|sure|no|nope|thanks|thank you|please|pls)\b[\s,.!]*(?:please|pls)?[\s,.!]*$"
    r"|\b(?:doesn'?t|does not|didn'?t|did not) (?:fix|help|work)\b|\bnot it\b|\bthat'?s not\b",
    re.IGNORECASE,
)
"""Feedback on an answer ("that doesn't fix it"), not a statement of the problem."""
GENERIC_WORDS = frozenset(
    policy.words(
        "broken broke work works working not issue issues problem problems error errors again wrong slow fix fixed "
        "help pls plz anything something stuff thing things login log sign signin weird strange bad today "
        "anymore keeps keep happening happens happened doesnt didnt wont cant wtf urgent asap still ok"
    )
)
"""Words that say something is wrong without saying what: a message made only of these is too vague."""
SYMPTOM_RE = _R(
    r"\b(can'?t|cannot|won'?t|doesn'?t|does not|isn'?t|not|no"
    r"|fails?|failing|failed|error|crash\w*|times? out|timing out"
    r"|timeout|black|blank|blinks?|reboots?|jams?|freez\w*|slow|stuck|offline|keeps|asks?|asking|shows?|says|gives"
    r"|flicker\w*|crackl\w*|nobody|no one|unable|dead|drains?|broken|missing|lost|locked)\b",
    re.IGNORECASE,
)
CLAUSE_SPLIT = _R(r"(?<=[.!?;:])\s+|,\s+|\s+-\s+|\s+and\s+(?=we|i|it|the|they)", re.IGNORECASE)
REQUEST_NOISE = _R(
    r"^\s*(?:hi|hello|hey|hi there|so|ok|okay|please|pls|plz|um+|hmm+)\b[\s,!.:-]*"
    r"|\b(?:please|pls|plz)?\s*(?:can you\s+|could you\s+)?(?:open|create|raise|log|file|submit|make)\s+(?:me\s+)?"
    r"(?:a|an|new)?\s*(?:new\s+)?(?:ticket|tiket|case|incident|request)(?:\s+(?:for|about) (?:this|it))?\s*[:,.-]?\s*"
    r"|\bi need a (?:ticket|tiket)\b[.:,]?\s*|\bi want to report a problem\b[,:.]?\s*",
    re.IGNORECASE,
)


NOT_THE = _R(r"\bnot (?:the|my|our) [\w-]+(?: [\w-]+)?", re.IGNORECASE)
CORRECTION_LEAD = _R(r"^\s*(?:actually|sorry|no|nope|correction|wait|oops)\b[\s,:-]*(?:it'?s\s+)?", re.IGNORECASE)


COMMON_WORDS = (
    "asking keeps keep again install installing client password account connect connection printer printing "
    "working network setting settings screen update reset outlook microphone headset monitor laptop keyboard "
    "docking station access folder shared drive space disk cache browser chrome teams excel email mailbox "
    "calendar meeting login signin windows macos iphone android scanner certificate license software error"
)
VOCABULARY = frozenset(
    w for w in re.findall(r"[a-z][a-z-]{3,}", " ".join([policy.IT_WORDS.pattern, SYSTEM_RE.pattern, COMMON_WORDS]))
)
"""Words a misspelt query is corrected towards ("outlok" -> "outlook") when the search finds nothing."""


def spelled(query: str) -> str | None:
    """``query`` with misspelt words replaced by the closest known IT word, or None if nothing changed."""
    out, changed = [], False
    for token in query.split():
        word = token.lower().strip(".,!?;:()'\"")
        if len(word) >= 4 and word not in VOCABULARY and word not in policy.STOPWORDS:
            close = difflib.get_close_matches(word, VOCABULARY, n=1, cutoff=0.8)
            if close:
                out.append(close[0])
                changed = True
                continue
        out.append(token)
    return " ".join(out) if changed else None


def new() -> Record:
    return {"quotes": [], "errors": [], "tried": [], "answered": []}


def system_of(text: str) -> str | None:
    """The system or device a message names, as the user wrote it (known products normalised)."""
    for m in SYSTEM_RE.finditer(text):
        name = (m.group(1) or m.group(2) or "").strip()
        if not name:
            continue
        key = name.lower()
        if key in GENERIC_SYSTEMS:
            continue
        return SYSTEM_NAMES.get(key, name)
    return None


def platform_of(text: str) -> str | None:
    for name, pattern in PLATFORMS.items():
        if pattern.search(text):
            return name
    return None


ERROR_CODE_RE = _R(
    r"\b0[xX][0-9a-fA-F]{4,}\b|\b(?i:error|err|eror|code|status)\s*(?i:code\s*)?[:#]?\s*[A-Za-z0-9][A-Za-z0-9-]{2,}\b"
    r"|\b[A-Z]{2,5}-\d{3,}\b|\b[A-Z][A-Z0-9]*_[A-Z0-9_]{3,}\b"
)
"""Codes: hex, 'Error 504', 'code 1603', TS-4411, CRITICAL_PROCESS_DIED (case matters for the last two)."""
ERROR_TAIL_RE = _R(
    r"\s*[:-]?\s*((?:[a-z]+\s+){0,3}?(?:access denied|denied|failed|failure|refused|not found|timed out|timeout"
    r"|invalid|expired|unavailable|forbidden|unauthori[sz]ed|locked(?: out)?|rejected))\b",
    re.IGNORECASE,
)
"""A short message right after a code, ending in a failure word ("access denied", "logon failed")."""
HOW_MANY_RE = _R(
    r"\b(?:about |around |roughly |some |over |nearly |almost )?(?:\d+|two|three|four|five|ten|a dozen|dozens of)"
    r" (?:people|users|colleagues|staff|persons|employees|of us)\b",
    re.IGNORECASE,
)
"""How many are affected: "about 12 people", "three of us"."""
TICKET_WORDS = frozenset(
    policy.words("ticket tiket case incident request new need want raise open like log file create")
)


def errors_of(text: str) -> list[str]:
    """Error codes and messages: hex codes, 'Error 504', 'code 1603', codes like TS-4411, quoted messages."""
    found: list[str] = []
    for m in re.finditer(r"[\"“']([^\"”']{6,200})[\"”']", text):
        found.append(m.group(1).strip())
    for m in ERROR_CODE_RE.finditer(text):
        code = m.group(0)
        if re.fullmatch(r"TCK-\d{6}", code, re.I):
            continue
        if re.fullmatch(r"(?:error|err|eror|code|status)\s*[:#]?\s*[a-z]+", code, re.I) and not re.search(r"\d", code):
            continue
        if tail := ERROR_TAIL_RE.match(text, m.end()):  # "error 0x80070005 access denied": the message, too
            code += " " + tail.group(1)
        if not any(code.lower() in f.lower() for f in found):
            found.append(code)
    return found


def is_problem_text(message: str) -> bool:
    """Whether a message describes the problem (rather than feedback, a yes/no, a contact or a request)."""
    text = REQUEST_NOISE.sub(" ", message).strip(" .,!?:-")
    if not text or (NOT_PROBLEM.search(message) and len(policy.words(text)) < 6):
        return False
    if policy.EMAIL_RE.fullmatch(text) or (policy.contact_of(text) and len(policy.words(text)) <= 4):
        return False
    return len([w for w in specific_words(text) if w not in TICKET_WORDS]) >= 1 and len(policy.words(text)) >= 2


def is_vague(message: str) -> bool:
    """Too little to be a question at all: no word that names a thing ("not working", "help pls", "its slow")."""
    content = [w for w in policy.words(message) if w not in GENERIC_WORDS]
    return not content


SAYS_NOTHING = frozenset(
    policy.words(
        "broken broke work works working not issue issues problem problems error errors again wrong fix fixed help "
        "pls plz anything something stuff thing things weird strange bad today anymore keeps keep happening happens "
        "happened doesnt doesn't didnt didn't wont won't cant can't isn't wtf still ok hi hello hey ugh"
    )
)
"""Words that say something is wrong and nothing about what: beside a system's name ("outlook not working"),
the message still names only the system. Unlike :data:`GENERIC_WORDS`, "slow" and sign-in words say what."""


def bare_system(message: str) -> str | None:
    """The system a message names when it says nothing else about it ("outlook", "the vpn?", "not working
    outlook"): too little to answer from any one of the articles about it."""
    system = system_of(message)
    if not system or policy.ASKS_HOWTO.search(message.lower()):
        return None
    named = set(policy.words(system))
    return system if all(w in named or w in SAYS_NOTHING for w in policy.words(message)) else None


def specific_words(message: str) -> list[str]:
    return [w for w in policy.words(message) if w not in GENERIC_WORDS]


def update(record: Record | None, message: str, *, correction: bool = False) -> Record:
    """The record with what ``message`` says about the problem added; a ``correction`` ("actually it's the
    printer, not the laptop") replaces the system, the statement and the impact instead of adding to them."""
    rec = _copied(record)
    if not is_problem_text(message):
        if not rec.get("system") and (named := bare_system(message)):
            rec["system"] = named  # "outlook", in answer to "which app is it?"
        _note_affected(rec, message)
        _note_tried_in_problem(rec, message)
        return rec
    text = message.strip()
    system = system_of(NOT_THE.sub(" ", text))
    if system and (correction or not rec.get("system")):
        rec["system"] = system
    if platform := platform_of(text):
        rec["platform"] = platform
    for err in errors_of(text):
        if err not in rec["errors"]:
            rec["errors"].append(err)
    if not rec.get("since") and (m := SINCE_RE.search(text)):
        rec["since"] = next(g for g in m.groups() if g)
    if m := WHO_RE.search(text):
        rec["affected"] = m.group(1)
    _note_tried(rec, text)
    if prio := policy.impact_priority(text):
        rec["priority"], rec["impact"] = prio, policy.clip(policy.impact_text(text), 300)
    quote = policy.clip(REQUEST_NOISE.sub(" ", text).strip(" ,:-"), 400)
    if quote and quote not in rec["quotes"]:
        rec["quotes"].append(quote)
    if correction and system:
        rec["statement"] = symptom(CORRECTION_LEAD.sub(" ", NOT_THE.sub(" ", text)), rec.get("system"))
    elif not rec.get("statement"):
        rec["statement"] = symptom(text, rec.get("system"))
    if correction and not policy.impact_priority(text) and policy.NEGATED_IMPACT.search(text.lower()):
        rec.pop("priority", None)
        rec.pop("impact", None)
    return rec


def _note_affected(rec: Record, message: str) -> None:
    """ "the whole finance team, about 12 people", whatever question it answered: who is affected, in the
    user's words (a message that states the problem is read by :func:`update` instead)."""
    if rec.get("statement") and (WHO_RE.search(message) or HOW_MANY_RE.search(message)):
        rec["affected"] = policy.clip(message.strip(" .!"), 120)


def note_affected(record: Record | None, message: str) -> Record:
    """The record with who is affected, if ``message`` says so (an answer to the contact question, say)."""
    rec = _copied(record)
    _note_affected(rec, message)
    return rec


def _note_tried(rec: Record, text: str) -> None:
    for m in TRIED_RE.finditer("" if policy.HOWTO.search(text.lower()) else text):
        tried = m.group(0).strip(" ,.")
        if len(policy.words(tried)) >= 1 and tried not in rec["tried"]:
            rec["tried"].append(tried)


def add_tried(record: Record | None, message: str) -> Record:
    """The record with what ``message`` says was already tried, whatever else the message is (a reply to
    "shall I open a ticket?" such as "tried restarting, didn't help")."""
    rec = _copied(record)
    _note_tried_in_problem(rec, message)
    return rec


def _copied(record: Record | None) -> Record:
    """A copy of the record (its lists too) with every key present, for a turn to change."""
    rec = {**new(), **(record or {})}
    return {k: list(v) if isinstance(v, list) else v for k, v in rec.items()}


def _note_tried_in_problem(rec: Record, message: str) -> None:
    """What was tried counts only once there is a problem it was tried on."""
    if rec.get("statement"):
        _note_tried(rec, message.strip())


def related(rec: Record | None, message: str) -> bool:
    """Whether ``message`` shares a specific word with the problem the record is about."""
    if not rec or not rec.get("statement"):
        return True
    known = set(specific_words(" ".join([*rec.get("quotes", []), str(rec.get("system") or "")])))
    return bool(known & set(specific_words(message)))


def symptom(text: str, system: str | None) -> str:
    """The clause of ``text`` that states the problem, in the user's words."""
    cleaned = REQUEST_NOISE.sub(" ", text).strip(" ,.:-")
    clauses = [c.strip(" ,.;:-") for c in CLAUSE_SPLIT.split(cleaned) if c and c.strip(" ,.;:-")]
    clauses = [c for c in clauses if not REQUEST_NOISE.fullmatch(c + " ")]
    best = None
    for c in clauses:
        if SINCE_RE.fullmatch(c) or not policy.words(c):
            continue
        if system and system.lower() in c.lower() and SYMPTOM_RE.search(c):
            best = c
            break
        if best is None and SYMPTOM_RE.search(c):
            best = c
    chosen = best or (clauses[0] if clauses else cleaned)
    # "since this morning nobody in finance can get into SAP": the time goes to the record's `since`, not the
    # subject's first words.
    if (lead := SINCE_RE.match(chosen)) and len(policy.words(chosen[lead.end() :])) >= 3:
        chosen = chosen[lead.end() :].strip(" ,.;:-")
    if (lead := ALSO_LEAD.match(chosen)) and len(policy.words(chosen[lead.end() :])) >= 3:
        chosen = chosen[lead.end() :]  # "also my outlook keeps asking...": a second problem, not a subject word
    return policy.clip(chosen, 110)


ALSO_LEAD = _R(r"^(?:ok(?:ay)?|thanks|and|also|plus|btw|oh|another thing|one more thing)\b[\s,.:-]*", re.I)


def subject(rec: Record) -> str:
    """A ticket subject that names the system and the symptom."""
    statement = str(rec.get("statement") or "").strip()
    system = rec.get("system")
    if system and system.lower() not in statement.lower():
        statement = f"{system}: {statement}" if statement else f"Problem with {system}"
    elif system:  # "my outlook keeps asking": the product as it is spelled
        statement = re.sub(re.escape(system), lambda _: system, statement, count=1, flags=re.I)
    if rec.get("errors") and len(statement) < 80 and rec["errors"][0].lower() not in statement.lower():
        code = rec["errors"][0]
        if len(code) > 24 and (bare := ERROR_CODE_RE.search(code)):
            code = bare.group(0)  # "error 0x80070005 access denied": the code is enough for a subject
        if len(code) <= 24:
            statement = f"{statement} ({code})"
    statement = statement[:1].upper() + statement[1:]
    return policy.clip(statement or "Support request", 120)


def note_answer(rec: Record | None, title: str, query: str) -> Record:
    out = {**new(), **(rec or {})}
    answered = [a for a in out.get("answered", []) if a != title]
    out["answered"] = [*answered, title]
    out["topic"] = query
    return out


def rich(rec: Record) -> bool:
    """Enough is known to hand the problem to a technician without asking for a description."""
    details = sum(bool(rec.get(k)) for k in ("errors", "since", "affected", "tried"))
    said = len(" ".join(rec.get("quotes", [])).split())
    return bool(rec.get("statement")) and (details >= 2 or (details == 1 and said >= 10) or said >= 14)


def description(rec: Record, actor: str | None = None) -> str:
    """A short summary for the technician, quoting the user."""
    quotes = rec.get("quotes") or []
    lines = []
    who = f" by {actor}" if actor else ""
    if quotes:
        lines.append(f"Reported in chat{who}. The user wrote:")
        lines += [f"“{q}”" for q in quotes[:4]]
    facts = []
    if rec.get("system"):
        facts.append(f"System: {rec['system']}")
    if rec.get("platform"):
        facts.append(f"Platform: {rec['platform']}")
    if rec.get("errors"):
        facts.append("Error: " + "; ".join(rec["errors"]))
    if rec.get("affected"):
        facts.append(f"Affected: {rec['affected']}")
    if rec.get("since"):
        facts.append(f"Since: {rec['since']}")
    if facts:
        lines.append("")
        lines += facts
    return "\n".join(lines).strip() or str(rec.get("statement") or "")


def steps_taken(rec: Record) -> str | None:
    steps = [policy.clip(t, 160) for t in rec.get("tried", [])]
    steps += [
        f"Followed the KB article “{t}” the assistant offered; it did not fix the problem."
        for t in rec.get("answered", [])
    ]
    return "\n".join(f"- {s}" for s in steps) or None


def followup_query(rec: Record | None, message: str) -> str | None:
    """The retrieval query for a follow-up ("and on a Mac?"), rewritten from the topic; None if it is not one."""
    if not rec or not rec.get("topic"):
        return None
    own = specific_words(message)
    marker = FOLLOW_UP.search(message) is not None
    named = system_of(message)
    if named and named != rec.get("system") and len(own) > 2:
        return None  # "and the printer shows offline too": a new question about another thing
    if not marker and (len(own) > 3 or system_of(message)):
        return None
    topic = str(rec["topic"])
    platform = platform_of(message)
    if platform:
        for pattern in PLATFORMS.values():
            topic = pattern.sub(" ", topic)
    return " ".join(f"{message.strip()} {topic}".split())


def known_summary(rec: Record) -> str:
    """What is known, in a phrase, for a clarifying question ("the Payroll portal, error 0x80070005")."""
    parts = []
    if rec.get("system"):
        parts.append(str(rec["system"]))
    if rec.get("errors"):
        parts.append(f"“{rec['errors'][0]}”")
    return " and ".join(parts)
