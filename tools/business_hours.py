"""The business calendar behind business-hours metrics, parsed from ``SUPPORT_BUSINESS_HOURS``.

Format: ``<days> <HH:MM>-<HH:MM> [<IANA time zone>] [; holidays <YYYY-MM-DD> ...]``, for example
``Mon-Fri 09:00-17:00 Europe/Berlin; holidays 2026-12-24 2026-12-25``. Days are ``Mon``..``Sun``, as a range
(``Mon-Fri``), a list (``Mon,Wed,Fri``) or both (``Mon-Wed,Fri``). The zone defaults to UTC. Working hours
are local wall-clock times, so daylight-saving changes are honoured.

The calendar becomes rows of working intervals in UTC epoch seconds (``business_calendar``) with the
working time of all earlier intervals beside each, covering ``FIRST_YEAR`` to ``LAST_YEAR``: business time
between two instants is then ``F(b) - F(a)`` with ``F(t) = cum_before + clamp(t - open, 0, close - open)`` of
the last interval opening at or before ``t``, a single index look-up in SQL.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tools.errors import InvalidInputError

FIRST_YEAR = 2000
LAST_YEAR = 2060
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HOURS = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")
EXAMPLE = "Mon-Fri 09:00-17:00 Europe/Berlin; holidays 2026-12-24 2026-12-25"


@dataclass(frozen=True)
class BusinessCalendar:
    weekdays: frozenset[int]
    """0 = Monday."""
    opens: time
    closes: time
    zone: str
    holidays: frozenset[date]
    spec: str

    @property
    def key(self) -> str:
        """Identifies the calendar the stored business-hours figures were computed with."""
        canonical = f"{sorted(self.weekdays)}|{self.opens}|{self.closes}|{self.zone}|{sorted(self.holidays)}"
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    def intervals(self) -> list[tuple[int, int, int]]:
        """(open, close, working seconds before it) in UTC epoch seconds, in order."""
        tz = ZoneInfo(self.zone)
        out: list[tuple[int, int, int]] = []
        total = 0
        day = date(FIRST_YEAR, 1, 1)
        end = date(LAST_YEAR, 12, 31)
        while day <= end:
            if day.weekday() in self.weekdays and day not in self.holidays:
                start = int(datetime.combine(day, self.opens, tz).timestamp())
                stop = int(datetime.combine(day, self.closes, tz).timestamp())
                if stop > start:
                    out.append((start, stop, total))
                    total += stop - start
            day += timedelta(days=1)
        return out


def _bad(spec: str, what: str) -> InvalidInputError:
    return InvalidInputError(f"SUPPORT_BUSINESS_HOURS {spec!r}: {what}; write it like {EXAMPLE!r}")


def _days(text: str, spec: str) -> frozenset[int]:
    days: set[int] = set()
    for part in text.lower().split(","):
        ends = part.split("-")
        if len(ends) > 2 or any(e[:3] not in DAY_NAMES for e in ends):
            raise _bad(spec, f"{part!r} is not a day or a range of days (Mon..Sun)")
        first, last = DAY_NAMES.index(ends[0][:3]), DAY_NAMES.index(ends[-1][:3])
        if last < first:
            raise _bad(spec, f"the day range {part!r} runs backwards")
        days.update(range(first, last + 1))
    return frozenset(days)


def parse_business_hours(spec: str) -> BusinessCalendar:
    """Parse the setting; raises :class:`InvalidInputError` saying what to fix."""
    head, *rest = [p.strip() for p in spec.split(";")]
    tokens = head.split()
    if len(tokens) not in (2, 3):
        raise _bad(spec, "expected days, hours and an optional time zone")
    weekdays = _days(tokens[0], spec)
    match = _HOURS.match(tokens[1])
    if not match:
        raise _bad(spec, f"{tokens[1]!r} is not a range of hours like 09:00-17:00")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2) or (h2, m2) <= (h1, m1):
        raise _bad(spec, f"{tokens[1]!r} must be a same-day range, opening before closing")
    closes = time(23, 59, 59) if h2 == 24 else time(h2, m2)
    zone = tokens[2] if len(tokens) == 3 else "UTC"
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise _bad(spec, f"{zone!r} is not an IANA time zone (like Europe/Berlin)") from exc
    holidays: set[date] = set()
    for part in rest:
        words = part.replace(",", " ").split()
        if not words:
            continue
        if words[0].lower() != "holidays":
            raise _bad(spec, f"{part!r} should start with 'holidays'")
        for word in words[1:]:
            try:
                holidays.add(date.fromisoformat(word))
            except ValueError as exc:
                raise _bad(spec, f"holiday {word!r} is not a date like 2026-12-25") from exc
    return BusinessCalendar(weekdays, time(h1, m1), closes, zone, frozenset(holidays), spec)
