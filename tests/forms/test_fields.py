"""Field types: parsing, errors with their params, display and JSON round trips."""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.forms import (
    FIELD_TYPES,
    Choice,
    CommodityList,
    DateField,
    DateTimeField,
    Field,
    FieldError,
    FileAnswer,
    FileInfo,
    LinkField,
    LongText,
    MessageAnswer,
    MonthField,
    MultiChoice,
    Number,
    Option,
    Phone,
    ShortText,
    StateList,
    YesNo,
)
from bot.forms.fields import indian_grouping

# A Friday.
TODAY = dt.date(2026, 12, 4)


def parse(field: Field[Any], text: str, locale: str = "en") -> Any:
    return field.parse(text, today=TODAY, locale=locale)


def error(field: Field[Any], text: str, locale: str = "en", today: dt.date = TODAY) -> FieldError:
    with pytest.raises(FieldError) as caught:
        field.parse(text, today=today, locale=locale)
    return caught.value


def json_round_trip(field: Field[Any], value: Any) -> Any:
    return field.from_json(json.loads(json.dumps(field.to_json(value))))


# --- FieldError -------------------------------------------------------------------------


def test_field_error_code_and_params():
    problem = FieldError("number_out_of_range", minimum=1, maximum=5)
    assert problem.code == "number_out_of_range"
    assert problem.params == {"minimum": 1, "maximum": 5}
    assert problem.template == "forms/errors/number_out_of_range"


def test_field_error_is_value_error():
    assert isinstance(FieldError("empty"), ValueError)


@pytest.mark.parametrize("name", sorted(FIELD_TYPES))
def test_blank_answer_is_empty(name):
    field = _example_fields()[name]
    # File and message fields reject all text, blank or not, because they expect a file
    # or a whole message.
    expected = {FileAnswer: "file_expected", MessageAnswer: "message_expected"}
    assert error(field, "  \n ").code == expected.get(type(field), "empty")


# --- ShortText --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("Harit Agro", "Harit Agro"),
        ("  Harit   Agro  ", "Harit Agro"),
        ("Harit\tAgro\nProcessors", "Harit Agro Processors"),
        ("Harit\x00Agro", "Harit Agro"),
        ("हरित \u202eएग्रो", "हरित एग्रो"),
        ("42", "42"),
        ("किसान", "किसान"),
    ],
)
def test_short_text_cleans(typed, expected):
    assert parse(ShortText(), typed) == expected


def test_short_text_keeps_zero_width_joiner():
    assert parse(ShortText(), "क्\u200dष") == "क्\u200dष"


def test_short_text_needs_letter():
    problem = error(ShortText(), "?! ...")
    assert problem.code == "text_no_letters"
    assert problem.params["typed"] == "?! ..."


@pytest.mark.parametrize("typed", ["12345 !!", "४२", "+91-"])
def test_short_text_letters_required(typed):
    problem = error(ShortText(letters_required=True), typed)
    assert problem.code == "text_letters_required"
    assert problem.params["typed"] == typed


@pytest.mark.parametrize("typed", ["Asha Patil 2", "आशा", "R&D head"])
def test_short_text_letters_required_accepts_words(typed):
    assert parse(ShortText(letters_required=True), typed) == typed


def test_short_text_too_long():
    problem = error(ShortText(max_length=5), "abcdef")
    assert problem.code == "text_too_long"
    assert problem.params["length"] == 6
    assert problem.params["maximum"] == 5


def test_short_text_too_short():
    problem = error(ShortText(min_length=3), "ab")
    assert problem.code == "text_too_short"
    assert problem.params["length"] == 2
    assert problem.params["minimum"] == 3


def test_short_text_round_trip():
    field = ShortText()
    assert json_round_trip(field, "Harit Agro") == "Harit Agro"
    assert field.display("Harit Agro", "hi") == "Harit Agro"


def test_short_text_rejects_stored_number():
    with pytest.raises(TypeError):
        ShortText().from_json(12)


# --- LongText ---------------------------------------------------------------------------


def test_long_text_keeps_line_breaks():
    assert parse(LongText(), "first  line\nsecond line") == "first line\nsecond line"


def test_long_text_unifies_line_endings():
    assert parse(LongText(), "one\r\ntwo\rthree") == "one\ntwo\nthree"


def test_long_text_collapses_blank_lines():
    assert parse(LongText(), "\n\none\n\n\n\ntwo\n\n") == "one\n\ntwo"


def test_long_text_drops_control_characters():
    assert parse(LongText(), "be\x07ll\tand tab") == "bell and tab"


def test_long_text_too_long():
    problem = error(LongText(max_length=10), "a" * 11)
    assert problem.code == "text_too_long"
    assert problem.params["length"] == 11
    assert problem.params["maximum"] == 10


def test_long_text_counts_after_cleaning():
    assert parse(LongText(max_length=6), "a    b\n\n\n\nc") == "a b\n\nc"


def test_long_text_needs_letter():
    assert error(LongText(), "...\n---").code == "text_no_letters"


# --- Number -----------------------------------------------------------------------------

