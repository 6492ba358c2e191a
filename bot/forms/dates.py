"""Date, month, and date and time fields for typed answers in English or Hindi.

Typed dates need forms that registry imports never contain (relative words, weekdays,
no year, Hindi month names) and an error code per reason, so these fields parse text
themselves instead of calling `storage.normalize.parse_date`. That function also reads
bare numbers as Excel serial dates, which a typed answer must not be.
"""

from __future__ import annotations

import calendar
import contextlib
import datetime as dt
import re
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from bot.texts import MONTHS, indian_date
from storage.normalize import devanagari_key, fold

from .base import Field, FieldError, ascii_digits, require_text, require_type, typed

# Month names and abbreviations in English and Hindi, keyed by `_name_key`. The Hindi
# abbreviations are the ones `bot.texts.MONTHS` displays, so displayed dates parse back.
_MONTH_NAMES: dict[int, tuple[str, ...]] = {
    1: ("january", "jan", "जनवरी", "जन"),
    2: ("february", "feb", "फ़रवरी", "फरवरी", "फ़र", "फर"),
    3: ("march", "mar", "मार्च"),
    4: ("april", "apr", "अप्रैल", "अप्रेल"),
    5: ("may", "मई"),
    6: ("june", "jun", "जून"),
    7: ("july", "jul", "जुलाई", "जुल"),
    8: ("august", "aug", "अगस्त", "अग"),
    9: ("september", "sep", "sept", "सितंबर", "सितम्बर", "सित"),
    10: ("october", "oct", "अक्टूबर", "अक्तूबर", "अक्तू", "अक्टू"),
    11: ("november", "nov", "नवंबर", "नवम्बर", "नव"),
    12: ("december", "dec", "दिसंबर", "दिसम्बर", "दिस"),
}

_WEEKDAY_NAMES: dict[int, tuple[str, ...]] = {
    0: ("monday", "mon", "सोमवार", "somvar", "somwar"),
    1: ("tuesday", "tue", "tues", "मंगलवार", "mangalvar", "mangalwar"),
    2: ("wednesday", "wed", "बुधवार", "budhvar", "budhwar"),
    3: ("thursday", "thu", "thur", "thurs", "गुरुवार", "बृहस्पतिवार", "guruvar", "guruwar"),
    4: ("friday", "fri", "शुक्रवार", "shukravar", "shukrawar"),
    5: ("saturday", "sat", "शनिवार", "shanivar", "shaniwar"),
    6: ("sunday", "sun", "रविवार", "इतवार", "ravivar", "raviwar", "itvar", "itwar"),
}

# Days from today. None marks the words whose direction depends on the field: Hindi
# "कल" is both tomorrow and yesterday, and "परसों" both in two days and two days ago.
_RELATIVE_DAYS: dict[str, int | None] = {
    "today": 0,
    "aaj": 0,
    "aj": 0,
    "आज": 0,
    "tomorrow": 1,
    "tmrw": 1,
    "tmr": 1,
    "yesterday": -1,
    "day after tomorrow": 2,
    "day before yesterday": -2,
    "kal": None,
    "कल": None,
    "parso": None,
    "parson": None,
    "परसों": None,
    "परसो": None,
}
_RELATIVE_DAYS = {devanagari_key(word): days for word, days in _RELATIVE_DAYS.items()}
_TWO_DAY_WORDS = {devanagari_key(word) for word in ("parso", "parson", "परसों", "परसो")}

_NEXT_WORDS = {"next", "coming", "agle", "agla", "अगले", "अगला"}
_LAST_WORDS = {"last", "previous", "pichhle", "pichle", "पिछले", "पिछला"}
_THIS_WORDS = {"this", "current", "is", "इस", "यह"}
_MONTH_WORDS = {"month", "mahine", "mahina", "महीने", "महीना", "माह"}

