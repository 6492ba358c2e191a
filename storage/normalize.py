"""Normalisers for registry and registration data: text, phones, dates, commodities, states.

Every function here is pure. The synonym lists are read once from `storage/data/`.
"""

from __future__ import annotations

import calendar
import csv
import datetime as dt
import functools
import re
import unicodedata
from collections.abc import Iterable
from pathlib import Path

from rapidfuzz import process
from rapidfuzz.distance import OSA

DATA_DIR = Path(__file__).parent / "data"

# Word characters: Unicode letters and digits (`\w`, less the underscore), plus the
# combining marks of the Indic blocks (U+0900-U+0DFF: Devanagari, Bengali, Gurmukhi,
# Gujarati, Odia, Tamil, Telugu, Kannada, Malayalam, Sinhala), the combining diacritics
# U+0300-U+036F and the zero-width joiners that Indic spellings need. Python's `\w`
# alone rejects vowel signs and viramas, so it would split "मिर्च" into fragments.
_WORD_RE = re.compile(r"(?:[^\W_]|[\u0300-\u036f\u0900-\u0dff\u200c\u200d])+")

# Devanagari sign nukta; "उड़द" is also commonly typed without it.
_NUKTA = "\u093c"
# Devanagari candrabindu and anusvara: "गेहूँ" and "गेहूं" are both common spellings.
_CANDRABINDU = "\u0901"
_ANUSVARA = "\u0902"


def fold(text: str) -> str:
    """Return `text` in NFC, case-folded, with whitespace runs collapsed to one space."""
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


def words(text: str) -> list[str]:
    """Split `text` into whole words, dropping whitespace and punctuation; case is kept."""
    return _WORD_RE.findall(unicodedata.normalize("NFC", text))


def name_key(name: str) -> str:
    """Return the duplicate-detection key of a name: folded words joined by single spaces.

    "Harit Agro Processors Pvt. Ltd." and "  harit agro processors pvt ltd " share a key.
    """
    return " ".join(words(fold(name)))


def count_letters(word: str) -> int:
    """Count the letters of `word`, not counting combining marks such as Devanagari matras."""
    return sum(1 for char in word if unicodedata.category(char).startswith("L"))


# A nasal consonant with virama before another consonant, which Hindi also writes as an
# anusvara: "भण्डारण" and "भंडारण", "हिन्दी" and "हिंदी".
_NASAL_CLUSTER = re.compile("[\u0919\u091e\u0923\u0928\u092e]\u094d(?=[\u0915-\u0939])")


def devanagari_key(text: str) -> str:
    """Return `text` without nukta, with candrabindu and nasal clusters as anusvara, for
    spelling-blind keys.

    "प्याज़" and "प्याज", "गेहूँ" and "गेहूं", "भण्डारण" and "भंडारण" share a key. Other
    scripts pass unchanged.
    """
    text = text.replace(_NUKTA, "").replace(_CANDRABINDU, _ANUSVARA)
    return _NASAL_CLUSTER.sub(_ANUSVARA, text)


