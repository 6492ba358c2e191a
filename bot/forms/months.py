"""A set of calendar months, such as a harvest season: "Mar-May", "Nov to Feb", "साल भर".

The value is a tuple of month numbers 1-12 in the order typed, without repeats, so a
season that crosses the new year keeps its order: "Nov-Feb" is (11, 12, 1, 2).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from bot.texts import MONTHS
from storage.normalize import devanagari_key, fold

from .base import Field, FieldError, ascii_digits, match_key, require_text, require_type, typed
from .dates import month_number

ALL_MONTHS: tuple[int, ...] = tuple(range(1, 13))

# Phrases that mean every month when typed alone, compared by `match_key`.
_ALL_YEAR_PHRASES = (
    "all year", "all year round", "all the year", "all the year round", "year round",
    "round the year", "whole year", "the whole year", "throughout the year", "full year",
    "all months", "every month", "12 months", "twelve months", "perennial",
    "saal bhar", "sal bhar", "saalbhar", "pure saal", "poore saal", "pura saal", "barahmasi",
    "साल भर", "सालभर", "पूरे साल", "पूरा साल", "पूरे वर्ष", "वर्ष भर", "बारह महीने",
    "12 महीने", "बारहमासी", "हर महीने",
)  # fmt: skip
_ALL_YEAR_KEYS = {match_key(phrase) for phrase in _ALL_YEAR_PHRASES}

# Words between two months that make a range ("Mar to May", "मार्च से मई"), and words
# between list items. Hyphens and dashes are made words of their own before the split.
_RANGE_WORDS = {"-", "to", "till", "until", "through", "thru", "se", "से"}
_LIST_WORDS = {",", "and", "aur", "और", "तथा", "व", "evam", "एवं"}
# Words that add nothing to the months: "from Mar to May", "मार्च से मई तक", "in Oct".
_FILLER_WORDS = {
    "from", "in", "of", "the", "months", "month", "tak", "तक", "में", "महीने", "माह", "महीना",
}  # fmt: skip
_SPLIT_RE = re.compile(r"([,;/&+\-\u2010-\u2015\u2212])")
_DASHES = set("-\u2010\u2011\u2012\u2013\u2014\u2015\u2212")


def _word_key(word: str) -> str:
    return devanagari_key(fold(word).rstrip(".\u0970"))


_RANGE_KEYS = {_word_key(word) for word in _RANGE_WORDS}
_LIST_KEYS = {_word_key(word) for word in _LIST_WORDS}
_FILLER_KEYS = {_word_key(word) for word in _FILLER_WORDS}


def _tokens(answer: str) -> list[str]:
    """Split an answer into words, with separators and dashes as words of their own."""
    spaced = _SPLIT_RE.sub(r" \1 ", answer)
    tokens = []
    for word in spaced.split():
        if word in _DASHES:
            tokens.append("-")
        elif word in {";", "/", "&", "+"}:
            tokens.append(",")
        else:
            tokens.append(word)
    return tokens


def _read_month(word: str, answer: str) -> int | None:
    """Return the month a word names, None for a joining or filler word.

    Raise FieldError("months_unknown") for any other word, and
    FieldError("months_no_such_month") for a number outside 1-12.
    """
    key = _word_key(word)
    if key.isascii() and key.isdigit():
        number = int(key)
        if not 1 <= number <= 12:
            raise FieldError("months_no_such_month", typed=typed(answer), number=number)
        return number
    named = month_number(word)
    if named is not None:
        return named
    if key in _FILLER_KEYS:
        return None
    raise FieldError("months_unknown", typed=typed(answer), unknown=typed(word))


def _span(first: int, last: int) -> list[int]:
    """Return the months from `first` to `last`, across the new year when `last` is earlier."""
    length = (last - first) % 12 + 1
    return [(first - 1 + step) % 12 + 1 for step in range(length)]


def parse_months(text: str) -> tuple[int, ...]:
    """Parse a list or range of months in English or Hindi into month numbers 1-12.

    Accepts month names and abbreviations ("March", "Mar", "मार्च"), numbers ("3"),
    ranges ("Mar-May", "March to May", "नवंबर से फ़रवरी"), lists joined by commas,
    "and" or "और", and phrases for the whole year ("all year", "साल भर"). A range whose
    end is earlier than its start crosses the new year. Months come back in the order
    typed, each once. Raise FieldError, a ValueError, when the text names no months.
    """
    answer = ascii_digits(require_text(text))
    if match_key(answer) in _ALL_YEAR_KEYS:
        return ALL_MONTHS

    tokens = _tokens(fold(answer))
    # "between March and May" is a range, so its "and" joins the two ends.
    if tokens and _word_key(tokens[0]) == "between":
        tokens = tokens[1:]
        joins = [index for index, word in enumerate(tokens) if _word_key(word) in _LIST_KEYS]
        if joins:
            tokens[joins[0]] = "-"

    months: list[int] = []
    range_open = False
    for word in tokens:
        key = _word_key(word)
        if key in _RANGE_KEYS:
            if not months or range_open:
                raise FieldError("months_range_open", typed=typed(text))
            range_open = True
            continue
        if key in _LIST_KEYS:
            if range_open:
                raise FieldError("months_range_open", typed=typed(text))
            continue
        month = _read_month(word, text)
        if month is None:
            continue
        if range_open:
            months.extend(_span(months[-1], month)[1:])
            range_open = False
        else:
            months.append(month)
    if range_open:
        raise FieldError("months_range_open", typed=typed(text))
    if not months:
        raise FieldError("months_unknown", typed=typed(text), unknown=typed(text))
    return tuple(dict.fromkeys(months))


def season_order(months: tuple[int, ...] | list[int]) -> tuple[int, ...]:
    """Sort months into calendar order, starting after the longest gap.

    A season that crosses the new year stays in one piece: {1, 2, 11, 12} becomes
    (11, 12, 1, 2). Twelve months start at January.
    """
    present = sorted(set(months))
    if len(present) in (0, 12):
        return tuple(present)
    gaps = [
        ((present[(i + 1) % len(present)] - month - 1) % 12, i) for i, month in enumerate(present)
    ]
    # The longest gap ends before the start of the season; ties keep the earliest start.
    longest = max(gaps, key=lambda gap: (gap[0], -((gap[1] + 1) % len(present))))
    start = (longest[1] + 1) % len(present)
    return tuple(present[start:] + present[:start])


def _runs(months: tuple[int, ...]) -> list[tuple[int, int]]:
    """Group months into runs of consecutive months (December runs on to January)."""
    runs: list[tuple[int, int]] = []
    for month in months:
        if runs and month == runs[-1][1] % 12 + 1 and month != runs[-1][0]:
            runs[-1] = (runs[-1][0], month)
        else:
            runs.append((month, month))
    return runs


def display_months(
    months: tuple[int, ...] | list[int], locale: str, *, all_year: str | None = None
) -> str:
    """Format months as "Mar–May, Oct" in the reader's language; every month is `all_year`.

    The text parses back with `parse_months`. Without `all_year`, twelve months show as
    "Jan–Dec".
    """
    names = MONTHS.get(locale, MONTHS["en"])
    if all_year is not None and set(months) == set(ALL_MONTHS):
        return all_year
    parts = []
    for first, last in _runs(tuple(months)):
        if first == last:
            parts.append(names[first - 1])
        else:
            parts.append(f"{names[first - 1]}–{names[last - 1]}")
    return ", ".join(parts)


@dataclass(frozen=True, kw_only=True)
class MonthSet(Field[tuple[int, ...]]):
    """Months of the year without a year, such as a harvest season; see `parse_months`.

    `all_year_labels` maps a locale to the summary text for all twelve months.
    """

    all_year_labels: dict[str, str] = field(
        default_factory=lambda: {"en": "all year", "hi": "साल भर"}
    )

    def parse(self, text: str, *, today: dt.date, locale: str) -> tuple[int, ...]:
        return parse_months(text)

    def display(self, value: tuple[int, ...], locale: str) -> str:
        label = self.all_year_labels.get(locale) or self.all_year_labels.get("en")
        return display_months(value, locale, all_year=label)

    def to_json(self, value: tuple[int, ...]) -> list[int]:
        return list(value)

    def from_json(self, data: Any) -> tuple[int, ...]:
        require_type(data, list, "months")
        for item in data:
            require_type(item, int, "month")
            if not 1 <= item <= 12:
                raise ValueError(f"stored month {item} is not 1-12")
        if not data:
            raise ValueError("stored months are empty")
        return tuple(data)