# Separators between day, month and year, and ordinal suffixes ("15th").
_SEP = r"[\s\-/.,']+"
_ISO_RE = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$")
_DAY_MONTH_RE = re.compile(r"^(\d{1,2})[-/.](\d{1,2})(?:[-/.](\d{2}|\d{4}))?$")
_DAY_NAME_RE = re.compile(
    rf"^(\d{{1,2}})(?:st|nd|rd|th)?(?:{_SEP})?([^\s\d\-/.,']+)(?:{_SEP}(\d{{2}}|\d{{4}}))?$"
)
_NAME_DAY_RE = re.compile(
    rf"^([^\s\d\-/.,']+){_SEP}(\d{{1,2}})(?:st|nd|rd|th)?(?:{_SEP}(\d{{4}}))?$"
)
_YEAR_MONTH_RE = re.compile(r"^(\d{4})[-/.](\d{1,2})$")
_MONTH_YEAR_RE = re.compile(r"^(\d{1,2})[-/.](\d{4}|\d{2})$")
_NAME_YEAR_RE = re.compile(rf"^([^\s\d\-/.,']+)(?:{_SEP}(\d{{4}}|\d{{2}}))?$")

# How far from today a date typed without a year is looked for: 8 years always
# includes a 29 February.
_YEAR_SEARCH = 8


def _name_key(word: str) -> str:
    # "Dec." and the Hindi abbreviation sign in "दिस॰" are both dropped.
    return devanagari_key(fold(word).rstrip(".\u0970"))


_MONTH_BY_NAME = {
    _name_key(name): number for number, names in _MONTH_NAMES.items() for name in names
}
_WEEKDAY_BY_NAME = {
    _name_key(name): number for number, names in _WEEKDAY_NAMES.items() for name in names
}


def month_number(word: str) -> int | None:
    """Return 1-12 for an English or Hindi month name or abbreviation, else None."""
    return _MONTH_BY_NAME.get(_name_key(word))


def _clean(text: str) -> str:
    """Return the folded answer with ASCII digits and without trailing punctuation."""
    return fold(ascii_digits(require_text(text))).replace("\u0970", ".").strip(" .!?")


def _full_year(year_text: str) -> int:
    # A two-digit year is in this century: "26" is 2026.
    year = int(year_text)
    return 2000 + year if len(year_text) == 2 else year


@contextlib.contextmanager
def _quoting(text: str) -> Iterator[None]:
    """Quote the answer as typed, not as cleaned, in a FieldError raised inside."""
    try:
        yield
    except FieldError as error:
        if "typed" in error.params:
            error.params["typed"] = typed(text)
        raise


def _add_months(first: dt.date, months: int) -> dt.date:
    index = first.year * 12 + first.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def _check_range(
    value: dt.date, earliest: dt.date | None, latest: dt.date | None, code: str, answer: str
) -> None:
    if (earliest is not None and value < earliest) or (latest is not None and value > latest):
        raise FieldError(code, typed=typed(answer), earliest=earliest, latest=latest)


