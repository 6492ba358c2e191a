"""Property tests of the field types that requirements, offers and supply profiles use.

Whatever a person types, a field either returns a value that survives the JSON round
trip of a stored form and has a display text, or raises FieldError, never another error.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.forms import Field, FieldError, MonthSet
from bot.forms.trade import CommodityField, PlaceField, QuantityField, WindowField
from bot.texts import Texts
from handlers.requirements import unit_labels

TODAY = dt.date(2026, 12, 4)


def fields() -> dict[str, Field[Any]]:
    return {
        "months": MonthSet(),
        "commodity": CommodityField(),
        "quantity": QuantityField(unit_labels=unit_labels(Texts())),
        "place": PlaceField(),
        "window": WindowField(),
    }


ANSWERS = st.one_of(
    st.text(),
    st.text(alphabet="0123456789,.-+ /१२३४५६७८९०", max_size=20),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz ,;&-", max_size=30),
    st.sampled_from(
        [
            "Nov-Feb",
            "मार्च से मई",
            "13-14",
            "0",
            "1 Apr to 15 May 2027",
            "31 Feb 2027",
            "Dec 9999 to Jan 10000",
            "50 क्विंटल",
            "1e308 tonnes",
            "-5 kg",
            "tumeric",
            "प्याज",
            "Nashik, Maharashtra",
            "<b>Pune</b>, MH",
            "all year",
            "साल भर",
        ]
    ),
)


@pytest.mark.parametrize("name", sorted(fields()))
@settings(max_examples=300, deadline=None)
@given(text=ANSWERS, locale=st.sampled_from(["en", "hi"]))
def test_parse_raises_only_field_error(name: str, text: str, locale: str) -> None:
    field = fields()[name]
    try:
        value = field.parse(text, today=TODAY, locale=locale)
    except FieldError:
        return
    assert field.from_json(json.loads(json.dumps(field.to_json(value)))) == value
    assert isinstance(field.display(value, locale), str)


@pytest.mark.parametrize("name", sorted(fields()))
@pytest.mark.parametrize("locale", ["en", "hi"])
def test_blank_answer_is_empty(name: str, locale: str) -> None:
    with pytest.raises(FieldError) as caught:
        fields()[name].parse("  \n ", today=TODAY, locale=locale)
    assert caught.value.code == "empty"
