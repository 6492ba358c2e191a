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