@dataclass(frozen=True, kw_only=True)
class DateField(Field[dt.date]):
    """A calendar day, typed as a word, a weekday or a day and month with an optional year.

    `future` sets the direction of an answer that names none: Hindi "कल" is
    tomorrow when `future` is true and yesterday when false. A weekday name is the
    next such day after today (or the last before today when `future` is false), so
    "friday" typed on a Friday is a week away. A date without a year ("15/12",
    "15 Dec") is the next such date on or after today when `future` is true, or the
    last on or before today when false, so "29/02" finds the next leap year.
    Numeric dates are read day first, as Indians write them.

    The allowed range is the narrower of the absolute bounds `earliest`/`latest` and
    the bounds relative to today, `earliest_days`/`latest_days` (0 is today, negative
    is in the past). None leaves a side open.
    """

    earliest: dt.date | None = None
    latest: dt.date | None = None
    earliest_days: int | None = None
    latest_days: int | None = None
    future: bool = True

    def parse(self, text: str, *, today: dt.date, locale: str) -> dt.date:
        answer = _clean(text)
        value = self._relative(answer, today)
        if value is None:
            value = self._weekday(answer, today)
        if value is None:
            with _quoting(text):
                value = self._explicit(answer, today)
        earliest, latest = self.bounds(today)
        _check_range(value, earliest, latest, "date_out_of_range", text)
        return value

    def bounds(self, today: dt.date) -> tuple[dt.date | None, dt.date | None]:
        """Return the earliest and latest allowed dates on `today`, None where open."""
        earliest = self.earliest
        if self.earliest_days is not None:
            relative = today + dt.timedelta(days=self.earliest_days)
            earliest = relative if earliest is None else max(earliest, relative)
        latest = self.latest
        if self.latest_days is not None:
            relative = today + dt.timedelta(days=self.latest_days)
            latest = relative if latest is None else min(latest, relative)
        return earliest, latest

    def _relative(self, answer: str, today: dt.date) -> dt.date | None:
        key = _name_key(answer)
        if key not in _RELATIVE_DAYS:
            return None
        days = _RELATIVE_DAYS[key]
        if days is None:
            size = 2 if key in _TWO_DAY_WORDS else 1
            days = size if self.future else -size
        return today + dt.timedelta(days=days)

    def _weekday(self, answer: str, today: dt.date) -> dt.date | None:
        words = answer.split()
        direction = 1 if self.future else -1
        if len(words) == 2 and words[0] in _NEXT_WORDS:
            direction = 1
        elif len(words) == 2 and words[0] in _LAST_WORDS:
            direction = -1
        elif len(words) != 1 and not (len(words) == 2 and words[0] in _THIS_WORDS):
            return None
        weekday = _WEEKDAY_BY_NAME.get(_name_key(words[-1]))
        if weekday is None:
            return None
        if direction > 0:
            return today + dt.timedelta(days=(weekday - today.weekday() - 1) % 7 + 1)
        return today - dt.timedelta(days=(today.weekday() - weekday - 1) % 7 + 1)

    def _explicit(self, answer: str, today: dt.date) -> dt.date:
        if match := _ISO_RE.match(answer):
            year, month, day = match.groups()
            return self._build(answer, int(day), int(month), int(year), today)
        if match := _DAY_MONTH_RE.match(answer):
            day, month, year = match.groups()
            return self._build(answer, int(day), int(month), _year(year), today)
        for pattern, day_group in ((_DAY_NAME_RE, 1), (_NAME_DAY_RE, 2)):
            match = pattern.match(answer)
            if match is None:
                continue
            month = month_number(match.group(3 - day_group))
            if month is not None:
                day = int(match.group(day_group))
                return self._build(answer, day, month, _year(match.group(3)), today)
        if _is_month(answer):
            raise FieldError("date_day_missing", typed=typed(answer))
        raise FieldError("date_invalid", typed=typed(answer))

    def _build(
        self, answer: str, day: int, month: int, year: int | None, today: dt.date
    ) -> dt.date:
        if not 1 <= month <= 12:
            raise FieldError("date_no_such_month", typed=typed(answer), month=month)
        if year is None:
            return self._without_year(answer, day, month, today)
        if not 1 <= year <= 9999:
            raise FieldError("date_invalid", typed=typed(answer))
        days_in_month = calendar.monthrange(year, month)[1]
        if not 1 <= day <= days_in_month:
            raise FieldError(
                "date_impossible",
                typed=typed(answer),
                day=day,
                month=month,
                year=year,
                days_in_month=days_in_month,
            )
        return dt.date(year, month, day)

    def _without_year(self, answer: str, day: int, month: int, today: dt.date) -> dt.date:
        years = range(today.year - _YEAR_SEARCH, today.year + _YEAR_SEARCH + 1)
        dates = [
            dt.date(year, month, day)
            for year in years
            if 1 <= day <= calendar.monthrange(year, month)[1]
        ]
        if self.future:
            found = [value for value in dates if value >= today]
            if found:
                return found[0]
        else:
            found = [value for value in dates if value <= today]
            if found:
                return found[-1]
        # No year has this day: 31/04, or 30/02. February is reported with 29 days.
        raise FieldError(
            "date_impossible",
            typed=typed(answer),
            day=day,
            month=month,
            year=None,
            days_in_month=29 if month == 2 else calendar.monthrange(2001, month)[1],
        )

    def display(self, value: dt.date, locale: str) -> str:
        return indian_date(value, locale)

    def to_json(self, value: dt.date) -> str:
        return value.isoformat()

    def from_json(self, data: Any) -> dt.date:
        require_type(data, str, "date")
        return dt.date.fromisoformat(data)


def _year(text: str | None) -> int | None:
    return None if text is None else _full_year(text)


def _is_month(answer: str) -> bool:
    if _YEAR_MONTH_RE.match(answer) or _MONTH_YEAR_RE.match(answer):
        return True
    match = _NAME_YEAR_RE.match(answer)
    return bool(match and month_number(match.group(1)) is not None)


