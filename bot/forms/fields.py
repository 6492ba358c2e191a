"""Field types for conversational forms: parse and validate one typed answer each.

Each type is a frozen dataclass configured by keyword. `parse` raises FieldError,
whose code names the template `prompts/<locale>/forms/errors/<code>.html` that
words the message, so no user-facing sentence lives in Python. Choice, date, time
and message fields are defined in `choices.py`, `dates.py` and `messages.py` and
exported here too.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import cached_property
from typing import Any

from bot.texts import display_phone
from storage.normalize import (
    english_word_forms,
    load_commodities,
    load_states,
    parse_phone,
    split_state_list,
    split_states,
)

from .base import (
    Field,
    FieldError,
    ascii_digits,
    clean_line,
    has_letter_or_digit,
    match_key,
    require_text,
    require_type,
    typed,
)
from .choices import Choice, MultiChoice, Option
from .dates import DateField, DateTimeField, MonthField
from .links import parse_link
from .messages import MessageAnswer, MessageRef

__all__ = [
    "FIELD_TYPES",
    "Choice",
    "CommodityList",
    "DateField",
    "DateTimeField",
    "Field",
    "FieldError",
    "FileAnswer",
    "FileInfo",
    "LinkField",
    "LongText",
    "MessageAnswer",
    "MessageRef",
    "MonthField",
    "MultiChoice",
    "Number",
    "Option",
    "Phone",
    "ShortText",
    "StateList",
    "YesNo",
]


# --- Text -------------------------------------------------------------------------------


def _check_text(
    value: str, answer: str, min_length: int, max_length: int, *, letters_required: bool = False
) -> str:
    if not value:
        raise FieldError("empty")
    if not has_letter_or_digit(value):
        raise FieldError("text_no_letters", typed=typed(answer))
    if letters_required and not any(char.isalpha() for char in value):
        raise FieldError("text_letters_required", typed=typed(answer))
    # Lengths count code points. Telegram counts UTF-16 units, which differ only for
    # characters outside the Basic Multilingual Plane, such as emoji.
    if len(value) < min_length:
        raise FieldError("text_too_short", length=len(value), minimum=min_length)
    if len(value) > max_length:
        raise FieldError("text_too_long", length=len(value), maximum=max_length)
    return value


class _TextJson:
    def display(self, value: str, locale: str) -> str:
        return value

    def to_json(self, value: str) -> str:
        return value

    def from_json(self, data: Any) -> str:
        require_type(data, str, "text")
        return str(data)


@dataclass(frozen=True, kw_only=True)
class ShortText(_TextJson, Field[str]):
    """One line of text, such as a name: spaces collapsed, control characters as spaces.

    With `letters_required`, an answer of only digits and symbols, such as "12345", is
    rejected too, because a name or a job title needs a letter.
    """

    max_length: int = 200
    min_length: int = 1
    letters_required: bool = False

    def parse(self, text: str, *, today: dt.date, locale: str) -> str:
        return _check_text(
            clean_line(text),
            text,
            self.min_length,
            self.max_length,
            letters_required=self.letters_required,
        )


@dataclass(frozen=True, kw_only=True)
class LongText(_TextJson, Field[str]):
    """Free text that keeps its line breaks.

    Within each line, tabs become spaces, other control characters are dropped and
    runs of spaces collapse to one. Runs of blank lines collapse to one blank line.
    """

    max_length: int = 2000
    min_length: int = 1

    def parse(self, text: str, *, today: dt.date, locale: str) -> str:
        unified = re.sub(r"\r\n?|[\u2028\u2029\x0b\x0c\x85]", "\n", text)
        lines: list[str] = []
        for raw_line in unified.split("\n"):
            line = raw_line.replace("\t", " ")
            line = "".join(char for char in line if unicodedata.category(char) != "Cc")
            line = clean_line(line)
            if line or (lines and lines[-1]):
                lines.append(line)
        value = "\n".join(lines).strip("\n")
        return _check_text(value, text, self.min_length, self.max_length)


# --- Numbers ----------------------------------------------------------------------------

# One number: an optional sign, digits with optional Western ("1,200,000") or Indian
# ("12,00,000") grouping, and an optional decimal part. The grouping is checked
# separately, so that "1,2" is rejected instead of read as 12.
_NUMBER_TOKEN_RE = re.compile(r"[-+\u2212]?\s*(?:\d[\d,]*(?:\.\d+)?|\.\d+)")
_GROUPED_RE = re.compile(r"\d+|\d{1,3}(?:,\d{3})+|\d{1,2}(?:,\d{2})*,\d{3}")

# Indian and English scale words after a number: "3.5 lakh" is 350000 unless the
# field's unit is itself lakh.
_SCALE_WORDS: dict[str, int] = {
    "k": 1_000,
    "thousand": 1_000,
    "hazar": 1_000,
    "hazaar": 1_000,
    "हज़ार": 1_000,
    "हजार": 1_000,
    "lakh": 100_000,
    "lakhs": 100_000,
    "lac": 100_000,
    "lacs": 100_000,
    "लाख": 100_000,
    "million": 1_000_000,
    "crore": 10_000_000,
    "crores": 10_000_000,
    "cr": 10_000_000,
    "करोड़": 10_000_000,
}
_SCALE_BY_KEY = {match_key(word): scale for word, scale in _SCALE_WORDS.items()}


@dataclass(frozen=True, kw_only=True)
class Number(Field[int | float]):
    """A number with an optional unit, such as "12 tonnes", "3.5 lakh" or "१२".

    `unit` is the unit's key, which typed answers may repeat ("12 tonnes") along with
    its simple English plural or singular, any `unit_labels` value and `unit_synonyms`.
    A unit may also precede the number ("₹ 500" when "₹" is a synonym). A scale word
    (thousand, k, lakh, crore, हज़ार, लाख, करोड़) multiplies the number unless it is
    itself the unit. The value is an int when `integer` is true, else a float.
    """

    unit: str = ""
    minimum: float | None = None
    maximum: float | None = None
    integer: bool = False
    unit_labels: Mapping[str, str] = field(default_factory=dict)
    unit_synonyms: tuple[str, ...] = ()

    @cached_property
    def unit_keys(self) -> frozenset[str]:
        """Folded spellings of the unit that a typed answer may use."""
        names = [self.unit, *self.unit_labels.values(), *self.unit_synonyms]
        keys = set()
        for name in names:
            key = match_key(name)
            if key:
                keys.update(english_word_forms(key))
        return frozenset(keys)

    def parse(self, text: str, *, today: dt.date, locale: str) -> int | float:
        answer = ascii_digits(clean_line(require_text(text)))
        tokens = list(_NUMBER_TOKEN_RE.finditer(answer))
        if len(tokens) != 1:
            raise FieldError("number_invalid", typed=typed(text))
        token = tokens[0]
        number = self._decimal(token.group(), text)
        scale = self._scale(answer[: token.start()], answer[token.end() :], text)
        return self._check(number * scale, text)

    def _decimal(self, token: str, text: str) -> Decimal:
        sign = -1 if token[0] in "-\u2212" else 1
        digits = token.lstrip("+-\u2212 ")
        whole = digits.split(".")[0]
        if whole and not _GROUPED_RE.fullmatch(whole):
            raise FieldError("number_invalid", typed=typed(text))
        try:
            return sign * Decimal(digits.replace(",", ""))
        except InvalidOperation:
            raise FieldError("number_invalid", typed=typed(text)) from None

    def _scale(self, before: str, after: str, text: str) -> int:
        """Check the words around the number and return the scale they give (1 for none)."""
        before_key = match_key(before)
        if before_key and before_key not in self.unit_keys:
            raise self._unit_error(before, text)

        after_key = match_key(after)
        if not after_key or after_key in self.unit_keys:
            return 1
        first, _, rest = after_key.partition(" ")
        if first in _SCALE_BY_KEY and (not rest or rest in self.unit_keys):
            return _SCALE_BY_KEY[first]
        if after_key in _SCALE_BY_KEY:
            return _SCALE_BY_KEY[after_key]
        raise self._unit_error(after, text)

    def _unit_error(self, words: str, text: str) -> FieldError:
        if not has_letter_or_digit(words):
            return FieldError("number_invalid", typed=typed(text))
        return FieldError(
            "number_wrong_unit", typed=typed(text), typed_unit=typed(words), unit=self.unit
        )

    def _check(self, number: Decimal, text: str) -> int | float:
        if not math.isfinite(float(number)):
            raise FieldError("number_invalid", typed=typed(text))
        if number < 0 and self.minimum is not None and self.minimum >= 0:
            raise FieldError("number_negative", typed=typed(text), minimum=self.minimum)
        if self.integer and number != number.to_integral_value():
            raise FieldError("number_not_integer", typed=typed(text))
        below = self.minimum is not None and number < Decimal(str(self.minimum))
        above = self.maximum is not None and number > Decimal(str(self.maximum))
        if below or above:
            raise FieldError(
                "number_out_of_range",
                typed=typed(text),
                minimum=self.minimum,
                maximum=self.maximum,
                unit=self.unit,
            )
        return int(number) if self.integer else float(number)

    def display(self, value: int | float, locale: str) -> str:
        formatted = indian_grouping(value)
        unit = self.unit_labels.get(locale) or self.unit
        return f"{formatted} {unit}" if unit else formatted

    def to_json(self, value: int | float) -> int | float:
        return value

    def from_json(self, data: Any) -> int | float:
        require_type(data, int if self.integer else (int, float), "number")
        return int(data) if self.integer else float(data)


def indian_grouping(value: int | float) -> str:
    """Format a number with Indian digit grouping, as in 12,34,567.5, without exponent."""
    text = format(Decimal(repr(value)), "f") if isinstance(value, float) else str(value)
    sign = "-" if text.startswith("-") else ""
    whole, _, fraction = text.lstrip("-").partition(".")
    fraction = fraction.rstrip("0")
    if len(whole) > 3:
        head, tail = whole[:-3], whole[-3:]
        pairs = [head[max(0, end - 2) : end] for end in range(len(head), 0, -2)]
        whole = ",".join([*reversed(pairs), tail])
    return sign + whole + (f".{fraction}" if fraction else "")


# --- Phone and yes/no -------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Phone(Field[str]):
    """An Indian mobile number, stored as +91XXXXXXXXXX (see `parse_phone`)."""

    def parse(self, text: str, *, today: dt.date, locale: str) -> str:
        answer = require_text(text)
        try:
            return parse_phone(answer)
        except ValueError:
            # NOTE: parse_phone words its reasons in English only, so the template gets
            # one code for every reason (wrong length, not Indian, a landline).
            raise FieldError("phone_invalid", typed=typed(answer)) from None

    def display(self, value: str, locale: str) -> str:
        return display_phone(value)

    def to_json(self, value: str) -> str:
        return value

    def from_json(self, data: Any) -> str:
        require_type(data, str, "phone")
        return parse_phone(data)


_YES_WORDS = (
    "yes", "y", "yeah", "yep", "yup", "ya", "ok", "okay", "sure", "true",
    "haan", "han", "haa", "ha", "haanji", "ji", "ji haan", "ji ha", "theek hai", "thik hai",
    "हाँ", "हां", "हा", "जी", "जी हाँ", "जी हां", "ठीक है", "सही",
    "✅", "✔", "👍", "☑",
)  # fmt: skip
_NO_WORDS = (
    "no", "n", "nope", "nah", "false",
    "nahi", "nahin", "nai", "na", "ji nahi", "ji nahin",
    "नहीं", "नही", "ना", "जी नहीं",
    "❌", "✖", "👎", "✗",
)  # fmt: skip
_YES_NO_BY_KEY = {
    **{match_key(word): True for word in _YES_WORDS},
    **{match_key(word): False for word in _NO_WORDS},
}
# Emoji skin-tone modifiers, so that "👍🏽" reads as "👍".
_SKIN_TONES_RE = re.compile("[\U0001f3fb-\U0001f3ff]")


@dataclass(frozen=True, kw_only=True)
class YesNo(Field[bool]):
    """Yes or no, typed in English, Hindi or Hinglish, or as ✅/❌ and 👍/👎.

    `labels` maps a locale to its (yes, no) words for summaries.
    """

    labels: Mapping[str, tuple[str, str]] = field(
        default_factory=lambda: {"en": ("Yes", "No"), "hi": ("हाँ", "नहीं")}
    )

    def parse(self, text: str, *, today: dt.date, locale: str) -> bool:
        answer = require_text(text)
        key = match_key(_SKIN_TONES_RE.sub("", answer))
        if key not in _YES_NO_BY_KEY:
            raise FieldError("yes_no_invalid", typed=typed(answer))
        return _YES_NO_BY_KEY[key]

    def display(self, value: bool, locale: str) -> str:
        yes, no = self.labels.get(locale) or self.labels["en"]
        return yes if value else no

    def to_json(self, value: bool) -> bool:
        return value

    def from_json(self, data: Any) -> bool:
        require_type(data, bool, "yes/no answer")
        return bool(data)


# --- Files ------------------------------------------------------------------------------

# The largest file the Telegram Bot API lets a bot download (getFile), in bytes.
TELEGRAM_DOWNLOAD_LIMIT = 20 * 1024 * 1024


@dataclass(frozen=True, kw_only=True)
class FileInfo:
    """A file sent as an answer: its Telegram kind ("document", "photo", …) and metadata."""

    kind: str
    file_id: str
    file_name: str | None = None
    mime_type: str | None = None
    size: int | None = None

    @property
    def extension(self) -> str | None:
        """Lower-case file name extension without the dot; "jpg" for a photo."""
        if self.file_name and "." in self.file_name.strip("."):
            return self.file_name.rsplit(".", 1)[1].lower()
        # Telegram re-encodes every photo as JPEG and sends it without a file name.
        return "jpg" if self.kind == "photo" else None


@dataclass(frozen=True, kw_only=True)
class FileAnswer(Field[FileInfo]):
    """A document or photo, checked by kind, size in bytes and file name extension."""

    kinds: tuple[str, ...] = ("document", "photo")
    max_bytes: int = TELEGRAM_DOWNLOAD_LIMIT
    # Allowed extensions without the dot, such as ("pdf", "xlsx"); None allows any.
    extensions: tuple[str, ...] | None = None

    def parse(self, text: str, *, today: dt.date, locale: str) -> FileInfo:
        """Raise FieldError("file_expected"), because this field takes a file, not text."""
        raise FieldError("file_expected", kinds=list(self.kinds))

    def parse_file(self, info: FileInfo) -> FileInfo:
        """Validate a received file; raise FieldError when its kind, size or type is wrong."""
        if info.kind not in self.kinds:
            raise FieldError("file_wrong_kind", kind=info.kind, kinds=list(self.kinds))
        # NOTE: Telegram may omit the size; such a file passes and a download can still fail.
        if info.size is not None and info.size > self.max_bytes:
            raise FieldError("file_too_large", size=info.size, max_bytes=self.max_bytes)
        if self.extensions is not None:
            allowed = [extension.lstrip(".").lower() for extension in self.extensions]
            if info.extension not in allowed:
                raise FieldError(
                    "file_wrong_extension",
                    file_name=info.file_name,
                    extension=info.extension,
                    extensions=allowed,
                )
        return info

    def display(self, value: FileInfo, locale: str) -> str:
        """Return the file name, or the kind ("photo") for a file sent without a name."""
        return value.file_name or value.kind

    def to_json(self, value: FileInfo) -> dict[str, Any]:
        return {
            "kind": value.kind,
            "file_id": value.file_id,
            "file_name": value.file_name,
            "mime_type": value.mime_type,
            "size": value.size,
        }

    def from_json(self, data: Any) -> FileInfo:
        require_type(data, dict, "file")
        return FileInfo(**data)


# --- Links ------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class LinkField(Field[str]):
    """One http(s) link, such as a meeting or recording link; https:// is added when missing.

    "zoom.us/j/123" becomes "https://zoom.us/j/123". Other schemes (javascript:, ftp:,
    tg:), spaces, hosts without a dot, local and private addresses, and links longer
    than 2048 characters raise FieldError("link_invalid"); see `parse_link`.
    """

    def parse(self, text: str, *, today: dt.date, locale: str) -> str:
        return parse_link(text)

    def display(self, value: str, locale: str) -> str:
        return value

    def to_json(self, value: str) -> str:
        return value

    def from_json(self, data: Any) -> str:
        require_type(data, str, "link")
        return parse_link(data)


# --- Commodity and state lists ----------------------------------------------------------


def _check_count(count: int, minimum: int, maximum: int | None) -> None:
    if count == 0:
        raise FieldError("empty")
    if count < minimum:
        raise FieldError("list_too_few", count=count, minimum=minimum)
    if maximum is not None and count > maximum:
        raise FieldError("list_too_many", count=count, maximum=maximum)


class _ListJson:
    def display(self, value: tuple[str, ...], locale: str) -> str:
        return ", ".join(value)

    def to_json(self, value: tuple[str, ...]) -> list[str]:
        return list(value)

    def from_json(self, data: Any) -> tuple[str, ...]:
        require_type(data, list, "list")
        for item in data:
            require_type(item, str, "list item")
        return tuple(data)


@dataclass(frozen=True, kw_only=True)
class CommodityList(_ListJson, Field[tuple[str, ...]]):
    """Commodities such as "tomato, mirchi और प्याज", as canonical names in typed order.

    Summaries in Hindi show each listed commodity by its Hindi name.

    Items not in `storage/data/commodities.csv` are kept as typed (folded) unless
    `known_only` is true, because the list does not name every crop a FPO grows.
    """

    min_count: int = 1
    max_count: int | None = None
    max_length: int = 500
    # The longest commodity name in the list is about 30 characters; 60 leaves room for
    # a variety or grade typed with it.
    max_item_length: int = 60
    known_only: bool = False

    def parse(self, text: str, *, today: dt.date, locale: str) -> tuple[str, ...]:
        answer = clean_line(require_text(text))
        if len(answer) > self.max_length:
            raise FieldError("text_too_long", length=len(answer), maximum=self.max_length)
        commodities = load_commodities()
        names = commodities.split(answer)
        for name in names:
            if not any(char.isalpha() for char in name):
                raise FieldError("commodity_no_letters", typed=typed(name))
            if len(name) > self.max_item_length:
                raise FieldError(
                    "commodity_too_long", typed=typed(name), maximum=self.max_item_length
                )
        if self.known_only:
            known = set(commodities.names)
            unknown = [typed(name) for name in names if name not in known]
            if unknown:
                raise FieldError("commodity_unknown", unknown=unknown)
        _check_count(len(names), self.min_count, self.max_count)
        return tuple(names)

    def display(self, value: tuple[str, ...], locale: str) -> str:
        commodities = load_commodities()
        return ", ".join(commodities.display_name(name, locale) for name in value)


@dataclass(frozen=True, kw_only=True)
class StateList(_ListJson, Field[tuple[str, ...]]):
    """Indian states and union territories ("MH, Karnataka और बिहार") as canonical names.

    Summaries in Hindi show each state by its Hindi name.
    """

    min_count: int = 1
    max_count: int | None = None
    max_length: int = 500

    def parse(self, text: str, *, today: dt.date, locale: str) -> tuple[str, ...]:
        answer = clean_line(require_text(text))
        if len(answer) > self.max_length:
            raise FieldError("text_too_long", length=len(answer), maximum=self.max_length)
        try:
            names = split_states(answer)
        except ValueError:
            unknown = _unknown_states(answer) or [answer]
            states = load_states()
            raise FieldError(
                "state_unknown",
                unknown=[typed(item) for item in unknown],
                suggestions={typed(item): states.suggest(item) for item in unknown},
            ) from None
        _check_count(len(names), self.min_count, self.max_count)
        return tuple(names)

    def display(self, value: tuple[str, ...], locale: str) -> str:
        states = load_states()
        return ", ".join(states.display_name(name, locale) for name in value)


def _unknown_states(text: str) -> list[str]:
    """Return the items of a state list that name no state, split as `split_states` does.

    NOTE: this repeats the splitting inside `split_states`, which reports unknown items
    only in an English message. Keep the two in step.
    """
    states = load_states()
    unknown: list[str] = []
    for part in split_state_list(text):
        if states.parse(part):
            continue
        for piece in re.split(r"\s+(?:and|&|और)\s+|\s*&\s*", part, flags=re.IGNORECASE):
            if states.parse(piece) is None and piece.strip():
                unknown.append(piece.strip())
    return unknown


# Field types by the name a form declaration uses.
FIELD_TYPES: dict[str, type[Field[Any]]] = {
    "short_text": ShortText,
    "long_text": LongText,
    "number": Number,
    "choice": Choice,
    "multi_choice": MultiChoice,
    "date": DateField,
    "datetime": DateTimeField,
    "month": MonthField,
    "phone": Phone,
    "yes_no": YesNo,
    "file": FileAnswer,
    "message": MessageAnswer,
    "link": LinkField,
    "commodities": CommodityList,
    "states": StateList,
}
