"""Typed /schedule input: Hindi rule words, rules per job, reminder order, holiday states."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest

from bot.schedule_rules import LAST, RuleKind, ScheduleParseError, ScheduleRule, parse_rule
from bot.texts import Texts
from handlers.schedules import holiday_state, order_conflict
from storage.schedules import JOB_SPECS, JOBS, MAX_DAYS_AFTER, ParsedRule, parse_for_job

CODE = re.compile(r"<code>(.*?)</code>")
DEFAULT_RULES = {spec.job: spec.default for spec in JOB_SPECS}


def nth(ordinal: int, weekday: int, hour: int, minute: int = 0) -> ScheduleRule:
    return ScheduleRule(
        RuleKind.NTH_WEEKDAY, time=dt.time(hour, minute), ordinal=ordinal, weekday=weekday
    )


# --- Hindi words in parse_rule -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("पहला सोमवार 10:00", nth(1, 0, 10)),
        ("पहले सोमवार 10:00", nth(1, 0, 10)),
        ("दूसरा मंगलवार 11:00", nth(2, 1, 11)),
        ("तीसरा बुधवार 11:00", nth(3, 2, 11)),
        ("चौथा गुरुवार 11:00", nth(4, 3, 11)),
        ("आखिरी शुक्रवार 17:00", nth(LAST, 4, 17)),
        ("अंतिम शनिवार 17:00", nth(LAST, 5, 17)),
        ("पहला रविवार 08:00", nth(1, 6, 8)),
        ("महीने का पहला सोमवार सुबह 10 बजे", nth(1, 0, 10)),
        ("पहला सोमवार १०:३०", nth(1, 0, 10, 30)),
        ("हर शुक्रवार 16:00", ScheduleRule(RuleKind.WEEKLY, time=dt.time(16), weekday=4)),
        ("हर शुक्रवार को शाम 4 बजे", ScheduleRule(RuleKind.WEEKLY, time=dt.time(16), weekday=4)),
        ("तारीख 5 09:30", ScheduleRule(RuleKind.MONTH_DAY, time=dt.time(9, 30), day=5)),
        ("दिन 5 09:30", ScheduleRule(RuleKind.MONTH_DAY, time=dt.time(9, 30), day=5)),
        ("हर महीने की 5 तारीख 09:30", ScheduleRule(RuleKind.MONTH_DAY, time=dt.time(9, 30), day=5)),
        ("आखिरी दिन शाम 5 बजे", ScheduleRule(RuleKind.LAST_DAY, time=dt.time(17))),
        ("आखिरी कामकाजी दिन 17:00", ScheduleRule(RuleKind.LAST_WORKING_DAY, time=dt.time(17))),
        ("आख़िरी कार्यदिवस शाम 5 बजे", ScheduleRule(RuleKind.LAST_WORKING_DAY, time=dt.time(17))),
        ("अंतिम कार्य दिवस 11:00", ScheduleRule(RuleKind.LAST_WORKING_DAY, time=dt.time(11))),
        ("बंद", ScheduleRule(RuleKind.OFF)),
    ],
)
def test_hindi_rule_words(text: str, expected: ScheduleRule) -> None:
    assert parse_rule(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("सुबह 10 बजे", dt.time(10)),
        ("सवेरे 7:30 बजे", dt.time(7, 30)),
        ("शाम 5 बजे", dt.time(17)),
        ("शाम 5:30", dt.time(17, 30)),
        ("दोपहर 12 बजे", dt.time(12)),
        ("दोपहर 2 बजे", dt.time(14)),
        ("रात 8 बजे", dt.time(20)),
        ("रात 12 बजे", dt.time(0)),
        ("रात 2 बजे", dt.time(2)),
        ("16 बजे", dt.time(16)),
        ("9:30 बजे", dt.time(9, 30)),
    ],
)
def test_hindi_time_words(text: str, expected: dt.time) -> None:
    assert parse_rule(f"पहला सोमवार {text}").time == expected


def test_hindi_hour_alone_is_ambiguous() -> None:
    with pytest.raises(ScheduleParseError) as raised:
        parse_rule("पहला सोमवार 5 बजे")
    assert raised.value.code == "time_invalid"


def test_hindi_unknown_weekday_named() -> None:
    with pytest.raises(ScheduleParseError) as raised:
        parse_rule("हर फनडे 10:00")
    assert raised.value.code == "weekday_invalid"
    assert raised.value.fragment == "फनडे"


def test_hindi_rule_without_time() -> None:
    with pytest.raises(ScheduleParseError) as raised:
        parse_rule("पहला सोमवार")
    assert raised.value.code == "time_missing"


def test_nukta_spellings_match() -> None:
    # "ख़" as one code point (U+0959) and as "ख" plus nukta (U+0916 U+093C).
    composed = "आ\u0959िरी दिन 17:00"
    decomposed = "आ\u0916\u093cिरी दिन 17:00"
    assert parse_rule(composed) == parse_rule(decomposed)
    assert parse_rule(composed).kind is RuleKind.LAST_DAY


def test_english_rules_unchanged() -> None:
    assert parse_rule("first Monday 10:00") == nth(1, 0, 10)
    assert parse_rule("last Friday 5 pm") == nth(LAST, 4, 17)


# --- parse_for_job -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("job", "text", "stored"),
    [
        ("checkin", "first Monday 10:00", "first monday 10:00"),
        ("checkin", "day 5 09:30", "day 5 09:30"),
        ("checkin", "last day 17:00", "last day 17:00"),
        ("checkin", "पहला सोमवार सुबह 10 बजे", "first monday 10:00"),
        ("recognition", "last working day 17:00", "last working day 17:00"),
        ("digest", "every Friday 16:00", "every friday 16:00"),
        ("digest", "हर शुक्रवार शाम 4 बजे", "every friday 16:00"),
        ("digest", "off", "off"),
        ("reminder_1", "3", "3"),
        ("reminder_1", "3 days", "3"),
        ("reminder_2", "7 दिन", "7"),
        ("close", "बंद", "off"),
        ("action_due", "09:00", "09:00"),
        ("action_due", "9 am", "09:00"),
        ("action_due", "सुबह 9 बजे", "09:00"),
        ("action_due", "हर दिन सुबह 9 बजे", "09:00"),
    ],
)
def test_parse_for_job_accepts(job: str, text: str, stored: str) -> None:
    assert parse_for_job(job, text).text == stored


@pytest.mark.parametrize(
    ("job", "text", "code"),
    [
        ("checkin", "   ", "empty"),
        ("checkin", "first Monday", "time_missing"),
        ("checkin", "first Monday 25:00", "time_invalid"),
        ("checkin", "day 32 10:00", "day_invalid"),
        ("checkin", "every Funday 10", "weekday_invalid"),
        ("checkin", "sometimes", "unknown"),
        ("checkin", "every Friday 16:00", "monthly_only"),
        ("recognition", "हर शुक्रवार 16:00", "monthly_only"),
        ("reminder_1", "0", "days_invalid"),
        ("reminder_1", str(MAX_DAYS_AFTER + 1), "days_invalid"),
        ("close", "first Monday 10:00", "days_invalid"),
        ("action_due", "first Monday 10:00", "time_only"),
        ("action_due", "9", "time_only"),
        ("checkin", "every day 10:00", "monthly_only"),
        ("checkin", "daily 10:00", "monthly_only"),
        ("checkin", "रोज़ 10 बजे", "monthly_only"),
        ("recognition", "हर दिन शाम 5 बजे", "monthly_only"),
        ("digest", "every day 10:00", "weekly_only"),
        ("digest", "daily 10:00", "weekly_only"),
        ("digest", "रोज़ 10 बजे", "weekly_only"),
        ("digest", "last working day 17:00", "weekly_only"),
        ("digest", "day 1 00:30", "weekly_only"),
        ("digest", "first Monday 10:00", "weekly_only"),
        ("digest", "last day 17:00", "weekly_only"),
        ("action_due", "24:00", "time_invalid"),
        ("action_due", "10:75", "time_invalid"),
        ("action_due", "13 pm", "time_invalid"),
        ("action_due", "every day 24:00", "time_invalid"),
        ("checkin", "fifth Monday 10:00", "ordinal_invalid"),
        ("checkin", "5th Monday 10:00", "ordinal_invalid"),
        ("recognition", "पाँचवाँ सोमवार 10:00", "ordinal_invalid"),
    ],
)
def test_parse_for_job_error_codes(job: str, text: str, code: str) -> None:
    with pytest.raises(ScheduleParseError) as raised:
        parse_for_job(job, text)
    assert raised.value.code == code


def test_daily_job_invalid_time_named() -> None:
    with pytest.raises(ScheduleParseError) as raised:
        parse_for_job("action_due", "daily 10:75")
    assert raised.value.fragment == "10:75"


def test_every_day_with_nukta_apart() -> None:
    # "रोज़" typed as "ज" plus a separate nukta, as some keyboards send it.
    with pytest.raises(ScheduleParseError) as raised:
        parse_for_job("checkin", "रोज\u093c 10 बजे")
    assert raised.value.code == "monthly_only"


@pytest.mark.parametrize("locale", ["en", "hi"])
def test_ordinal_error_names_allowed(locale: str) -> None:
    text = str(Texts().render(locale, "schedule/errors/ordinal_invalid", fragment="fifth"))
    examples = [html.unescape(example) for example in CODE.findall(text)]

    assert len(examples) == 6, text
    for ordinal in examples[:5]:
        parse_rule(f"{ordinal} {'सोमवार' if locale == 'hi' else 'Monday'} 10:00")
    parse_for_job("checkin", examples[5])


@pytest.mark.parametrize("locale", ["en", "hi"])
def test_weekly_error_example_parses(locale: str) -> None:
    text = str(Texts().render(locale, "schedule/errors/weekly_only", name="Digest"))
    examples = [html.unescape(example) for example in CODE.findall(text)]

    assert len(examples) == 2, text
    for example in examples:
        parse_for_job("digest", example)


@pytest.mark.parametrize(
    ("template", "context", "expected"),
    [
        ("close_before_reminder", {"days": 1, "other_days": 3}, "A close 1 day after"),
        ("close_before_reminder", {"days": 2, "other_days": 1}, "more than 1 day."),
        ("close_before_reminder", {"days": 2, "other_days": 3}, "runs 3 days after"),
        ("reminder_after_close", {"days": 1, "other_days": 1}, "fewer than 1 day."),
        ("reminder_after_reminder", {"days": 1, "other_days": 1}, "runs 1 day after"),
        ("reminder_before_reminder", {"days": 1, "other_days": 1}, "Reminder 2, 1 day after"),
    ],
)
def test_order_errors_singular_day(template: str, context: dict[str, int], expected: str) -> None:
    text = str(Texts().render("en", f"schedule/errors/{template}", other="Reminder 1", **context))
    assert expected in text
    assert " 1 days" not in text


# --- Reminders before the close ------------------------------------------------------------


def days(value: int) -> ParsedRule:
    return ParsedRule(str(value), days=value)


@pytest.mark.parametrize(
    ("job", "parsed", "rules", "expected"),
    [
        ("reminder_1", days(6), {}, None),
        ("reminder_1", days(9), {"reminder_2": "off"}, None),
        ("reminder_1", days(10), {}, ("reminder_after_reminder", "reminder_2", 7)),
        ("reminder_1", days(7), {}, ("reminder_after_reminder", "reminder_2", 7)),
        ("reminder_1", days(10), {"reminder_2": "off"}, ("reminder_after_close", "close", 10)),
        ("reminder_2", days(3), {}, ("reminder_before_reminder", "reminder_1", 3)),
        ("reminder_2", days(2), {"reminder_1": "off"}, None),
        ("reminder_2", days(12), {}, ("reminder_after_close", "close", 10)),
        ("reminder_2", days(12), {"close": "off"}, None),
        ("close", days(8), {}, None),
        ("close", days(7), {}, ("close_before_reminder", "reminder_2", 7)),
        ("close", days(3), {}, ("close_before_reminder", "reminder_1", 3)),
        ("close", days(5), {"reminder_2": "off"}, None),
        ("close", ParsedRule("off"), {}, None),
        ("checkin", parse_for_job("checkin", "day 5 09:30"), {}, None),
    ],
)
def test_order_conflict(
    job: str, parsed: ParsedRule, rules: dict, expected: tuple[str, str, int] | None
) -> None:
    assert order_conflict(job, parsed, {**DEFAULT_RULES, **rules}) == expected


# --- Holiday state -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Maharashtra", ("Maharashtra", True)),
        ("  maharashtra ", ("Maharashtra", True)),
        ("MH", ("Maharashtra", True)),
        ("महाराष्ट्र", ("Maharashtra", True)),
        ("Tamil Nadu", ("Tamil Nadu", True)),
        ("none", (None, True)),
        ("कोई नहीं", (None, True)),
        ("Atlantis", (None, False)),
        ("", (None, False)),
    ],
)
def test_holiday_state(text: str, expected: tuple[str | None, bool]) -> None:
    assert holiday_state(text) == expected


# --- Examples in the help text -------------------------------------------------------------


@pytest.mark.parametrize("locale", ["en", "hi"])
@pytest.mark.parametrize("job", list(JOBS))
def test_examples_parse_for_their_job(locale: str, job: str) -> None:
    text = Texts().render(locale, "schedule/examples", shape=JOBS[job].shape.value)
    examples = [html.unescape(example) for example in CODE.findall(text)]

    assert len(examples) >= 2, text
    for example in examples:
        parse_for_job(job, example)
