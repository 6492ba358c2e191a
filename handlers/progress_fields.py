"""Answer types of the progress check-in: counts, tonnes and lakh rupees.

They wrap `bot.forms.Number` and word their own errors with templates under
`prompts/<locale>/progress/errors/`, which name the unit in the reader's language.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from bot.config import LOCALES
from bot.forms import Choice, Field, FieldError, Number
from bot.forms.base import ascii_digits, clean_line, require_text, require_type, typed
from bot.forms.fields import indian_grouping
from bot.texts import Texts

# Template folder of the check-in form, whose buttons.txt labels its fields and units.
CHECKIN_PROMPTS = "progress/checkin"
RUPEES_PER_LAKH = Decimal(100_000)
# A bare number above this many lakh (₹100 crore in one BSO's month) is more likely
# rupees typed without the unit, so the person is asked which they meant.
BARE_LAKH_MAX = Decimal(10_000)
# Converted values keep five decimal places: a rupee in lakh, 10 grams in tonnes.
PLACES = Decimal("0.00001")

RUPEE_SYNONYMS = ("rupees", "rupee", "rs", "inr", "₹", "रुपये", "रुपए", "रुपया", "रु")
TONNE_SYNONYMS = ("t", "tonne", "ton", "tons", "mt", "metric tonnes", "टन", "मीट्रिक टन")
QUINTAL_SYNONYMS = ("quintal", "qtl", "qtls", "q", "क्विंटल", "कुंतल")
KILOGRAM_SYNONYMS = ("kgs", "kilo", "kilos", "kilogram", "kilograms", "किलो", "किग्रा")

_BARE_NUMBER_RE = re.compile(r"[-+\u2212]?\s*(?:\d[\d,]*(?:\.\d+)?|\.\d+)")
# "3.5L" and "3.5 L" are a common way to write 3.5 lakh.
_LAKH_LETTER_RE = re.compile(r"(\d)\s*[lL](?![^\W\d_])")
_BARE = Number(minimum=0)
_RUPEES = Number(unit="rupees", minimum=0, unit_synonyms=RUPEE_SYNONYMS)


class ProgressFieldError(FieldError):
    """A FieldError whose message template lives under `progress/errors/`."""

    @property
    def template(self) -> str:
        return f"progress/errors/{self.code}"


def _unit_label(number: Number, locale: str) -> str:
    return number.unit_labels.get(locale) or number.unit_labels.get("en") or number.unit


def plural_category(value: int | float, locale: str) -> str:
    """Return the CLDR cardinal plural category of `value` as shown: "one" or "other".

    CLDR's rule for English is "one: i = 1 and v = 0" ("1 tonne", but "1.5 tonnes" and
    "0 tonnes"), and for Hindi "one: i = 0 or n = 1" ("0 महिला", "1 महिला", "2 महिलाएँ").
    `i` is the integer part and `v` the number of fraction digits shown.
    """
    whole, _, fraction = indian_grouping(abs(value)).replace(",", "").partition(".")
    integer = int(whole)
    if locale == "hi":
        return "one" if integer == 0 or (integer == 1 and not fraction) else "other"
    return "one" if integer == 1 and not fraction else "other"


@dataclass(frozen=True, kw_only=True)
class Amount(Field[int | float]):
    """A number in the unit of `number`, also accepted in the `others` units and converted.

    Each of `others` is a Number in another unit and the factor to `number`'s unit,
    such as quintals with 0.1 for tonnes. `name` is the report field, which the error
    templates use to give an example. `number.unit_labels` are the plural unit labels
    per locale and `singular_labels` the labels after a value of the plural category
    "one" ("1 tonne", "1 महिला").
    """

    name: str
    number: Number
    others: tuple[tuple[Number, Decimal], ...] = ()
    singular_labels: Mapping[str, str] = field(default_factory=dict)

    def parse(self, text: str, *, today: dt.date, locale: str) -> int | float:
        try:
            return self._checked(self.number.parse(text, today=today, locale=locale), text, locale)
        except FieldError as error:
            if error.code == "number_wrong_unit":
                return self._other_unit(text, error, today=today, locale=locale)
            raise self._worded(error, text, locale) from None

    def _other_unit(
        self, text: str, error: FieldError, *, today: dt.date, locale: str
    ) -> int | float:
        for other, factor in self.others:
            try:
                value = other.parse(text, today=today, locale=locale)
            except FieldError as other_error:
                if other_error.code == "number_wrong_unit":
                    continue
                raise self._worded(other_error, text, locale) from None
            converted = Decimal(str(value)) * factor
            return self._checked(float(converted.quantize(PLACES)), text, locale)
        raise ProgressFieldError(
            "wrong_unit",
            typed=typed(text),
            typed_unit=error.params.get("typed_unit", ""),
            unit=_unit_label(self.number, locale),
            field=self.name,
        )

    def _checked(self, value: int | float, text: str, locale: str) -> int | float:
        maximum = self.number.maximum
        if maximum is not None and value > maximum:
            raise ProgressFieldError(
                "too_large",
                typed=typed(text),
                maximum=maximum,
                unit=_unit_label(self.number, locale),
            )
        return value

    def _worded(self, error: FieldError, text: str, locale: str) -> FieldError:
        """Reword a range error with the unit in `locale`; other errors stay as they are."""
        if error.code == "number_out_of_range" and self.number.maximum is not None:
            return ProgressFieldError(
                "too_large",
                typed=typed(text),
                maximum=self.number.maximum,
                unit=_unit_label(self.number, locale),
            )
        return error

    def display(self, value: int | float, locale: str) -> str:
        unit = _unit_label(self.number, locale)
        if plural_category(value, locale) == "one":
            unit = self.singular_labels.get(locale) or self.singular_labels.get("en") or unit
        return f"{indian_grouping(value)} {unit}".strip()

    def to_json(self, value: int | float) -> int | float:
        return value

    def from_json(self, data: Any) -> int | float:
        return self.number.from_json(data)


@dataclass(frozen=True, kw_only=True)
class LakhRupees(Field[float]):
    """An amount of money in lakh rupees (1 lakh = ₹1,00,000).

    A bare number is lakh ("3.5"). A number with a scale word or a rupee sign is
    rupees and converted: "3.5 lakh", "₹3,50,000", "350000 rupees", "35 thousand",
    "1.2 crore" and "3.5L". A bare number above BARE_LAKH_MAX is rejected as
    ambiguous, with both readings in the message.
    """

    name: str
    maximum: float
    # Labels of the unit per locale, for summaries ("lakh rupees", "लाख रुपये").
    unit_labels: Mapping[str, str] = field(default_factory=dict)

    def parse(self, text: str, *, today: dt.date, locale: str) -> float:
        cleaned = ascii_digits(clean_line(require_text(text)))
        if _BARE_NUMBER_RE.fullmatch(cleaned):
            lakh = Decimal(str(_BARE.parse(text, today=today, locale=locale)))
            if lakh > BARE_LAKH_MAX:
                raise ProgressFieldError(
                    "value_ambiguous",
                    typed=typed(text),
                    lakh=float(lakh),
                    as_lakh=float(lakh / RUPEES_PER_LAKH),
                )
        else:
            spelled = _LAKH_LETTER_RE.sub(r"\1 lakh", cleaned)
            try:
                rupees = _RUPEES.parse(spelled, today=today, locale=locale)
            except FieldError as error:
                if error.code == "number_wrong_unit":
                    raise ProgressFieldError(
                        "value_wrong_unit",
                        typed=typed(text),
                        typed_unit=error.params.get("typed_unit", ""),
                    ) from None
                if "typed" in error.params:
                    error.params["typed"] = typed(text)
                raise
            lakh = Decimal(str(rupees)) / RUPEES_PER_LAKH
        if lakh > Decimal(str(self.maximum)):
            raise ProgressFieldError(
                "too_large",
                typed=typed(text),
                maximum=self.maximum,
                unit=self.unit_labels.get(locale) or self.unit_labels.get("en", ""),
            )
        return float(lakh.quantize(PLACES))

    def display(self, value: float, locale: str) -> str:
        unit = self.unit_labels.get(locale) or self.unit_labels.get("en", "")
        return f"{indian_grouping(value)} {unit}".strip()

    def to_json(self, value: float) -> float:
        return value

    def from_json(self, data: Any) -> float:
        require_type(data, (int, float), "amount")
        return float(data)


@dataclass(frozen=True, kw_only=True)
class ActionStatus(Choice):
    """A follow-up action's new status, shown in the summary with the action's title.

    `answers` maps a locale to the summary text per option key, rendered from the
    templates when the form is built.
    """

    answers: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def display(self, value: str, locale: str) -> str:
        worded = self.answers.get(locale) or self.answers.get("en") or {}
        return worded.get(value) or super().display(value, locale)


# NOTE: these maxima are generous guesses for one BSO in one month, not figures from
# a source. They only catch typing slips, such as an extra zero or a phone number.
MAXIMA: dict[str, float] = {
    "fpos_supported": 10_000,
    "buyer_linkages": 1_000,
    "volume_tonnes": 1_000_000,
    "value_lakh": 1_000_000,
    "women_reached": 1_000_000,
}
FPO_SYNONYMS = ("fpo", "fpc", "fpcs", "एफपीओ", "एफ़पीओ")
BUYER_SYNONYMS = (
    "buyer",
    "linkage",
    "linkages",
    "buyer linkages",
    "new buyers",
    "खरीदार",
    "ख़रीदार",
)
WOMEN_SYNONYMS = ("woman", "members", "women members", "महिला", "महिलाएं", "महिलाएँ", "महिला सदस्य")


def outcome_fields(texts: Texts) -> dict[str, Field[Any]]:
    """Build the answer types of the outcome numbers, by report field.

    The units are labelled in every locale by the `unit_*` blocks of the check-in's
    buttons.txt, for summaries and error messages, and by the `unit_*_one` blocks after
    a value such as 1 (see `plural_category`).
    """

    def unit_labels(block: str) -> Mapping[str, str]:
        return {locale: texts.label(locale, CHECKIN_PROMPTS, block) for locale in LOCALES}

    def count(name: str, unit: str, unit_block: str, synonyms: tuple[str, ...]) -> Amount:
        singular = unit_labels(f"{unit_block}_one")
        number = Number(
            unit=unit,
            integer=True,
            minimum=0,
            maximum=MAXIMA[name],
            unit_labels=unit_labels(unit_block),
            unit_synonyms=(*synonyms, *singular.values()),
        )
        return Amount(name=name, number=number, singular_labels=singular)

    tonne = unit_labels("unit_tonnes_one")
    tonnes = Number(
        unit="tonnes",
        minimum=0,
        maximum=MAXIMA["volume_tonnes"],
        unit_labels=unit_labels("unit_tonnes"),
        unit_synonyms=(*TONNE_SYNONYMS, *tonne.values()),
    )
    quintals = Number(unit="quintals", minimum=0, unit_synonyms=QUINTAL_SYNONYMS)
    kilograms = Number(unit="kg", minimum=0, unit_synonyms=KILOGRAM_SYNONYMS)
    return {
        "fpos_supported": count("fpos_supported", "FPOs", "unit_fpos", FPO_SYNONYMS),
        "buyer_linkages": count("buyer_linkages", "buyers", "unit_buyers", BUYER_SYNONYMS),
        "volume_tonnes": Amount(
            name="volume_tonnes",
            number=tonnes,
            others=((quintals, Decimal("0.1")), (kilograms, Decimal("0.001"))),
            singular_labels=tonne,
        ),
        "value_lakh": LakhRupees(
            name="value_lakh", maximum=MAXIMA["value_lakh"], unit_labels=unit_labels("unit_lakh")
        ),
        "women_reached": count("women_reached", "women", "unit_women", WOMEN_SYNONYMS),
    }
