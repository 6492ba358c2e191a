"""Recurring community schedules: parse plain-text rules and compute the next run.

Everything here is pure: no Telegram, no database and no system clock, so callers pass
`after` themselves. Times of day are local to the community's IANA time zone.
"""

from __future__ import annotations

import calendar
import datetime as dt
import enum
import functools
import logging
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import holidays as holidays_lib
from holidays.countries.india import India

log = logging.getLogger(__name__)


class RuleKind(enum.StrEnum):
    NTH_WEEKDAY = "nth_weekday"
    WEEKLY = "weekly"
    MONTH_DAY = "month_day"
    LAST_DAY = "last_day"
    LAST_WORKING_DAY = "last_working_day"
    OFF = "off"


# Ordinal -1 is "last", so "last Monday" and "fourth Monday" differ in months with five Mondays.
LAST = -1
ORDINAL_NAMES = {1: "first", 2: "second", 3: "third", 4: "fourth", LAST: "last"}
WEEKDAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

# One valid input per form, for help text that shows what works.
RULE_EXAMPLES = (
    "first Monday 10:00",
    "last Friday 5 pm",
    "every Friday 16:00",
    "day 5 09:30",
    "last day 17:00",
    "last working day 11:00",
    "off",
)


@dataclass(frozen=True)
class ScheduleRule:
    """A recurring run time; `weekday` counts from Monday = 0 as in `datetime.weekday()`.

    Fields a kind does not use stay None, and `time` is None only for OFF.
    `__post_init__` raises ValueError for any other combination.
    """

    kind: RuleKind
    time: dt.time | None = None
    ordinal: int | None = None
    weekday: int | None = None
    day: int | None = None

    def __post_init__(self) -> None:
        uses_weekday = self.kind in (RuleKind.NTH_WEEKDAY, RuleKind.WEEKLY)
        expected = {
            "time": self.kind is not RuleKind.OFF,
            "ordinal": self.kind is RuleKind.NTH_WEEKDAY,
            "weekday": uses_weekday,
            "day": self.kind is RuleKind.MONTH_DAY,
        }
        for field, required in expected.items():
            value = getattr(self, field)
            if required and value is None:
                raise ValueError(f"{self.kind} rule requires {field}")
            if not required and value is not None:
                raise ValueError(f"{self.kind} rule must not set {field}, got {value!r}")
        if self.time is not None and self.time.tzinfo is not None:
            raise ValueError("rule time must be naive: the community's time zone applies")
        if self.ordinal is not None and self.ordinal not in ORDINAL_NAMES:
            raise ValueError(f"ordinal must be 1-4 or -1 (last), got {self.ordinal}")
        if self.weekday is not None and not 0 <= self.weekday <= 6:
            raise ValueError(f"weekday must be 0 (Monday) to 6 (Sunday), got {self.weekday}")
        if self.day is not None and not 1 <= self.day <= 31:
            raise ValueError(f"day must be 1-31, got {self.day}")


OFF_RULE = ScheduleRule(RuleKind.OFF)


class ScheduleParseError(ValueError):
    """Invalid rule text.

    `code` is one of: empty, time_missing, time_invalid, day_invalid, weekday_invalid,
    ordinal_invalid, unknown. `text` is the whole input and `fragment` the part that
    failed to parse.
    """

    def __init__(self, code: str, text: str, fragment: str | None = None) -> None:
        self.code = code
        self.text = text
        self.fragment = text if fragment is None else fragment
        super().__init__(f"invalid schedule rule ({code}): {self.fragment!r} in {text!r}")


# --- Parsing -----------------------------------------------------------------------------

