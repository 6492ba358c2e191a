"""Choice fields: one option, or several, picked by key, label, synonym, number or prefix."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from storage.normalize import count_letters

from .base import Field, FieldError, match_key, require_text, require_type, typed

# A prefix must have this many letters to pick an option, so "a" or "ye" never does.
MIN_PREFIX_LETTERS = 3

# Separators between the items of a multiple choice, kept by the capture group so that an
# option whose own label contains "and" ("Research and development") can be matched whole.
_ITEM_SEPARATOR_RE = re.compile(r"(\s*[,;\n]\s*|\s+and\s+|\s+और\s+|\s*&\s*)", re.IGNORECASE)
# Maximum number of separated items tried together as one option name.
_MAX_ITEMS_PER_OPTION = 4
_NUMBER_LIST_RE = re.compile(r"[\d\s,;]+")


@dataclass(frozen=True, kw_only=True)
class Option:
    """One answer of a choice: a stable `key`, its label per locale and extra spellings."""

    key: str
    labels: Mapping[str, str]
    synonyms: tuple[str, ...] = ()

    def label(self, locale: str) -> str:
        """Return the label in `locale`, else the English label, else the key."""
        return self.labels.get(locale) or self.labels.get("en") or self.key

    @cached_property
    def match_keys(self) -> frozenset[str]:
        """Folded key, labels in every locale and synonyms, as compared with typed answers.

        Each name is also included without spaces, so that "F.P.O." matches "FPO".
        """
        names = [self.key, *self.labels.values(), *self.synonyms]
        keys = {key for key in (match_key(name) for name in names) if key}
        return frozenset(keys | {key.replace(" ", "") for key in keys})


class _Options:
    """Matching of one typed item against a tuple of options, shared by both choice types."""

    options: tuple[Option, ...]

    def _check_options(self) -> None:
        if not self.options:
            raise ValueError("a choice needs at least one option")
        keys = [option.key for option in self.options]
        if len(set(keys)) != len(keys):
            raise ValueError(f"option keys must be unique: {keys}")

    def _labels(self, locale: str) -> list[str]:
        return [option.label(locale) for option in self.options]

    def _by_key(self, key: str) -> Option:
        for option in self.options:
            if option.key == key:
                return option
        raise ValueError(f"{key!r} is not an option key")

    def _candidates(self, item: str) -> list[Option]:
        """Return the options that `item` names: exactly, by number, or else by unique prefix.

        An empty list means no option matches, and more than one that the item is ambiguous.
        """
        key = match_key(item)
        if not key:
            return []
        if key.isascii() and key.isdigit():
            number = int(key)
            return [self.options[number - 1]] if 1 <= number <= len(self.options) else []

        compact = key.replace(" ", "")
        exact = [
            option
            for option in self.options
            if key in option.match_keys or compact in option.match_keys
        ]
        if exact or count_letters(key) < MIN_PREFIX_LETTERS:
            return exact
        return [
            option
            for option in self.options
            if any(name.startswith(key) for name in option.match_keys)
        ]

    def _ambiguous(self, item: str, candidates: list[Option], locale: str) -> FieldError:
        return FieldError(
            "choice_ambiguous",
            typed=typed(item),
            candidates=[option.label(locale) for option in candidates],
            options=self._labels(locale),
        )


@dataclass(frozen=True, kw_only=True)
class Choice(_Options, Field[str]):
    """Exactly one of `options`; the value is the option's key."""

    options: tuple[Option, ...]

    def __post_init__(self) -> None:
        self._check_options()

    def parse(self, text: str, *, today: dt.date, locale: str) -> str:
        answer = require_text(text)
        candidates = self._candidates(answer)
        if len(candidates) > 1:
            raise self._ambiguous(answer, candidates, locale)
        if not candidates:
            raise FieldError("choice_unknown", typed=typed(answer), options=self._labels(locale))
        return candidates[0].key

    def display(self, value: str, locale: str) -> str:
        return self._by_key(value).label(locale)

    def to_json(self, value: str) -> str:
        return value

    def from_json(self, data: Any) -> str:
        require_type(data, str, "choice")
        return self._by_key(data).key


