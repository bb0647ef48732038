"""The offline policy: deterministic rules that drive the graph when no LLM is configured.

It reads only what the *user* wrote to decide what to do. Retrieved text is quoted in answers (with
instruction-like sentences dropped) but never parsed for actions, so a document cannot steer the agent.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from agent.semantic import SEM_MARGIN, semantic_support
from agent.state import Intent

TICKET_RE = re.compile(r"\bTCK-\d{6}\b", re.IGNORECASE)
EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
PHONE_RE = re.compile(r"(?<![\w-])\+?\d[\d ()./-]{6,}\d(?![\w-])")
ERROR_RE = re.compile(
    r"(\"[^\"]{3,200}\"|'[^']{6,200}'|\b(?:error|code)\s*[:#]?\s*[A-Z0-9x-]{3,}\b|\b0x[0-9a-f]{4,}\b)", re.IGNORECASE
)

_STOPWORD_TEXT = """a about after again all also am an and any are as at be because been before being but by can cannot
    could did do does doing don down for from get got had has have having he her here hi hello how i i'm
    if in into is it it's its just me my myself no nor not now of off on once only or other our out over
    own please same she should so some still such than thanks that the their them then there these they
    this those through to too trying try under until up very want was we were what when where which
    while who why will with won't would you your help need know tell show can't cant doesnt isn't im"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())

# Intent rules, checked in order on the lower-cased user message.
_R = re.compile
CANCEL = _R(
    r"^\s*(cancel|stop|never ?mind|forget (it|about it)|abort|no thanks?,? (stop|cancel))\b"
    r"|\b(never ?mind|forget (it|about it|that)|cancel (that|it|this|the ticket|my request)|scratch that"
    r"|don'?t bother|no need( for a ticket)?|i'?ll ask [\w\s]{0,30} first"
    r"|leave it|don'?t (open|create|log) (it|a ticket|one))\b"
    r"|[,.]\s*(stop|cancel)[.!]*\s*$"
)
FAREWELL = _R(
    r"\b(bye|goodbye|good bye|bye-bye|see you|see ya|cya"
    r"|that'?s all( for now)?|have a (good|nice|great) (day|one|evening)"
    r"|talk (to you )?later|signing off)\b"
)
HOWTO = _R(
    r"^\s*(?:(?:hi|hey|also|and|oh|ok|okay|so|btw|one more thing|another question|quick question)[,!:]?\s+)*(how"
    r"|what'?s|what|where|why|when|which|is there|is it possible"
    r"|can i|could i|how can|how do|how to|steps to|is it ok|can you (tell|show|explain))\b"
)
"""A question about how to do something ("how do I delete my account in X"): for the knowledge base, not an
action on the desk, whatever verbs it contains."""
ASKS_HOWTO = _R(
    r"\b(how (do|can|should|would) (i|we|you)|how to|where (do|can|should) i|what'?s the (shortcut|way|best way)"
    r"|is there a way)\b"
)
CORRECTION = _R(r"^\s*(actually|sorry|no,|nope,|correction|i meant|wait,|oops)\b|\bnot the \w+|\bi meant\b")
CONFIRM = _R(
    r"^\s*(y|yes|yeah|yep|yup|sure|ok(ay)?|please do|go ahead|do it|confirm(ed)?|correct|that'?s right|please)\b"
)
DENY = _R(r"^\s*(n|no|nope|nah|not now|don'?t|do not|no thanks?)\b")
THANKS = _R(r"^\s*(thanks|thank you|thx|cheers|great,? thanks|perfect|that (worked|helped|fixed it)|solved)\b")
GREETING = _R(
    r"^\s*(hi|hiya|heya|hello|hey|hi there|hey there|good (morning|afternoon|evening)|morning|howdy)\b[\s!.,]*$"
)
HUMAN = _R(
    r"\b(human|real person|a person|someone real|live agent|an agent|technician|escalate|talk to (someone|somebody)"
    r"|speak (to|with) (someone|somebody|a)|call me back|supervisor|manager"
    r"|(actual|real|proper) (it )?(engineer|tech|person)|an it (engineer|tech|person)|put me through|transfer me"
    r"|(someone|somebody|anyone|one) (from|of|in) (the |your )?(it|service desk|help ?desk|support)( team| staff)?)\b"
)
CREATE = _R(
    r"\b(open|create|raise|file|log|submit|start|make|new)\b[\w\s]{0,20}\b(ticket|tiket|case|incident|request)\b"
    r"|\b(need|want|get|have) (me )?(a|an|one|new|a new) (ticket|tiket|case)\b|\b(open|create|raise|log) one\b"
    r"|\breport (a|an|the)? ?(problem|issue|incident|outage)\b|\b(a )?(ticket|tiket),? (please|pls|plz)\b"
)
LIST = _R(r"\b(my|open|all|list|show)\b[\w\s]{0,20}\btickets\b|\btickets (do i have|i have|i opened)\b")
STATUS_WORDS = _R(r"\b(status|progress|update on|what'?s happening|where is|any news|check|state of|how is)\b")
COMMENT_WORDS = _R(
    r"\b(comment|add (a )?note|add (to|on)|append|tell (them|the technician)|reply to|update (it|ticket))\b"
)
DESTRUCTIVE = _R(r"\b(delete|remove|erase|wipe|purge|drop|destroy)\b")
MY_TICKET = _R(r"\b(my ticket|the ticket|my case|my request)\b")
THAT_TICKET = _R(r"\b(that|this|the|my|it'?s|its) (ticket|case|request|one)\b|\b(is it|on it|with it)\b")
"""A reference to a ticket the conversation already named ("what's the status of that ticket?")."""
ASKS_TICKET_NUMBER = _R(
    r"\b(ticket|case|reference|ref|request)\s*(number|no\.?|nr|#|id)\b"
    r"|\bwhat was the number\b|\bwhich ticket (was|is) (it|that)\b"
)
"""Asking for the number of a ticket the conversation already has ("what was the ticket number again")."""