_ORDINAL_WORDS = {
    "first": 1,
    "1st": 1,
    "second": 2,
    "2nd": 2,
    "third": 3,
    "3rd": 3,
    "fourth": 4,
    "4th": 4,
    "last": LAST,
}
_WEEKDAY_WORDS = {name: index for index, name in enumerate(WEEKDAY_NAMES)}
_WEEKDAY_WORDS.update(
    {
        "mon": 0,
        "tue": 1,
        "tues": 1,
        "wed": 2,
        "thu": 3,
        "thur": 3,
        "thurs": 3,
        "fri": 4,
        "sat": 5,
        "sun": 6,
    }
)
# Plurals, as in "every Fridays".
_WEEKDAY_WORDS.update({f"{name}s": index for index, name in enumerate(WEEKDAY_NAMES)})

# Each head pattern matches the start of the normalized text, and the rest is the time.
# "last working day" and "last day" come before "<ordinal> <weekday>" because "last" is
# also an ordinal.
_OFF = re.compile(r"off$")
_LAST_WORKING_DAY = re.compile(r"last (?:working|business|work) day(?: of (?:the )?month)?\b")
_LAST_DAY = re.compile(r"last day(?: of (?:the )?month)?\b")
_MONTH_DAY = re.compile(r"day\b ?(?P<day>\S*)")
_WEEKLY = re.compile(r"every\b ?(?P<weekday>[^\s\d:]*)")
_NTH_WEEKDAY = re.compile(r"(?P<ordinal>" + "|".join(_ORDINAL_WORDS) + r")\b ?(?P<weekday>\S*)")
# An ordinal beyond "fourth" before a weekday: a month has only four of some weekdays.
_ORDINAL_TOO_HIGH = re.compile(
    r"(?P<ordinal>fifth|sixth|seventh|eighth|ninth|tenth|\d{1,2}(?:st|nd|rd|th)) (?P<weekday>\S+)"
)

_TIME_24H = re.compile(r"(?P<hour>\d{1,2}):(?P<minute>\d{2})")
_TIME_12H = re.compile(r"(?P<hour>\d{1,2})(?::(?P<minute>\d{2}))? ?(?P<half>am|pm)")
_DAY_NUMBER = re.compile(r"(?P<day>\d{1,2})(?:st|nd|rd|th)?")


# Hindi input is rewritten word by word into the English forms that the patterns above
# read, so "हर शुक्रवार शाम 4 बजे" parses as "every friday 4 pm". An empty string drops a
# filler word ("महीने का पहला सोमवार" is "first monday").
_HINDI_WORDS = {
    "पहला": "first",
    "पहले": "first",
    "पहली": "first",
    "दूसरा": "second",
    "दूसरे": "second",
    "दूसरी": "second",
    "तीसरा": "third",
    "तीसरे": "third",
    "तीसरी": "third",
    "चौथा": "fourth",
    "चौथे": "fourth",
    "चौथी": "fourth",
    "पाँचवाँ": "fifth",
    "पाँचवां": "fifth",
    "पांचवाँ": "fifth",
    "पांचवां": "fifth",
    "पाँचवा": "fifth",
    "पांचवा": "fifth",
    "पाँचवें": "fifth",
    "पांचवें": "fifth",
    "पाँचवीं": "fifth",
    "पांचवीं": "fifth",
    "आखिरी": "last",
    "आख़िरी": "last",
    "अंतिम": "last",
    "सोमवार": "monday",
    "सोम": "monday",
    "मंगलवार": "tuesday",
    "मंगल": "tuesday",
    "बुधवार": "wednesday",
    "बुध": "wednesday",
    "गुरुवार": "thursday",
    "बृहस्पतिवार": "thursday",
    "गुरु": "thursday",
    "शुक्रवार": "friday",
    "शुक्र": "friday",
    "शनिवार": "saturday",
    "शनि": "saturday",
    "रविवार": "sunday",
    "इतवार": "sunday",
    "रवि": "sunday",
    "हर": "every",
    "प्रत्येक": "every",
    "तारीख": "day",
    "तारीख़": "day",
    "दिन": "day",
    "दिवस": "day",
    "कामकाजी": "working",
    "कार्य": "working",
    # "कार्यदिवस" (working day) is one word.
    "कार्यदिवस": "working day",
    "बंद": "off",
    "महीने": "",
    "महीना": "",
    "माह": "",
    "का": "",
    "की": "",
    "के": "",
    "को": "",
}
# Phrases dropped before the word table applies: "हर दिन" or "रोज़" (every day) adds
# nothing to a daily time, nor "हर महीने" (every month) to a monthly rule. "हर" alone is
# the "every" of a weekly rule.
_HINDI_DROPPED = re.compile(
    r"(?:^| )(?:हर (?:दिन|रोज़?|महीने|माह)|रोज़?|रोजाना|रोज़ाना|प्रतिदिन)(?= |$)"
)
# "5 तारीख" (the 5th) puts the number before the word; "day 5" puts it after.
_HINDI_MONTH_DAY = re.compile(r"(?P<day>\d{1,2}) (?:तारीख़?|तारीक)(?= |$)")
# A time with a part of the day or "बजे" (o'clock): "सुबह 10 बजे", "शाम 5:30", "16 बजे".
_HINDI_TIME = re.compile(
    r"(?:(?P<part>सुबह|सवेरे|दोपहर|शाम|रात) (?:को )?)?"
    r"(?P<hour>\d{1,2})(?::(?P<minute>\d{2}))?(?P<oclock> बजे)?(?= |$)"
)
_DEVANAGARI_DIGITS = str.maketrans("०१२३४५६७८९", "0123456789")