TONNES = Number(unit="tonnes", minimum=0, maximum=1_000_000, unit_labels={"hi": "टन"})


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("12", 12),
        ("12.5", 12.5),
        ("0.5", 0.5),
        (".5", 0.5),
        ("1,200", 1200),
        ("1,000,000", 1_000_000),
        ("1,20,000", 120_000),
        ("10,00,000", 1_000_000),
        ("12 tonnes", 12),
        ("1 tonne", 1),
        ("12tonnes", 12),
        ("12 Tonnes.", 12),
        ("3.5 lakh", 350_000),
        ("0.02 crore", 200_000),
        ("2 हज़ार", 2000),
        ("5k", 5000),
        ("5 thousand tonnes", 5000),
        ("१२", 12),
        ("१,२०,०००", 120_000),
        ("12 टन", 12),
        ("३ लाख", 300_000),
        ("+7", 7),
    ],
)
def test_number_accepts(typed, expected):
    assert parse(TONNES, typed) == expected


def test_number_value_is_float():
    assert isinstance(parse(TONNES, "12"), float)


def test_integer_value_is_int():
    value = parse(Number(integer=True), "1,200")
    assert value == 1200
    assert isinstance(value, int)


def test_integer_accepts_zero_decimals():
    assert parse(Number(integer=True), "12.0") == 12


def test_number_unit_is_a_scale_word():
    field = Number(unit="lakh", minimum=0)
    assert parse(field, "3.5 lakh") == 3.5
    assert parse(field, "3.5 lakhs") == 3.5


def test_number_unit_before():
    field = Number(unit="rupees", unit_synonyms=("₹", "rs"))
    assert parse(field, "₹ 500") == 500
    assert parse(field, "Rs. 1,500") == 1500
    assert parse(field, "2 lakh rupees") == 200_000


@pytest.mark.parametrize(
    "typed", ["abc", "twelve", "1,2", "12,34", "1.2.3", "5-6", "12 and 13", "nan", "inf", "1e5"]
)
def test_number_invalid(typed):
    problem = error(TONNES, typed)
    assert problem.code == "number_invalid"
    assert problem.params["typed"] == typed


def test_number_wrong_unit():
    problem = error(TONNES, "12 kg")
    assert problem.code == "number_wrong_unit"
    assert problem.params["typed_unit"] == "kg"
    assert problem.params["unit"] == "tonnes"


def test_number_negative():
    problem = error(TONNES, "-5")
    assert problem.code == "number_negative"
    assert problem.params["minimum"] == 0


def test_number_negative_with_unicode_minus():
    assert error(TONNES, "\u22125").code == "number_negative"


def test_number_negative_allowed():
    assert parse(Number(minimum=-10), "-5") == -5


def test_number_out_of_range():
    problem = error(TONNES, "20 lakh")
    assert problem.code == "number_out_of_range"
    assert problem.params["minimum"] == 0
    assert problem.params["maximum"] == 1_000_000
    assert problem.params["unit"] == "tonnes"
    assert problem.params["typed"] == "20 lakh"


def test_number_below_minimum():
    problem = error(Number(minimum=10), "9.99")
    assert problem.code == "number_out_of_range"
    assert problem.params["maximum"] is None


def test_number_not_integer():
    problem = error(Number(integer=True), "2.5")
    assert problem.code == "number_not_integer"
    assert problem.params["typed"] == "2.5"


def test_number_too_large_for_float():
    assert error(Number(), "9" * 400).code == "number_invalid"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, "0"),
        (999, "999"),
        (1000, "1,000"),
        (120000, "1,20,000"),
        (12345678, "1,23,45,678"),
        (-120000, "-1,20,000"),
        (1234.5, "1,234.5"),
        (0.1, "0.1"),
        (1e20, "10,00,00,00,00,00,00,00,00,000"),
    ],
)
def test_indian_grouping(value, expected):
    assert indian_grouping(value) == expected


def test_number_display_units():
    assert TONNES.display(120000.0, "en") == "1,20,000 tonnes"
    assert TONNES.display(3.5, "hi") == "3.5 टन"
    assert Number().display(7, "en") == "7"


def test_number_round_trip():
    assert json_round_trip(TONNES, 12.5) == 12.5
    assert json_round_trip(Number(integer=True), 12) == 12


def test_integer_rejects_stored_float():
    with pytest.raises(TypeError):
        Number(integer=True).from_json(1.5)


# --- Choice -----------------------------------------------------------------------------

ROLES = (
    Option(key="fpo", labels={"en": "FPO", "hi": "एफपीओ"}, synonyms=("producer company",)),
    Option(key="bso", labels={"en": "Business support organisation", "hi": "व्यवसाय सहायता संगठन"}),
    Option(key="buyer", labels={"en": "Buyer", "hi": "खरीदार"}, synonyms=("trader", "व्यापारी")),
    Option(key="research", labels={"en": "Research and development"}),
)
ROLE = Choice(options=ROLES)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("fpo", "fpo"),
        ("FPO", "fpo"),
        ("F.P.O.", "fpo"),
        ("buyer", "buyer"),
        ("Business support organisation", "bso"),
        ("एफपीओ", "fpo"),
        ("खरीदार", "buyer"),
        ("trader", "buyer"),
        ("Producer   Company", "fpo"),
        ("व्यापारी", "buyer"),
        ("2", "bso"),
        ("२", "bso"),
        ("2.", "bso"),
        ("busi", "bso"),
        ("Res", "research"),
        ("व्यवसाय", "bso"),
    ],
)
def test_choice_accepts(typed, expected):
    assert parse(ROLE, typed) == expected


