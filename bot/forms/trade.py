"""Field types of the trade forms: a commodity, a quantity with its unit, a delivery place, a
delivery window and a buyer picked from the registry.

The buyer requirement form uses all of them, and the offer form uses the quantity.

Every type parses English and Hindi and raises FieldError with a code whose message is
`prompts/<locale>/forms/errors/<code>.html`.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from rapidfuzz import fuzz, process

from bot.matching import commodity_of
from bot.texts import indian_date
from storage.normalize import fold, load_commodities, load_states

from .base import Field, FieldError, ascii_digits, clean_line, match_key, require_text, typed
from .choices import Choice, Option
from .dates import DateField, month_number
from .fields import indian_grouping

# --- Commodity --------------------------------------------------------------------------


def find_commodity(text: str) -> str | None:
    """Return the canonical commodity that `text` names in any listed language, typos allowed."""
    return commodity_of(text)


# Words and signs that join two commodities in one answer: "onion and potato", "प्याज़ या आलू".
_COMMODITY_JOIN_RE = re.compile(
    r"\s*[,;/&+]\s*|\s+(?:and|or|aur|ya|tatha|और|या|तथा|एवं|व)\s+", re.IGNORECASE
)


def named_commodities(text: str) -> list[str]:
    """Return the distinct commodities of the parts of `text` joined by "and", "or" or a comma.

    Only the joined parts count, so a variety such as "red onion" stays one commodity.
    """
    found: list[str] = []
    for part in _COMMODITY_JOIN_RE.split(text):
        commodity = find_commodity(part) if part.strip() else None
        if commodity is not None and commodity not in found:
            found.append(commodity)
    return found


@dataclass(frozen=True, kw_only=True)
class CommodityField(Field[str]):
    """One commodity of the synonym list, typed in any language; the value is its canonical name.

    An answer that names several commodities is rejected, because a requirement is for one.
    """

    def parse(self, text: str, *, today: dt.date, locale: str) -> str:
        answer = clean_line(require_text(text))
        several = named_commodities(answer)
        if len(several) > 1:
            names = [load_commodities().display_name(name, locale) for name in several]
            raise FieldError("commodity_several", typed=typed(answer), names=names)
        found = find_commodity(answer)
        if found is None:
            raise FieldError("commodity_unknown", unknown=[typed(answer)])
        return found

    def display(self, value: str, locale: str) -> str:
        return load_commodities().display_name(value, locale)

    def to_json(self, value: str) -> str:
        return value

    def from_json(self, data: Any) -> str:
        if not isinstance(data, str) or not data:
            raise TypeError(f"stored commodity must be a name, not {data!r}")
        return data


# --- Quantity with unit -----------------------------------------------------------------

# Tonnes in one unit.
UNIT_TONNES: dict[str, Decimal] = {
    "kg": Decimal("0.001"),
    "quintal": Decimal("0.1"),
    "tonne": Decimal("1"),
}
_UNIT_WORDS: dict[str, tuple[str, ...]] = {
    "kg": ("kg", "kgs", "kilo", "kilos", "kilogram", "kilograms", "किलो", "किलोग्राम", "किग्रा"),
    "quintal": (
        "quintal", "quintals", "qtl", "qtls", "qt", "q", "क्विंटल", "कुंतल", "कुन्तल", "क्विन्टल",
    ),
    "tonne": (
        "tonne", "tonnes", "ton", "tons", "t", "mt", "metric ton", "metric tonne",
        "metric tonnes", "टन", "मीट्रिक टन",
    ),
}  # fmt: skip
_UNIT_BY_KEY = {match_key(word): unit for unit, names in _UNIT_WORDS.items() for word in names}
# The smallest quantity a requirement or offer may name, in tonnes: 1 kg.
MINIMUM_TONNES = Decimal("0.001")
_AMOUNT_RE = re.compile(r"[-+\u2212]?\s*\d[\d,]*(?:\.\d+)?|[-+\u2212]?\s*\.\d+")


@dataclass(frozen=True)
class Quantity:
    """A quantity as typed: the number, its unit key (kg, quintal, tonne) and the same in tonnes."""

    amount: float
    unit: str
    tonnes: float


@dataclass(frozen=True, kw_only=True)
class QuantityField(Field[Quantity]):
    """A positive quantity with its unit: "20 tonnes", "500 quintal", "2,000 kg", "१० टन".

    `unit_labels` maps a locale to the display names of the unit keys.
    """

    unit_labels: Mapping[str, Mapping[str, str]]
    maximum_tonnes: float = 1_000_000

    def parse(self, text: str, *, today: dt.date, locale: str) -> Quantity:
        answer = ascii_digits(clean_line(require_text(text)))
        numbers = list(_AMOUNT_RE.finditer(answer))
        if len(numbers) != 1:
            raise FieldError("quantity_invalid", typed=typed(text))
        token = numbers[0]
        try:
            amount = Decimal(re.sub(r"[\s,+]", "", token.group()).replace("\u2212", "-"))
        except InvalidOperation:
            raise FieldError("quantity_invalid", typed=typed(text)) from None
        rest = (answer[: token.start()] + " " + answer[token.end() :]).strip()
        unit = _UNIT_BY_KEY.get(match_key(rest)) if rest else None
        if unit is None:
            raise FieldError("quantity_unit_missing", typed=typed(text))
        if amount <= 0:
            raise FieldError("quantity_not_positive", typed=typed(text))
        tonnes = amount * UNIT_TONNES[unit]
        if tonnes < MINIMUM_TONNES:
            raise FieldError("quantity_too_small", typed=typed(text))
        if tonnes > Decimal(str(self.maximum_tonnes)):
            raise FieldError(
                "quantity_too_large", typed=typed(text), maximum=int(self.maximum_tonnes)
            )
        return Quantity(amount=float(amount), unit=unit, tonnes=float(tonnes))

    def display(self, value: Quantity, locale: str) -> str:
        labels = self.unit_labels.get(locale) or self.unit_labels.get("en") or {}
        return f"{format_quantity(value.amount)} {labels.get(value.unit, value.unit)}"

    def to_json(self, value: Quantity) -> dict[str, Any]:
        return {"amount": value.amount, "unit": value.unit, "tonnes": value.tonnes}

    def from_json(self, data: Any) -> Quantity:
        if not isinstance(data, dict) or data.get("unit") not in UNIT_TONNES:
            raise TypeError(f"stored quantity must be a dict with a unit, not {data!r}")
        return Quantity(
            amount=float(data["amount"]), unit=str(data["unit"]), tonnes=float(data["tonnes"])
        )


def format_quantity(value: float) -> str:
    """Format an amount with Indian grouping and at most three decimals: 12,34,567.5, 200, 0.125.

    Three decimals show 1 kg in tonnes, the smallest quantity `QuantityField` takes.
    """
    return indian_grouping(round(value, 3))


# --- Delivery place ---------------------------------------------------------------------


@dataclass(frozen=True)
class Place:
    """A delivery place as typed ("Nashik, Maharashtra") and the state found in it."""

    text: str
    state: str


def find_state(text: str) -> str | None:
    """Return the state named by a comma-separated part of `text` or by its last 1-3 words."""
    states = load_states()
    parts = [part.strip() for part in re.split(r"[,;/\n]", text) if part.strip()]
    for part in reversed(parts):
        found = states.parse(part)
        if found is not None:
            return found
    tokens = text.replace(",", " ").split()
    for size in (3, 2, 1):
        if len(tokens) >= size:
            found = states.parse(" ".join(tokens[-size:]))
            if found is not None:
                return found
    return None


@dataclass(frozen=True, kw_only=True)
class PlaceField(Field[Place]):
    """A town with its state, such as "Nashik, Maharashtra" or "नासिक, महाराष्ट्र"."""

    max_length: int = 200

    def parse(self, text: str, *, today: dt.date, locale: str) -> Place:
        answer = clean_line(require_text(text))
        if len(answer) > self.max_length:
            raise FieldError("text_too_long", length=len(answer), maximum=self.max_length)
        state = find_state(answer)
        if state is None:
            raise FieldError("place_state_missing", typed=typed(answer))
        return Place(text=answer, state=state)

    def display(self, value: Place, locale: str) -> str:
        return value.text

    def to_json(self, value: Place) -> dict[str, str]:
        return {"text": value.text, "state": value.state}

    def from_json(self, data: Any) -> Place:
        if not isinstance(data, dict) or not isinstance(data.get("text"), str):
            raise TypeError(f"stored place must be a dict, not {data!r}")
        return Place(text=data["text"], state=str(data["state"]))


# --- Delivery window --------------------------------------------------------------------

# Words and dashes between the two ends of a window: "Apr to May", "मार्च से मई तक".
_WINDOW_SPLIT_RE = re.compile(
    r"\s+(?:to|till|until|through|se|से)\s+|\s*[\u2013\u2014]\s*|\s+-\s+", re.IGNORECASE
)
_WINDOW_FILLERS_RE = re.compile(r"^(?:from|between)\s+|\s+(?:tak|तक)$", re.IGNORECASE)
_MONTH_SIDE_RE = re.compile(r"^([^\s\d\-/.,']+)\.?(?:[\s\-/.,']+(\d{4}|\d{2}))?$")
_YEAR_RE = re.compile(r"\b\d{4}\b")
# The longest delivery window, in months.
WINDOW_MONTHS_MAX = 12


@dataclass(frozen=True)
class Window:
    """The first and last day of a delivery window."""

    start: dt.date
    end: dt.date


def _month_side(text: str) -> tuple[int, int | None] | None:
    """Return (month, year or None) when `text` is a month name with an optional year."""
    match = _MONTH_SIDE_RE.match(text.strip())
    if match is None:
        return None
    month = month_number(match.group(1))
    if month is None:
        return None
    year_text = match.group(2)
    year = None if year_text is None else int(year_text) + (2000 if len(year_text) == 2 else 0)
    return month, year


def _last_day(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


@dataclass(frozen=True, kw_only=True)
class WindowField(Field[Window]):
    """A delivery window of dates or months: "April-May", "1 Apr to 15 May 2027",
    "Nov 2026 to Feb 2027", "मार्च से मई", or one month or date alone.

    A month is the whole month. An end without a year is the first such day on or
    after the start, so "Nov to Feb" crosses the new year. A start without a year takes
    the year of the end when that has one, else this year, and a window without any
    year that would start before this month moves a year ahead.
    A window that ended before today, or longer than `WINDOW_MONTHS_MAX` months, is
    rejected with the reason.
    """

    def parse(self, text: str, *, today: dt.date, locale: str) -> Window:
        answer = _WINDOW_FILLERS_RE.sub("", fold(ascii_digits(clean_line(require_text(text)))))
        sides = [side.strip() for side in _WINDOW_SPLIT_RE.split(answer) if side.strip()]
        if len(sides) == 1 and "-" in sides[0]:
            halves = [half.strip() for half in sides[0].split("-")]
            if len(halves) == 2 and all(_month_side(half) for half in halves):
                sides = halves
        if len(sides) not in (1, 2):
            raise FieldError("window_invalid", typed=typed(text))
        first = self._side(sides[0], text, today, start=True)
        last = self._side(sides[-1], text, today, start=False)
        start, end = first[0], last[1]
        if len(sides) == 2 and not _YEAR_RE.search(sides[0]) and _YEAR_RE.search(sides[1]):
            # "1 Apr to 15 May 2027": the start takes the end's year, or the one before.
            start = _with_year(start, end.year)
            if start > end:
                start = _with_year(start, end.year - 1)
        if end < start and not _YEAR_RE.search(sides[-1]):
            end = _with_year(end, end.year + 1)
            while end < start:
                end = _with_year(end, end.year + 1)
        if end < start:
            raise FieldError("window_reversed", typed=typed(text))
        if start < today.replace(day=1) and not _YEAR_RE.search(answer):
            # A window typed without a year starts in this month or later, so "April-May"
            # typed in December is next year's. "yesterday" names a date, not a month, so it
            # stays in the past and is rejected below.
            start, end = _with_year(start, start.year + 1), _with_year(end, end.year + 1)
        if end < today:
            raise FieldError("window_past", typed=typed(text), end=indian_date(end, locale))
        months = (end.year - start.year) * 12 + end.month - start.month + 1
        if months > WINDOW_MONTHS_MAX:
            raise FieldError(
                "window_too_long", typed=typed(text), months=months, maximum=WINDOW_MONTHS_MAX
            )
        return Window(start=start, end=end)

    @staticmethod
    def _side(side: str, text: str, today: dt.date, *, start: bool) -> tuple[dt.date, dt.date]:
        """Return the first and last day that one end of the window names."""
        month = _month_side(side)
        if month is not None:
            number, year = month
            if year is None:
                year = today.year
            return dt.date(year, number, 1), _last_day(year, number)
        try:
            day = DateField(future=True).parse(side, today=today, locale="en")
        except FieldError:
            raise FieldError("window_invalid", typed=typed(text)) from None
        return day, day

    def display(self, value: Window, locale: str) -> str:
        return f"{indian_date(value.start, locale)} – {indian_date(value.end, locale)}"

    def to_json(self, value: Window) -> dict[str, str]:
        return {"start": value.start.isoformat(), "end": value.end.isoformat()}

    def from_json(self, data: Any) -> Window:
        if not isinstance(data, dict):
            raise TypeError(f"stored window must be a dict, not {data!r}")
        return Window(
            start=dt.date.fromisoformat(data["start"]), end=dt.date.fromisoformat(data["end"])
        )


def _with_year(day: dt.date, year: int) -> dt.date:
    """Return `day` in `year`; 29 February becomes 28 February in a common year."""
    return day.replace(year=year, day=min(day.day, calendar.monthrange(year, day.month)[1]))


# --- Buyer from the registry ------------------------------------------------------------

NEW_BUYER = "new"
# How many registry matches the buyer question shows as buttons.
BUYER_MATCHES_MAX = 5
# The lowest rapidfuzz WRatio (0-100) of a typed name against a buyer's name that counts.
BUYER_MATCH_CUTOFF = 70


@dataclass(frozen=True)
class RegistryEntry:
    """A buyer of the registry as the buyer question lists it."""

    key: str
    name: str
    place: str = ""

    def label(self) -> str:
        return f"{self.name} ({self.place})" if self.place else self.name


class BuyerLookup:
    """The registry matches of the buyer name typed at the question before the buyer choice.

    The form engine builds a field's buttons from `Choice.options`, which cannot see
    other answers, but it passes the earlier answers to a field's `condition` before
    asking or checking it. `condition` therefore records the typed name here, and
    `BuyerChoice.options` reads it. Build one per form build, never share it.
    """

    def __init__(
        self,
        entries: Sequence[RegistryEntry],
        *,
        query_field: str,
        new_label: Callable[[str, str], str],
        locales: Sequence[str],
    ) -> None:
        self.entries = {entry.key: entry for entry in entries}
        self.query_field = query_field
        self.new_label = new_label
        self.locales = tuple(locales)
        self.query: str | None = None

    def condition(self, answers: Mapping[str, Any]) -> bool:
        query = answers.get(self.query_field)
        self.query = query if isinstance(query, str) else None
        return self.query is not None

    def matches(self, query: str) -> list[RegistryEntry]:
        """Return the buyers whose name is close to `query`, best first."""
        names = {key: entry.name for key, entry in self.entries.items()}
        found = process.extract(
            fold(query),
            {key: fold(name) for key, name in names.items()},
            scorer=fuzz.WRatio,
            score_cutoff=BUYER_MATCH_CUTOFF,
            limit=BUYER_MATCHES_MAX,
        )
        return [self.entries[key] for _name, _score, key in found]

    def options(self) -> tuple[Option, ...]:
        query = self.query or ""
        listed = [
            Option(key=entry.key, labels={"en": entry.label()}) for entry in self.matches(query)
        ]
        new = Option(
            key=NEW_BUYER, labels={locale: self.new_label(locale, query) for locale in self.locales}
        )
        return (*listed, new)


class BuyerChoice(Choice):
    """The buyer: one of the registry matches of the typed name, or that name as a new buyer.

    A stored key of any registry buyer stays valid, because stored answers are checked
    before the conditions that set the typed name run (see `BuyerLookup`).
    """

    lookup: BuyerLookup

    def __init__(self, lookup: BuyerLookup) -> None:
        # Choice is a frozen dataclass whose `options` this class computes instead.
        object.__setattr__(self, "lookup", lookup)

    @property
    def options(self) -> tuple[Option, ...]:  # type: ignore[override]
        return self.lookup.options()

    def display(self, value: str, locale: str) -> str:
        entry = self.lookup.entries.get(value)
        if entry is not None:
            return entry.label()
        return self.lookup.new_label(locale, self.lookup.query or "")

    def from_json(self, data: Any) -> str:
        if data != NEW_BUYER and data not in self.lookup.entries:
            raise ValueError(f"{data!r} is no longer a buyer of the registry")
        return str(data)

    def __repr__(self) -> str:
        return f"BuyerChoice({len(self.lookup.entries)} buyers)"

    def __eq__(self, other: object) -> bool:
        return self is other

    def __hash__(self) -> int:
        return id(self)