@dataclass(frozen=True, kw_only=True)
class MonthField(Field[dt.date]):
    """A calendar month; the value is its first day.

    Accepts "Dec 2026", "December 2026", "दिसंबर 2026", "12/2026", "2026-12", "this
    month", "last month", "next month" and their Hindi forms ("पिछले महीने"). A month
    name without a year is the last such month up to this one when `future` is false,
    or the next from this one on when true. `earliest` and `latest` are compared as
    first days of months, and None leaves a side open.
    """

    earliest: dt.date | None = None
    latest: dt.date | None = None
    future: bool = False

    def parse(self, text: str, *, today: dt.date, locale: str) -> dt.date:
        answer = _clean(text)
        this_month = today.replace(day=1)
        value = _relative_month(answer, this_month)
        if value is None:
            with _quoting(text):
                value = self._explicit(answer, this_month)
        earliest = self.earliest.replace(day=1) if self.earliest else None
        latest = self.latest.replace(day=1) if self.latest else None
        _check_range(value, earliest, latest, "month_out_of_range", text)
        return value

    def _explicit(self, answer: str, this_month: dt.date) -> dt.date:
        month: int
        year: int | None
        if match := _YEAR_MONTH_RE.match(answer):
            year, month = int(match.group(1)), int(match.group(2))
        elif match := _MONTH_YEAR_RE.match(answer):
            month, year = int(match.group(1)), _full_year(match.group(2))
        elif (match := _NAME_YEAR_RE.match(answer)) and (named := month_number(match.group(1))):
            month = named
            year = _year(match.group(2))
        else:
            raise FieldError("month_invalid", typed=typed(answer))

        if not 1 <= month <= 12:
            raise FieldError("month_no_such_month", typed=typed(answer), month=month)
        if year is None:
            value = this_month.replace(month=month)
            if self.future and value < this_month:
                return _add_months(value, 12)
            if not self.future and value > this_month:
                return _add_months(value, -12)
            return value
        if not 1 <= year <= 9999:
            raise FieldError("month_invalid", typed=typed(answer))
        return dt.date(year, month, 1)

    def display(self, value: dt.date, locale: str) -> str:
        months = MONTHS.get(locale, MONTHS["en"])
        return f"{months[value.month - 1]} {value.year}"

    def to_json(self, value: dt.date) -> str:
        return value.isoformat()

    def from_json(self, data: Any) -> dt.date:
        require_type(data, str, "month")
        value = dt.date.fromisoformat(data)
        if value.day != 1:
            raise ValueError(f"stored month {data!r} is not the first day of a month")
        return value


def _relative_month(answer: str, this_month: dt.date) -> dt.date | None:
    words = answer.split()
    if len(words) != 2 or words[1] not in _MONTH_WORDS:
        return None
    if words[0] in _THIS_WORDS:
        return this_month
    if words[0] in _LAST_WORDS:
        return _add_months(this_month, -1)
    if words[0] in _NEXT_WORDS:
        return _add_months(this_month, 1)
    return None


# --- Date and time ----------------------------------------------------------------------

# Weekday labels of summaries by locale, Monday first. Hindi has the full names, which
# the weekday words above also read, so a displayed date and time parses back.
_WEEKDAY_LABELS = {
    "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
    "hi": ("सोमवार", "मंगलवार", "बुधवार", "गुरुवार", "शुक्रवार", "शनिवार", "रविवार"),
}

# A date without a year up to this many days ago is read as past, not as next year's.
RECENT_PAST_DAYS = 31
# A single-digit hour from 1 up to this, with no am/pm or day word, is read as pm.
AFTERNOON_GUESS_MAX_HOUR = 6
# Words for a part of the day, before or after the hour ("शाम 5 बजे", "5 baje shaam").
# A night word makes 5 to 11 pm and 12 midnight, and leaves 1 to 4 am, so "रात 2 बजे" is 02:00.
_DAY_PART_WORDS: dict[str, str] = {
    "morning": "am",
    "subah": "am",
    "subha": "am",
    "सुबह": "am",
    "सवेरे": "am",
    "afternoon": "pm",
    "dopahar": "pm",
    "dopehar": "pm",
    "दोपहर": "pm",
    "evening": "pm",
    "shaam": "pm",
    "sham": "pm",
    "शाम": "pm",
    "night": "night",
    "raat": "night",
    "rat": "night",
    "रात": "night",
}
_DAY_PARTS = {_name_key(word): part for word, part in _DAY_PART_WORDS.items()}
_MERIDIEMS = {"am": "am", "a.m": "am", "pm": "pm", "p.m": "pm"}
# Words after the hour that mark a number as a time: "5 बजे", "17 hrs".
_HOUR_WORDS = {
    _name_key(word) for word in ("बजे", "baje", "bje", "oclock", "o'clock", "hrs", "hr", "hours")
}
# Words between the date and the time: "kal ko 5 baje", "15 Dec at 10:30".
_CONNECTORS = {_name_key(word) for word in ("at", "@", "on", "ko", "को")}