OUT_OF_SCOPE = _R(
    r"\b(weather|forecast|recipe|cook|joke|poem|song|lyrics|movie|film|football|soccer|basketball|nba|nfl|sports?"
    r"|stock(s| price| tip)|crypto|bitcoin|invest(ment)?|horoscope|dating|girlfriend|boyfriend|homework|essay"
    r"|medical|doctor|diagnos|legal advice|lawyer|lottery|politic|election|president|capital of|vacation|holiday"
    r" plans?|restaurant|pizza|translate|write (me )?a (story|poem|song)|meaning of life)\b"
)

IT_WORDS = _R(
    r"\b(password|passcode|login|log in|sign in|signin|account|locked|mfa|2fa|authenticator|vpn|wifi|wi-fi|network"
    r"|internet|email|e-mail|outlook|mailbox|calendar|teams|zoom|slack|printer|print|scanner|laptop|desktop|pc|mac"
    r"|computer|monitor|screen|display|keyboard|mouse|dock|usb|bluetooth|headset|install|update|upgrade|software"
    r"|app|application|license|excel|word|office|sharepoint|onedrive|drive|folder|file|backup|restore|server"
    r"|database|error|crash|freez|slow|blue screen|bsod|virus|malware|phishing|spam|access|permission|share"
    r"|browser|chrome|edge|firefox|website|portal|erp|crm|sap|phone|mobile|sync|reset|boot|battery|disk|storage"
    r"|memory|cpu|driver|certificate|ssl|dns|ip|router|port|firewall|admin|ticket|it|badge|card reader|kiosk|tablet"
    r"|projector|device|system|license|seat|sync|login|video|camera|webcam|audio|sound|speaker)\b"
)

IMPACT_LEVELS: list[tuple[str, re.Pattern[str]]] = [
    (
        "critical",
        _R(
            r"\b(everyone|everybody|whole (company|office|building|department|org)|all (users|staff|employees)"
            r"|company-?wide|outage|production( is)? down|site( is)? down|nobody can|no one can|critical|emergency"
            r"|business (has )?stopped|(customers?|visitors?"
            r"|guests?) (can'?t|cannot)|(nobody|no one) (in|from|on) (the )?"
            r"[\w-]+( [\w-]+)? (can|is able)|whole [\w-]+ shift|(all|every) (of )?(our |the )?(users|staff|shifts?))\b"
        ),
    ),
    (
        "high",
        _R(
            r"\b(can'?t work|cannot work|unable to work|blocked|blocking|urgent|asap|high|deadline|my (whole )?team"
            r"|several (people|users)|can'?t do (my|any) (job|work)|stopp(ed|ing) (me|working)|completely|not at all"
            r"|stops me( from working)?|can'?t ship|can'?t (submit"
            r"|send|pay|invoice)|(me|us) and (\d+|two|three|four|a few"
            r"|several) (colleag\w*|others|people)|(whole|entire) ([\w-]+ )?team|team is blocked|pretty bad|quite bad"
            r"|all day|today( is)? the deadline|due today)\b"
        ),
    ),
    (
        "low",
        _R(r"\b(minor|cosmetic|no rush|not urgent|low|whenever|trivial|nice to have|small|annoyance|can wait)\b"),
    ),
    ("medium", _R(r"\b(slow|workaround|some|medium|annoying|intermittent|sometimes|degraded|just me|only me)\b")),
]

