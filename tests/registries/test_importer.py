"""Tests of file parsing and the import report, including the messy sample file."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest

from storage.importer import (
    ImportFileError,
    MergedRow,
    RowError,
    parse_buyers,
    parse_schemes,
)


def test_messy_file_records(demo_bytes):
    result = parse_buyers(demo_bytes("buyers_messy.csv"), "buyers_messy.csv")

    assert [record.row for record in result.records] == [2, 4, 6]
    harit, kesar, ojas = (record.values for record in result.records)

    assert harit["name"] == "Harit Agro Processors Pvt Ltd"
    assert harit["commodities"] == ["tomato", "chilli"]
    assert harit["phone"] == "+919876501234"
    # Serial 45590 is 2024-10-25, later than the duplicate's 12/10/2024.
    assert harit["verified_on"] == dt.date(2024, 10, 25)
    assert harit["buyer_type"] == "processor"
    assert harit["state"] == "Maharashtra"

    assert kesar["name"] == "Kesar Fresh Exports"
    assert kesar["state"] == "Maharashtra"
    assert kesar["commodities"] == ["mango", "pomegranate"]
    assert kesar["phone"] == "+919876502345"
    assert kesar["buyer_type"] == "exporter"

    assert ojas["name"] == "ओजस ऑर्गेनिक्स"
    assert ojas["commodities"] == ["turmeric", "chilli"]
    assert ojas["phone"] == "+919876503456"
    assert ojas["buyer_type"] == "e-commerce"
    assert ojas["verified_on"] is None


def test_messy_file_report_rows(demo_bytes):
    result = parse_buyers(demo_bytes("buyers_messy.csv"), "buyers_messy.csv")

    assert result.merged == [MergedRow(row=3, into_row=2, name="Harit Agro Processors Pvt Ltd")]
    assert result.blank_rows == 1
    assert result.total_rows == 8
    assert result.encoding == "utf-8"
    assert result.ignored_columns == []
    assert result.errors == [
        RowError(
            row=7,
            reasons=["phone: 12345 has 5 digits; an Indian mobile number has 10, like 98765 43210"],
            name="Tapti Traders",
        ),
        RowError(
            row=8,
            reasons=["verified on: 31/02/2025 is not a real date: February 2025 has 28 days"],
            name="Megh Retail",
        ),
        RowError(row=9, reasons=["no commodity is given"], name="Urja Farm Connect"),
    ]


def test_sample_files_parse_cleanly(demo_bytes):
    buyers = parse_buyers(demo_bytes("buyers.csv"), "buyers.csv")
    schemes = parse_schemes(demo_bytes("schemes.csv"), "schemes.csv")

    assert len(buyers.records) == 120
    assert buyers.errors == []
    assert len(schemes.records) == 14
    assert schemes.errors == []
    odisha = schemes.records[-1].values
    assert odisha["level"] == "state"
    assert odisha["state"] == "Odisha"
    assert odisha["last_verified"] == dt.date(2025, 6, 1)
    assert odisha["theme"] == "market access"


def test_row_lists_every_reason():
    data = (
        b"Name,Commodities,State,Phone,Verified On,Email\n"
        b"Bad Buyer,,Atlantis,123,31/02/2025,not-an-email\n"
    )
    result = parse_buyers(data, "bad.csv")

    assert result.records == []
    assert result.errors[0].row == 2
    assert result.errors[0].reasons == [
        "no commodity is given",
        "state: 'Atlantis' is not an Indian state or union territory",
        "phone: 123 has 3 digits; an Indian mobile number has 10, like 98765 43210",
        "email: not-an-email is not a valid email address",
        "verified on: 31/02/2025 is not a real date: February 2025 has 28 days",
    ]


def test_header_synonyms_and_ignored_columns():
    data = (
        b"Company,Crops,Contact No.,E-mail,Contact name,Date verified,Type of buyer,Shoe size\n"
        b"Vasudha Foods,Ragi / Bajra,+91 98765 11111,Sales@Vasudha.example,Asha,15 Dec 2024,"
        b"Modern Trade,9\n"
    )
    result = parse_buyers(data, "synonyms.csv")

    values = result.records[0].values
    assert values["name"] == "Vasudha Foods"
    assert values["commodities"] == ["finger millet", "pearl millet"]
    assert values["phone"] == "+919876511111"
    assert values["email"] == "sales@vasudha.example"
    assert values["contact_person"] == "Asha"
    assert values["verified_on"] == dt.date(2024, 12, 15)
    assert values["buyer_type"] == "modern trade"
    assert result.ignored_columns == ["Shoe size"]


def test_missing_name_column_lists_columns():
    with pytest.raises(ImportFileError) as raised:
        parse_buyers(b"Firm Size,Crops\nbig,onion\n", "nameless.csv")
    message = str(raised.value)
    assert "no name column" in message
    assert "Columns found: Firm Size, Crops" in message
    assert "Buyer Name" in message


def test_semicolon_delimited_csv():
    result = parse_buyers(b"Name;Commodity\nSona Traders;Onion\n", "semi.csv")
    assert result.records[0].values["commodities"] == ["onion"]


def test_cp1252_fallback_warns():
    data = "Name,Commodity,Notes\nCafé Agro,Onion,na\u00efve\n".encode("cp1252")
    result = parse_buyers(data, "ansi.csv")

    assert result.encoding == "cp1252"
    assert result.records[0].values["name"] == "Café Agro"
    assert "not UTF-8" in result.warnings[0]


def test_xls_rejected_with_advice():
    with pytest.raises(ImportFileError, match="save it as .xlsx or CSV"):
        parse_buyers(b"\xd0\xcf\x11\xe0", "old.xls")


def _workbook_bytes(rows: list[list[object]]) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_xlsx_import_dates_and_numbers():
    data = _workbook_bytes(
        [
            ["Buyer Name", "Commodity(ies)", "Mobile No.", "Verified On", "State"],
            ["Sahyadri Fresh", "Grapes, Onion", 9876512345, dt.datetime(2025, 3, 4), "MH"],
            ["Satpura Agro", "Soya", "+91 98765 22222", 45590, "म.प्र."],
            [None, None, None, None, None],
            ["Ganga Foods", "Wheat", 12345, None, "UP"],
        ]
    )
    result = parse_buyers(data, "buyers.xlsx")

    first, second = (record.values for record in result.records)
    assert first["phone"] == "+919876512345"
    assert first["verified_on"] == dt.date(2025, 3, 4)
    assert first["commodities"] == ["grapes", "onion"]
    assert first["state"] == "Maharashtra"
    assert second["verified_on"] == dt.date(2024, 10, 25)
    assert second["commodities"] == ["soybean"]
    assert result.blank_rows == 1
    assert [(error.row, error.name) for error in result.errors] == [(5, "Ganga Foods")]


def test_xlsx_state_error_suggests():
    data = _workbook_bytes([["Name", "Crops", "State"], ["Kisan Mart", "Rice", "Maharastra"]])
    result = parse_buyers(data, "x.xlsx")
    assert result.errors[0].reasons == [
        "state: 'Maharastra' is not an Indian state or union territory (did you mean Maharashtra?)"
    ]


def test_scheme_level_validation():
    data = (
        b"Name,Level,State,Last verified\n"
        b"Good Scheme,Centre,,Dec 2025\n"
        b"Bad Level,district,,\n"
        b"Stateless,state,,\n"
        b"Inferred,,Odisha,2025-06\n"
    )
    result = parse_schemes(data, "schemes.csv")

    values = {record.values["name"]: record.values for record in result.records}
    assert values["Good Scheme"]["level"] == "central"
    assert values["Good Scheme"]["last_verified"] == dt.date(2025, 12, 1)
    assert values["Inferred"]["level"] == "state"
    assert result.errors == [
        RowError(
            row=3, reasons=["level: 'district' is neither central nor state"], name="Bad Level"
        ),
        RowError(row=4, reasons=["the level is state but no state is given"], name="Stateless"),
    ]


# --- Cell limits ------------------------------------------------------------------------


def test_long_commodity_rejected():
    data = ("Buyer Name,Commodity,State\nOk Traders," + "L" * 5000 + ",MH\n").encode()
    result = parse_buyers(data, "long.csv")

    assert result.records == []
    assert result.errors[0].name == "Ok Traders"
    assert result.errors[0].reasons == [
        "commodities: 'LLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLL…' is 5,000 characters long; "
        "a commodity name can have at most 60"
    ]


def test_commodity_of_60_characters_accepted():
    data = ("Buyer Name,Commodity\nOk Traders," + "L" * 60 + "\n").encode()
    result = parse_buyers(data, "edge.csv")
    assert result.errors == []
    assert result.records[0].values["commodities"] == ["l" * 60]


def test_too_many_commodities_rejected():
    crops = "; ".join(f"crop{number}" for number in range(800))
    result = parse_buyers(f"Buyer Name,Commodity\nOk Traders,{crops}\n".encode(), "many.csv")

    assert result.records == []
    assert result.errors[0].reasons == ["commodities: 800 are listed; the maximum is 20"]


def test_twenty_commodities_accepted():
    crops = "; ".join(f"crop{number}" for number in range(20))
    result = parse_buyers(f"Buyer Name,Commodity\nOk Traders,{crops}\n".encode(), "twenty.csv")
    assert result.errors == []
    assert len(result.records[0].values["commodities"]) == 20


def test_too_many_sourcing_states_rejected():
    regions = "; ".join(["MH"] * 41)
    data = f"Buyer Name,Commodity,Regions sourced\nOk Traders,Onion,{regions}\n".encode()
    result = parse_buyers(data, "regions.csv")

    assert result.records == []
    assert result.errors[0].reasons == ["regions sourced: 41 are listed; the maximum is 40"]


def test_long_sourcing_state_not_echoed():
    data = ("Buyer Name,Commodity,Regions sourced\nOk Traders,Onion," + "Q" * 3000 + "\n").encode()
    result = parse_buyers(data, "region.csv")

    (reason,) = result.errors[0].reasons
    assert reason.startswith("regions sourced: 'QQQQ")
    assert "3,000 characters long" in reason
    assert len(reason) < 200


@pytest.mark.parametrize(
    ("header", "label", "limit"),
    [
        ("Quality requirements", "quality", 2000),
        ("Notes", "notes", 2000),
        ("City", "city", 128),
        ("Contact person", "contact person", 255),
        ("Payment terms", "payment terms", 255),
        ("Min volume", "volume", 255),
        ("Buyer Name", "name", 255),
        ("Mobile No.", "phone", 64),
        ("State", "state", 128),
    ],
)
def test_buyer_cell_over_limit_rejected(header, label, limit):
    columns = (
        ["Buyer Name", "Commodity"]
        if header == "Buyer Name"
        else ["Buyer Name", "Commodity", header]
    )
    values = ["Ok Traders", "Onion", "x" * (limit + 1)]
    if header == "Buyer Name":
        values = ["x" * (limit + 1), "Onion"]
    data = (",".join(columns) + "\n" + ",".join(values) + "\n").encode()
    result = parse_buyers(data, "limits.csv")

    assert result.records == []
    assert result.errors[0].reasons == [
        f"{label} is {limit + 1:,} characters long; the maximum is {limit:,}"
    ]


def test_buyer_cell_at_limit_accepted():
    data = ("Buyer Name,Commodity,Notes\nOk Traders,Onion," + "x" * 2000 + "\n").encode()
    result = parse_buyers(data, "limits.csv")
    assert result.errors == []
    assert len(result.records[0].values["notes"]) == 2000


def test_long_name_shortened_in_report():
    data = ("Buyer Name,Commodity\n" + "N" * 5000 + ",Onion\n").encode()
    result = parse_buyers(data, "name.csv")
    name = result.errors[0].name
    assert name is not None
    assert len(name) == 80
    assert name.endswith("…")


@pytest.mark.parametrize("header", ["Eligibility", "Benefit", "Documents"])
def test_scheme_text_over_limit_rejected(header):
    data = (f"Scheme Name,{header}\nGood Scheme," + "y" * 2001 + "\n").encode()
    result = parse_schemes(data, "schemes.csv")

    assert result.records == []
    assert result.errors[0].reasons == [
        f"{header.lower()} is 2,001 characters long; the maximum is 2,000"
    ]


# --- Wrong registry ---------------------------------------------------------------------


def test_buyer_file_as_schemes_rejected(demo_bytes):
    with pytest.raises(ImportFileError) as raised:
        parse_schemes(demo_bytes("buyers_messy.csv"), "buyers_messy.csv")
    message = str(raised.value)
    assert message == (
        "This looks like a buyer registry (columns Buyer Name, Type of buyer, "
        "Commodity(ies)); choose the buyer registry, or check the file."
    )
    assert "buyers_messy.csv" not in message


def test_scheme_file_as_buyers_rejected(demo_bytes):
    with pytest.raises(ImportFileError) as raised:
        parse_buyers(demo_bytes("schemes.csv"), "schemes.csv")
    message = str(raised.value)
    assert message.startswith("This looks like a scheme registry (columns short_name, level,")
    assert "choose the scheme registry" in message


def test_buyer_file_with_name_column_as_schemes_rejected():
    data = b"Name,Commodity,Mobile,City\nSona Traders,Onion,9876543210,Pune\n"
    with pytest.raises(ImportFileError, match="looks like a buyer registry"):
        parse_schemes(data, "buyers.csv")


def test_scheme_file_with_extra_buyer_column_accepted():
    data = (
        b"Scheme Name,Level,Benefit,Eligibility,Commodity\nGood Scheme,central,Grant,FPOs,Onion\n"
    )
    result = parse_schemes(data, "schemes.csv")
    assert [record.values["name"] for record in result.records] == ["Good Scheme"]
    assert result.ignored_columns == ["Commodity"]


def test_missing_name_column_examples_per_registry():
    with pytest.raises(ImportFileError) as buyer_error:
        parse_buyers(b"Firm Size,Crops\nbig,onion\n", "nameless.csv")
    with pytest.raises(ImportFileError) as scheme_error:
        parse_schemes(b"Ministry,Theme\nAgriculture,finance\n", "nameless.csv")
    assert "Scheme Name" not in str(buyer_error.value)
    assert "Buyer Name" not in str(scheme_error.value)
    assert "Scheme Name" in str(scheme_error.value)
    assert "nameless.csv" not in str(buyer_error.value)


# --- Files that are not spreadsheets ----------------------------------------------------

PNG_BYTES = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01" + bytes(range(256))


@pytest.mark.parametrize(
    ("data", "filename", "what"),
    [
        (PNG_BYTES, "notcsv.png", "it is a PNG image"),
        (PNG_BYTES, "buyers.csv", "it is a PNG image"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "buyers.csv", "it is a PDF document"),
        (b"PK\x03\x04" + bytes(100), "buyers.csv", "it is a ZIP archive"),
        (b"Name,Commodity\nA,B\x00\x01\x02\x03\x00", "buyers.csv", "NUL bytes"),
        (bytes(range(128, 256)) * 4 + bytes(range(1, 32)) * 8, "buyers.csv", "binary data"),
    ],
)
def test_binary_file_rejected(data, filename, what):
    with pytest.raises(ImportFileError) as raised:
        parse_buyers(data, filename)
    message = str(raised.value)
    assert message.startswith("The file is not a CSV or XLSX file")
    assert what in message
    assert "Columns found" not in message


def test_utf16_without_bom_read():
    data = "Name,Commodity\nSona Traders,Onion\n".encode("utf-16-le")
    result = parse_buyers(data, "utf16.csv")
    assert result.records[0].values["name"] == "Sona Traders"


def test_xlsx_named_csv_read():
    data = _workbook_bytes([["Name", "Commodity"], ["Sona Traders", "Onion"]])
    result = parse_buyers(data, "buyers.csv")
    assert result.records[0].values["commodities"] == ["onion"]


# --- Edge cases of the file layout ------------------------------------------------------


def test_header_only_csv_warns():
    result = parse_buyers(b"Buyer Name,Commodity\n", "empty.csv")
    assert result.records == []
    assert result.warnings == ["The file has a header but no data rows, so nothing was imported."]


def test_data_rows_no_header_warning():
    result = parse_buyers(b"Buyer Name,Commodity\nSona Traders,Onion\n", "one.csv")
    assert result.warnings == []


def test_xlsx_several_sheets_warns():
    workbook = openpyxl.Workbook()
    workbook.active.title = "Buyers 2025"
    workbook.active.append(["Name", "Commodity"])
    workbook.active.append(["Sona Traders", "Onion"])
    workbook.create_sheet("Old")
    workbook.create_sheet("Notes")
    buffer = io.BytesIO()
    workbook.save(buffer)
    result = parse_buyers(buffer.getvalue(), "buyers.xlsx")

    assert len(result.records) == 1
    assert result.warnings == [
        'The workbook has 3 sheets; only the first, "Buyers 2025", was read.'
    ]


def test_xlsx_formula_without_value_reported():
    data = _workbook_bytes([["Name", "Commodity", "Notes"], ["Sona Traders", "=1+1", "=A2"]])
    result = parse_buyers(data, "formula.xlsx")

    assert result.records == []
    assert result.errors[0].reasons == [
        "commodities: the cell contains a formula (=1+1) with no stored value; save the file "
        "in Excel so its values are stored, or paste values",
        "notes: the cell contains a formula (=A2) with no stored value; save the file in "
        "Excel so its values are stored, or paste values",
    ]


def test_xlsx_text_starting_with_equals_kept():
    workbook = openpyxl.Workbook()
    workbook.active.append(["Name", "Commodity", "Notes"])
    workbook.active.append(["Sona Traders", "Onion", "x"])
    workbook.active["C2"].value = "=not a formula"
    workbook.active["C2"].data_type = "s"
    buffer = io.BytesIO()
    workbook.save(buffer)
    result = parse_buyers(buffer.getvalue(), "text.xlsx")
    assert result.records[0].values["notes"] == "=not a formula"


def test_duplicate_header_warns():
    data = b"Name,Commodity,Phone,Phone\nSona Traders,Onion,9876543210,9123456789\n"
    result = parse_buyers(data, "dup.csv")

    assert result.records[0].values["phone"] == "+919876543210"
    assert result.ignored_columns == ["Phone"]
    assert result.warnings == [
        'Column D ("Phone") was ignored: column C ("Phone") is already read as the phone, '
        "and only the first such column is read."
    ]


def test_report_lines_singular():
    from storage.importer import ImportReport

    report = ImportReport(
        kind="buyer",
        filename="one.csv",
        added=1,
        total_rows=2,
        errors=[RowError(row=3, reasons=["no commodity is given"], name="Sona")],
    )
    assert report.lines() == [
        "one.csv: 2 rows read.",
        "1 buyer added, 0 updated, 0 unchanged.",
        "1 row not imported:",
        "Row 3 (Sona): no commodity is given.",
    ]
    assert ImportReport(kind="scheme", filename="s.csv", added=2).lines()[1] == (
        "2 schemes added, 0 updated, 0 unchanged."
    )