def test_choice_hindi_locale():
    assert parse(ROLE, "खरीदार", locale="hi") == "buyer"


def test_choice_unknown():
    problem = error(ROLE, "farmer")
    assert problem.code == "choice_unknown"
    assert problem.params["typed"] == "farmer"
    assert problem.params["options"] == [
        "FPO",
        "Business support organisation",
        "Buyer",
        "Research and development",
    ]


def test_choice_unknown_lists_hindi_labels():
    problem = error(ROLE, "farmer", locale="hi")
    assert problem.params["options"][0] == "एफपीओ"
    assert problem.params["options"][3] == "Research and development"


@pytest.mark.parametrize("typed", ["0", "5", "bu", "b"])
def test_choice_number_or_short_prefix_unknown(typed):
    assert error(ROLE, typed).code == "choice_unknown"


def test_choice_ambiguous():
    options = (
        Option(key="tomato", labels={"en": "Tomato"}),
        Option(key="tomatillo", labels={"en": "Tomatillo"}),
    )
    problem = error(Choice(options=options), "toma")
    assert problem.code == "choice_ambiguous"
    assert problem.params["candidates"] == ["Tomato", "Tomatillo"]
    assert problem.params["typed"] == "toma"


def test_choice_exact_beats_prefix():
    options = (
        Option(key="tomato", labels={"en": "Tomato"}),
        Option(key="tomatoes_green", labels={"en": "Tomato green"}),
    )
    assert parse(Choice(options=options), "tomato") == "tomato"


def test_choice_needs_options():
    with pytest.raises(ValueError):
        Choice(options=())


def test_choice_rejects_duplicate_keys():
    with pytest.raises(ValueError):
        Choice(options=(ROLES[0], ROLES[0]))


def test_choice_display_and_json():
    assert ROLE.display("buyer", "hi") == "खरीदार"
    assert ROLE.display("research", "hi") == "Research and development"
    assert json_round_trip(ROLE, "buyer") == "buyer"


def test_choice_rejects_stored_unknown_key():
    with pytest.raises(ValueError):
        ROLE.from_json("farmer")


# --- MultiChoice ------------------------------------------------------------------------

ROLES_MULTI = MultiChoice(options=ROLES)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("fpo", ("fpo",)),
        ("fpo, buyer", ("fpo", "buyer")),
        ("buyer; fpo", ("buyer", "fpo")),
        ("fpo and buyer", ("fpo", "buyer")),
        ("fpo & buyer", ("fpo", "buyer")),
        ("एफपीओ और खरीदार", ("fpo", "buyer")),
        ("fpo\nbuyer", ("fpo", "buyer")),
        ("1, 3", ("fpo", "buyer")),
        ("1 3", ("fpo", "buyer")),
        ("३, १", ("buyer", "fpo")),
        ("Research and development, fpo", ("research", "fpo")),
        ("fpo and research and development", ("fpo", "research")),
        ("fpo, FPO, 1", ("fpo",)),
        ("trader, busi", ("buyer", "bso")),
    ],
)
def test_multi_choice_accepts(typed, expected):
    assert parse(ROLES_MULTI, typed) == expected


def test_multi_choice_names_unknown():
    problem = error(ROLES_MULTI, "fpo, farmer, bank")
    assert problem.code == "choice_unknown_items"
    assert problem.params["unknown"] == ["farmer", "bank"]
    assert len(problem.params["options"]) == 4


def test_multi_choice_unknown_number():
    problem = error(ROLES_MULTI, "1, 9")
    assert problem.code == "choice_unknown_items"
    assert problem.params["unknown"] == ["9"]


def test_multi_choice_ambiguous_item():
    options = (
        Option(key="tomato", labels={"en": "Tomato"}),
        Option(key="tomatillo", labels={"en": "Tomatillo"}),
        Option(key="onion", labels={"en": "Onion"}),
    )
    problem = error(MultiChoice(options=options), "onion, toma")
    assert problem.code == "choice_ambiguous"
    assert problem.params["typed"] == "toma"
    assert problem.params["candidates"] == ["Tomato", "Tomatillo"]


def test_multi_choice_too_few():
    problem = error(MultiChoice(options=ROLES, min_count=2), "fpo, fpo")
    assert problem.code == "choice_too_few"
    assert problem.params["count"] == 1
    assert problem.params["minimum"] == 2


def test_multi_choice_too_many():
    problem = error(MultiChoice(options=ROLES, max_count=2), "1, 2, 3")
    assert problem.code == "choice_too_many"
    assert problem.params["count"] == 3
    assert problem.params["maximum"] == 2


def test_multi_choice_only_separators():
    assert error(ROLES_MULTI, ", ;").code == "empty"
    assert error(ROLES_MULTI, " &\n,").code == "empty"