NEGATED_IMPACT = _R(
    r"\b(not|isn'?t|no longer|never) (everyone|everybody|the whole \w+|whole \w+|all (users|staff)|urgent|critical"
    r"|blocking|that (urgent|bad))\b"
)
"""'not everyone, just me': the negated level is not the impact."""

INJECTION_RE = _R(
    r"(ignore (all |any )?(previous|prior|above|earlier) (instructions|prompts?)|disregard (the )?(above|previous)"
    r"|you are now|system prompt|\bcall (the )?(tool|function)\b|ticket_\w+|kb_article_\w+|user_\w+|document_\w+"
    r"|\bassistant:|\bsystem:|(do not|don'?t|never) (tell|inform"
    r"|mention|show|reveal)\b[^.]{0,30}\b(user|customer|human)"
    r"|without (telling|informing|asking) the (user|customer)|\b(ai|assistant|chatbot|language model|llm)s?\b[^.]{0,40}"
    r"\b(must|should|shall|are required to|will now)\b"
    r"|\bnew instructions\b|\boverride\b[^.]{0,20}\b(rules|instructions)"
    r"|\bas an ai\b|\bwhen (an? )?(ai|assistant|model) reads)",
    re.IGNORECASE,
)

SLOT_QUESTIONS = {
    "subject": "Sure, I'll open a ticket. In one line, what is the problem?",
    "description": (
        "Can you describe what is happening in a bit more detail: what you were doing, any error message, "
        "and what you have tried so far?"
    ),
    "impact": (
        "How much is this affecting your work? For example: just a minor annoyance, it's slow but I have a "
        "workaround, I can't work, or the whole team / everyone is affected."
    ),
    "contact": (
        "How should the technician reach you? Give an e-mail address or phone number, or say 'email' to use "
        "the address on your account."
    ),
}


NO_ANSWER = _R(r"^\s*(idk|dunno|i don'?t know|not sure|no idea|whatever|hm+|eh|who knows)\b")
"""A reply that gives no information ("idk"), like a bare yes or a request to get on with it."""


def says_nothing(text: str) -> bool:
    """The reply carries no answer of its own: "yes", "no", "idk", "just open it", "can you open a ticket pls"."""
    low = text.lower().strip()
    if len(words(low)) <= 1 or NO_ANSWER.search(low):
        return True
    short = len(words(low)) <= 4
    request = CREATE.search(low) or re.search(r"\bopen it\b", low)
    return short and bool(CONFIRM.search(low) or DENY.search(low) or request)


FILLER = re.compile(r"^\s*(hmm+|um+|uh+|erm|wait|actually|oh|ok(ay)?|so|well|sorry|no)\b[\s,.!:;-]*", re.I)


def impact_text(text: str) -> str:
    """The impact as the ticket quotes it: the user's words without the 'hmm wait, actually' they began with."""
    out = text.strip()
    while (m := FILLER.match(out)) and m.end() < len(out):
        out = out[m.end() :]
    return out


SLOT_RETRY = {
    "impact": (
        "Sorry, I didn't catch how urgent it is. Is it minor, slowing you down, stopping you from working, "
        "or affecting everyone?"
    ),
    "contact": "Please give an e-mail address or phone number, or say 'chat' to be contacted here.",
}


def words(text: str) -> list[str]:
    """Content words, lower-cased, crudely stemmed, for overlap scoring."""
    out = []
    for raw in re.findall(r"[a-z0-9][a-z0-9'-]*", text.lower()):
        if raw in STOPWORDS or len(raw) < 2:
            continue
        out.append(stem(raw))
    return out


def stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def detect_intent(message: str) -> Intent:
    """What a user message asks for, by rules, "question" when no rule decides; never looks at retrieved text."""
    return rule_intent(message) or "question"


def rule_intent(message: str) -> Intent | None:
    """What a user message asks for by the precise rules, or None when no rule decides (the embedding layer
    in :mod:`agent.semantic` may then classify it)."""
    text = message.strip().lower()
    has_ticket = TICKET_RE.search(message) is not None
    if not text:
        return "greeting"
    farewell = FAREWELL.search(text) is not None and len(text.split()) <= 8 and not has_ticket
    if CANCEL.search(text) and len(text.split()) <= 14:
        return "farewell" if farewell else "cancel"  # "forget it, bye": they are leaving, not asking for more
    if farewell:
        return "farewell"
    if GREETING.search(text):
        return "greeting"
    if THANKS.search(text) and len(text.split()) <= 8:
        return "thanks"
    if HOWTO.search(text) and re.search(
        r"\b(add|invite|share with|assign|message|call)\b[\w\s]{0,12}\ba person\b", text
    ):
        return None  # "how do I add a person to a channel": a how-to question, not a request for a human
    if HUMAN.search(text) and not IT_WORDS.search(HUMAN.sub("", text).replace("ticket", "")):
        return "escalate"
    if HUMAN.search(text) and re.search(
        r"\b(escalate|human|real person|technician|put me through|transfer me"
        r"|(actual|real|proper|an) it (engineer|tech)"
        r"|(someone|somebody|anyone) (from|of|in) (the |your )?(it|service desk|help ?desk|support))\b",
        text,
    ):
        return "escalate"
    if (
        DESTRUCTIVE.search(text)
        and not HOWTO.search(text)
        and re.search(r"\b(ticket|article|kb|document|user|account|record)s?\b", text)
    ):
        return "unsupported"
    if has_ticket and COMMENT_WORDS.search(text):
        return "comment"
    if has_ticket:
        return "status"
    if LIST.search(text):
        return "list_tickets"
    if CREATE.search(text):
        return "create_ticket"
    if STATUS_WORDS.search(text) and MY_TICKET.search(text):
        return "list_tickets"
    if OUT_OF_SCOPE.search(text) and not IT_WORDS.search(OUT_OF_SCOPE.sub("", text)):
        return "out_of_scope"
    if CONFIRM.search(text) and len(text.split()) <= 4:
        return "confirm"
    if DENY.search(text) and len(text.split()) <= 4:
        return "deny"
    return None


def asks_about_that_ticket(message: str) -> bool:
    """'what's the status of that ticket?': a status question about the ticket the conversation is on.

    The graph reads it as a status look-up of the conversation's last ticket; at a draft's confirmation it means
    the draft, which does not exist yet (nodes._at_confirmation). One rule for both places.
    """
    low = message.lower()
    return bool(STATUS_WORDS.search(low) and THAT_TICKET.search(low))


def looks_it_related(message: str) -> bool:
    return IT_WORDS.search(message.lower()) is not None


def impact_priority(text: str) -> str | None:
    """The priority an impact statement implies (critical, high, medium, low), or None if it says nothing."""
    lowered = NEGATED_IMPACT.sub(" ", text.lower())
    for priority, pattern in IMPACT_LEVELS:
        if pattern.search(lowered):
            return priority
    return None


def contact_of(text: str) -> dict[str, str]:
    """Contact details in a message: e-mail, phone and the preferred method."""
    found: dict[str, str] = {}
    if m := EMAIL_RE.search(text):
        found["contact_email"] = m.group(0)
        found["preferred_contact"] = "email"
    # Quoted messages and error codes hold digits too ("Posting period 013 2026 is not open"): a phone number
    # is one the message says is a number to reach, or one long enough not to be anything else.
    bare = ERROR_RE.sub("", re.sub(r"“[^”]*”", "", EMAIL_RE.sub("", TICKET_RE.sub("", text))))
    cue = re.search(r"\b(call|phone|ring|tel|mobile|cell|number|reach|contact|whatsapp|text me)\b", text.lower())
    m = PHONE_RE.search(bare)
    if m and (cue or m.group(0).startswith("+") or len(re.sub(r"\D", "", m.group(0))) >= 10):
        found["contact_phone"] = re.sub(r"[^\d+]", "", m.group(0))
        if "contact_email" not in found or re.search(r"\b(call|phone|ring)\b", text.lower()):
            found["preferred_contact"] = "phone"
    lowered = text.lower()
    if not found and re.search(r"\b(e-?mail|account|mail)\b", lowered):
        found["preferred_contact"] = "email"
    elif not found and re.search(r"\b(phone|call)\b", lowered):
        found["preferred_contact"] = "phone"
    elif not found and re.search(r"\b(chat|here|skip|none|no preference|whatever)\b", lowered):
        found["preferred_contact"] = "chat"
    return found


