"""Message templates for FieldError codes: one per code and locale, rendered with real params.

The codes are collected from the source of `bot/forms`, so a field type that starts
raising a new code fails here until both locales have its template and SAMPLES has an
answer that triggers it.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot.forms import (
    Choice,
    CommodityList,
    DateField,
    DateTimeField,
    FieldError,
    FileAnswer,
    FileInfo,
    LinkField,
    LongText,
    MessageAnswer,
    MessageRef,
    MonthField,
    MonthSet,
    MultiChoice,
    Number,
    Option,
    Phone,
    ShortText,
    StateList,
    YesNo,
)
from bot.forms.trade import CommodityField, PlaceField, QuantityField, WindowField
from bot.texts import PROMPTS_DIR, Texts

FORMS_DIR = Path(__file__).resolve().parents[2] / "bot" / "forms"
LOCALES = ("en", "hi")
DEVANAGARI = re.compile("[\u0900-\u097f]")
# A code is the first argument of FieldError(...), or the code argument of the dates
# helper `_check_range(value, earliest, latest, "date_out_of_range", answer)`.
CODE_PATTERNS = (
    re.compile(r'FieldError\(\s*"([a-z_]+)"'),
    re.compile(r'_check_range\([^()]*?"([a-z_]+)"', re.DOTALL),
)
# A Friday.
TODAY = dt.date(2026, 12, 4)
# 14:05 on that Friday in India, the earliest time a DateTimeField below accepts.
NOW = dt.datetime(2026, 12, 4, 14, 5, tzinfo=zoneinfo.ZoneInfo("Asia/Kolkata"))
MEETING = DateTimeField(timezone="Asia/Kolkata", earliest=NOW)
# A follow-up meeting that may start no earlier than 18:00, four hours after NOW.
FOLLOW_UP = DateTimeField(
    timezone="Asia/Kolkata", earliest=NOW.replace(hour=18, minute=0), earliest_is_now=False
)

QUANTITY = QuantityField(unit_labels={})

ROLES = (
    Option(key="producer", labels={"en": "Producer", "hi": "उत्पादक"}),
    Option(key="processor", labels={"en": "Processor", "hi": "प्रोसेसर"}),
    Option(key="trader", labels={"en": "Trader", "hi": "व्यापारी"}),
)


def raised_codes() -> set[str]:
    """Return every FieldError code that a string literal in `bot/forms/*.py` names."""
    codes: set[str] = set()
    for path in sorted(FORMS_DIR.glob("*.py")):
        source = path.read_text(encoding="utf-8")
        for pattern in CODE_PATTERNS:
            codes.update(pattern.findall(source))
    return codes


def parse_with(field: Any, text: str) -> Callable[[str], Any]:
    return lambda locale: field.parse(text, today=TODAY, locale=locale)


def send_file(field: FileAnswer, info: FileInfo) -> Callable[[str], Any]:
    return lambda locale: field.parse_file(info)


def send_message(field: MessageAnswer, ref: MessageRef) -> Callable[[str], Any]:
    return lambda locale: field.parse_message(ref)


def message(kind: str, preview: str = "", links: tuple[str, ...] = ()) -> MessageRef:
    return MessageRef(chat_id=1, message_id=2, kind=kind, preview=preview, links=links)


# (sample id, expected code, a call that raises it in the given locale). Codes with
# optional params (a unit, one open bound, a missing year) have one sample per variant.
SAMPLES: list[tuple[str, str, Callable[[str], Any]]] = [
    ("spaces", "empty", parse_with(ShortText(), "   ")),
    ("only commas", "empty", parse_with(MultiChoice(options=ROLES), ", ,")),
    ("punctuation", "text_no_letters", parse_with(ShortText(), "?!")),
    ("emoji commodity", "commodity_no_letters", parse_with(CommodityList(), "onion, 😀")),
    ("long commodity", "commodity_too_long", parse_with(CommodityList(), "onion" * 13)),
    ("short name", "text_too_short", parse_with(ShortText(min_length=3), "A")),
    ("digits name", "text_letters_required", parse_with(ShortText(letters_required=True), "12345")),
    ("long note", "text_too_long", parse_with(LongText(max_length=10), "word " * 5)),
    ("long state list", "text_too_long", parse_with(StateList(max_length=5), "Maharashtra")),
    ("two numbers", "number_invalid", parse_with(Number(), "5 to 10")),
    ("bad grouping", "number_invalid", parse_with(Number(), "1,2")),
    ("kg for tonnes", "number_wrong_unit", parse_with(Number(unit="tonnes"), "12 kg")),
    ("unit without unit", "number_wrong_unit", parse_with(Number(), "12 apples")),
    ("negative", "number_negative", parse_with(Number(minimum=0), "-5")),
    ("negative float", "number_negative", parse_with(Number(minimum=0.5), "-5")),
    ("decimal", "number_not_integer", parse_with(Number(integer=True), "2.5")),
    (
        "above both bounds",
        "number_out_of_range",
        parse_with(Number(unit="acres", minimum=1, maximum=1_000_000.0), "3 crore acres"),
    ),
    ("below minimum", "number_out_of_range", parse_with(Number(minimum=10.5), "3")),
    ("above maximum", "number_out_of_range", parse_with(Number(maximum=99.0), "150")),
    ("short phone", "phone_invalid", parse_with(Phone(), "12345")),
    ("maybe", "yes_no_invalid", parse_with(YesNo(), "maybe")),
    ("text for file", "file_expected", parse_with(FileAnswer(), "here it is")),
    (
        "video for photo",
        "file_wrong_kind",
        send_file(FileAnswer(kinds=("photo",)), FileInfo(kind="video", file_id="f1")),
    ),
    (
        "25 MB document",
        "file_too_large",
        send_file(FileAnswer(), FileInfo(kind="document", file_id="f2", size=25 * 2**20 + 300_000)),
    ),
    (
        "600 KB photo",
        "file_too_large",
        send_file(
            FileAnswer(max_bytes=500 * 1024), FileInfo(kind="photo", file_id="f3", size=600_000)
        ),
    ),
    (
        "docx for pdf",
        "file_wrong_extension",
        send_file(
            FileAnswer(extensions=("pdf", ".XLSX")),
            FileInfo(kind="document", file_id="f4", file_name="report.docx"),
        ),
    ),
    (
        "no extension",
        "file_wrong_extension",
        send_file(
            FileAnswer(extensions=("pdf",)),
            FileInfo(kind="document", file_id="f5", file_name="report"),
        ),
    ),
    (
        "no file name",
        "file_wrong_extension",
        send_file(FileAnswer(extensions=("pdf",)), FileInfo(kind="document", file_id="f6")),
    ),
    ("one state", "list_too_few", parse_with(StateList(min_count=2), "Bihar")),
    (
        "three commodities",
        "list_too_many",
        parse_with(CommodityList(max_count=2), "onion, tomato, garlic"),
    ),
    (
        "unknown crop",
        "commodity_unknown",
        parse_with(CommodityList(known_only=True), "onion, xyzzy"),
    ),
    ("misspelt state", "state_unknown", parse_with(StateList(), "Maharastra")),
    ("two unknown states", "state_unknown", parse_with(StateList(), "Karnatka, Qwertyland")),
    ("pro", "choice_ambiguous", parse_with(Choice(options=ROLES), "pro")),
    ("farmer", "choice_unknown", parse_with(Choice(options=ROLES), "farmer")),
    (
        "one unknown item",
        "choice_unknown_items",
        parse_with(MultiChoice(options=ROLES), "trader, farmer"),
    ),
    (
        "two unknown items",
        "choice_unknown_items",
        parse_with(MultiChoice(options=ROLES), "farmer, baker"),
    ),
    ("one of two", "choice_too_few", parse_with(MultiChoice(options=ROLES, min_count=2), "1")),
    (
        "three of two",
        "choice_too_many",
        parse_with(MultiChoice(options=ROLES, max_count=2), "1, 2, 3"),
    ),
    (
        "date before range",
        "date_out_of_range",
        parse_with(DateField(earliest_days=0, latest_days=30), "1/1/2026"),
    ),
    ("date in past", "date_out_of_range", parse_with(DateField(earliest_days=0), "yesterday")),
    ("date in future", "date_out_of_range", parse_with(DateField(latest_days=0), "tomorrow")),
    (
        "only today",
        "date_out_of_range",
        parse_with(DateField(earliest_days=0, latest_days=0), "tomorrow"),
    ),
    (
        "month before range",
        "month_out_of_range",
        parse_with(
            MonthField(earliest=dt.date(2026, 4, 1), latest=dt.date(2027, 3, 31)), "Jan 2026"
        ),
    ),
    ("future month", "month_out_of_range", parse_with(MonthField(latest=TODAY), "next month")),
    ("old month", "month_out_of_range", parse_with(MonthField(earliest=TODAY), "last month")),
    ("month only", "date_day_missing", parse_with(DateField(), "Dec 2026")),
    ("word", "date_invalid", parse_with(DateField(), "soon")),
    ("month 13", "date_no_such_month", parse_with(DateField(), "15/13/2026")),
    ("31 April", "date_impossible", parse_with(DateField(), "31/04/2027")),
    ("30 February", "date_impossible", parse_with(DateField(), "30/02")),
    ("day zero", "date_impossible", parse_with(DateField(), "2026-12-00")),
    ("typed text for message", "message_expected", parse_with(MessageAnswer(), "hello")),
    (
        "video for text or photo",
        "message_wrong_kind",
        send_message(MessageAnswer(kinds=("text", "photo")), message("video")),
    ),
    (
        "text without link",
        "link_missing",
        send_message(MessageAnswer(link_required=True), message("text", "Webinar on Friday")),
    ),
    ("words around link", "link_invalid", parse_with(LinkField(), "join zoom.us/j/123")),
    ("javascript link", "link_invalid", parse_with(LinkField(), "javascript:alert(1)")),
    ("localhost link", "link_invalid", parse_with(LinkField(), "localhost:8080/room")),
    ("link with login", "link_invalid", parse_with(LinkField(), "https://user:pass@example.org")),
    (
        "long link",
        "link_invalid",
        parse_with(LinkField(), "https://example.org/" + "a" * 2100),
    ),
    ("datetime word", "datetime_invalid", parse_with(MEETING, "soon")),
    ("date without time", "time_missing", parse_with(MEETING, "15 Dec")),
    ("dotted date alone", "time_missing", parse_with(MEETING, "15.12")),
    ("hour 25", "time_invalid", parse_with(MEETING, "15 Dec 25:00")),
    ("time passed today", "datetime_past", parse_with(MEETING, "10:30")),
    ("date in the past", "datetime_past", parse_with(MEETING, "1/1/2026 10:00")),
    ("before a later earliest", "datetime_past", parse_with(FOLLOW_UP, "16:00")),
    ("two years ahead", "datetime_too_far", parse_with(MEETING, "15/12/2028 10:00")),
    ("wrong weekday", "date_weekday_mismatch", parse_with(MEETING, "Mon 15 Dec 2026 10:30")),
    ("month word", "month_invalid", parse_with(MonthField(), "soon")),
    ("month 13 of year", "month_no_such_month", parse_with(MonthField(), "13/2026")),
    ("word among months", "months_unknown", parse_with(MonthSet(), "mid March to May")),
    ("no month at all", "months_unknown", parse_with(MonthSet(), "soon")),
    ("month number 13", "months_no_such_month", parse_with(MonthSet(), "11-13")),
    ("range without end", "months_range_open", parse_with(MonthSet(), "March to")),
    ("two numbers", "quantity_invalid", parse_with(QUANTITY, "10 to 20 tonnes")),
    ("quantity alone", "quantity_unit_missing", parse_with(QUANTITY, "20")),
    ("zero quantity", "quantity_not_positive", parse_with(QUANTITY, "0 kg")),
    ("huge quantity", "quantity_too_large", parse_with(QUANTITY, "2000000 tonnes")),
    ("under a kilogram", "quantity_too_small", parse_with(QUANTITY, "0.0001 kg")),
    ("two commodities", "commodity_several", parse_with(CommodityField(), "onion and potato")),
    ("town alone", "place_state_missing", parse_with(PlaceField(), "Nashik")),
    ("window word", "window_invalid", parse_with(WindowField(), "soon")),
    ("window backwards", "window_reversed", parse_with(WindowField(), "15 May 2027 to 1 Apr 2027")),
    ("window over", "window_past", parse_with(WindowField(), "Jan 2026 to Mar 2026")),
    ("window too long", "window_too_long", parse_with(WindowField(), "Jan 2027 to Mar 2028")),
]
SAMPLE_IDS = [sample_id for sample_id, _, _ in SAMPLES]
CODES = sorted(raised_codes())


@pytest.fixture(scope="module")
def texts() -> Texts:
    return Texts()


def raise_sample(trigger: Callable[[str], Any], locale: str) -> FieldError:
    with pytest.raises(FieldError) as caught:
        trigger(locale)
    return caught.value


def test_code_scan_finds_codes():
    assert "empty" in CODES, f"the scan of {FORMS_DIR} missed FieldError('empty'): {CODES}"
    assert "date_out_of_range" in CODES, f"the scan missed codes passed to _check_range: {CODES}"


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("code", CODES)
def test_template_exists(code: str, locale: str):
    path = PROMPTS_DIR / locale / "forms" / "errors" / f"{code}.html"
    assert path.is_file(), f"FieldError code {code!r} has no template {path}"


@pytest.mark.parametrize("code", CODES)
def test_code_has_sample(code: str):
    sampled = {sample_code for _, sample_code, _ in SAMPLES}
    assert code in sampled, f"add an answer that raises {code!r} to SAMPLES"


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize(("sample_id", "code", "trigger"), SAMPLES, ids=SAMPLE_IDS)
def test_error_renders(texts: Texts, sample_id: str, code: str, trigger: Any, locale: str):
    problem = raise_sample(trigger, locale)
    assert problem.code == code, f"{sample_id!r} raised {problem}, expected {code!r}"

    text = texts.render(locale, problem.template, **problem.params)

    assert text.strip(), f"{locale}/{problem.template} rendered empty for {problem.params}"
    assert "None" not in text, f"{locale}/{problem.template} shows None: {text}"
    assert "[" not in text, f"{locale}/{problem.template} shows a Python list: {text}"
    if locale == "hi":
        assert DEVANAGARI.search(text), f"hi/{problem.template} has no Devanagari: {text}"
    if "typed" in problem.params and code != "number_wrong_unit":
        assert str(problem.params["typed"]) in text, f"{locale}/{problem.template}: {text}"


@pytest.mark.parametrize("locale", LOCALES)
def test_typed_value_escaped(texts: Texts, locale: str):
    problem = raise_sample(parse_with(YesNo(), "<b>maybe</b> & later"), locale)

    text = texts.render(locale, problem.template, **problem.params)

    assert "&lt;b&gt;maybe&lt;/b&gt; &amp; later" in text


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        (0.0, "0"),
        (10.5, "10.5"),
        (1_000_000.0, "10,00,000"),
        (-1234567, "-12,34,567"),
        (100, "100"),
        (1000, "1,000"),
    ],
)
def test_number_range_grouping(texts: Texts, number: float, expected: str):
    text = texts.render(
        "en", "forms/errors/number_out_of_range", typed="x", minimum=None, maximum=number, unit=""
    )

    assert text.endswith(f"at most {expected}."), text


@pytest.mark.parametrize("locale", LOCALES)
def test_state_suggestion_shown(texts: Texts, locale: str):
    problem = raise_sample(parse_with(StateList(), "Maharastra"), locale)

    text = texts.render(locale, problem.template, **problem.params)

    assert "<b>Maharashtra</b>" in text


@pytest.mark.parametrize(
    ("trigger", "expected"),
    [
        (parse_with(DateField(), "31/04/2027"), "April 2027 has only 30 days"),
        (parse_with(DateField(), "30/02"), "February has at most 29 days"),
        (
            parse_with(DateField(earliest_days=0, latest_days=30), "1/1/2026"),
            "from 4 Dec 2026 to 3 Jan 2027",
        ),
        (parse_with(MonthField(latest=TODAY), "next month"), "Dec 2026 or an earlier month"),
        (
            send_file(
                FileAnswer(), FileInfo(kind="document", file_id="f", size=25 * 2**20 + 300_000)
            ),
            "25.3 MB",
        ),
        (parse_with(Number(unit="tonnes"), "12 kg"), "<code>12 tonnes</code>"),
        (parse_with(MEETING, "10:30"), "is in the past (it is now Fri 4 Dec 2026, 14:05)"),
        (
            parse_with(FOLLOW_UP, "16:00"),
            "is before Fri 4 Dec 2026, 18:00, the earliest time allowed",
        ),
        (parse_with(MEETING, "10:30"), "<code>tomorrow 10:30</code>"),
        (parse_with(MEETING, "1/1/2026 10:00"), "<code>05/12/2026 10:00</code>"),
        (parse_with(MEETING, "15.12"), "<code>15:12</code>"),
        (parse_with(MEETING, "15/12/2028 10:00"), "up to 5 Dec 2027"),
        (parse_with(MEETING, "Mon 15 Dec 2026 10:30"), "a Monday, but 15 Dec 2026 is a Tuesday"),
        (
            send_message(MessageAnswer(kinds=("text", "photo")), message("video")),
            "needs a text message or a photo, not a video",
        ),
        (
            parse_with(LinkField(), "https://user:pass@example.org"),
            "has a user name or password before “@”",
        ),
    ],
    ids=[
        "no 31 April",
        "no 30 February",
        "date range",
        "month bound",
        "file size",
        "unit example",
        "time passed",
        "before later earliest",
        "tomorrow example",
        "later example",
        "colon hint",
        "latest date",
        "weekday names",
        "message kinds",
        "link login",
    ],
)
def test_english_wording(texts: Texts, trigger: Any, expected: str):
    problem = raise_sample(trigger, "en")

    text = texts.render("en", problem.template, **problem.params)

    assert expected in text, text
