"""Date and month fields for typed answers in English or Hindi, relative to a given today.

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