def error_message_of(text: str) -> str | None:
    m = ERROR_RE.search(text)
    return m.group(0).strip("\"'") if m else None


def subject_from(message: str) -> str | None:
    """The problem statement inside a 'please open a ticket: ...' request, if there is one."""
    text = message.strip()
    m = re.search(
        r"\b(ticket|case|incident|request)\b\s*(?:for|about|regarding|because|:|-|—|,)\s*(.+)$", text, re.I | re.S
    )
    if m:
        rest = m.group(2).strip(" .:-")
        if len(words(rest)) >= 2:
            return clip(first_sentence(rest), 120)
    if not CREATE.search(text.lower()) and len(words(text)) >= 3:
        return clip(first_sentence(text), 120)
    return None


ASK_FOR_TICKET = _R(
    r"[,;]?\s*\b(?:yes|ok|okay|sure|please|i want|i'?d like|i need|can you|could you|let'?s)\b"
    r"(?:\s+(?:to|me|please|open|create|raise|log|file|get|have|a|an|new|one))*\s*(?:\b(?:ticket|case|one)\b)?"
    r"(?:\s+please)?\s*[.!]?\s*$",
    re.IGNORECASE,
)


def new_problem(message: str, earlier: str) -> str | None:
    """A different problem stated while accepting a ticket offer ("the Wi-Fi is slow too, open a ticket").

    Returns its one-line statement when ``message`` describes an IT problem that shares little with
    ``earlier`` (the question the offer was about), else None.
    """
    text = CREATE.sub(" ", ASK_FOR_TICKET.sub(" ", message))
    stated = clip(first_sentence(text).strip(" ,.;:-"), 120)
    content = words(stated)
    if len(content) < 2 or not looks_it_related(stated):
        return None
    earlier_words = set(words(earlier))
    shared = sum(1 for w in content if w in earlier_words)
    return stated if shared / len(content) < 0.3 else None


def first_sentence(text: str) -> str:
    parts = re.split(r"(?<=[.!?])\s+", text.strip(), maxsplit=1)
    return parts[0].strip()


def clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def comment_body(message: str) -> str | None:
    """The comment text in 'add a comment to TCK-000042: ...'."""
    m = re.search(r"TCK-\d{6}\s*[:,-]?\s*(?:saying|that|with)?\s*[:\"]?\s*(.+)$", message, re.I | re.S)
    if m and len(m.group(1).strip(" \"'.")) >= 3:
        return m.group(1).strip().strip("\"'")
    m = re.search(r":\s*(.+)$", message, re.S)
    if m and len(m.group(1).strip()) >= 3:
        return m.group(1).strip().strip("\"'")
    return None


RELAY = re.compile(
    r"^\s*(?:please\s+|can you\s+|could you\s+)?(?:tell|let) (?:them|the technician|the tech|him|her)(?: know)?"
    r"(?: that)?[,:]?\s+(.+)$",
    re.I | re.S,
)


def relayed(message: str) -> str | None:
    """The message in 'tell them it jams on every double-sided print'."""
    m = RELAY.search(message)
    return m.group(1).strip().strip("\"'") if m and len(m.group(1).strip()) >= 3 else None


# --- answering from knowledge ----------------------------------------------------------------------------


def coverage(query: str, text: str) -> float:
    """Share of the query's content words that appear in ``text`` (0-1); a close misspelling counts, and a
    misspelt stop word ("agian") is not a content word."""
    found, total = covered(query, text)
    return found / total if total else 0.0


