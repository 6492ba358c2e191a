"""Read buyer and scheme registries from CSV or XLSX files into normalised records.

Parsing never touches the database: `parse_buyers` and `parse_schemes` return the good
records with the rejected, merged and blank rows, and `storage.registries` stores them.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

import openpyxl
from openpyxl.utils import get_column_letter

from storage.normalize import (
    count_letters,
    fold,
    load_commodities,
    name_key,
    parse_buyer_type,
    parse_date,
    parse_phone,
    parse_state,
    shorten,
    split_list,
    split_state_list,
    split_states,
    unknown_state_message,
    words,
)


class ImportFileError(ValueError):
    """The file as a whole cannot be read: not a spreadsheet, no header or no name column.

    The message does not name the file, because every caller shows the file name.
    """


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
        lines = [
            f"{self.filename}: {_plural(self.total_rows, 'row')} read.",
            f"{_plural(self.added, self.kind)} added, {self.updated} updated, "
            f"{self.unchanged} unchanged.",
        ]
        for merge in self.merged:
            lines.append(
                f"Row {merge.row} merged into row {merge.into_row}: same name as {merge.name}."
            )
        if self.blank_rows:
            lines.append(f"{_plural(self.blank_rows, 'blank row')} skipped.")
        if self.errors:
            lines.append(f"{_plural(len(self.errors), 'row')} not imported:")
        for error in self.errors:
            label = f"Row {error.row}" + (f" ({error.name})" if error.name else "")
            lines.append(f"{label}: {'; '.join(error.reasons)}.")
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
# Header spellings shown when a required column is missing, per registry and field.
_COLUMN_EXAMPLES = {
    ("buyer", "name"): "Buyer Name, Name, Company, Firm Name",
    ("buyer", "commodities"): "Commodities, Commodity, Crops, Products",
    ("scheme", "name"): "Scheme Name, Name, Scheme, Title",
}
# Header text longer than this is cut when a message quotes it.
_SHOWN_HEADER_LENGTH = 60


def _header_key(header: object) -> str:
    return "".join(words(fold(str(header or ""))))


def _match_headers(
    headers: list[object], synonyms: dict[str, tuple[str, ...]], result: ParseResult
) -> dict[int, str]:
    """Map column positions to model fields; record ignored headers in `result`.

    When two columns map to one field ("Phone" twice, or "Phone" and "Mobile"), the
    first is read and a warning names the second, which is ignored.
    """
    by_key = {key: model_field for model_field, keys in synonyms.items() for key in keys}
    mapping: dict[int, str] = {}
    first_position: dict[str, int] = {}
    for position, header in enumerate(headers):
        shown = _shown_header(header)
        model_field = by_key.get(_header_key(header))
        if model_field is None:
            if shown:
                result.ignored_columns.append(shown)
            continue
        if model_field in first_position:
            earlier = first_position[model_field]
            result.ignored_columns.append(shown)
            result.warnings.append(
                f'Column {get_column_letter(position + 1)} ("{shown}") was ignored: column '
                f'{get_column_letter(earlier + 1)} ("{_shown_header(headers[earlier])}") is '
                f"already read as the {_label(model_field)}, and only the first such column "
                "is read."
            )
            continue
        mapping[position] = model_field
        first_position[model_field] = position
    return mapping


def _shown_header(header: object) -> str:
    return shorten(_cell_text(header), _SHOWN_HEADER_LENGTH)


def _check_registry_kind(headers: list[object], kind: str, mapping: dict[int, str]) -> None:
    """Raise ImportFileError when the header looks like the other registry's.

    A header that only the other registry uses ("Commodity(ies)" in a scheme import,
    "Eligibility" in a buyer import) counts for the other registry. The file is taken
    for the other registry when it lacks a required column and has such a header, or
    when it has at least two such headers and more of them than headers of its own.
    """
    own_keys = _header_keys(kind)
    other_kind = "scheme" if kind == "buyer" else "buyer"
    other_keys = _header_keys(other_kind)
    foreign: list[str] = []
    native = 0
    for header in headers:
        key = _header_key(header)
        if key in other_keys and key not in own_keys:
            foreign.append(_shown_header(header))
        elif key in own_keys and key not in other_keys:
            native += 1
    missing_required = any(required not in mapping.values() for required in _REQUIRED_COLUMNS[kind])
    if foreign and (missing_required or (len(foreign) >= 2 and len(foreign) > native)):
        raise ImportFileError(
            f"This looks like a {other_kind} registry (columns {', '.join(foreign[:3])}); "
            f"choose the {other_kind} registry, or check the file."
        )


def _header_keys(kind: str) -> set[str]:
    synonyms = BUYER_HEADERS if kind == "buyer" else SCHEME_HEADERS
    return {key for keys in synonyms.values() for key in keys}


# --- Reading files ----------------------------------------------------------------------


# File signatures of formats that people send by mistake, with how to name them.
_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"%PDF-", "a PDF document"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an Excel 97-2003 (.xls) or other old Office file"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
)
_ZIP_SIGNATURE = b"PK\x03\x04"
_XLSX_SUFFIXES = (".xlsx", ".xlsm")
_SEND_SPREADSHEET = "Save the registry as .csv or .xlsx and send it again."


def _not_a_spreadsheet(what: str) -> ImportFileError:
    return ImportFileError(f"The file is not a CSV or XLSX file: it is {what}. {_SEND_SPREADSHEET}")


def _read_rows(data: bytes, filename: str, result: ParseResult) -> Iterator[tuple[int, list[Any]]]:
    """Yield (spreadsheet row number, cell values) for every row of the file.

    The content decides the format: a ZIP file is read as XLSX whatever its name, and
    known binary formats (images, PDF, archives) are rejected even when named .csv.
    """
    suffix = PurePath(filename).suffix.lower()
    if suffix == ".xls":
        raise ImportFileError(
            "This is an Excel 97-2003 .xls file, which cannot be read; "
            "save it as .xlsx or CSV and send it again."
        )
    if data.startswith(_ZIP_SIGNATURE) or suffix in _XLSX_SUFFIXES:
        return _read_xlsx(data, suffix, result)
    for signature, what in _SIGNATURES:
        if data.startswith(signature):
            raise _not_a_spreadsheet(what)
    return _read_csv(data, result)


def _read_xlsx(data: bytes, suffix: str, result: ParseResult) -> Iterator[tuple[int, list[Any]]]:
    """Read the first worksheet; formula cells without a stored value become `_Formula`.

    openpyxl reads the value that Excel stored with each formula (`data_only=True`).
    Files written by openpyxl and some other tools store none, so the workbook is read a
    second time for the formulas themselves, to tell such cells from empty ones.
    """
    try:
        values = _sheet_rows(data, data_only=True, result=result)
        formulas = _sheet_rows(data, data_only=False, result=None)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as error:
        if suffix not in _XLSX_SUFFIXES and data.startswith(_ZIP_SIGNATURE):
            raise _not_a_spreadsheet("a ZIP archive that is not an Excel workbook") from error
        for signature, what in _SIGNATURES:
            if data.startswith(signature):
                raise _not_a_spreadsheet(what) from error
        raise ImportFileError(
            f"The file is not a readable .xlsx file ({error}). {_SEND_SPREADSHEET}"
        ) from error
    rows: list[tuple[int, list[Any]]] = []
    for number, (cells, formula_cells) in enumerate(zip(values, formulas, strict=True), start=1):
        for position, (value, formula) in enumerate(zip(cells, formula_cells, strict=False)):
            if value is None and isinstance(formula, str) and formula.startswith("="):
                cells[position] = _Formula(formula)
        rows.append((number, cells))
    return iter(rows)


def _sheet_rows(data: bytes, *, data_only: bool, result: ParseResult | None) -> list[list[Any]]:
    workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=data_only)
    try:
        sheet = workbook.worksheets[0]
        if result is not None and len(workbook.sheetnames) > 1:
            result.warnings.append(
                f"The workbook has {len(workbook.sheetnames)} sheets; only the first, "
                f'"{sheet.title}", was read.'
            )
        return [list(row) for row in sheet.iter_rows(values_only=True)]
    finally:
        workbook.close()


@dataclass(frozen=True)
class _Formula:
    """An XLSX formula cell with no stored value, such as `=1+1` saved by openpyxl."""

    text: str


# Share of control characters (other than tab, line breaks and the DOS end-of-file
# mark) above which decoded text is taken for binary data.
_MAX_CONTROL_SHARE = 0.01
_TEXT_CONTROLS = frozenset("\t\n\r\x0b\x0c\x1a")


def _decode(data: bytes, result: ParseResult) -> str:
    """Decode CSV bytes; raise ImportFileError when they are not text."""
    text = _decode_text(data, result)
    sample = text[:8192]
    controls = sum(
        1 for char in sample if unicodedata.category(char) == "Cc" and char not in _TEXT_CONTROLS
    )
    if controls > _MAX_CONTROL_SHARE * len(sample):
        raise _not_a_spreadsheet("binary data, not text")
    return text


def _decode_text(data: bytes, result: ParseResult) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        result.encoding = "utf-16"
        return _decode_utf16(data, "utf-16")
    if b"\x00" in data:
        # UTF-16 without a byte order mark has a NUL in every other byte of Latin text.
        sample = data[:4096]
        even_nuls, odd_nuls = sample[0::2].count(0), sample[1::2].count(0)
        if odd_nuls > len(sample) // 4 and even_nuls == 0:
            result.encoding = "utf-16-le"
            return _decode_utf16(data, "utf-16-le")
        if even_nuls > len(sample) // 4 and odd_nuls == 0:
            result.encoding = "utf-16-be"
            return _decode_utf16(data, "utf-16-be")
        raise _not_a_spreadsheet("binary data (it contains NUL bytes)")
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


def _decode_utf16(data: bytes, encoding: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as error:
        raise _not_a_spreadsheet("binary data, not UTF-16 text") from error


def _read_csv(data: bytes, result: ParseResult) -> Iterator[tuple[int, list[Any]]]:
    text = _decode(data, result)
    first_line = text.split("\n", 1)[0]
    # Excel in many locales writes ";" or tab instead of ",".
    delimiter = max((",", ";", "\t"), key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        rows = [(number, row) for number, row in enumerate(reader, start=1)]
    except csv.Error as error:
        raise ImportFileError(f"The file is not a readable CSV file ({error}).") from error
    return iter(rows)


def _cell_text(value: Any) -> str:
    """Return a cell as trimmed text; integral floats lose their ".0"."""
    if value is None:
        return ""
    if isinstance(value, _Formula):
        return value.text
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return " ".join(str(value).split())


def _is_blank(values: list[Any]) -> bool:
    return all(_cell_text(value) == "" for value in values)


# --- Row validation ---------------------------------------------------------------------

# Maximum length in characters of every field read from one cell. The String columns
# of storage/models.py set the limits of stored text (city is String(128)). Text columns
# get 2,000, which keeps a registry entry within one Telegram message (4,096 characters).
# Cells that are parsed (phone, state, date, level, type) get enough for any valid value.
_MAX_LENGTHS = {
    "name": 255,
    "buyer_type": 255,
    "city": 128,
    "state": 128,
    "volume": 255,
    "quality": 2000,
    "payment_terms": 255,
    "contact_person": 255,
    "phone": 64,
    "email": 255,
    "verified_by": 255,
    "verified_on": 64,
    "notes": 2000,
    "short_name": 64,
    "level": 64,
    "department": 255,
    "theme": 64,
    "benefit": 2000,
    "eligibility": 2000,
    "documents": 2000,
    "link": 512,
    "last_verified": 64,
}
# Limits of the list cells, checked per item so that a message can say which limit failed.
MAX_COMMODITIES = 20
MAX_COMMODITY_LENGTH = 60
MAX_REGIONS = 40
MAX_REGION_LENGTH = 60
# A rejected name is shown cut to this length in the report.
_SHOWN_NAME_LENGTH = 80
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


def _reject_cells(cells: dict[str, Any], reasons: list[str]) -> set[str]:
    """Check every cell for a formula without a value or a length over its limit.

    Adds a reason for each such cell and returns their fields, which are then neither
    parsed nor reported as missing.
    """
    rejected: set[str] = set()
    for model_field, value in cells.items():
        if isinstance(value, _Formula):
            reasons.append(
                f"{_label(model_field)}: the cell contains a formula ({shorten(value.text)}) "
                "with no stored value; save the file in Excel so its values are stored, or "
                "paste values"
            )
            rejected.add(model_field)
            continue
        limit = _MAX_LENGTHS.get(model_field)
        length = len(_cell_text(value))
        if limit is not None and length > limit:
            reasons.append(
                f"{_label(model_field)} is {length:,} characters long; the maximum is {limit:,}"
            )
            rejected.add(model_field)
    return rejected


def _text_field(value: Any) -> str | None:
    return _cell_text(value) or None


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


def _buyer_values(cells: dict[str, Any], reasons: list[str], rejected: set[str]) -> dict[str, Any]:
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
            values[model_field] = _text_field(cells[model_field])

    if not values.get("name") and "name" not in rejected:
        reasons.append("the buyer name is missing")
    if "buyer_type" in cells:
        values["buyer_type"] = parse_buyer_type(_cell_text(cells["buyer_type"]))

    if "commodities" not in rejected:
        values["commodities"] = _commodities_field(cells.get("commodities"), reasons)

    if "state" in cells:
        values["state"] = _state_field(cells["state"], reasons)
    if "regions_sourced" in cells:
        values["regions_sourced"] = _regions_field(cells["regions_sourced"], reasons)

    if "phone" in cells:
        values["phone"] = None
        if _cell_text(cells["phone"]):
            try:
                values["phone"] = parse_phone(cells["phone"])
            except ValueError as error:
                reasons.append(f"phone: {error}")
    if "email" in cells:
        email = _text_field(cells["email"])
        if email and not _EMAIL_RE.match(email):
            reasons.append(f"email: {email} is not a valid email address")
        values["email"] = email.lower() if email else None
    if "verified_on" in cells:
        values["verified_on"] = _date_field("verified_on", cells["verified_on"], reasons)
    return values


def _commodities_field(value: Any, reasons: list[str]) -> list[str]:
    text = _cell_text(value)
    items = split_list(text)
    if len(items) > MAX_COMMODITIES:
        reasons.append(f"commodities: {len(items):,} are listed; the maximum is {MAX_COMMODITIES}")
        return []
    too_long = [item for item in items if len(item) > MAX_COMMODITY_LENGTH]
    for item in too_long:
        reasons.append(
            f"commodities: {shorten(item)!r} is {len(item):,} characters long; a commodity "
            f"name can have at most {MAX_COMMODITY_LENGTH}"
        )
    if too_long:
        return []
    commodities = load_commodities().split(text)
    if not commodities:
        reasons.append("no commodity is given")
    return commodities


def _regions_field(value: Any, reasons: list[str]) -> list[str]:
    text = _cell_text(value)
    items = split_state_list(text)
    if len(items) > MAX_REGIONS:
        reasons.append(f"regions sourced: {len(items):,} are listed; the maximum is {MAX_REGIONS}")
        return []
    too_long = [item for item in items if len(item) > MAX_REGION_LENGTH]
    for item in too_long:
        reasons.append(
            f"regions sourced: {shorten(item)!r} is {len(item):,} characters long, longer "
            f"than any state name (at most {MAX_REGION_LENGTH} characters are read)"
        )
    if too_long:
        return []
    try:
        return split_states(text)
    except ValueError as error:
        reasons.append(f"regions sourced: {error}")
        return []


def _scheme_values(cells: dict[str, Any], reasons: list[str], rejected: set[str]) -> dict[str, Any]:
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
            values[model_field] = _text_field(cells[model_field])
    if not values.get("name") and "name" not in rejected:
        reasons.append("the scheme name is missing")

    if "theme" in cells:
        theme = _text_field(cells["theme"])
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
        if level == "state" and "state" not in rejected and not _cell_text(cells.get("state")):
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
    build_values: Callable[[dict[str, Any], list[str], set[str]], dict[str, Any]],
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
        raise ImportFileError("The file is empty: no header row was found.")

    mapping = _match_headers(header, synonyms, result)
    _check_registry_kind(header, kind, mapping)
    found = ", ".join(_shown_header(h) for h in header if _cell_text(h)) or "none"
    for required in _REQUIRED_COLUMNS[kind]:
        if required not in mapping.values():
            raise ImportFileError(
                f"The file has no {_label(required)} column. Columns found: {found}. "
                f"Expected a column named one of: {_COLUMN_EXAMPLES[kind, required]}."
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
        rejected = _reject_cells(by_field, reasons)
        values = build_values(
            {f: v for f, v in by_field.items() if f not in rejected}, reasons, rejected
        )
        name = values.get("name")
        if reasons:
            shown_name = name or _cell_text(by_field.get("name")) or None
            if shown_name is not None:
                shown_name = shorten(shown_name, _SHOWN_NAME_LENGTH)
            result.errors.append(RowError(row=number, reasons=reasons, name=shown_name))
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
    if result.total_rows == result.blank_rows:
        result.warnings.append("The file has a header but no data rows, so nothing was imported.")
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