def test_multi_choice_bad_counts():
    with pytest.raises(ValueError):
        MultiChoice(options=ROLES, min_count=0)
    with pytest.raises(ValueError):
        MultiChoice(options=ROLES, min_count=3, max_count=2)


def test_multi_choice_display_and_json():
    value = ("fpo", "buyer")
    assert ROLES_MULTI.display(value, "en") == "FPO, Buyer"
    assert ROLES_MULTI.display(value, "hi") == "एफपीओ, खरीदार"
    assert json_round_trip(ROLES_MULTI, value) == value


# --- DateField --------------------------------------------------------------------------

FUTURE = DateField(future=True)
PAST = DateField(future=False)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("today", dt.date(2026, 12, 4)),
        ("Today", dt.date(2026, 12, 4)),
        ("tomorrow", dt.date(2026, 12, 5)),
        ("yesterday", dt.date(2026, 12, 3)),
        ("आज", dt.date(2026, 12, 4)),
        ("कल", dt.date(2026, 12, 5)),
        ("kal", dt.date(2026, 12, 5)),
        ("परसों", dt.date(2026, 12, 6)),
        ("friday", dt.date(2026, 12, 11)),
        ("Fri", dt.date(2026, 12, 11)),
        ("monday", dt.date(2026, 12, 7)),
        ("thursday", dt.date(2026, 12, 10)),
        ("next saturday", dt.date(2026, 12, 5)),
        ("last friday", dt.date(2026, 11, 27)),
        ("this friday", dt.date(2026, 12, 11)),
        ("अगले शुक्रवार", dt.date(2026, 12, 11)),
        ("पिछले शुक्रवार", dt.date(2026, 11, 27)),
        ("शुक्रवार", dt.date(2026, 12, 11)),
        ("सोमवार", dt.date(2026, 12, 7)),
        ("15/12", dt.date(2026, 12, 15)),
        ("4/12", dt.date(2026, 12, 4)),
        ("3/12", dt.date(2027, 12, 3)),
        ("15/1", dt.date(2027, 1, 15)),
        ("15 Dec", dt.date(2026, 12, 15)),
        ("15th december", dt.date(2026, 12, 15)),
        ("Dec 15", dt.date(2026, 12, 15)),
        ("15 Dec 2026", dt.date(2026, 12, 15)),
        ("15 December 2026", dt.date(2026, 12, 15)),
        ("15-Dec-2026", dt.date(2026, 12, 15)),
        ("Dec 15, 2026", dt.date(2026, 12, 15)),
        ("2026-12-15", dt.date(2026, 12, 15)),
        ("15-12-2026", dt.date(2026, 12, 15)),
        ("15/12/2026", dt.date(2026, 12, 15)),
        ("15.12.26", dt.date(2026, 12, 15)),
        ("१५/१२/२०२६", dt.date(2026, 12, 15)),
        ("15 दिसंबर 2026", dt.date(2026, 12, 15)),
        ("15 दिसम्बर", dt.date(2026, 12, 15)),
        ("4 दिस॰ 2026", dt.date(2026, 12, 4)),
        ("1 फ़रवरी 2027", dt.date(2027, 2, 1)),
        ("1 फरवरी 2027", dt.date(2027, 2, 1)),
        ("31/12", dt.date(2026, 12, 31)),
        ("31 Jan", dt.date(2027, 1, 31)),
    ],
)
def test_future_date_accepts(typed, expected):
    assert parse(FUTURE, typed) == expected


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("कल", dt.date(2026, 12, 3)),
        ("kal", dt.date(2026, 12, 3)),
        ("परसों", dt.date(2026, 12, 2)),
        ("tomorrow", dt.date(2026, 12, 5)),
        ("friday", dt.date(2026, 11, 27)),
        ("next friday", dt.date(2026, 12, 11)),
        ("15/12", dt.date(2025, 12, 15)),
        ("4/12", dt.date(2026, 12, 4)),
        ("3/12", dt.date(2026, 12, 3)),
        ("15 Dec", dt.date(2025, 12, 15)),
    ],
)
def test_past_date_accepts(typed, expected):
    assert parse(PAST, typed) == expected


def test_date_leap_day_without_year():
    assert parse(FUTURE, "29/02") == dt.date(2028, 2, 29)
    assert parse(PAST, "29/02") == dt.date(2024, 2, 29)


def test_date_leap_day_2028():
    assert parse(FUTURE, "29/02/2028") == dt.date(2028, 2, 29)


def test_date_leap_day_2027_impossible():
    problem = error(FUTURE, "29/02/2027")
    assert problem.code == "date_impossible"
    assert problem.params["days_in_month"] == 28
    assert problem.params["year"] == 2027


@pytest.mark.parametrize(
    ("typed", "day", "month", "year", "days"),
    [
        ("31/02/2026", 31, 2, 2026, 28),
        ("30 Feb 2028", 30, 2, 2028, 29),
        ("31/04/2026", 31, 4, 2026, 30),
        ("31 June 2026", 31, 6, 2026, 30),
        ("31/09", 31, 9, None, 30),
        ("30/02", 30, 2, None, 29),
        ("0/12/2026", 0, 12, 2026, 31),
    ],
)
def test_date_impossible(typed, day, month, year, days):
    problem = error(FUTURE, typed)
    assert problem.code == "date_impossible"
    assert problem.params["day"] == day
    assert problem.params["month"] == month
    assert problem.params["year"] == year
    assert problem.params["days_in_month"] == days
    assert problem.params["typed"] == typed