def covered(query: str, text: str) -> tuple[int, int]:
    """How many of the query's content words appear in ``text``, and how many it has."""
    q = set(words(query))
    q = {w for w in q if not (len(w) >= 4 and difflib.get_close_matches(w, STOPWORDS, n=1, cutoff=0.8))}
    if not q:
        return 0, 0
    t = set(words(text)) | set(re.findall(r"[a-z0-9][a-z0-9'-]*", text.lower()))
    found = q & t
    for word in q - found:
        if len(word) >= 5 and difflib.get_close_matches(word, t, n=1, cutoff=0.8):
            found.add(word)
    return len(found), len(q)


def hit_text(hit: dict[str, Any]) -> str:
    return str(hit.get("text") or hit.get("body") or hit.get("snippet") or "")


def hit_document(hit: dict[str, Any]) -> str:
    """What a hit is a part of: chunks of one document are one source, not rivals."""
    return str(hit.get("document_id") or hit.get("title") or hit.get("id") or "")


def semantic_text(hit: dict[str, Any]) -> str:
    """The text of a hit the question is compared with in meaning (title and body, as the index embeds it)."""
    return f"{hit.get('title') or ''}\n{hit_text(hit)}".strip()


def semantic_part(hits: list[dict[str, Any]], sims: Sequence[float]) -> float:
    """The semantic support of the first hit against the closest hit of another source."""
    first = hit_document(hits[0])
    rivals = [s for h, s in zip(hits[1:], sims[1:], strict=False) if hit_document(h) != first]
    return semantic_support(sims[0], max(rivals) if rivals else None)


def confidence(query: str, hits: list[dict[str, Any]], sims: Sequence[float] | None = None) -> float:
    """Confidence in answering from ``hits[0]`` (0-1).

    Word coverage: how much of the question the best of the top hits covers. With ``sims`` (the cosine
    between the question and each hit, in order), the semantic support of the first hit counts too
    (:func:`agent.semantic.semantic_support`), so a paraphrase sharing no words with the right article can
    reach the answer threshold, while a question equally close to two different articles cannot.
    """
    if not hits:
        return 0.0
    # Fused scores are normalised per query (the best hit is always near 1), so they cannot say how good
    # the best hit is; coverage of the question's words by the hit can, and so can a cosine of our own.
    cov = max(coverage(query, f"{h.get('title') or ''} {hit_text(h)}") for h in hits[:3])
    if sims:
        cov = max(cov, semantic_part(hits, sims))
    return round(max(0.0, min(1.0, cov)), 2)


def rank_hits(
    query: str, hits: list[dict[str, Any]], sims: Sequence[float] | None = None
) -> tuple[list[dict[str, Any]], list[float] | None]:
    """Keep the search order but lift a hit that matches the question clearly better than the first.

    Clearly better means covering a quarter more of the question's words or, with ``sims``, being closer in
    meaning by the semantic margin; with ``sims`` a lifted hit must also match better overall (the larger of
    coverage and semantic support). Returns the hits and their cosines in
    the new order.
    """
    if not hits:
        return hits, list(sims) if sims else None
    covs = [coverage(query, f"{h.get('title') or ''} {hit_text(h)}") for h in hits]
    pick = max(range(len(hits)), key=lambda i: (covs[i], -i))
    if covs[pick] < coverage(query, hit_text(hits[0])) + 0.25:
        pick = 0
    if sims:
        overall = [max(c, semantic_support(s, None)) for c, s in zip(covs, sims, strict=True)]
        if overall[pick] <= overall[0]:
            pick = 0  # more shared words, but the first is at least as close in meaning ("C: drive" vs "disk")
        best = max(range(len(hits)), key=lambda i: (sims[i], -i))
        if pick == 0 and sims[best] >= sims[0] + SEM_MARGIN and overall[best] > overall[0]:
            pick = best
    if pick == 0:
        pick = _titled(query, hits, covs, sims)
    order = [pick] + [i for i in range(len(hits)) if i != pick]
    return [hits[i] for i in order], [sims[i] for i in order] if sims else None


TITLE_WORDS = 2
"""A hit's title (or section path) must name at least this many of the question's words to be lifted, and one
more than the first hit's title names."""


