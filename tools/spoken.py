"""Numbers as people say them: "T C K zero zero zero zero four two", "ticket forty-two", "four oh seven".

Recognisers write spoken digits every which way ("0 0 4 2", "double four", "forty two", "TCK-0042."),
so ticket numbers and digit strings are read back from the words here, with one set of rules.
"""

from __future__ import annotations

import re

from tools.ticket_models import format_number

DIGITS = {
    "zero": 0, "oh": 0, "o": 0, "nought": 0, "naught": 0, "nil": 0,
    "one": 1, "won": 1, "two": 2, "to": 2, "too": 2, "three": 3, "four": 4, "for": 4, "fore": 4,
    "five": 5, "six": 6, "seven": 7, "eight": 8, "ate": 8, "nine": 9,
}  # fmt: skip
TEENS = {
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}  # fmt: skip
TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fourty": 40, "fifty": 50,
    "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
}  # fmt: skip
REPEAT = {"double": 2, "triple": 3}
HOMOPHONES = {"to", "too", "for", "fore", "won", "ate", "o"}
PREFIX = re.compile(r"\b(?:t\W*c\W*k|tck|tick|ticket|tickets|teekay|t\W*k)\b\W*", re.IGNORECASE)
MAX_TICKET = 999_999_999


def _tokens(text: str) -> list[str]:
    text = text.lower().replace("-", " ")
    return re.findall(r"[a-z']+|\d+", text)


def spoken_digits(text: str) -> str | None:
    """The digit string in ``text`` ("four oh seven" -> "407", "forty two" -> "42"); None when there is none.

    Digits said one by one keep their leading zeros; a number said as a whole ("one hundred and five",
    "twelve thousand three hundred") is its value. Fillers are skipped and other words ignored.
    """
    out: list[str] = []
    total = 0
    cur: int | None = None  # the cardinal being built, below a thousand
    repeat = 1
    seen = False

    def flush() -> None:
        nonlocal cur, total
        if cur is not None:
            out.append(str(total + cur))
        cur, total = None, 0

    def open_for(unit: int) -> bool:
        """Whether ``cur`` has a free place for a number below ``unit`` ("forty" takes "two")."""
        if cur is None:
            return False
        if cur == 0:
            return total > 0
        return cur % unit == 0

    for tok in _tokens(text):
        if tok.isdigit():
            if len(tok) == 1 and open_for(10) and repeat == 1:
                cur = (cur or 0) + int(tok)
            else:
                flush()
                out.append(tok * repeat)
            repeat = 1
            seen = True
        elif tok in REPEAT:
            flush()
            repeat = REPEAT[tok]
        elif tok in DIGITS:
            if tok in HOMOPHONES and not seen and repeat == 1:
                continue  # "to", "for" before any number are words, not digits
            digit = DIGITS[tok]
            if repeat > 1:
                flush()
                out.append(str(digit) * repeat)
                repeat = 1
            elif digit and open_for(10):
                cur = (cur or 0) + digit
            else:
                flush()
                cur = digit
            seen = True
        elif tok in TEENS or tok in TENS:
            number = TEENS.get(tok) or TENS[tok]
            if open_for(100):
                cur = (cur or 0) + number
            else:
                flush()
                cur = number
            seen = True
        elif tok == "hundred":
            cur = (cur or 1) * 100 if cur != 0 else 100
            seen = True
        elif tok == "thousand":
            total = (total + (cur if cur else 1)) * 1000
            cur = 0
            seen = True
    flush()
    digits = "".join(out)
    return digits or None


def ticket_number(text: str) -> str | None:
    """The ticket number spoken in ``text`` as ``TCK-000042``; None when no number is heard."""
    body = PREFIX.sub(" ", text)
    digits = spoken_digits(body)
    if digits is None:
        return None
    number = int(digits)
    if not 0 < number <= MAX_TICKET:
        return None
    return format_number(number)


SPOKEN_TICKET = re.compile(
    r"\b(?:t\W{0,2}c\W{0,2}k|ticket(?:\s+(?:number|no\.?|#))?)\W{0,3}"
    r"((?:(?:\d+|zero|oh|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|"
    r"fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|"
    r"hundred|thousand|double|triple|and)[\s,.-]*)+)",
    re.IGNORECASE,
)


def rewrite_ticket_numbers(text: str) -> str:
    """``text`` with every spoken ticket reference ("ticket number forty two") written as ``TCK-000042``."""

    def sub(match: re.Match[str]) -> str:
        found = ticket_number(match.group(1))
        if found is None:
            return match.group(0)
        tail = match.group(1)
        trailing = tail[len(tail.rstrip(" ,.-")) :]
        return found + trailing

    return SPOKEN_TICKET.sub(sub, text)


STRICT_NUMBER_WORDS = (
    (set(DIGITS) - {"oh", "o", "nil", "won", "to", "too", "for", "fore", "ate"}) | set(TEENS) | set(TENS)
)
STRICT_NUMBER_WORDS |= {"hundred", "thousand"}


def words_for_scoring(text: str) -> list[str]:
    """Words compared for word error rate: lower case, no punctuation, spoken numbers written as digits."""
    tokens = re.findall(r"[a-z0-9']+", text.lower().replace("-", " "))
    out: list[str] = []
    run: list[str] = []
    for tok in [*tokens, ""]:
        if tok in STRICT_NUMBER_WORDS:
            run.append(tok)
            continue
        if run:
            out.append(spoken_digits(" ".join(run)) or " ".join(run))
            run = []
        if tok:
            out.append(tok.strip("'"))
    return [w for w in out if w]


def word_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """(substitutions + deletions + insertions, reference words): word error rate is their quotient."""
    ref, hyp = words_for_scoring(reference), words_for_scoring(hypothesis)
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[len(hyp)], len(ref)