_CLOCK_RE = re.compile(r"^(\d{1,2})(?:([:.])(\d{2}))?$")
# A time word written against its number, as in "5pm", "10a.m." or "5बजे".
_ATTACHED_RE = re.compile(r"(\d)(a\.?m\.?|p\.?m\.?|बजे|baje|bje|hrs|hr)(?=\s|$)")
# The maximum number of words in a time: a day part, the clock, am/pm or बजे, and a day part after.
_MAX_TIME_WORDS = 4


@dataclass(frozen=True)
class _Clock:
    """A time read from an answer; `bare_dotted` marks "15.12", which may be a date too."""

    time: dt.time
    bare_dotted: bool


def _time_words(answer: str) -> list[str]:
    """Split a cleaned answer into words, with time words apart from their numbers."""
    spaced = _ATTACHED_RE.sub(r"\1 \2", answer.replace(",", " "))
    return spaced.split()


def _read_clock(words: list[str], answer: str) -> _Clock | None:
    """Read `words` as one time of day, or return None when they are not shaped like a time.

    A bare number is a day, not a time, unless am/pm, बजे or a day part marks it.
    Raise FieldError("time_invalid") for a time-shaped answer that names no time,
    such as "25:00", "10:75" or "13 pm".
    """
    rest = list(words)
    day_part = None
    if rest and _name_key(rest[0]) in _DAY_PARTS:
        day_part = _DAY_PARTS[_name_key(rest.pop(0))]
    if len(rest) > 1 and day_part is None and _name_key(rest[-1]) in _DAY_PARTS:
        day_part = _DAY_PARTS[_name_key(rest.pop())]
    hour_word = bool(rest) and _name_key(rest[-1]) in _HOUR_WORDS
    if hour_word:
        rest.pop()
    meridiem = _MERIDIEMS.get(_name_key(rest[-1])) if rest else None
    if meridiem is not None:
        rest.pop()
    if len(rest) != 1 or (match := _CLOCK_RE.match(rest[0])) is None:
        return None

    hour_text, separator, minute_text = match.groups()
    marked = day_part is not None or hour_word or meridiem is not None
    if minute_text is None and not marked:
        return None
    hour, minute = int(hour_text), int(minute_text or 0)
    bare_dotted = separator == "." and not marked
    if bare_dotted and (hour > 23 or minute > 59):
        # "31.12" is a date, not a time.
        return None
    hour_of_day = _hour_of_day(hour, meridiem, day_part)
    if hour_of_day is None or minute > 59:
        raise FieldError("time_invalid", typed=typed(answer))
    # People write "5 बजे" or "5:30" for a meeting in the afternoon, because nobody meets
    # at 1 to 6 in the morning. "05:30", with its zero, stays morning.
    unmarked_single_digit = meridiem is None and day_part is None and len(hour_text) == 1
    if unmarked_single_digit and 1 <= hour_of_day <= AFTERNOON_GUESS_MAX_HOUR:
        hour_of_day += 12
    return _Clock(dt.time(hour_of_day, minute), bare_dotted)


def _hour_of_day(hour: int, meridiem: str | None, day_part: str | None) -> int | None:
    """Return the hour on the 24-hour clock, or None when the words name no such hour.

    am/pm needs an hour from 1 to 12. A day part also takes an hour already on the
    24-hour clock, as in "शाम 17:00", unless that hour contradicts it ("morning 17:00").
    """
    if hour > 23:
        return None
    if meridiem is not None:
        if not 1 <= hour <= 12:
            return None
        part = meridiem
    elif day_part is not None:
        if hour > 12 or hour == 0:
            return None if day_part == "am" and hour > 12 else hour
        part = day_part
    else:
        return hour
    if part == "am" or (part == "night" and hour <= 4):
        return 0 if hour == 12 else hour
    if part == "night":
        return 0 if hour == 12 else hour + 12
    return hour if hour == 12 else hour + 12