def _hindi_time(match: re.Match[str]) -> str:
    """Rewrite a matched Hindi time as "10 am", "5:30 pm" or "16:00"; other numbers stay."""
    part, oclock = match["part"], match["oclock"]
    if part is None and oclock is None:
        return match[0]
    hour = int(match["hour"])
    minute = f":{match['minute']}" if match["minute"] else ""
    if part is None:
        # "16 बजे" can only be 16:00, but "5 बजे" alone is left as "5", which parse_time
        # rejects because it could mean either half of the day.
        if hour > 12 or minute:
            return f"{hour}{minute or ':00'}"
        return str(hour)
    if part in ("सुबह", "सवेरे"):
        half = "am"
    elif part == "दोपहर":
        # Midday: "दोपहर 12 बजे" is noon, "दोपहर 11 बजे" late morning, 1 to 4 afternoon.
        half = "am" if hour == 11 else "pm"
    elif part == "रात":
        # Night: 5 to 11 in the evening, 12 midnight, 1 to 4 after midnight.
        half = "am" if hour == 12 or hour <= 4 else "pm"
    else:
        half = "pm"
    return f"{hour}{minute} {half}"


def _normalize(text: str) -> str:
    # NFC makes "ख़" typed as one code point or as "ख" plus nukta the same string.
    lowered = unicodedata.normalize("NFC", text).strip().lower()
    lowered = lowered.translate(_DEVANAGARI_DIGITS)
    lowered = lowered.replace("a.m.", "am").replace("p.m.", "pm")
    lowered = lowered.replace(",", " ")
    lowered = " ".join(lowered.split())
    lowered = _HINDI_DROPPED.sub("", lowered).strip()
    lowered = _HINDI_MONTH_DAY.sub(r"day \g<day>", lowered)
    lowered = _HINDI_TIME.sub(_hindi_time, lowered)
    words = (_HINDI_WORDS.get(word, word) for word in lowered.split())
    return " ".join(word for word in words if word)


def parse_time(text: str) -> dt.time:
    """Parse "10:00", "9:30", "09:30", "10 am", "5:30 pm" (case-insensitive) to a naive time.

    Raises ScheduleParseError with code time_invalid. A bare number such as "10" is
    rejected because it could mean either half of the day.
    """
    normalized = _normalize(text)
    match_24h = _TIME_24H.fullmatch(normalized)
    if match_24h:
        hour = int(match_24h["hour"])
        minute = int(match_24h["minute"])
        if hour <= 23 and minute <= 59:
            return dt.time(hour, minute)
        raise ScheduleParseError("time_invalid", text, text)

    match_12h = _TIME_12H.fullmatch(normalized)
    if match_12h:
        hour = int(match_12h["hour"])
        minute = int(match_12h["minute"] or 0)
        if 1 <= hour <= 12 and minute <= 59:
            # 12 am is midnight and 12 pm is noon.
            hour %= 12
            if match_12h["half"] == "pm":
                hour += 12
            return dt.time(hour, minute)
    raise ScheduleParseError("time_invalid", text, text)