def test_date_no_such_month():
    problem = error(FUTURE, "12/13/2026")
    assert problem.code == "date_no_such_month"
    assert problem.params["month"] == 13


@pytest.mark.parametrize("typed", ["Dec 2026", "12/2026", "2026-12", "दिसंबर 2026"])
def test_date_day_missing(typed):
    problem = error(FUTURE, typed)
    assert problem.code == "date_day_missing"
    assert problem.params["typed"] == typed


@pytest.mark.parametrize("typed", ["soon", "45000", "15 smarch 2026", "next year", "12"])
def test_date_invalid(typed):
    problem = error(FUTURE, typed)
    assert problem.code == "date_invalid"
    assert problem.params["typed"] == typed


def test_date_before_earliest():
    field = DateField(earliest=dt.date(2026, 12, 10), latest=dt.date(2027, 3, 31))
    problem = error(field, "5/12/2026")
    assert problem.code == "date_out_of_range"
    assert problem.params["earliest"] == dt.date(2026, 12, 10)
    assert problem.params["latest"] == dt.date(2027, 3, 31)


def test_date_after_latest():
    field = DateField(latest=dt.date(2027, 3, 31))
    problem = error(field, "1 April 2027")
    assert problem.code == "date_out_of_range"
    assert problem.params["earliest"] is None


def test_date_bounds_inclusive():
    field = DateField(earliest=dt.date(2026, 12, 10), latest=dt.date(2027, 3, 31))
    assert parse(field, "10/12/2026") == dt.date(2026, 12, 10)
    assert parse(field, "31/03/2027") == dt.date(2027, 3, 31)


def test_date_relative_bounds():
    field = DateField(earliest_days=0, latest_days=90, future=True)
    assert field.bounds(TODAY) == (TODAY, dt.date(2027, 3, 4))
    assert error(field, "yesterday").code == "date_out_of_range"
    assert parse(field, "today") == TODAY


def test_date_narrower_bound_wins():
    field = DateField(earliest=dt.date(2026, 1, 1), earliest_days=-7)
    assert field.bounds(TODAY)[0] == dt.date(2026, 11, 27)


def test_date_display():
    assert FUTURE.display(dt.date(2026, 12, 15), "en") == "15 Dec 2026"
    assert FUTURE.display(dt.date(2026, 12, 15), "hi") == "15 दिस॰ 2026"


def test_date_json_round_trip():
    assert FUTURE.to_json(dt.date(2028, 2, 29)) == "2028-02-29"
    assert json_round_trip(FUTURE, dt.date(2028, 2, 29)) == dt.date(2028, 2, 29)


# --- MonthField -------------------------------------------------------------------------

MONTH = MonthField()


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("Dec 2026", dt.date(2026, 12, 1)),
        ("December 2026", dt.date(2026, 12, 1)),
        ("dec. 2026", dt.date(2026, 12, 1)),
        ("Dec'26", dt.date(2026, 12, 1)),
        ("12/2026", dt.date(2026, 12, 1)),
        ("2/2028", dt.date(2028, 2, 1)),
        ("2026-12", dt.date(2026, 12, 1)),
        ("this month", dt.date(2026, 12, 1)),
        ("last month", dt.date(2026, 11, 1)),
        ("next month", dt.date(2027, 1, 1)),
        ("दिसंबर 2026", dt.date(2026, 12, 1)),
        ("दिसम्बर २०२६", dt.date(2026, 12, 1)),
        ("फ़रवरी 2028", dt.date(2028, 2, 1)),
        ("इस महीने", dt.date(2026, 12, 1)),
        ("पिछले महीने", dt.date(2026, 11, 1)),
        ("पिछला महीना", dt.date(2026, 11, 1)),
        ("December", dt.date(2026, 12, 1)),
        ("January", dt.date(2026, 1, 1)),
        ("सितंबर", dt.date(2026, 9, 1)),
    ],
)
def test_month_accepts(typed, expected):
    assert parse(MONTH, typed) == expected


def test_future_month_without_year():
    assert parse(MonthField(future=True), "January") == dt.date(2027, 1, 1)
    assert parse(MonthField(future=True), "December") == dt.date(2026, 12, 1)


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (dt.date(2027, 1, 31), dt.date(2026, 12, 1)),
        (dt.date(2028, 3, 31), dt.date(2028, 2, 1)),
        (dt.date(2028, 2, 29), dt.date(2028, 1, 1)),
    ],
)
def test_last_month_edges(today, expected):
    assert MONTH.parse("last month", today=today, locale="en") == expected


def test_next_month_from_31st():
    assert MONTH.parse("next month", today=dt.date(2027, 1, 31), locale="en") == dt.date(2027, 2, 1)


def test_month_no_such_month():
    problem = error(MONTH, "13/2026")
    assert problem.code == "month_no_such_month"
    assert problem.params["month"] == 13