@dataclass(frozen=True, kw_only=True)
class DateTimeField(Field[dt.datetime]):
    """A date and a time of day in the zone `timezone`, such as "15 Dec 10:30" or "कल शाम 5 बजे".

    The date part is read as DateField reads it, for dates on or after today, and may
    start with its weekday ("Tue 15 Dec 2026"), which must then match. The time is
    "10:30", "10.30", "10 am", "5:30 pm", "17:00", "5 बजे" or "शाम 5 बजे"; words for the
    afternoon and evening make it pm. Date and time come in either order. A time alone
    is today, and a date alone raises "time_missing". "15.12" alone reads as 15 December,
    so it raises "time_missing" too, and the message suggests "15:12" for a time.

    `earliest` is an aware datetime, and an earlier answer raises "datetime_past". It
    is also the moment that "today", weekday names and a time alone count from, so a
    flow passes the current time (`FormContext.now`) when it builds the field. Without
    `earliest` they count from the `today` that `parse` gets. With `earliest_is_now`,
    the "datetime_past" message calls an earlier answer past instead of too early, so a
    flow that passes another moment as `earliest` sets it False. `latest_days` is how
    many days after that today the date may be at most, and None leaves it open. The value is
    an aware datetime in `timezone`. A wall time that the zone skips, inside a daylight
    saving gap, moves forward by the length of the gap, as calendar programs do.
    """

    timezone: str
    earliest: dt.datetime | None = None
    earliest_is_now: bool = True
    latest_days: int | None = 366

    def __post_init__(self) -> None:
        try:
            zoneinfo.ZoneInfo(self.timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"timezone {self.timezone!r} is not an IANA time zone") from None
        if self.earliest is not None and self.earliest.utcoffset() is None:
            raise ValueError(f"earliest {self.earliest} must have a UTC offset")
        if self.latest_days is not None and self.latest_days < 0:
            raise ValueError(f"latest_days must not be negative, not {self.latest_days}")

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    def parse(self, text: str, *, today: dt.date, locale: str) -> dt.datetime:
        # The date reading raises FieldErrors that quote only its part of the answer.
        with _quoting(text):
            return self._parse(text, today, locale)

    def _parse(self, text: str, today: dt.date, locale: str) -> dt.datetime:
        if self.earliest is not None:
            today = self.earliest.astimezone(self.zone).date()
        words = _time_words(_clean(text))
        if not words:
            raise FieldError("datetime_invalid", typed=typed(text))

        # The time is looked for at the end first, as in "15 Dec 10:30", then at the start.
        first_error: FieldError | None = None
        found = False
        for find in (_time_at_end, _time_at_start):
            split = find(words, text)
            if split is None:
                continue
            found = True
            clock, date_words = split
            date_words = _without_connectors(date_words)
            if not date_words:
                if clock.bare_dotted and self._reads_as_date(words, text, today, locale):
                    raise FieldError("time_missing", typed=typed(text), dotted=True)
                return self._checked(today, clock.time, text, today, locale, time_only=True)
            try:
                day = self._date(date_words, text, today, locale)
            except FieldError as error:
                first_error = first_error or error
                continue
            return self._checked(day, clock.time, text, today, locale, time_only=False)
        if not found:
            self._reject_without_time(words, text, today, locale)
        assert first_error is not None
        raise first_error

    def _date(self, words: list[str], text: str, today: dt.date, locale: str) -> dt.date:
        """Read the date part, which may start with a weekday that must match the date."""
        words = _without_connectors(words)
        if not words:
            raise FieldError("datetime_invalid", typed=typed(text))
        weekday = _WEEKDAY_BY_NAME.get(_name_key(words[0])) if len(words) > 1 else None
        if weekday is not None:
            words = words[1:]
        date_text = " ".join(words)
        value = DateField(future=True).parse(date_text, today=today, locale=locale)
        if (value - today).days > RECENT_PAST_DAYS:
            # A date typed without its year that passed a few days ago ("6 Dec" on 7 Dec)
            # is a mistake rather than next year's date, so it is read as the recent past
            # and rejected as such.
            recent = DateField(future=False).parse(date_text, today=today, locale=locale)
            if recent != value and (today - recent).days <= RECENT_PAST_DAYS:
                value = recent
        if weekday is not None and value.weekday() != weekday:
            raise FieldError(
                "date_weekday_mismatch", typed=typed(text), date=value, weekday=weekday
            )
        return value

    def _reads_as_date(self, words: list[str], text: str, today: dt.date, locale: str) -> bool:
        try:
            self._date(words, text, today, locale)
        except FieldError:
            return False
        return True

    def _reject_without_time(
        self, words: list[str], text: str, today: dt.date, locale: str
    ) -> None:
        """Raise "time_missing" for a date alone, else the date's error or "datetime_invalid"."""
        try:
            self._date(words, text, today, locale)
        except FieldError as error:
            if error.code == "date_invalid":
                raise FieldError("datetime_invalid", typed=typed(text)) from None
            raise
        raise FieldError("time_missing", typed=typed(text), dotted=False)

    def _checked(
        self,
        day: dt.date,
        time: dt.time,
        text: str,
        today: dt.date,
        locale: str,
        *,
        time_only: bool,
    ) -> dt.datetime:
        zone = self.zone
        try:
            wall = dt.datetime.combine(day, time, tzinfo=zone)
            # Through UTC and back, which moves a time in a daylight saving gap forward.
            value = wall.astimezone(dt.UTC).astimezone(zone)
            latest = None if self.latest_days is None else today + dt.timedelta(self.latest_days)
        except OverflowError:
            # A date in year 1 or 9999 whose time falls outside the datetime range in UTC.
            raise FieldError("datetime_invalid", typed=typed(text)) from None
        if latest is not None and value.date() > latest:
            raise FieldError("datetime_too_far", typed=typed(text), latest=latest)
        if self.earliest is not None and value < self.earliest:
            earliest = self.earliest.astimezone(zone)
            next_day = earliest.date() + dt.timedelta(days=1)
            raise FieldError(
                "datetime_past",
                typed=typed(text),
                earliest=self.display(earliest, locale),
                earliest_is_now=self.earliest_is_now,
                time_only=time_only,
                time=f"{time:%H:%M}",
                example=f"{next_day:%d/%m/%Y} {time:%H:%M}",
            )
        return value

    def display(self, value: dt.datetime, locale: str) -> str:
        """Format as "Tue 15 Dec 2026, 10:30" in the field's time zone."""
        local = value.astimezone(self.zone)
        weekdays = _WEEKDAY_LABELS.get(locale, _WEEKDAY_LABELS["en"])
        return f"{weekdays[local.weekday()]} {indian_date(local, locale)}, {local:%H:%M}"

    def to_json(self, value: dt.datetime) -> str:
        """Return ISO 8601 with the UTC offset, as in "2026-12-15T10:30:00+05:30"."""
        return value.astimezone(self.zone).isoformat()

    def from_json(self, data: Any) -> dt.datetime:
        require_type(data, str, "date and time")
        value = dt.datetime.fromisoformat(data)
        if value.utcoffset() is None:
            raise ValueError(f"stored date and time {data!r} has no UTC offset")
        return value.astimezone(self.zone)


def _without_connectors(words: list[str]) -> list[str]:
    return [word for word in words if _name_key(word) not in _CONNECTORS]


def _time_at_end(words: list[str], answer: str) -> tuple[_Clock, list[str]] | None:
    """Find the longest run of words at the end that is a time, and return it and the rest."""
    for size in range(min(len(words), _MAX_TIME_WORDS), 0, -1):
        clock = _read_clock(words[-size:], answer)
        if clock is not None:
            return clock, words[:-size]
    return None


def _time_at_start(words: list[str], answer: str) -> tuple[_Clock, list[str]] | None:
    """Find the longest run of words at the start that is a time, and return it and the rest."""
    for size in range(min(len(words), _MAX_TIME_WORDS), 0, -1):
        clock = _read_clock(words[:size], answer)
        if clock is not None:
            return clock, words[size:]
    return None