@dataclass(frozen=True, kw_only=True)
class MultiChoice(_Options, Field[tuple[str, ...]]):
    """Between `min_count` and `max_count` of `options`; the value is their keys in typed order.

    Items are separated by commas, semicolons, line breaks, "&", "and" or "और", and a
    list of option numbers may also be separated by spaces ("1 3"). Repeats count once.
    """

    options: tuple[Option, ...]
    min_count: int = 1
    max_count: int | None = None

    def __post_init__(self) -> None:
        self._check_options()
        if self.min_count < 1:
            raise ValueError("min_count must be at least 1; the form marks optional fields")
        if self.max_count is not None and self.max_count < self.min_count:
            raise ValueError("max_count must not be less than min_count")

    def parse(self, text: str, *, today: dt.date, locale: str) -> tuple[str, ...]:
        answer = require_text(text)
        keys: list[str] = []
        unknown: list[str] = []
        for item, candidates in self._items(answer):
            if len(candidates) > 1:
                raise self._ambiguous(item, candidates, locale)
            if not candidates:
                unknown.append(typed(item))
            elif candidates[0].key not in keys:
                keys.append(candidates[0].key)

        if unknown:
            raise FieldError("choice_unknown_items", unknown=unknown, options=self._labels(locale))
        if not keys:
            raise FieldError("empty")
        if len(keys) < self.min_count:
            raise FieldError("choice_too_few", count=len(keys), minimum=self.min_count)
        if self.max_count is not None and len(keys) > self.max_count:
            raise FieldError("choice_too_many", count=len(keys), maximum=self.max_count)
        return tuple(keys)

    def from_keys(self, picked: list[str] | tuple[str, ...], locale: str) -> tuple[str, ...]:
        """Check option keys ticked on buttons; unlike typed text, keys are never read as numbers."""
        keys = list(dict.fromkeys(picked))
        known = {option.key for option in self.options}
        unknown = [typed(key) for key in keys if key not in known]
        if unknown:
            raise FieldError("choice_unknown_items", unknown=unknown, options=self._labels(locale))
        if not keys:
            raise FieldError("empty")
        if len(keys) < self.min_count:
            raise FieldError("choice_too_few", count=len(keys), minimum=self.min_count)
        if self.max_count is not None and len(keys) > self.max_count:
            raise FieldError("choice_too_many", count=len(keys), maximum=self.max_count)
        return tuple(keys)

    def _items(self, answer: str) -> list[tuple[str, list[Option]]]:
        """Split `answer` into items, each with the options it names.

        Tries the longest run of up to `_MAX_ITEMS_PER_OPTION` items that names an option
        as a whole first, so that separators inside an option's label do not split it.
        """
        if _NUMBER_LIST_RE.fullmatch(answer):
            numbers = [number for number in re.split(r"[\s,;]+", answer) if number]
            return [(number, self._candidates(number)) for number in numbers]

        parts = _ITEM_SEPARATOR_RE.split(answer)
        # `parts` alternates item, separator, item, … so `pieces[i]` is the i-th item.
        pieces = parts[0::2]
        separators = parts[1::2]
        result: list[tuple[str, list[Option]]] = []
        start = 0
        while start < len(pieces):
            if not pieces[start].strip():
                start += 1
                continue
            end = min(len(pieces), start + _MAX_ITEMS_PER_OPTION)
            found: tuple[str, list[Option]] | None = None
            while end > start + 1:
                joined = pieces[start]
                for index in range(start + 1, end):
                    joined += separators[index - 1] + pieces[index]
                candidates = self._candidates(joined)
                if len(candidates) == 1 and match_key(joined) in candidates[0].match_keys:
                    found = (joined, candidates)
                    break
                end -= 1
            if found is None:
                found = (pieces[start], self._candidates(pieces[start]))
            result.append(found)
            start = end
        return result

    def display(self, value: tuple[str, ...], locale: str) -> str:
        return ", ".join(self._by_key(key).label(locale) for key in value)

    def to_json(self, value: tuple[str, ...]) -> list[str]:
        return list(value)

    def from_json(self, data: Any) -> tuple[str, ...]:
        require_type(data, list, "choices")
        for key in data:
            require_type(key, str, "choice")
            self._by_key(key)
        return tuple(data)