def _parse_weekday(word: str, text: str) -> int:
    weekday = _WEEKDAY_WORDS.get(word)
    if weekday is None:
        raise ScheduleParseError("weekday_invalid", text, word or text)
    return weekday


def _parse_rule_time(rest: str, text: str) -> dt.time:
    rest = rest.strip()
    if rest.startswith("at "):
        rest = rest[3:]
    if not rest or rest == "at":
        raise ScheduleParseError("time_missing", text, text)
    try:
        return parse_time(rest)
    except ScheduleParseError as error:
        raise ScheduleParseError("time_invalid", text, rest) from error


def parse_rule(text: str) -> ScheduleRule:
    """Parse a plain-text schedule rule such as "first Monday 10:00" or "off".

    Accepted forms, case-insensitive, each followed by a time (see `parse_time`),
    optionally after "at": "<first|second|third|fourth|last> <weekday>",
    "every <weekday>", "day <1-31>", "last day", "last working day"; and "off" alone.
    Raises ScheduleParseError, whose code names the part to fix: "fifth Monday" is
    ordinal_invalid.
    """
    normalized = _normalize(text)
    if not normalized:
        raise ScheduleParseError("empty", text)
    if _OFF.match(normalized):
        return OFF_RULE

    match = _LAST_WORKING_DAY.match(normalized)
    if match:
        time = _parse_rule_time(normalized[match.end() :], text)
        return ScheduleRule(RuleKind.LAST_WORKING_DAY, time=time)

    match = _LAST_DAY.match(normalized)
    if match:
        time = _parse_rule_time(normalized[match.end() :], text)
        return ScheduleRule(RuleKind.LAST_DAY, time=time)

    match = _MONTH_DAY.match(normalized)
    if match:
        day_match = _DAY_NUMBER.fullmatch(match["day"])
        if day_match is None or not 1 <= int(day_match["day"]) <= 31:
            raise ScheduleParseError("day_invalid", text, match["day"] or text)
        time = _parse_rule_time(normalized[match.end() :], text)
        return ScheduleRule(RuleKind.MONTH_DAY, time=time, day=int(day_match["day"]))

    match = _WEEKLY.match(normalized)
    if match:
        weekday = _parse_weekday(match["weekday"], text)
        time = _parse_rule_time(normalized[match.end() :], text)
        return ScheduleRule(RuleKind.WEEKLY, time=time, weekday=weekday)

    match = _NTH_WEEKDAY.match(normalized)
    if match:
        weekday = _parse_weekday(match["weekday"], text)
        time = _parse_rule_time(normalized[match.end() :], text)
        ordinal = _ORDINAL_WORDS[match["ordinal"]]
        return ScheduleRule(RuleKind.NTH_WEEKDAY, time=time, ordinal=ordinal, weekday=weekday)

    match = _ORDINAL_TOO_HIGH.match(normalized)
    if match and match["weekday"] in _WEEKDAY_WORDS:
        raise ScheduleParseError("ordinal_invalid", text, match["ordinal"])

    raise ScheduleParseError("unknown", text)


def describe_rule(rule: ScheduleRule) -> dict[str, Any]:
    """Return the rule's fields as template values.

    Keys are always kind, ordinal, weekday, day and time. ordinal is "first" to "fourth"
    or "last", weekday is the lowercase English name ("monday"), day is 1-31 and time is
    "HH:MM". Keys a kind does not use are None. The words are identifiers for templates
    to translate, not user-facing text.
    """
    return {
        "kind": rule.kind.value,
        "ordinal": None if rule.ordinal is None else ORDINAL_NAMES[rule.ordinal],
        "weekday": None if rule.weekday is None else WEEKDAY_NAMES[rule.weekday],
        "day": rule.day,
        "time": None if rule.time is None else rule.time.strftime("%H:%M"),
    }