@pytest.mark.parametrize("typed", ["15 Dec 2026", "someday", "2026", "month"])
def test_month_invalid(typed):
    problem = error(MONTH, typed)
    assert problem.code == "month_invalid"
    assert problem.params["typed"] == typed


def test_month_out_of_range():
    field = MonthField(earliest=dt.date(2026, 4, 15), latest=dt.date(2026, 11, 30))
    problem = error(field, "this month")
    assert problem.code == "month_out_of_range"
    assert problem.params["earliest"] == dt.date(2026, 4, 1)
    assert problem.params["latest"] == dt.date(2026, 11, 1)


def test_month_bounds_compare_months():
    field = MonthField(earliest=dt.date(2026, 4, 15))
    assert parse(field, "April 2026") == dt.date(2026, 4, 1)


def test_month_display():
    assert MONTH.display(dt.date(2026, 12, 1), "en") == "Dec 2026"
    assert MONTH.display(dt.date(2026, 12, 1), "hi") == "दिस॰ 2026"


def test_month_json_round_trip():
    assert json_round_trip(MONTH, dt.date(2028, 2, 1)) == dt.date(2028, 2, 1)


def test_month_rejects_stored_mid_month():
    with pytest.raises(ValueError):
        MONTH.from_json("2026-12-15")


# --- Phone ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed", ["9876543210", "98765 43210", "+91 98765-43210", "09876543210", "९८७६५४३२१०"]
)
def test_phone_accepts(typed):
    assert parse(Phone(), typed) == "+919876543210"


@pytest.mark.parametrize("typed", ["12345", "022 2345 6789", "+44 7700 900123", "call me"])
def test_phone_invalid(typed):
    problem = error(Phone(), typed)
    assert problem.code == "phone_invalid"
    assert problem.params["typed"] == typed


def test_phone_display_and_json():
    assert Phone().display("+919876543210", "en") == "+91 98765 43210"
    assert json_round_trip(Phone(), "+919876543210") == "+919876543210"


# --- YesNo ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        "yes",
        "Yes!",
        "Y",
        "ok",
        "okay",
        "haan",
        "haanji",
        "हाँ",
        "हां",
        "जी हाँ",
        "✅",
        "👍",
        "👍🏽",
        "ठीक है",
    ],
)
def test_yes_accepts(typed):
    assert parse(YesNo(), typed) is True


@pytest.mark.parametrize("typed", ["no", "N", "nope", "nahi", "nahin", "नहीं", "नही", "❌", "👎"])
def test_no_accepts(typed):
    assert parse(YesNo(), typed) is False


@pytest.mark.parametrize("typed", ["maybe", "yes no", "later", "2"])
def test_yes_no_invalid(typed):
    problem = error(YesNo(), typed)
    assert problem.code == "yes_no_invalid"
    assert problem.params["typed"] == typed


def test_yes_no_display_and_json():
    assert YesNo().display(True, "en") == "Yes"
    assert YesNo().display(False, "hi") == "नहीं"
    assert json_round_trip(YesNo(), False) is False


def test_yes_no_rejects_stored_number():
    with pytest.raises(TypeError):
        YesNo().from_json(1)


# --- FileAnswer -------------------------------------------------------------------------

PDF = FileInfo(
    kind="document",
    file_id="BQAC-1",
    file_name="Report.PDF",
    mime_type="application/pdf",
    size=1024,
)
PHOTO = FileInfo(kind="photo", file_id="AgAC-2", size=200_000)


def test_file_accepts_document():
    assert FileAnswer().parse_file(PDF) == PDF


def test_file_accepts_photo():
    assert FileAnswer(extensions=("jpg", "pdf")).parse_file(PHOTO) == PHOTO


def test_file_expected_for_text():
    problem = error(FileAnswer(), "here is my report")
    assert problem.code == "file_expected"
    assert problem.params["kinds"] == ["document", "photo"]


def test_file_wrong_kind():
    video = FileInfo(kind="video", file_id="BAAC-3", size=10)
    with pytest.raises(FieldError) as caught:
        FileAnswer().parse_file(video)
    assert caught.value.code == "file_wrong_kind"
    assert caught.value.params["kind"] == "video"


def test_file_too_large():
    big = FileInfo(kind="document", file_id="BQAC-4", file_name="a.pdf", size=21 * 1024 * 1024)
    with pytest.raises(FieldError) as caught:
        FileAnswer().parse_file(big)
    assert caught.value.code == "file_too_large"
    assert caught.value.params["size"] == 21 * 1024 * 1024
    assert caught.value.params["max_bytes"] == 20 * 1024 * 1024


def test_file_size_at_limit():
    exact = FileInfo(kind="document", file_id="BQAC-5", file_name="a.pdf", size=100)
    assert FileAnswer(max_bytes=100).parse_file(exact) == exact


def test_file_wrong_extension():
    sheet = FileInfo(kind="document", file_id="BQAC-6", file_name="data.xlsx", size=10)
    with pytest.raises(FieldError) as caught:
        FileAnswer(extensions=(".pdf",)).parse_file(sheet)
    assert caught.value.code == "file_wrong_extension"
    assert caught.value.params["extension"] == "xlsx"
    assert caught.value.params["extensions"] == ["pdf"]


