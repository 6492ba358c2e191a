"""Unit tests of the buyer requirement inputs: delivery windows, quantities, commodities and
the filter words of /requirements."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.forms.base import FieldError
from bot.forms.trade import CommodityField, QuantityField, Window, WindowField, format_quantity
from handlers.requirements import parse_filters

# A Friday in December, so that months before December are in the past this year.
TODAY = dt.date(2026, 12, 4)


def window(text: str) -> Window:
    return WindowField().parse(text, today=TODAY, locale="en")


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("Feb to Jan", dt.date(2027, 2, 1), dt.date(2028, 1, 31)),
        ("Dec to Jan", dt.date(2026, 12, 1), dt.date(2027, 1, 31)),
        ("Dec", dt.date(2026, 12, 1), dt.date(2026, 12, 31)),
        ("Nov", dt.date(2027, 11, 1), dt.date(2027, 11, 30)),
        ("March to May", dt.date(2027, 3, 1), dt.date(2027, 5, 31)),
        ("मार्च से मई", dt.date(2027, 3, 1), dt.date(2027, 5, 31)),
        ("Nov 2026 to Feb 2027", dt.date(2026, 11, 1), dt.date(2027, 2, 28)),
        ("today", TODAY, TODAY),
    ],
)
def test_window_without_year_starts_this_month_or_later(
    text: str, start: dt.date, end: dt.date
) -> None:
    found = window(text)
    assert found.start == start
    assert found.end == end


@pytest.mark.parametrize("text", ["yesterday", "Jan 2020 to Mar 2020", "1 Dec 2026 to 3 Dec 2026"])
def test_window_in_past_rejected(text: str) -> None:
    with pytest.raises(FieldError) as raised:
        window(text)
    assert raised.value.code == "window_past"


def quantity_field() -> QuantityField:
    return QuantityField(unit_labels={"en": {"kg": "kg", "quintal": "quintal", "tonne": "tonnes"}})


@pytest.mark.parametrize("text", ["0.0001 kg", "0.5 kg", "0.000001 tonnes"])
def test_quantity_under_one_kg_rejected(text: str) -> None:
    with pytest.raises(FieldError) as raised:
        quantity_field().parse(text, today=TODAY, locale="en")
    assert raised.value.code == "quantity_too_small"


def test_quantity_of_one_kg_accepted() -> None:
    found = quantity_field().parse("1 kg", today=TODAY, locale="en")
    assert found.tonnes == pytest.approx(0.001)


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (200.0, "200"),
        (0.001, "0.001"),
        (12.5, "12.5"),
        (1234567.5, "12,34,567.5"),
        (123456.789, "1,23,456.789"),
        (0.1 + 0.2, "0.3"),
        (1_000_000.0, "10,00,000"),
    ],
)
def test_format_quantity(value: float, shown: str) -> None:
    assert format_quantity(value) == shown


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("onion and potato", ["onion", "potato"]),
        ("onion, tomato", ["onion", "tomato"]),
        ("प्याज और आलू", ["प्याज", "आलू"]),
    ],
)
def test_commodity_answer_with_two_rejected(text: str, names: list[str]) -> None:
    locale = "hi" if names[0] == "प्याज" else "en"
    with pytest.raises(FieldError) as raised:
        CommodityField().parse(text, today=TODAY, locale=locale)
    assert raised.value.code == "commodity_several"
    assert raised.value.params["names"] == names


@pytest.mark.parametrize("text", ["onion", "red onion", "kanda", "onion and onions"])
def test_commodity_answer_with_one_accepted(text: str) -> None:
    assert CommodityField().parse(text, today=TODAY, locale="en") == "onion"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("onion Bihar", ("onion", "Bihar", [])),
        ("Bihar onion", ("onion", "Bihar", [])),
        ("onion Maharashtra", ("onion", "Maharashtra", [])),
        ("Madhya Pradesh pigeon pea", ("pigeon pea", "Madhya Pradesh", [])),
        ("pigeon pea madhya pradesh", ("pigeon pea", "Madhya Pradesh", [])),
        ("प्याज बिहार", ("onion", "Bihar", [])),
        ("मध्य प्रदेश प्याज", ("onion", "Madhya Pradesh", [])),
        ("tomatoe", ("tomato", None, [])),
        ("Bihar", (None, "Bihar", [])),
        ("onion xyzzy", ("onion", None, ["xyzzy"])),
        ("", (None, None, [])),
    ],
)
def test_parse_filters(query: str, expected: tuple[str | None, str | None, list[str]]) -> None:
    assert parse_filters(query) == expected