# --- Holidays ----------------------------------------------------------------------------

# Names the `holidays` package does not list among India's subdivision aliases: former and
# informal names in common use.
_EXTRA_STATE_NAMES = {
    "orissa": "OD",
    "pondicherry": "PY",
    "uttaranchal": "UK",
    "new delhi": "DL",
    "nct of delhi": "DL",
    "national capital territory of delhi": "DL",
    "dadra and nagar haveli": "DH",
    "daman and diu": "DH",
    "jammu & kashmir": "JK",
}


def _state_key(name: str) -> str:
    return " ".join(name.replace("&", "and").casefold().split())


@functools.cache
def _state_codes() -> dict[str, str]:
    # Built from the installed package so that states it adds later are picked up.
    codes = {_state_key(code): code for code in India.subdivisions}
    codes.update({_state_key(alias): code for alias, code in India.subdivisions_aliases.items()})
    codes.update({_state_key(alias): code for alias, code in _EXTRA_STATE_NAMES.items()})
    return codes


def state_subdivision(state: str | None) -> str | None:
    """Return the `holidays` subdivision code for an Indian state or union territory name.

    Matching ignores case, extra spaces and "&" versus "and". Codes such as "MH" also
    match. Returns None for None and for names the package does not cover.
    """
    if state is None or not state.strip():
        return None
    return _state_codes().get(_state_key(state))


@functools.lru_cache(maxsize=256)
def _india_holidays(years: tuple[int, ...], subdivision: str | None) -> holidays_lib.HolidayBase:
    return holidays_lib.India(years=years, subdiv=subdivision)


class HolidayCalendar:
    """Public holidays in India, national plus one state's, from the `holidays` package.

    An unknown state is logged and ignored, so the calendar falls back to national
    holidays. Holiday data is cached per (years, state) across all calendars.
    NOTE: the package estimates some lunar-calendar dates (marked "(estimated)" in the
    name), and for several states it lists no state holidays at all.
    """

    def __init__(self, state: str | None = None) -> None:
        self.state = state
        self.subdivision = state_subdivision(state)
        if state is not None and state.strip() and self.subdivision is None:
            log.warning("Unknown Indian state %r: using national holidays only", state)

    def _holidays_for(self, day: dt.date) -> holidays_lib.HolidayBase:
        return _india_holidays((day.year,), self.subdivision)

    def is_holiday(self, day: dt.date) -> bool:
        return day in self._holidays_for(day)

    def name(self, day: dt.date) -> str | None:
        """Return the holiday's name, with "; " between names when several fall on one day."""
        return self._holidays_for(day).get(day)

    def is_working_day(self, day: dt.date) -> bool:
        """Return True for Monday to Friday unless the day is a holiday."""
        return day.weekday() < 5 and not self.is_holiday(day)


# --- Next run ----------------------------------------------------------------------------


class NextRun(NamedTuple):
    """A run time; `moved_from` is the scheduled time when a weekend or holiday moved it."""

    at: dt.datetime
    moved_from: dt.datetime | None = None


def _is_working_day(day: dt.date, holiday_calendar: HolidayCalendar | None) -> bool:
    if holiday_calendar is None:
        return day.weekday() < 5
    return holiday_calendar.is_working_day(day)


def _next_working_day(day: dt.date, holiday_calendar: HolidayCalendar | None) -> dt.date:
    while not _is_working_day(day, holiday_calendar):
        day += dt.timedelta(days=1)
    return day


