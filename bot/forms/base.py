"""The contract every form field type follows, and the error it raises on a bad answer."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from abc import ABC, abstractmethod
from typing import Any, Generic, TypeVar

from storage.normalize import _ascii_digits, devanagari_key, fold, shorten, words

Value = TypeVar("Value")

# Bidirectional embedding, override and isolate controls (category Cf). They can make a
# stored answer display reversed in a summary, so cleaned text drops them. Other format
# characters stay, because Indic spellings need the zero-width joiners U+200C and U+200D.
_BIDI_CONTROLS_RE = re.compile("[\u202a-\u202e\u2066-\u2069]")


class FieldError(ValueError):
    """An invalid answer: a stable `code` and the `params` its message template needs.

    The bot renders the message from `prompts/<locale>/forms/errors/<code>.html` with
    `params` as the template context, so the code never changes once a template uses it.
    """

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code, params)
        self.code = code
        self.params = params

    def __str__(self) -> str:
        return f"{self.code} {self.params}"

    @property
    def template(self) -> str:
        """Template name for `Texts.render`, without the locale and the `.html` suffix."""
        return f"forms/errors/{self.code}"


class Field(ABC, Generic[Value]):
    """A field type: parses one typed answer and converts the value for summaries and JSON.

    `parse` raises FieldError, and nothing else, for any text. `today` is the
    date in the community's time zone (Asia/Kolkata for India), not the UTC date.
    `locale` is the person's language. Every type accepts answers in all locales,
    and `locale` only chooses the language of the labels inside error params.
    """

    @abstractmethod
    def parse(self, text: str, *, today: dt.date, locale: str) -> Value:
        """Parse and validate `text`; raise FieldError with the reason when it is invalid."""

    @abstractmethod
    def display(self, value: Value, locale: str) -> str:
        """Format `value` as plain text for a summary; the template escapes it."""

    @abstractmethod
    def to_json(self, value: Value) -> Any:
        """Convert `value` to JSON-compatible data for the form state."""

    @abstractmethod
    def from_json(self, data: Any) -> Value:
        """Rebuild a value from `to_json` output; raise TypeError or ValueError on bad data."""


def typed(text: str) -> str:
    """Return the answer shortened for quoting in an error message (the `typed` param)."""
    return shorten(" ".join(text.split()))


def require_text(text: str) -> str:
    """Return `text` stripped; raise FieldError("empty") when nothing but spaces is left."""
    stripped = text.strip()
    if not stripped:
        raise FieldError("empty")
    return stripped


def clean_line(text: str) -> str:
    """Return `text` in NFC on one line: control characters become spaces, runs of spaces one."""
    text = _BIDI_CONTROLS_RE.sub("", unicodedata.normalize("NFC", text))
    spaced = "".join(" " if unicodedata.category(char) == "Cc" else char for char in text)
    return " ".join(spaced.split())


def has_letter_or_digit(text: str) -> bool:
    return any(unicodedata.category(char)[0] in "LN" for char in text)


def match_key(text: str) -> str:
    """Return the folded form of `text` used to compare typed answers with option names.

    Digits in any script become ASCII, punctuation other than inside words is
    dropped, and Devanagari spelling variants fold together (see `devanagari_key`).
    Text with no word characters, such as an emoji, keeps its folded form.
    """
    folded = fold(_ascii_digits(text)).replace("\ufe0f", "")
    spaced = " ".join(words(folded))
    return devanagari_key(spaced) if spaced else folded


def ascii_digits(text: str) -> str:
    """Replace every Unicode decimal digit (Devanagari "१२" included) by ASCII 0-9."""
    return _ascii_digits(text)


def require_type(data: Any, expected: type | tuple[type, ...], name: str) -> None:
    """Raise TypeError when stored JSON `data` for the value `name` is not of the `expected` type."""
    if isinstance(data, bool) and expected is not bool:
        raise TypeError(f"stored {name} must be {expected}, not {data!r}")
    if not isinstance(data, expected):
        raise TypeError(f"stored {name} must be {expected}, not {data!r}")
