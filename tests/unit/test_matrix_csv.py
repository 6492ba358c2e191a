"""CSV encoding of the matrix export: a byte order mark for Excel, and no formula injection."""

from __future__ import annotations

import csv
import io

import pytest

from handlers.matrix import encode_csv, spreadsheet_safe


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+91 98765 43210", "'+91 98765 43210"),
        ("-20 lakh", "'-20 lakh"),
        ("@buyer", "'@buyer"),
        ("\tTab", "'\tTab"),
        ("Onion buyers", "Onion buyers"),
        ("प्याज़", "प्याज़"),
        ("", ""),
    ],
)
def test_spreadsheet_safe(value: str, expected: str) -> None:
    assert spreadsheet_safe(value) == expected


def test_encode_csv_bom_and_hindi() -> None:
    content = encode_csv([["BSO", "शीर्षक", "Asks"], ["PRADAN", 'प्याज़, "हल्दी"', 2]])

    assert content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert rows == [["BSO", "शीर्षक", "Asks"], ["PRADAN", 'प्याज़, "हल्दी"', "2"]]