def _month_date(
    rule: ScheduleRule, year: int, month: int, holiday_calendar: HolidayCalendar | None
) -> dt.date:
    month_length = calendar.monthrange(year, month)[1]
    last = dt.date(year, month, month_length)

    if rule.kind is RuleKind.MONTH_DAY:
        assert rule.day is not None
        # Day 31 in a 30-day month, or 29-31 in February, means the month's last day.
        return dt.date(year, month, min(rule.day, month_length))

    if rule.kind is RuleKind.LAST_DAY:
        return last

    if rule.kind is RuleKind.LAST_WORKING_DAY:
        day = last
        # Every month has working days, so this stops within the month.
        while not _is_working_day(day, holiday_calendar):
            day -= dt.timedelta(days=1)
        return day

    assert rule.kind is RuleKind.NTH_WEEKDAY
    assert rule.weekday is not None and rule.ordinal is not None
    if rule.ordinal == LAST:
        return last - dt.timedelta(days=(last.weekday() - rule.weekday) % 7)
    first = dt.date(year, month, 1)
    first_match = first + dt.timedelta(days=(rule.weekday - first.weekday()) % 7)
    # Ordinals 1-4 always exist: every month has at least 28 days.
    return first_match + dt.timedelta(weeks=rule.ordinal - 1)


def _scheduled_dates(
    rule: ScheduleRule, start: dt.date, holiday_calendar: HolidayCalendar | None
) -> Iterator[dt.date]:
    """Yield the rule's dates on or after `start`, in order, without end."""
    if rule.kind is RuleKind.WEEKLY:
        assert rule.weekday is not None
        day = start + dt.timedelta(days=(rule.weekday - start.weekday()) % 7)
        while True:
            yield day
            day += dt.timedelta(weeks=1)

    year, month = start.year, start.month
    while True:
        day = _month_date(rule, year, month, holiday_calendar)
        if day >= start:
            yield day
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def _local_datetime(day: dt.date, time: dt.time, zone: ZoneInfo) -> dt.datetime:
    # The UTC round trip normalizes times the zone skips: with fold=0, 01:30 on the
    # Europe/London spring-forward day becomes 02:30 BST, later by the gap length. A time
    # that occurs twice at fall-back keeps fold=0, the earlier of the two.
    return dt.datetime.combine(day, time, tzinfo=zone).astimezone(dt.UTC).astimezone(zone)


# A move off a weekend and adjacent holidays spans a few days in Indian calendars, so
# scanning from this far before `after` finds an earlier run that a move pushes past it.
# NOTE: a stretch of more than 31 non-working days would make next_run skip that run.
_MOVE_LOOKBACK = dt.timedelta(days=31)


def next_run(
    rule: ScheduleRule,
    after: dt.datetime,
    timezone: str,
    *,
    holidays: HolidayCalendar | None = None,
    move_off_holidays: bool = False,
) -> NextRun | None:
    """Compute the first run strictly after `after`, in the `timezone` zone, or None for OFF.

    `holidays` marks non-working days for "last working day" and for moves. Without it
    only Saturday and Sunday count as non-working. With `move_off_holidays`, a run on a
    non-working day moves to the next working day at the same local time.
    Raises ValueError for a naive `after` and ZoneInfoNotFoundError for an unknown zone.
    """
    if after.tzinfo is None or after.utcoffset() is None:
        raise ValueError(f"after must be timezone-aware, got {after!r}")
    if rule.kind is RuleKind.OFF:
        return None
    assert rule.time is not None

    zone = ZoneInfo(timezone)
    after_local = after.astimezone(zone)
    start = after_local.date()
    if move_off_holidays:
        start -= _MOVE_LOOKBACK

    for day in _scheduled_dates(rule, start, holidays):
        scheduled = _local_datetime(day, rule.time, zone)
        if move_off_holidays and not _is_working_day(day, holidays):
            moved_day = _next_working_day(day, holidays)
            moved = _local_datetime(moved_day, rule.time, zone)
            if moved > after:
                return NextRun(at=moved, moved_from=scheduled)
        elif scheduled > after:
            return NextRun(at=scheduled)
    raise AssertionError("unreachable: the scheduled dates never end")
