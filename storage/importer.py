"""Read buyer and scheme registries from CSV or XLSX files into normalised records.

Parsing never touches the database: `parse_buyers` and `parse_schemes` return the good
records with the rejected, merged and blank rows, and `storage.registries` stores them.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

import openpyxl

from storage.normalize import (
    count_letters,
    fold,
    load_commodities,
    name_key,
    parse_buyer_type,
    parse_date,
    parse_phone,
    parse_state,
    split_states,
    unknown_state_message,
    words,
)


class ImportFileError(ValueError):
    """The file as a whole cannot be read: unknown format, no header or no name column."""


@dataclass
class RowError:
    """A rejected row: its spreadsheet row number (header is row 1) and every reason."""

    row: int
    reasons: list[str]
    name: str | None = None


@dataclass
class MergedRow:
    """A row whose name repeats an earlier row's, merged into that row."""

    row: int
    into_row: int
    name: str


@dataclass
class ParsedRecord:
    """A valid row: model field names mapped to normalised values, plus its row number."""

    row: int
    values: dict[str, Any]


@dataclass
class ParseResult:
    """Outcome of reading one file, before anything is stored."""

    kind: str  # "buyer" or "scheme"
    records: list[ParsedRecord] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    merged: list[MergedRow] = field(default_factory=list)
    blank_rows: int = 0
    # Rows after the header, blank ones included.
    total_rows: int = 0
    # Model fields that a column of the file maps to; other fields are left alone on update.
    columns: list[str] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    encoding: str | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass
class ImportReport:
    """Outcome of an import, as structured data for templates and as plain lines."""

    kind: str  # "buyer" or "scheme"
    filename: str
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    merged: list[MergedRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    blank_rows: int = 0
    total_rows: int = 0
    added_names: list[str] = field(default_factory=list)
    updated_names: list[str] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """Describe the import in plain English, one finding per line."""
        noun = "buyers" if self.kind == "buyer" else "schemes"
        lines = [
            f"{self.filename}: {_plural(self.total_rows, 'row')} read.",
            f"{self.added} {noun} added, {self.updated} updated, {self.unchanged} unchanged.",
        ]
        for merge in self.merged:
            lines.append(
                f"Row {merge.row} merged into row {merge.into_row}: same name as {merge.name}."
            )
        if self.blank_rows:
            lines.append(f"{_plural(self.blank_rows, 'blank row')} skipped.")
        for error in self.errors:
            label = f"Row {error.row}" + (f" ({error.name})" if error.name else "")
            lines.append(f"{label} not imported: {'; '.join(error.reasons)}.")
        if self.ignored_columns:
            lines.append("Columns ignored: " + ", ".join(self.ignored_columns) + ".")
        lines.extend(self.warnings)
        return lines


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


# --- Header matching --------------------------------------------------------------------

# Header spellings per model field, compared after `_header_key` (case, spaces and
# punctuation removed), so "Mobile No." matches "mobileno" and "Commodity(ies)"
# matches "commodityies".
BUYER_HEADERS: dict[str, tuple[str, ...]] = {
    "name": (
        "buyername",
        "name",
        "company",
        "companyname",
        "buyer",
        "firm",
        "firmname",
        "organisation",
        "organization",
        "organisationname",
        "organizationname",
        "businessname",
        "nameofbuyer",
        "खरीदार",
        "खरीदारकानाम",
        "नाम",
    ),
    "buyer_type": (
        "buyertype",
        "typeofbuyer",
        "type",
        "category",
        "buyercategory",
        "typeofbusiness",
        "businesstype",
    ),
    "commodities": (
        "commodities",
        "commodity",
        "commodityies",
        "commoditys",
        "crops",
        "crop",
        "products",
        "product",
        "produce",
        "items",
        "फसल",
        "उत्पाद",
    ),
    "city": ("city", "town", "district", "location", "place", "शहर"),
    "state": ("state", "stateut", "statename", "राज्य"),
    "regions_sourced": (
        "regionssourced",
        "regionsourced",
        "sourcingregions",
        "sourcingstates",
        "sourcesfrom",
        "sourcingfrom",
        "regions",
        "procurementareas",
        "procurementstates",
    ),
    "volume": (
        "minvolume",
        "minimumvolume",
        "volume",
        "quantity",
        "minqty",
        "minimumquantity",
        "moq",
        "volumerequired",
    ),
    "quality": (
        "qualityrequirements",
        "quality",
        "qualityspecs",
        "qualityspecifications",
        "specifications",
        "grade",
    ),
    "payment_terms": ("paymentterms", "payment", "paymentterm", "terms"),
    "contact_person": (
        "contactperson",
        "contactname",
        "contactpersonname",
        "person",
        "keycontact",
    ),
    "phone": (
        "phone",
        "phoneno",
        "phonenumber",
        "mobile",
        "mobileno",
        "mobilenumber",
        "mob",
        "mobno",
        "contactno",
        "contactnumber",
        "whatsapp",
        "whatsappno",
        "whatsappnumber",
        "telephone",
        "tel",
        "मोबाइल",
        "फोन",
    ),
    "email": ("email", "emailid", "emailaddress", "mail", "mailid"),
    "verified_by": ("verifiedby", "checkedby", "addedby", "source"),
    "verified_on": (
        "verifiedon",
        "dateverified",
        "verificationdate",
        "lastverified",
        "verified",
        "date",
        "dateofverification",
    ),
    "notes": ("notes", "note", "remarks", "remark", "comments", "comment"),
}

SCHEME_HEADERS: dict[str, tuple[str, ...]] = {
    "name": ("name", "schemename", "scheme", "title", "nameofscheme", "योजना", "योजनाकानाम"),
    "short_name": ("shortname", "short", "abbreviation", "acronym", "shortform"),
    "level": ("level", "schemelevel", "centralorstate", "centralstate"),
    "state": ("state", "stateut", "statename", "राज्य"),
    "department": (
        "department",
        "dept",
        "ministry",
        "ministrydepartment",
        "agency",
        "implementingagency",
        "nodalagency",
    ),
    "theme": ("theme", "category", "sector", "area", "type"),
    "benefit": ("benefit", "benefits", "support", "assistance", "whatyouget"),
    "eligibility": ("eligibility", "whocanapply", "eligible", "eligibilitycriteria"),
    "documents": ("documents", "documentsrequired", "docs", "requireddocuments"),
    "link": ("link", "url", "website", "weblink", "portal"),
    "last_verified": (
        "lastverified",
        "verifiedon",
        "dateverified",
        "lastupdated",
        "updated",
        "asof",
        "verified",
        "date",
    ),
}

_REQUIRED_COLUMNS = {"buyer": ("name", "commodities"), "scheme": ("name",)}
# Header spellings shown when a required column is missing.
_COLUMN_EXAMPLES = {
    "name": "Name, Buyer Name, Company, Scheme Name",
    "commodities": "Commodities, Commodity, Crops, Products",
}


def _header_key(header: object) -> str:
    return "".join(words(fold(str(header or ""))))


def _match_headers(
    headers: list[object], synonyms: dict[str, tuple[str, ...]]
) -> tuple[dict[int, str], list[str]]:
    """Map column positions to model fields; return the mapping and the ignored headers."""
    by_key = {key: model_field for model_field, keys in synonyms.items() for key in keys}
    mapping: dict[int, str] = {}
    ignored: list[str] = []
    taken: set[str] = set()
    for position, header in enumerate(headers):
        shown = str(header or "").strip()
        model_field = by_key.get(_header_key(header))
        if model_field is None or model_field in taken:
            if shown:
                ignored.append(shown)
            continue
        mapping[position] = model_field
        taken.add(model_field)
    return mapping, ignored


# --- Reading files ----------------------------------------------------------------------


def _read_rows(data: bytes, filename: str, result: ParseResult) -> Iterator[tuple[int, list[Any]]]:
    """Yield (spreadsheet row number, cell values) for every row of the file."""
    suffix = PurePath(filename).suffix.lower()
    if suffix == ".xls":
        raise ImportFileError(
            f"{filename} is an Excel 97-2003 .xls file, which cannot be read; "
            "save it as .xlsx or CSV and send it again"
        )
    if suffix in (".xlsx", ".xlsm") or (suffix != ".csv" and data[:2] == b"PK"):
        return _read_xlsx(data, filename)
    return _read_csv(data, filename, result)


def _read_xlsx(data: bytes, filename: str) -> Iterator[tuple[int, list[Any]]]:
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as error:
        raise ImportFileError(f"{filename} is not a readable .xlsx file ({error})") from error
    try:
        sheet = workbook.worksheets[0]
        rows = [
            (number, list(values))
            for number, values in enumerate(sheet.iter_rows(values_only=True), start=1)
        ]
    finally:
        workbook.close()
    return iter(rows)


def _decode(data: bytes, result: ParseResult) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        result.encoding = "utf-16"
        return data.decode("utf-16")
    try:
        result.encoding = "utf-8"
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    # Excel on Windows saves "CSV" in the ANSI code page, usually cp1252. Five bytes are
    # undefined in cp1252, so latin-1, which decodes any byte, is the last resort.
    for encoding in ("cp1252", "latin-1"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        result.encoding = encoding
        result.warnings.append(
            f"The file is not UTF-8, so it was read as {encoding}; Hindi text may be "
            'garbled. Save it as "CSV UTF-8" to keep it.'
        )
        return text
    raise AssertionError("latin-1 decodes every byte string")


def _read_csv(data: bytes, filename: str, result: ParseResult) -> Iterator[tuple[int, list[Any]]]:
    text = _decode(data, result)
    first_line = text.split("\n", 1)[0]
    # Excel in many locales writes ";" or tab instead of ",".
    delimiter = max((",", ";", "\t"), key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        rows = [(number, row) for number, row in enumerate(reader, start=1)]
    except csv.Error as error:
        raise ImportFileError(f"{filename} is not a readable CSV file ({error})") from error
    return iter(rows)


def _cell_text(value: Any) -> str:
    """Return a cell as trimmed text; integral floats lose their ".0"."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return " ".join(str(value).split())


def _is_blank(values: list[Any]) -> bool:
    return all(_cell_text(value) == "" for value in values)


# --- Row validation ---------------------------------------------------------------------

# Maximum length of each String column (see storage/models.py).
_MAX_LENGTHS = {
    "name": 255,
    "city": 128,
    "volume": 255,
    "payment_terms": 255,
    "contact_person": 255,
    "email": 255,
    "verified_by": 255,
    "short_name": 64,
    "department": 255,
    "theme": 64,
    "link": 512,
}
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

_LEVELS = {
    "central": "central",
    "centre": "central",
    "center": "central",
    "national": "central",
    "union": "central",
    "centralgovernment": "central",
    "goi": "central",
    "governmentofindia": "central",
    "केंद्र": "central",
    "केंद्रीय": "central",
    "state": "state",
    "stategovernment": "state",
    "राज्य": "state",
}

_LIST_FIELDS = ("commodities", "regions_sourced")
_DATE_FIELDS = ("verified_on", "last_verified")


def _text_field(model_field: str, value: Any, reasons: list[str]) -> str | None:
    text = _cell_text(value)
    if not text:
        return None
    limit = _MAX_LENGTHS.get(model_field)
    if limit and len(text) > limit:
        reasons.append(f"{_label(model_field)} is longer than {limit} characters")
    return text


def _label(model_field: str) -> str:
    return model_field.replace("_", " ")


def _date_field(model_field: str, value: Any, reasons: list[str]) -> dt.date | None:
    if _cell_text(value) == "":
        return None
    try:
        return parse_date(value)
    except ValueError as error:
        reasons.append(f"{_label(model_field)}: {error}")
        return None


def _state_field(value: Any, reasons: list[str]) -> str | None:
    text = _cell_text(value)
    if not text:
        return None
    state = parse_state(text)
    if state is None:
        reasons.append(f"state: {unknown_state_message(text)}")
    return state


def _buyer_values(cells: dict[str, Any], reasons: list[str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for model_field in (
        "name",
        "city",
        "volume",
        "quality",
        "payment_terms",
        "contact_person",
        "verified_by",
        "notes",
    ):
        if model_field in cells:
            values[model_field] = _text_field(model_field, cells[model_field], reasons)

    if not values.get("name"):
        reasons.append("the buyer name is missing")
    if "buyer_type" in cells:
        values["buyer_type"] = parse_buyer_type(_cell_text(cells["buyer_type"]))

    commodities = load_commodities().split(_cell_text(cells.get("commodities")))
    values["commodities"] = commodities
    if not commodities:
        reasons.append("no commodity is given")

    if "state" in cells:
        values["state"] = _state_field(cells["state"], reasons)
    if "regions_sourced" in cells:
        try:
            values["regions_sourced"] = split_states(_cell_text(cells["regions_sourced"]))
        except ValueError as error:
            values["regions_sourced"] = []
            reasons.append(f"regions sourced: {error}")

    if "phone" in cells:
        values["phone"] = None
        if _cell_text(cells["phone"]):
            try:
                values["phone"] = parse_phone(cells["phone"])
            except ValueError as error:
                reasons.append(f"phone: {error}")
    if "email" in cells:
        email = _text_field("email", cells["email"], reasons)
        if email and not _EMAIL_RE.match(email):
            reasons.append(f"email: {email} is not a valid email address")
        values["email"] = email.lower() if email else None
    if "verified_on" in cells:
        values["verified_on"] = _date_field("verified_on", cells["verified_on"], reasons)
    return values


def _scheme_values(cells: dict[str, Any], reasons: list[str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for model_field in (
        "name",
        "short_name",
        "department",
        "benefit",
        "eligibility",
        "documents",
        "link",
    ):
        if model_field in cells:
            values[model_field] = _text_field(model_field, cells[model_field], reasons)
    if not values.get("name"):
        reasons.append("the scheme name is missing")

    if "theme" in cells:
        theme = _text_field("theme", cells["theme"], reasons)
        values["theme"] = fold(theme) if theme else None
    if "state" in cells:
        values["state"] = _state_field(cells["state"], reasons)
    if "level" in cells:
        level_text = _cell_text(cells["level"])
        level = _LEVELS.get(_header_key(level_text)) if level_text else None
        if level_text and level is None:
            reasons.append(f"level: {level_text!r} is neither central nor state")
        if level is None and values.get("state"):
            level = "state"
        values["level"] = level
        if level == "state" and not _cell_text(cells.get("state")):
            reasons.append("the level is state but no state is given")
    link = values.get("link")
    if link and not re.match(r"^[a-z][a-z0-9+.-]*://", link, re.IGNORECASE) and "." in link:
        values["link"] = "https://" + link
    if "last_verified" in cells:
        values["last_verified"] = _date_field("last_verified", cells["last_verified"], reasons)
    return values


# --- Duplicate merging ------------------------------------------------------------------


def _merge_into(first: dict[str, Any], later: dict[str, Any]) -> None:
    """Fold a duplicate row into the first occurrence, in place.

    Lists are unioned in order, empty fields are filled, and the later of two
    verification dates is kept. Two different non-empty values keep the first.
    """
    for model_field, value in later.items():
        current = first.get(model_field)
        if model_field in _LIST_FIELDS:
            first[model_field] = list(dict.fromkeys([*(current or []), *(value or [])]))
        elif model_field in _DATE_FIELDS:
            dates = [day for day in (current, value) if day is not None]
            first[model_field] = max(dates) if dates else None
        elif current in (None, "") and value not in (None, ""):
            first[model_field] = value


# --- Parsing ----------------------------------------------------------------------------


def _parse(
    data: bytes,
    filename: str,
    kind: str,
    synonyms: dict[str, tuple[str, ...]],
    build_values: Callable[[dict[str, Any], list[str]], dict[str, Any]],
) -> ParseResult:
    result = ParseResult(kind=kind)
    rows = _read_rows(data, filename, result)

    # The header is the first row with any text; rows above it are not counted.
    header: list[Any] | None = None
    for _number, cells in rows:
        if not _is_blank(cells):
            header = cells
            break
    if header is None:
        raise ImportFileError(f"{filename} is empty: no header row was found")

    mapping, result.ignored_columns = _match_headers(header, synonyms)
    found = ", ".join(_cell_text(h) for h in header if _cell_text(h)) or "none"
    for required in _REQUIRED_COLUMNS[kind]:
        if required not in mapping.values():
            raise ImportFileError(
                f"{filename} has no {_label(required)} column. Columns found: {found}. "
                f"Expected a column named one of: {_COLUMN_EXAMPLES[required]}."
            )
    result.columns = sorted(mapping.values())

    first_row_by_key: dict[str, ParsedRecord] = {}
    for number, cells in rows:
        result.total_rows += 1
        if _is_blank(cells):
            result.blank_rows += 1
            continue
        by_field = {
            model_field: cells[position] if position < len(cells) else None
            for position, model_field in mapping.items()
        }
        reasons: list[str] = []
        values = build_values(by_field, reasons)
        name = values.get("name")
        if reasons:
            result.errors.append(RowError(row=number, reasons=reasons, name=name))
            continue

        key = name_key(name or "")
        if count_letters(key) == 0:
            result.errors.append(
                RowError(row=number, reasons=["the name has no letters"], name=name)
            )
            continue
        values["name_key"] = key[:255]
        earlier = first_row_by_key.get(key)
        if earlier is not None:
            _merge_into(earlier.values, values)
            result.merged.append(
                MergedRow(row=number, into_row=earlier.row, name=earlier.values["name"])
            )
            continue
        record = ParsedRecord(row=number, values=values)
        first_row_by_key[key] = record
        result.records.append(record)
    return result


def parse_buyers(data: bytes, filename: str) -> ParseResult:
    """Read a buyer registry (CSV or XLSX) into normalised buyer records.

    A buyer needs a name and at least one commodity. A phone, date or state, when
    present, must be valid. Rows sharing a `name_key` are merged into the first.
    Raises ImportFileError when the file cannot be read or has no name column.
    """
    return _parse(data, filename, "buyer", BUYER_HEADERS, _buyer_values)


def parse_schemes(data: bytes, filename: str) -> ParseResult:
    """Read a scheme registry (CSV or XLSX) into normalised scheme records.

    A scheme needs a name. The level must be central or state, and a state, when
    present, must be valid. Raises ImportFileError as `parse_buyers` does.
    """
    return _parse(data, filename, "scheme", SCHEME_HEADERS, _scheme_values)