def shorten(text: str, limit: int = 40) -> str:
    """Return `text` cut to `limit` characters with "…" appended, for quoting in messages."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def english_word_forms(word: str) -> list[str]:
    """Return `word` with its simple English plural and singular forms, `word` first.

    Covers the regular forms only: "warehouse"/"warehouses", "loan"/"loans",
    "subsidy"/"subsidies", "box"/"boxes". Words not written in lower-case ASCII
    letters, or shorter than 3 letters, get no other forms.
    """
    forms = [word]
    if len(word) < 3 or not (word.isascii() and word.isalpha() and word.islower()):
        return forms
    if word.endswith("ies") and len(word) > 4:
        forms.append(word[:-3] + "y")
    elif word.endswith("s") and not word.endswith("ss"):
        if word.endswith("es"):
            # "boxes" -> "box" and "potatoes" -> "potato", while "warehouses" -> "warehouse" below.
            forms.append(word[:-2])
        forms.append(word[:-1])
    elif word.endswith("y") and word[-2] not in "aeiou":
        forms.append(word[:-1] + "ies")
    elif word.endswith(("s", "x", "z", "ch", "sh")):
        forms.append(word + "es")
    elif word.endswith("o"):
        forms += [word + "es", word + "s"]
    else:
        forms.append(word + "s")
    return list(dict.fromkeys(forms))


def _compact(text: str) -> str:
    """Return the folded words of `text` with no separators ("Tamil-Nadu" -> "tamilnadu")."""
    return "".join(words(fold(text)))


# --- Phones -----------------------------------------------------------------------------

_PHONE_CHARS_RE = re.compile(r"^[0-9\s+\-().]+$")
_PHONE_EXAMPLE = "like 98765 43210"


def parse_phone(raw: str | int | float) -> str:
    """Normalise an Indian mobile number to `+91XXXXXXXXXX`.

    Accepts 10 digits starting with 6-9, optionally after 0, 91, +91 or 0091, with any
    spaces, hyphens, dots or brackets. Digits may be in any script that Unicode gives
    decimal digits, such as Devanagari "९८७६५४३२१०". Landline numbers are rejected, because the bot
    and its users need a number that can receive calls and WhatsApp messages anywhere.
    Raises ValueError with a reason a PoC can act on.
    """
    if isinstance(raw, bool):
        raise ValueError(f"{raw!r} is not a phone number")
    if isinstance(raw, float):
        # Spreadsheets store numbers typed without a "+" as floats.
        if not raw.is_integer():
            raise ValueError(f"{raw} is not a phone number")
        raw = int(raw)
    text = str(raw).strip()
    if not text:
        raise ValueError("the phone number is empty")
    if not _PHONE_CHARS_RE.match(_ascii_digits(text)):
        raise ValueError(
            f"{text} is not a phone number: use only digits, spaces, +, - and brackets, "
            f"{_PHONE_EXAMPLE}"
        )

    digits = re.sub(r"[^0-9]", "", _ascii_digits(text))
    international = "+" in text
    if digits.startswith("00"):
        digits = digits[2:]
        international = True
    if international:
        if not digits.startswith("91"):
            raise ValueError(
                f"{text} is not an Indian number: Indian numbers have the country code +91"
            )
        digits = digits[2:]
    elif len(digits) in (12, 13) and digits.startswith("91"):
        digits = digits[2:]
    if len(digits) == 11 and digits.startswith("0"):
        digits = digits[1:]

    if len(digits) != 10:
        raise ValueError(
            f"{text} has {len(digits)} digits; an Indian mobile number has 10, {_PHONE_EXAMPLE}"
        )
    if digits[0] not in "6789":
        raise ValueError(
            f"{text} is not a mobile number: Indian mobile numbers start with 6, 7, 8 or 9 "
            f"(landline numbers are not accepted), {_PHONE_EXAMPLE}"
        )
    return "+91" + digits


def _ascii_digits(text: str) -> str:
    """Replace every Unicode decimal digit (Devanagari, Gujarati, full-width, …) by 0-9."""
    return "".join(str(unicodedata.decimal(char)) if char.isdecimal() else char for char in text)


# --- Dates ------------------------------------------------------------------------------

# Excel's 1900 date system counts days from 1899-12-30 for every serial after 60
# (Excel wrongly treats 1900 as a leap year). Serials outside this window are far more
# likely to be quantities or phone fragments than dates.
_EXCEL_EPOCH = dt.date(1899, 12, 30)
_EXCEL_MIN_DATE = dt.date(1990, 1, 1)
_EXCEL_MAX_DATE = dt.date(2099, 12, 31)

_MONTHS: dict[str, int] = {}
for _number in range(1, 13):
    _MONTHS[calendar.month_name[_number].lower()] = _number
    _MONTHS[calendar.month_abbr[_number].lower()] = _number
_MONTHS["sept"] = 9

_SERIAL_RE = re.compile(r"^\d{4,6}(?:\.\d+)?$")
_ISO_RE = re.compile(
    r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"
)
_DMY_RE = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{2}|\d{4})$")
_YEAR_MONTH_RE = re.compile(r"^(\d{4})[-/.](\d{1,2})$")
_MONTH_YEAR_RE = re.compile(r"^(\d{1,2})[-/.](\d{4})$")
_DAY_NAMED_MONTH_RE = re.compile(
    r"^(\d{1,2})(?:st|nd|rd|th)?[\s\-/.,]+([a-z]+)\.?[\s\-/.,]+(\d{2}|\d{4})$"
)
_NAMED_MONTH_DAY_RE = re.compile(r"^([a-z]+)\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})$")
_NAMED_MONTH_YEAR_RE = re.compile(r"^([a-z]+)\.?[\s\-/.,]+(\d{2}|\d{4})$")


def parse_date(value: object) -> dt.date:
    """Parse a date from a spreadsheet cell or typed text.

    Accepts `date`/`datetime` objects, Excel serial numbers (1900 date system, years
    1990-2099), ISO `2024-11-03`, day-first `12/10/2024`, `12-10-2024` and `12.10.2024`
    (Indian order), `15 Dec 2026`, `15 December 2026`, `Dec 15, 2026`, and month-only
    `Dec 2026`, `2025-06` or `06/2025`, which give the first day of the month.
    Raises ValueError with the reason for anything else.
    """
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a date")
    if isinstance(value, int | float):
        return _from_excel_serial(value, str(value))

    text = " ".join(str(value).split())
    if not text:
        raise ValueError("the date is empty")
    lowered = text.lower()

    if _SERIAL_RE.match(lowered):
        return _from_excel_serial(float(lowered), text)
    if match := _ISO_RE.match(lowered):
        year, month, day = (int(part) for part in match.groups())
        return _build_date(text, year, month, day)
    if match := _DMY_RE.match(lowered):
        day, month, year = (int(part) for part in match.groups())
        return _build_date(text, _full_year(year), month, day, day_first=True)
    if match := _YEAR_MONTH_RE.match(lowered):
        year, month = (int(part) for part in match.groups())
        return _build_date(text, year, month, 1)
    if match := _MONTH_YEAR_RE.match(lowered):
        month, year = (int(part) for part in match.groups())
        return _build_date(text, year, month, 1)
    if match := _DAY_NAMED_MONTH_RE.match(lowered):
        day_text, month_name, year_text = match.groups()
        month = _month_number(text, month_name)
        return _build_date(text, _full_year(int(year_text)), month, int(day_text))
    if match := _NAMED_MONTH_DAY_RE.match(lowered):
        month_name, day_text, year_text = match.groups()
        month = _month_number(text, month_name)
        return _build_date(text, int(year_text), month, int(day_text))
    if match := _NAMED_MONTH_YEAR_RE.match(lowered):
        month_name, year_text = match.groups()
        month = _month_number(text, month_name)
        return _build_date(text, _full_year(int(year_text)), month, 1)
    raise ValueError(
        f"{text} is not a date in a known form; write it as DD/MM/YYYY (like 25/10/2024) "
        "or YYYY-MM-DD"
    )


def _from_excel_serial(serial: float, shown: str) -> dt.date:
    # A fractional part is the time of day, which a registry date does not need.
    earliest = (_EXCEL_MIN_DATE - _EXCEL_EPOCH).days
    latest = (_EXCEL_MAX_DATE - _EXCEL_EPOCH).days
    if not earliest <= serial < latest + 1:
        raise ValueError(
            f"{shown} is not a date: as an Excel date number it is outside the years "
            f"{_EXCEL_MIN_DATE.year}-{_EXCEL_MAX_DATE.year}"
        )
    return _EXCEL_EPOCH + dt.timedelta(days=int(serial))


def _full_year(year: int) -> int:
    # Two-digit years in registry data are recent or near-future ones: 24 is 2024.
    return 2000 + year if year < 100 else year


def _month_number(shown: str, name: str) -> int:
    number = _MONTHS.get(name)
    if number is None:
        raise ValueError(f"{shown} is not a date: {name!r} is not a month name")
    return number


def _build_date(shown: str, year: int, month: int, day: int, *, day_first: bool = False) -> dt.date:
    if not 1 <= month <= 12:
        hint = " (dates are read day first, as DD/MM/YYYY)" if day_first else ""
        raise ValueError(f"{shown} is not a real date: there is no month {month}{hint}")
    if not 1 <= year <= 9999:
        raise ValueError(f"{shown} is not a real date: the year {year} is out of range")
    days_in_month = calendar.monthrange(year, month)[1]
    if not 1 <= day <= days_in_month:
        raise ValueError(
            f"{shown} is not a real date: {calendar.month_name[month]} {year} has "
            f"{days_in_month} days"
        )
    return dt.date(year, month, day)


# --- Commodities ------------------------------------------------------------------------

_LIST_SEPARATOR_RE = re.compile(r"\s*(?:[,;/|&+\n]|\band\b|\sऔर\s)\s*", re.IGNORECASE)


def split_list(text: str) -> list[str]:
    """Split a commodity list on commas, semicolons, "/", "|", "&", "+", "and" or "और".

    Returns the non-empty items as written, duplicates included.
    """
    items = (part.strip(" .-") for part in _LIST_SEPARATOR_RE.split(text or ""))
    return [item for item in items if item]


class Commodities:
    """Canonical commodity names and their synonyms in English, Hindi, Marathi and trade use.

    The CSV has one row per commodity: the canonical English name, then synonyms
    separated by semicolons. Use `load_commodities()` for the shared instance.
    """

    def __init__(self, rows: Iterable[tuple[str, Iterable[str]]]) -> None:
        self._canonical_names: list[str] = []
        self._synonyms: dict[str, list[str]] = {}
        self._by_key: dict[str, str] = {}
        for canonical, synonyms in rows:
            canonical = fold(canonical)
            self._canonical_names.append(canonical)
            folded = [canonical, *(fold(s) for s in synonyms if s.strip())]
            self._synonyms[canonical] = list(dict.fromkeys(folded))
            for synonym in folded:
                for key in self._keys(synonym):
                    # The first commodity to claim a key keeps it, so the CSV order decides.
                    self._by_key.setdefault(key, canonical)

    def display_name(self, canonical: str, locale: str) -> str:
        """Return the commodity's name for a reader of `locale`: its first Hindi synonym
        for "hi" when the list has one, else the canonical English name."""
        if locale == "hi":
            return hindi_name(self._synonyms.get(canonical, ())) or canonical
        return canonical

    @classmethod
    def from_csv(cls, path: Path) -> Commodities:
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            rows = [(row["commodity"], (row["synonyms"] or "").split(";")) for row in reader]
        return cls(rows)

    @staticmethod
    def _keys(text: str) -> set[str]:
        spaced = " ".join(words(fold(text)))
        return {spaced, spaced.replace(" ", ""), devanagari_key(spaced)}

    @property
    def names(self) -> list[str]:
        """Canonical names, in the order of the CSV."""
        return list(self._canonical_names)

    def canonical(self, word: str) -> str | None:
        """Return the canonical name for a commodity word or phrase in any listed language.

        Matching ignores case, spacing, punctuation, a Hindi nukta and candrabindu versus
        anusvara, and accepts
        English plurals ("tomatoes", "chillies", "onions"). Typos are not corrected here.
        """
        spaced = " ".join(words(fold(word)))
        if not spaced:
            return None
        for key in (spaced, spaced.replace(" ", ""), devanagari_key(spaced)):
            if key in self._by_key:
                return self._by_key[key]
        for singular in _singular_forms(spaced):
            if singular in self._by_key:
                return self._by_key[singular]
        return None

    def split(self, text: str) -> list[str]:
        """Split a list such as "Tomato, Chilli / kanda and aloo" into canonical names.

        Unknown items are kept as folded text; duplicates are dropped, order kept.
        """
        result: list[str] = []
        for part in split_list(text):
            name = self.canonical(part) or fold(part)
            if name not in result:
                result.append(name)
        return result

    def synonyms(self, canonical: str) -> list[str]:
        """Folded synonyms of a canonical name, the name itself first; [] if unknown."""
        return list(self._synonyms.get(fold(canonical), []))

    def vocabulary(self) -> dict[str, str]:
        """Every folded synonym (with spaces) mapped to its canonical name."""
        return {
            synonym: canonical
            for canonical, synonyms in self._synonyms.items()
            for synonym in synonyms
        }


def _singular_forms(word: str) -> list[str]:
    forms = []
    if word.endswith("ies"):
        forms += [word[:-3] + "y", word[:-3] + "i"]
    if word.endswith("oes") or word.endswith("es"):
        forms.append(word[:-2])
    if word.endswith("s"):
        forms.append(word[:-1])
    return forms


def hindi_name(names: Iterable[str]) -> str | None:
    """Return the first name written in Devanagari among `names`, or None when none is."""
    return next((name for name in names if _DEVANAGARI_RE.search(name)), None)


_DEVANAGARI_RE = re.compile("[\u0900-\u097f]")


@functools.cache
def load_commodities() -> Commodities:
    """Return the commodity list from `storage/data/commodities.csv`, read once per process."""
    return Commodities.from_csv(DATA_DIR / "commodities.csv")


# --- States -----------------------------------------------------------------------------


class States:
    """Indian states and union territories with abbreviations and Hindi and other names."""

    def __init__(self, rows: Iterable[tuple[str, Iterable[str], Iterable[str]]]) -> None:
        self.names: list[str] = []
        self._by_key: dict[str, str] = {}
        self.abbreviations: dict[str, str] = {}
        self._hindi_names: dict[str, str | None] = {}
        for name, abbreviations, other_names in rows:
            self.names.append(name)
            for alias in [name, *other_names]:
                for key in _state_keys(alias):
                    self._by_key.setdefault(key, name)
            for abbreviation in abbreviations:
                self.abbreviations[abbreviation.strip().casefold()] = name
            self._hindi_names[name] = hindi_name(other_names)

    @classmethod
    def from_csv(cls, path: Path) -> States:
        def listed(cell: str | None) -> list[str]:
            return [item.strip() for item in (cell or "").split(";") if item.strip()]

        with path.open(encoding="utf-8", newline="") as handle:
            rows = [
                (row["state"], listed(row["abbreviations"]), listed(row["other_names"]))
                for row in csv.DictReader(handle)
            ]
        return cls(rows)

    def parse(self, text: str) -> str | None:
        """Return the canonical English name for a state name, abbreviation or Hindi name."""
        if not text or not text.strip():
            return None
        keys = _state_keys(text)
        for key in sorted(keys):
            if key in self._by_key:
                return self._by_key[key]
        return self.abbreviations.get(_compact(text))

    def display_name(self, name: str, locale: str) -> str:
        """Return the state's name for a reader of `locale`: its Hindi name for "hi" when
        the list has one, else the English name."""
        if locale == "hi":
            return self._hindi_names.get(name) or name
        return name

    def name_keys(self) -> dict[str, str]:
        """Every folded full name or alias (not abbreviations) mapped to its state."""
        return dict(self._by_key)

    def suggest(self, text: str) -> str | None:
        """Return the state whose name is closest to a misspelt `text`, if one is close."""
        key = " ".join(words(fold(text)))
        if count_letters(key) < 4:
            return None
        match = process.extractOne(
            key, self._by_key.keys(), scorer=OSA.distance, score_cutoff=typo_limit(key)
        )
        return self._by_key[match[0]] if match else None


def _state_keys(text: str) -> set[str]:
    spaced = " ".join(words(fold(text.replace("&", " and "))))
    return {spaced, spaced.replace(" ", ""), devanagari_key(spaced)}


@functools.cache
def load_states() -> States:
    """Return the state list from `storage/data/states.csv`, read once per process."""
    return States.from_csv(DATA_DIR / "states.csv")


def parse_state(text: str) -> str | None:
    """Return the canonical state or union territory name for `text`, or None if unknown.

    Accepts English names ("maharashtra", "Tamil-Nadu", "Orissa"), the vehicle-code
    abbreviations ("MH", "TS"/"TG", "OD"/"OR") and Hindi names ("महाराष्ट्र").
    """
    return load_states().parse(text)


def split_states(text: str) -> list[str]:
    """Split a list of states such as "MH; Karnataka, उत्तर प्रदेश" into canonical names.

    Names that contain "and" ("Jammu and Kashmir") stay whole. Raises ValueError naming
    every item that is not a state or union territory.
    """
    states = load_states()
    result: list[str] = []
    unknown: list[str] = []
    for part in split_state_list(text):
        found = states.parse(part)
        if found:
            pieces = [found]
        else:
            pieces = []
            for piece in re.split(r"\s+(?:and|&|और)\s+|\s*&\s*", part, flags=re.IGNORECASE):
                parsed = states.parse(piece)
                if parsed is None:
                    unknown.append(piece.strip())
                else:
                    pieces.append(parsed)
        for name in pieces:
            if name not in result:
                result.append(name)
    if unknown:
        raise ValueError("; ".join(unknown_state_message(item) for item in unknown))
    return result


def split_state_list(text: str) -> list[str]:
    """Split a list of states on commas, semicolons, "/", "|" or line breaks, as written.

    Returns the non-empty items, duplicates included. Items joined by "and" stay whole.
    """
    items = (part.strip() for part in re.split(r"[,;/|\n]", text or ""))
    return [item for item in items if item]


def unknown_state_message(text: str) -> str:
    """Build the error message for an unknown state, with a suggestion when one is close."""
    message = f"{shorten(text)!r} is not an Indian state or union territory"
    suggestion = load_states().suggest(text)
    if suggestion:
        message += f" (did you mean {suggestion}?)"
    return message


# --- Buyer types ------------------------------------------------------------------------

BUYER_TYPES = (
    "processor",
    "exporter",
    "modern trade",
    "e-commerce",
    "institutional",
    "aggregator",
    "wholesaler",
    "retailer",
    "other",
)

# Compact folded spellings (see `_compact`) of each buyer type.
_BUYER_TYPE_ALIASES: dict[str, tuple[str, ...]] = {
    "processor": (
        "processor",
        "processors",
        "processing",
        "processingunit",
        "foodprocessor",
        "agroprocessor",
        "miller",
        "millers",
        "prosessor",
        "प्रोसेसर",
        "प्रसंस्करण",
    ),
    "exporter": ("exporter", "exporters", "export", "exports", "exporthouse", "निर्यातक"),
    "modern trade": (
        "moderntrade",
        "modernretail",
        "mt",
        "supermarket",
        "supermarkets",
        "hypermarket",
        "retailchain",
        "organisedretail",
        "organizedretail",
    ),
    "e-commerce": (
        "ecommerce",
        "ecom",
        "online",
        "onlineplatform",
        "etailer",
        "quickcommerce",
        "ईकॉमर्स",
    ),
    "institutional": (
        "institutional",
        "institution",
        "institutions",
        "institutionalbuyer",
        "horeca",
        "hotel",
        "hotels",
        "caterer",
        "catering",
        "government",
        "govt",
    ),
    "aggregator": ("aggregator", "aggregators", "aggregation", "collector", "consolidator"),
    "wholesaler": (
        "wholesaler",
        "wholesalers",
        "wholesale",
        "trader",
        "traders",
        "commissionagent",
        "mandi",
        "mandi trader",
        "thok",
        "थोक",
        "थोकव्यापारी",
        "व्यापारी",
    ),
    "retailer": ("retailer", "retailers", "retail", "shop", "store", "खुदरा"),
    "other": ("other", "others"),
}
_BUYER_TYPE_BY_ALIAS = {
    alias.replace(" ", ""): canonical
    for canonical, aliases in _BUYER_TYPE_ALIASES.items()
    for alias in aliases
}


def parse_buyer_type(text: str | None) -> str | None:
    """Map a free-text buyer type to one of BUYER_TYPES; None when `text` is empty.

    "Wholesale" gives wholesaler, "Modern Trade" modern trade, "ecommerce" e-commerce.
    For several types ("Processor / Exporter") the first recognised word wins, and
    text with no recognised word gives "other".
    """
    if text is None or not text.strip():
        return None
    compact = _compact(text)
    if compact in _BUYER_TYPE_BY_ALIAS:
        return _BUYER_TYPE_BY_ALIAS[compact]
    folded_words = words(fold(text))
    # Try two-word phrases first so "modern trade" wins over a lone word.
    for size in (2, 1):
        for start in range(len(folded_words) - size + 1):
            phrase = "".join(folded_words[start : start + size])
            if phrase in _BUYER_TYPE_BY_ALIAS:
                return _BUYER_TYPE_BY_ALIAS[phrase]
    return "other"


def buyer_type_for_word(word: str) -> str | None:
    """Return the buyer type that a single search word or phrase names exactly, else None."""
    return _BUYER_TYPE_BY_ALIAS.get(_compact(word))


# --- Typo tolerance ---------------------------------------------------------------------


def typo_limit(word: str) -> int:
    """Return the largest edit distance accepted as a typo of `word`.

    Words of fewer than 4 letters get 0, so "aam" never turns into "ram". Words of 4-7
    letters allow one edit (a transposition counts as one), longer words two.
    """
    letters = count_letters(word)
    if letters < 4:
        return 0
    return 1 if letters < 8 else 2


# --- Hindi and Marathi query words ------------------------------------------------------


class HindiWords:
    """Curated Hindi and Marathi words with their English equivalents, for lookups.

    `storage/data/hindi_words.csv` has one row per Hindi or Marathi spelling: the word,
    its English equivalents separated by semicolons, and the facet it serves: `text`
    for a free-text keyword ("गोदाम" is "warehouse") or `city` for a city name
    ("पुणे" is "pune"). Keys are folded and spelling-blind (see `devanagari_key`).
    """

    def __init__(self, rows: Iterable[tuple[str, Iterable[str], str]]) -> None:
        self._keywords: dict[str, tuple[str, ...]] = {}
        self._cities: dict[str, str] = {}
        for hindi, english, facet in rows:
            key = _hindi_key(hindi)
            equivalents = tuple(dict.fromkeys(fold(e) for e in english if e.strip()))
            if facet == "city":
                self._cities.setdefault(key, equivalents[0])
            elif facet == "text":
                self._keywords.setdefault(key, equivalents)
            else:
                raise ValueError(f"{hindi}: unknown facet {facet!r}; expected text or city")

    @classmethod
    def from_csv(cls, path: Path) -> HindiWords:
        with path.open(encoding="utf-8", newline="") as handle:
            rows = [
                (row["hindi"], row["english"].split(";"), row["facet"].strip())
                for row in csv.DictReader(handle)
            ]
        return cls(rows)

    def keyword(self, word: str) -> tuple[str, ...]:
        """Return the folded English equivalents of a Hindi or Marathi word; () if unlisted."""
        return self._keywords.get(_hindi_key(word), ())

    def city(self, phrase: str) -> str | None:
        """Return the folded English name of a city written in Devanagari, else None."""
        return self._cities.get(_hindi_key(phrase))


def _hindi_key(text: str) -> str:
    return devanagari_key(" ".join(words(fold(text))))


@functools.cache
def load_hindi_words() -> HindiWords:
    """Return the list from `storage/data/hindi_words.csv`, read once per process."""
    return HindiWords.from_csv(DATA_DIR / "hindi_words.csv")
