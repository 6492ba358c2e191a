"""The registration form's BSO question: buttons or typed names, fuzzy matches, "not listed"."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from bot.forms import Choice, FieldError
from bot.texts import Texts
from handlers.registration import (
    AMBIGUOUS_MAX,
    BSO_BUTTONS_MAX,
    NEW_BSO,
    BsoChoice,
    bso_field,
    bso_key,
    language_options,
)
from storage.models import Bso

TEXTS = Texts()
TODAY = dt.date(2026, 12, 4)
DEVANAGARI = re.compile("[\u0900-\u097f]")
DEMO = [
    Bso(id=1, name="Professional Assistance for Development Action", short_name="PRADAN"),
    Bso(id=2, name="Bharatiya Agro Industries Foundation", short_name="BAIF"),
    Bso(id=3, name="Grameen Foundation", short_name=None),
]


def bso_kind(bsos: list[Bso]) -> BsoChoice:
    kind = bso_field(bsos, TEXTS).kind
    assert isinstance(kind, BsoChoice)
    return kind


def parse(kind: BsoChoice, text: str, locale: str = "en") -> str:
    return kind.parse(text, today=TODAY, locale=locale)


def many_bsos(count: int) -> list[Bso]:
    return [
        *DEMO,
        *(
            Bso(id=100 + n, name=f"Farmer Support Society {n}", short_name=None)
            for n in range(count)
        ),
    ]


@pytest.mark.parametrize(
    ("typed", "bso_id"),
    [
        ("PRADAN", 1),
        ("pradan", 1),
        ("Pradhan", 1),
        ("Professional Assistance for Development Action", 1),
        ("Bharatiya Agro Industries Foundtion", 2),
        ("Grameen Foundaton", 3),
        ("2", 2),
    ],
)
def test_typed_bso_matched(typed: str, bso_id: int) -> None:
    assert parse(bso_kind(DEMO), typed) == bso_key(bso_id)


@pytest.mark.parametrize("typed", ["BSO not listed", "BSO सूची में नहीं"])
def test_not_listed_typed(typed: str) -> None:
    assert parse(bso_kind(DEMO), typed) == NEW_BSO


def test_buttons_list_every_bso_then_not_listed() -> None:
    field = bso_field(DEMO, TEXTS)

    assert field.question == "registration/q_bso"
    assert [option.key for option in bso_kind(DEMO).options] == ["b1", "b2", "b3", NEW_BSO]
    assert [option.label("en") for option in bso_kind(DEMO).options[:3]] == [
        "PRADAN",
        "BAIF",
        "Grameen Foundation",
    ]


def test_summary_shows_full_name() -> None:
    kind = bso_kind(DEMO)

    assert kind.display("b1", "hi") == "Professional Assistance for Development Action"
    assert kind.display(NEW_BSO, "hi") == TEXTS.label("hi", "registration", "bso_not_listed")


@pytest.mark.parametrize("locale", ["en", "hi"])
def test_unknown_bso_rejected(locale: str) -> None:
    with pytest.raises(FieldError) as caught:
        parse(bso_kind(DEMO), "Zyxwv Trust", locale)

    assert caught.value.code == "bso_not_found"
    text = TEXTS.render(locale, caught.value.template, **caught.value.params)
    assert "Zyxwv Trust" in text
    assert TEXTS.label(locale, "registration", "bso_not_listed") in text
    if locale == "hi":
        assert DEVANAGARI.search(text)


def test_blank_answer_is_empty() -> None:
    with pytest.raises(FieldError) as caught:
        parse(bso_kind(DEMO), "   ")

    assert caught.value.code == "empty"


def test_many_bsos_typed_only() -> None:
    bsos = many_bsos(BSO_BUTTONS_MAX)
    field = bso_field(bsos, TEXTS)
    kind = bso_kind(bsos)

    assert field.question == "registration/q_bso_typed"
    assert [option.key for option in kind.options] == [NEW_BSO]
    assert parse(kind, "Pradhan") == "b1"
    assert parse(kind, "Farmer Support Society 7") == "b107"
    assert kind.from_json("b107") == "b107"
    assert kind.display("b107", "en") == "Farmer Support Society 7"


def test_removed_bso_answer_invalid() -> None:
    with pytest.raises(ValueError):
        bso_kind(DEMO[1:]).from_json("b1")


def test_ambiguous_candidates_capped() -> None:
    kind = bso_kind(many_bsos(BSO_BUTTONS_MAX))

    with pytest.raises(FieldError) as caught:
        parse(kind, "Farmer Support")

    assert caught.value.code == "choice_ambiguous"
    assert len(caught.value.params["candidates"]) == AMBIGUOUS_MAX


def test_fuzzy_tie_ambiguous() -> None:
    kind = bso_kind(
        [
            Bso(id=7, name="Seva Mandir", short_name=None),
            Bso(id=8, name="Sewa Mandir", short_name=None),
        ]
    )

    with pytest.raises(FieldError) as caught:
        parse(kind, "Seba Mandir")

    assert caught.value.code == "choice_ambiguous"
    assert caught.value.params["candidates"] == ["Seva Mandir", "Sewa Mandir"]
    text = TEXTS.render("en", caught.value.template, **caught.value.params)
    assert "Seva Mandir or Sewa Mandir" in text


@pytest.mark.parametrize(
    ("typed", "key"),
    [("English", "en"), ("hindi", "hi"), ("हिंदी", "hi"), ("अंग्रेजी", "en"), ("2", "hi")],
)
def test_language_typed(typed: str, key: str) -> None:
    choice = Choice(options=language_options(TEXTS))

    assert choice.parse(typed, today=TODAY, locale="en") == key