def test_file_without_name_fails_extension():
    nameless = FileInfo(kind="document", file_id="BQAC-7", size=10)
    with pytest.raises(FieldError) as caught:
        FileAnswer(extensions=("pdf",)).parse_file(nameless)
    assert caught.value.params["extension"] is None


def test_file_extension_case_insensitive():
    assert FileAnswer(extensions=("pdf",)).parse_file(PDF) == PDF


def test_file_display_and_json():
    field = FileAnswer()
    assert field.display(PDF, "en") == "Report.PDF"
    assert field.display(PHOTO, "en") == "photo"
    assert json_round_trip(field, PDF) == PDF
    assert json_round_trip(field, PHOTO) == PHOTO


# --- CommodityList and StateList --------------------------------------------------------


def test_commodities_canonical():
    assert parse(CommodityList(), "Tomatoes, mirchi और प्याज") == ("tomato", "chilli", "onion")


def test_commodities_drop_duplicates():
    assert parse(CommodityList(), "onion, kanda, प्याज") == ("onion",)


def test_commodities_keep_unknown():
    assert parse(CommodityList(), "tomato, dragon fruit") == ("tomato", "dragon fruit")


def test_commodities_known_only():
    problem = error(CommodityList(known_only=True), "tomato, dragon fruit, kiwano")
    assert problem.code == "commodity_unknown"
    assert problem.params["unknown"] == ["dragon fruit", "kiwano"]


def test_commodities_too_many():
    problem = error(CommodityList(max_count=1), "tomato, onion")
    assert problem.code == "list_too_many"
    assert problem.params["count"] == 2
    assert problem.params["maximum"] == 1


def test_commodities_too_few():
    problem = error(CommodityList(min_count=2), "tomato")
    assert problem.code == "list_too_few"
    assert problem.params["minimum"] == 2


def test_commodities_too_long():
    problem = error(CommodityList(max_length=10), "tomato, onion")
    assert problem.code == "text_too_long"
    assert problem.params["maximum"] == 10


def test_commodities_only_separators():
    assert error(CommodityList(), ", / ;").code == "empty"


def test_commodities_display_and_json():
    value = ("tomato", "chilli")
    assert CommodityList().display(value, "en") == "tomato, chilli"
    assert json_round_trip(CommodityList(), value) == value


def test_states_canonical():
    assert parse(StateList(), "MH, Karnataka और बिहार") == ("Maharashtra", "Karnataka", "Bihar")


def test_states_keep_and_inside_name():
    assert parse(StateList(), "Jammu and Kashmir; UP") == ("Jammu and Kashmir", "Uttar Pradesh")


def test_states_names_unknown():
    problem = error(StateList(), "MH, Narnia, Karnatka")
    assert problem.code == "state_unknown"
    assert problem.params["unknown"] == ["Narnia", "Karnatka"]
    assert problem.params["suggestions"]["Karnatka"] == "Karnataka"
    assert problem.params["suggestions"]["Narnia"] is None


def test_states_unknown_after_and():
    problem = error(StateList(), "Bihar and Atlantis")
    assert problem.params["unknown"] == ["Atlantis"]


def test_states_too_many():
    problem = error(StateList(max_count=1), "MH, KA")
    assert problem.code == "list_too_many"
    assert problem.params["count"] == 2


def test_states_round_trip():
    value = ("Maharashtra", "Bihar")
    assert StateList().display(value, "en") == "Maharashtra, Bihar"
    assert json_round_trip(StateList(), value) == value


# --- Properties -------------------------------------------------------------------------


def _example_fields() -> dict[str, Field[Any]]:
    return {
        "short_text": ShortText(max_length=50),
        "long_text": LongText(max_length=300),
        "number": TONNES,
        "choice": ROLE,
        "multi_choice": MultiChoice(options=ROLES, max_count=3),
        "date": DateField(earliest=dt.date(2026, 1, 1), latest=dt.date(2027, 12, 31)),
        # Without a latest date, so that far years reach the edges of the datetime range.
        "datetime": DateTimeField(
            timezone="America/New_York",
            earliest=dt.datetime(2026, 12, 4, 9, 0, tzinfo=zoneinfo.ZoneInfo("Asia/Kolkata")),
            latest_days=None,
        ),
        "month": MonthField(earliest=dt.date(2026, 1, 1)),
        "phone": Phone(),
        "yes_no": YesNo(),
        "file": FileAnswer(),
        "message": MessageAnswer(),
        "link": LinkField(),
        "commodities": CommodityList(max_count=5),
        "states": StateList(),
    }


def test_example_fields_cover_every_type():
    examples = _example_fields()
    assert set(examples) == set(FIELD_TYPES)
    for name, field in examples.items():
        assert type(field) is FIELD_TYPES[name], name


