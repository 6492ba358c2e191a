"""MonthSet and parse_months: month lists and ranges typed in English, Hindi or digits."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.forms import FieldError, MonthSet, display_months, parse_months

TODAY = dt.date(2026, 12, 4)
ALL = tuple(range(1, 13))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mar-May", (3, 4, 5)),
        ("mar - may", (3, 4, 5)),
        ("Mar–May", (3, 4, 5)),
        ("March to May", (3, 4, 5)),
        ("from March till May", (3, 4, 5)),
        ("between March and May", (3, 4, 5)),
        ("Nov-Feb", (11, 12, 1, 2)),
        ("Dec to Jan", (12, 1)),
        ("3,4,5", (3, 4, 5)),
        ("3-5", (3, 4, 5)),
        ("१०-१२", (10, 11, 12)),
        ("Oct, Nov and Dec", (10, 11, 12)),
        ("Oct Nov Dec", (10, 11, 12)),
        ("Oct; Nov/Dec", (10, 11, 12)),
        ("Sept.", (9,)),
        ("May", (5,)),
        ("Mar-May, Oct", (3, 4, 5, 10)),
        ("May, Mar-May", (5, 3, 4)),
        ("Apr-Mar", (4, 5, 6, 7, 8, 9, 10, 11, 12, 1, 2, 3)),
        ("all year", ALL),
        ("All year round", ALL),
        ("year-round", ALL),
        ("साल भर", ALL),
        ("पूरे साल", ALL),
        ("saal bhar", ALL),
        ("मार्च-मई", (3, 4, 5)),
        ("नवंबर से फ़रवरी", (11, 12, 1, 2)),
        ("नवम्बर से फरवरी तक", (11, 12, 1, 2)),
        ("अक्टूबर, नवंबर और दिसंबर", (10, 11, 12)),
        ("जून से अगस्त", (6, 7, 8)),
    ],
)
def test_parse_months_reads(text: str, expected: tuple[int, ...]):
    assert parse_months(text) == expected


@pytest.mark.parametrize(
    ("text", "code", "params"),
    [
        ("mid March to May", "months_unknown", {"unknown": "mid", "typed": "mid March to May"}),
        ("Marhc-May", "months_unknown", {"unknown": "marhc", "typed": "Marhc-May"}),
        ("जल्दी", "months_unknown", {"unknown": "जल्दी", "typed": "जल्दी"}),
        ("soon", "months_unknown", {"unknown": "soon", "typed": "soon"}),
        ("tak", "months_unknown", {"unknown": "tak", "typed": "tak"}),
        ("13", "months_no_such_month", {"number": 13, "typed": "13"}),
        ("0-3", "months_no_such_month", {"number": 0, "typed": "0-3"}),
        ("March 2026", "months_no_such_month", {"number": 2026, "typed": "March 2026"}),
        ("March to", "months_range_open", {"typed": "March to"}),
        ("- May", "months_range_open", {"typed": "- May"}),
        ("Mar to to May", "months_range_open", {"typed": "Mar to to May"}),
        ("Mar-, May", "months_range_open", {"typed": "Mar-, May"}),
    ],
)
def test_parse_months_rejects(text: str, code: str, params: dict[str, object]):
    with pytest.raises(FieldError) as caught:
        parse_months(text)

    assert caught.value.code == code
    assert caught.value.params == params


@pytest.mark.parametrize("text", ["", "   "])
def test_parse_months_empty(text: str):
    with pytest.raises(FieldError) as caught:
        parse_months(text)

    assert caught.value.code == "empty"


def test_field_parse_matches_function():
    field = MonthSet()

    assert field.parse("Nov-Feb", today=TODAY, locale="hi") == (11, 12, 1, 2)


@pytest.mark.parametrize(
    ("months", "locale", "expected"),
    [
        ((3, 4, 5), "en", "Mar–May"),
        ((11, 12, 1, 2), "en", "Nov–Feb"),
        ((3, 4, 5, 10), "en", "Mar–May, Oct"),
        ((5,), "en", "May"),
        ((3, 5), "en", "Mar, May"),
        (ALL, "en", "all year"),
        ((3, 4, 5), "hi", "मार्च–मई"),
        ((11, 12, 1, 2), "hi", "नव॰–फ़र॰"),
        (ALL, "hi", "साल भर"),
    ],
)
def test_display(months: tuple[int, ...], locale: str, expected: str):
    assert MonthSet().display(months, locale) == expected


@pytest.mark.parametrize(
    "months",
    [(3, 4, 5), (11, 12, 1, 2), (3, 4, 5, 10), (5, 3, 4), (12,), (1, 3, 5, 7), ALL],
)
@pytest.mark.parametrize("locale", ["en", "hi"])
def test_display_parses_back(months: tuple[int, ...], locale: str):
    shown = MonthSet().display(months, locale)

    assert set(parse_months(shown)) == set(months)


def test_display_months_without_label():
    assert display_months(ALL, "en") == "Jan–Dec"


def test_json_round_trip():
    field = MonthSet()
    value = (11, 12, 1, 2)

    data = field.to_json(value)

    assert data == [11, 12, 1, 2]
    assert field.from_json(data) == value


@pytest.mark.parametrize("data", [[], [0], [13], ["3"], [True], "3,4", None])
def test_from_json_rejects(data: object):
    with pytest.raises((TypeError, ValueError)):
        MonthSet().from_json(data)