def _titled(query: str, hits: list[dict[str, Any]], covs: list[float], sims: Sequence[float] | None) -> int:
    """The hit whose title names more of the question than the first hit's, when it is as good an answer
    otherwise ("how do I reset my VPN password": the article titled "Reset your password", not the VPN article
    that mentions a reset in passing); 0 to keep the first."""
    titles = [covered(query, str(h.get("citation") or h.get("title") or ""))[0] for h in hits]
    lift = max(range(len(hits)), key=lambda i: (titles[i], -i))
    if (
        lift == 0
        or titles[lift] < max(TITLE_WORDS, titles[0] + 1)
        or hit_document(hits[lift]) == hit_document(hits[0])
        or covs[lift] < 0.5
    ):
        return 0
    if sims and sims[lift] < sims[0] - SEM_MARGIN:
        return 0  # the title shares words, but the text means something else
    return lift


_BLOCK_START = re.compile(r"^([-*•]|\d+[.)]|#|\|)")


def unwrap(text: str) -> list[str]:
    """The logical lines of a text: hard-wrapped prose joined back, list items and table rows kept apart."""
    lines: list[str] = []
    for para in re.split(r"\n\s*\n", text):
        start = len(lines)
        for raw in para.splitlines():
            line = raw.strip()
            if not line:
                continue
            joinable = len(lines) > start and not lines[-1].startswith(("|", "#"))
            if joinable and not _BLOCK_START.match(line):
                lines[-1] += " " + line
            else:
                lines.append(line)
    return lines


def safe_sentences(text: str) -> list[tuple[int, str]]:
    """(line, sentence) pairs of a retrieved text, without sentences that read like instructions to an AI."""
    out = []
    for n, line in enumerate(unwrap(text)):
        for piece in re.split(r"(?<=[.!?])\s+", line):
            if piece.strip() and not INJECTION_RE.search(piece):
                out.append((n, piece.strip()))
    return out


def _join(pieces: list[tuple[int, str]]) -> str:
    """Sentences of one line run on; each new line starts a new line."""
    text = ""
    for i, (n, sentence) in enumerate(pieces):
        if i and pieces[i - 1][0] == n:
            text += " " + sentence
        elif i:
            text += "\n" + sentence
        else:
            text = sentence
    return text


def extract(query: str, text: str, limit: int = 600) -> str:
    """The part of a retrieved text that answers the question: all of a short text, else the best sentences."""
    pieces = safe_sentences(text)
    if not pieces:
        return ""
    sentences = [p for _, p in pieces]
    if sum(len(p) + 1 for p in sentences) <= limit:
        return _join(pieces)
    q = set(words(query))
    scored = sorted(range(len(sentences)), key=lambda i: (-len(q & set(words(sentences[i]))), i))
    keep: list[int] = []
    size = 0
    for i in scored:
        if size + len(sentences[i]) > limit and keep:
            break
        keep.append(i)
        size += len(sentences[i])
        # A step list reads best with the lines that follow the best match.
        for j in (i + 1, i + 2):
            if j < len(sentences) and j not in keep and size + len(sentences[j]) <= limit:
                keep.append(j)
                size += len(sentences[j])
    return _join([pieces[i] for i in sorted(set(keep))])


def citation_of(hit: dict[str, Any]) -> str:
    cite = hit.get("citation") or hit.get("title") or f"{hit.get('source', 'source')} {hit.get('id', '')}"
    return str(cite)


def format_due(value: Any) -> str:
    """An ISO timestamp as 'Mon 2 Mar 2026 13:00 UTC'."""
    if not value:
        return "the standard SLA"
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return str(value)
    zone = moment.tzname() or "UTC"
    return moment.strftime(f"%a %-d %b %Y %H:%M {zone}").replace("UTC+00:00", "UTC")


def transcript_summary(messages: list[Any], limit: int = 1200) -> str:
    """A summary of the conversation for the technician: what the user said, oldest first, within ``limit``."""
    said = [
        clip(msg.content, 240)
        for msg in messages
        if getattr(msg, "type", "") == "human" and isinstance(msg.content, str) and msg.content.strip()
    ]
    lines: list[str] = []
    size = 0
    for line in reversed(said):
        if size + len(line) + 3 > limit:
            break
        lines.insert(0, f"- {line}")
        size += len(line) + 3
    if not lines:
        return ""
    skipped = len(said) - len(lines)
    head = f"The user said ({skipped} earlier messages omitted):" if skipped else "The user said:"
    return head + "\n" + "\n".join(lines)