ANSWERS = st.one_of(
    st.text(),
    st.text(alphabet="0123456789,.-+ /१२३४५६७८९०", max_size=20),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz ,;&", max_size=30),
    st.sampled_from(["kal", "कल", "dec", "1,2,3", "fpo and", "29/02", "लाख", "हाँ", "✅"]),
    st.sampled_from(["31/12/9999 23:00", "1/1/0001 1 am", "शाम ५ बजे", "15.12", "0 pm", "12am"]),
    st.sampled_from(["zoom.us/j/1", "http://[::1", "https://a.b:99999", "//x.in", "tg:x"]),
)


@pytest.mark.parametrize("name", sorted(FIELD_TYPES))
@settings(max_examples=300, deadline=None)
@given(text=ANSWERS, locale=st.sampled_from(["en", "hi"]))
def test_parse_raises_only_field_error(name, text, locale):
    field = _example_fields()[name]
    try:
        value = field.parse(text, today=TODAY, locale=locale)
    except FieldError:
        return
    assert json_round_trip(field, value) == value
    assert isinstance(field.display(value, locale), str)


@settings(max_examples=200, deadline=None)
@given(text=st.text(min_size=1, max_size=50))
def test_short_text_idempotent(text):
    try:
        value = parse(ShortText(), text)
    except FieldError:
        return
    assert parse(ShortText(), value) == value


@settings(max_examples=200, deadline=None)
@given(text=st.text(min_size=1, max_size=300))
def test_long_text_idempotent(text):
    try:
        value = parse(LongText(), text)
    except FieldError:
        return
    assert parse(LongText(), value) == value


@settings(max_examples=300, deadline=None)
@given(value=st.integers(min_value=0, max_value=10**15), locale=st.sampled_from(["en", "hi"]))
def test_number_display_parses_back(value, locale):
    field = Number(unit="tonnes", integer=True, unit_labels={"hi": "टन"})
    assert parse(field, field.display(value, locale)) == value


@settings(max_examples=300, deadline=None)
@given(value=st.floats(min_value=0, max_value=1e12, allow_nan=False, allow_infinity=False))
def test_float_display_parses_back(value):
    field = Number(unit="tonnes")
    assert parse(field, field.display(value, "en")) == value


@settings(max_examples=100, deadline=None)
@given(
    index=st.integers(min_value=0, max_value=len(ROLES) - 1), locale=st.sampled_from(["en", "hi"])
)
def test_choice_display_parses_back(index, locale):
    key = ROLES[index].key
    assert parse(ROLE, ROLE.display(key, locale)) == key


@settings(max_examples=100, deadline=None)
@given(keys=st.lists(st.sampled_from([option.key for option in ROLES]), min_size=1, unique=True))
def test_multi_choice_display_parses_back(keys):
    value = tuple(keys)
    assert parse(ROLES_MULTI, ROLES_MULTI.display(value, "en")) == value


@settings(max_examples=300, deadline=None)
@given(
    value=st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2200, 12, 31)),
    locale=st.sampled_from(["en", "hi"]),
)
def test_date_display_parses_back(value, locale):
    assert parse(FUTURE, FUTURE.display(value, locale)) == value
    assert json_round_trip(FUTURE, value) == value


@settings(max_examples=200, deadline=None)
@given(value=st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2200, 12, 31)))
def test_month_display_parses_back(value):
    first = value.replace(day=1)
    for locale in ("en", "hi"):
        assert parse(MONTH, MONTH.display(first, locale)) == first, locale


@settings(max_examples=200, deadline=None)
@given(digits=st.text(alphabet="0123456789", min_size=9, max_size=9), lead=st.sampled_from("6789"))
def test_phone_display_parses_back(digits, lead):
    value = "+91" + lead + digits
    assert parse(Phone(), Phone().display(value, "en")) == value


@settings(max_examples=100, deadline=None)
@given(today=st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2100, 12, 31)))
def test_weekday_within_week(today):
    for name in ("monday", "friday", "sunday"):
        ahead = FUTURE.parse(name, today=today, locale="en")
        back = PAST.parse(name, today=today, locale="en")
        assert 1 <= (ahead - today).days <= 7, name
        assert 1 <= (today - back).days <= 7, name


@settings(max_examples=200, deadline=None)
@given(
    today=st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2100, 12, 31)),
    day=st.integers(min_value=1, max_value=31),
    month=st.integers(min_value=1, max_value=12),
)
def test_yearless_date_direction(today, day, month):
    text = f"{day}/{month}"
    try:
        ahead = FUTURE.parse(text, today=today, locale="en")
        back = PAST.parse(text, today=today, locale="en")
    except FieldError as problem:
        assert problem.code == "date_impossible"
        return
    assert ahead >= today
    assert back <= today
    assert (ahead.day, ahead.month) == (day, month)
    assert (back.day, back.month) == (day, month)


def test_lists_display_hindi_names() -> None:
    commodities = CommodityList()
    states = StateList()

    assert commodities.display(("onion", "turmeric"), "hi") == "प्याज, हल्दी"
    assert commodities.display(("onion",), "en") == "onion"
    # A commodity the list does not know keeps the name as typed.
    assert commodities.display(("dragon fruit",), "hi") == "dragon fruit"
    assert states.display(("Madhya Pradesh", "Bihar"), "hi") == "मध्य प्रदेश, बिहार"
    assert states.display(("Bihar",), "en") == "Bihar"
