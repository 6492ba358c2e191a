import datetime as dt
import logging
from zoneinfo import ZoneInfo

import pytest

from bot.schedule_rules import (
    LAST,
    RULE_EXAMPLES,
    HolidayCalendar,
    NextRun,
    RuleKind,
    ScheduleParseError,
    ScheduleRule,
    _india_holidays,
    describe_rule,
    next_run,
    parse_rule,
    parse_time,
    state_subdivision,
)

KOLKATA = "Asia/Kolkata"
LONDON = "Europe/London"
IST = ZoneInfo(KOLKATA)
UK = ZoneInfo(LONDON)
MONDAY, TUESDAY, THURSDAY, FRIDAY, SATURDAY, SUNDAY = 0, 1, 3, 4, 5, 6


def ist(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=IST)


def rule_at(kind: RuleKind, hour: int, minute: int = 0, **fields: int) -> ScheduleRule:
    return ScheduleRule(kind, time=dt.time(hour, minute), **fields)


@pytest.fixture(scope="module")
def national() -> HolidayCalendar:
    return HolidayCalendar()


# --- parse_rule --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("first Monday 10:00", rule_at(RuleKind.NTH_WEEKDAY, 10, ordinal=1, weekday=MONDAY)),
        ("Second TUESDAY 9:30", rule_at(RuleKind.NTH_WEEKDAY, 9, 30, ordinal=2, weekday=TUESDAY)),
        ("third thu at 09:30", rule_at(RuleKind.NTH_WEEKDAY, 9, 30, ordinal=3, weekday=THURSDAY)),
        ("4th Friday 5 pm", rule_at(RuleKind.NTH_WEEKDAY, 17, ordinal=4, weekday=FRIDAY)),
        ("last Friday 10 am", rule_at(RuleKind.NTH_WEEKDAY, 10, ordinal=LAST, weekday=FRIDAY)),
        ("every Friday 16:00", rule_at(RuleKind.WEEKLY, 16, weekday=FRIDAY)),
        ("  Every   sat  10AM ", rule_at(RuleKind.WEEKLY, 10, weekday=SATURDAY)),
        ("every Sundays 5:30 p.m.", rule_at(RuleKind.WEEKLY, 17, 30, weekday=SUNDAY)),
        ("day 5 09:30", rule_at(RuleKind.MONTH_DAY, 9, 30, day=5)),
        ("Day 31st 12 am", rule_at(RuleKind.MONTH_DAY, 0, day=31)),
        ("last day 17:00", rule_at(RuleKind.LAST_DAY, 17)),
        ("last day of the month 12 pm", rule_at(RuleKind.LAST_DAY, 12)),
        ("last working day 11:00", rule_at(RuleKind.LAST_WORKING_DAY, 11)),
        ("Last Business Day of month 4pm", rule_at(RuleKind.LAST_WORKING_DAY, 16)),
        ("off", ScheduleRule(RuleKind.OFF)),
        (" OFF ", ScheduleRule(RuleKind.OFF)),
    ],
)
def test_parse_rule_forms(text: str, expected: ScheduleRule) -> None:
    assert parse_rule(text) == expected


@pytest.mark.parametrize(
    ("text", "code", "fragment"),
    [
        ("", "empty", ""),
        ("   ", "empty", "   "),
        ("first Monday", "time_missing", "first Monday"),
        ("every Friday at", "time_missing", "every Friday at"),
        ("last day", "time_missing", "last day"),
        ("last working day", "time_missing", "last working day"),
        ("day 5", "time_missing", "day 5"),
        ("first Monday 25:00", "time_invalid", "25:00"),
        ("every Friday 10:75", "time_invalid", "10:75"),
        ("day 5 13 pm", "time_invalid", "13 pm"),
        ("day 5 10", "time_invalid", "10"),
        ("last day noon", "time_invalid", "noon"),
        ("day 0 10:00", "day_invalid", "0"),
        ("day 32 10:00", "day_invalid", "32"),
        ("day five 10:00", "day_invalid", "five"),
        ("day", "day_invalid", "day"),
        ("every Funday 10:00", "weekday_invalid", "funday"),
        ("first day 10:00", "weekday_invalid", "day"),
        ("every 10:00", "weekday_invalid", "every 10:00"),
        ("fifth Monday 10:00", "ordinal_invalid", "fifth"),
        ("5th Monday 10:00", "ordinal_invalid", "5th"),
        ("पाँचवाँ सोमवार 10:00", "ordinal_invalid", "fifth"),
        ("5th 10:00", "unknown", "5th 10:00"),
        ("tomorrow 10:00", "unknown", "tomorrow 10:00"),
        ("off 10:00", "unknown", "off 10:00"),
    ],
)
def test_parse_rule_errors(text: str, code: str, fragment: str) -> None:
    with pytest.raises(ScheduleParseError) as raised:
        parse_rule(text)
    assert raised.value.code == code
    assert raised.value.text == text
    assert raised.value.fragment == fragment


def test_parse_rule_examples_are_valid() -> None:
    for example in RULE_EXAMPLES:
        assert isinstance(parse_rule(example), ScheduleRule), example


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10:00", dt.time(10, 0)),
        ("9:30", dt.time(9, 30)),
        ("09:30", dt.time(9, 30)),
        ("0:05", dt.time(0, 5)),
        ("23:59", dt.time(23, 59)),
        ("10 am", dt.time(10, 0)),
        ("5 pm", dt.time(17, 0)),
        ("5:45PM", dt.time(17, 45)),
        ("12 am", dt.time(0, 0)),
        ("12 pm", dt.time(12, 0)),
    ],
)
def test_parse_time_forms(text: str, expected: dt.time) -> None:
    assert parse_time(text) == expected


@pytest.mark.parametrize("text", ["24:00", "7:5", "0 am", "13 pm", "10", "ten", "10:00:00"])
def test_parse_time_invalid(text: str) -> None:
    with pytest.raises(ScheduleParseError) as raised:
        parse_time(text)
    assert raised.value.code == "time_invalid"


@pytest.mark.parametrize(
    "fields",
    [
        {"kind": RuleKind.WEEKLY, "time": dt.time(10)},
        {"kind": RuleKind.MONTH_DAY, "time": dt.time(10), "day": 32},
        {"kind": RuleKind.NTH_WEEKDAY, "time": dt.time(10), "ordinal": 5, "weekday": 0},
        {"kind": RuleKind.LAST_DAY, "time": dt.time(10), "weekday": 0},
        {"kind": RuleKind.LAST_DAY},
        {"kind": RuleKind.OFF, "time": dt.time(10)},
        {"kind": RuleKind.LAST_DAY, "time": dt.time(10, tzinfo=dt.UTC)},
    ],
)
def test_schedule_rule_rejects_inconsistent_fields(fields: dict) -> None:
    with pytest.raises(ValueError):
        ScheduleRule(**fields)


# --- describe_rule -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "last Monday 9:05",
            {
                "kind": "nth_weekday",
                "ordinal": "last",
                "weekday": "monday",
                "day": None,
                "time": "09:05",
            },
        ),
        (
            "every Friday 4 pm",
            {"kind": "weekly", "ordinal": None, "weekday": "friday", "day": None, "time": "16:00"},
        ),
        (
            "day 31 09:30",
            {"kind": "month_day", "ordinal": None, "weekday": None, "day": 31, "time": "09:30"},
        ),
        (
            "last working day 17:00",
            {
                "kind": "last_working_day",
                "ordinal": None,
                "weekday": None,
                "day": None,
                "time": "17:00",
            },
        ),
        ("off", {"kind": "off", "ordinal": None, "weekday": None, "day": None, "time": None}),
    ],
)
def test_describe_rule_fields(text: str, expected: dict) -> None:
    assert describe_rule(parse_rule(text)) == expected


# --- next_run: each kind -----------------------------------------------------------------


def test_next_run_off_is_none() -> None:
    assert next_run(parse_rule("off"), ist(2025, 1, 1), KOLKATA) is None


def test_next_run_rejects_naive_after() -> None:
    with pytest.raises(ValueError):
        next_run(parse_rule("day 5 10:00"), dt.datetime(2025, 1, 1), KOLKATA)


def test_next_run_first_monday() -> None:
    result = next_run(parse_rule("first Monday 10:00"), ist(2025, 8, 20), KOLKATA)
    assert result == NextRun(at=ist(2025, 9, 1, 10, 0), moved_from=None)
    assert result is not None
    assert result.at.tzinfo == IST
    assert result.at.utcoffset() == dt.timedelta(hours=5, minutes=30)


def test_next_run_strictly_after_run_time() -> None:
    rule = parse_rule("first Monday 10:00")
    at_run = ist(2025, 9, 1, 10, 0)
    assert next_run(rule, at_run, KOLKATA) == NextRun(ist(2025, 10, 6, 10, 0))
    assert next_run(rule, at_run - dt.timedelta(microseconds=1), KOLKATA) == NextRun(at_run)


def test_next_run_after_in_other_zone() -> None:
    rule = parse_rule("first Monday 10:00")
    # 04:30 UTC is 10:00 in Kolkata, the run time itself.
    after = dt.datetime(2025, 9, 1, 4, 30, tzinfo=dt.UTC)
    assert next_run(rule, after, KOLKATA) == NextRun(ist(2025, 10, 6, 10, 0))


def test_next_run_weekly() -> None:
    rule = parse_rule("every Friday 16:00")
    assert next_run(rule, ist(2025, 9, 5, 15, 59), KOLKATA) == NextRun(ist(2025, 9, 5, 16, 0))
    assert next_run(rule, ist(2025, 9, 5, 16, 0), KOLKATA) == NextRun(ist(2025, 9, 12, 16, 0))
    assert next_run(rule, ist(2025, 9, 6), KOLKATA) == NextRun(ist(2025, 9, 12, 16, 0))


def test_next_run_weekly_across_year_end() -> None:
    rule = parse_rule("every Thursday 9:00")
    assert next_run(rule, ist(2025, 12, 26), KOLKATA) == NextRun(ist(2026, 1, 1, 9, 0))


def test_next_run_second_tuesday_later_this_month() -> None:
    rule = parse_rule("second Tuesday 11:00")
    assert next_run(rule, ist(2025, 9, 1), KOLKATA) == NextRun(ist(2025, 9, 9, 11, 0))
    assert next_run(rule, ist(2025, 9, 10), KOLKATA) == NextRun(ist(2025, 10, 14, 11, 0))


def test_next_run_five_monday_month() -> None:
    # September 2025 has Mondays on 1, 8, 15, 22 and 29.
    after = ist(2025, 9, 2)
    last = next_run(parse_rule("last Monday 10:00"), after, KOLKATA)
    fourth = next_run(parse_rule("fourth Monday 10:00"), after, KOLKATA)
    assert last == NextRun(ist(2025, 9, 29, 10, 0))
    assert fourth == NextRun(ist(2025, 9, 22, 10, 0))


def test_next_run_four_monday_month() -> None:
    # February 2025 has Mondays on 3, 10, 17 and 24, so last and fourth are the same day.
    after = ist(2025, 2, 1)
    last = next_run(parse_rule("last Monday 10:00"), after, KOLKATA)
    fourth = next_run(parse_rule("fourth Monday 10:00"), after, KOLKATA)
    assert last == NextRun(ist(2025, 2, 24, 10, 0))
    assert fourth == NextRun(ist(2025, 2, 24, 10, 0))


def test_next_run_last_friday_next_month() -> None:
    rule = parse_rule("last Friday 17:00")
    assert next_run(rule, ist(2025, 10, 31, 17, 0), KOLKATA) == NextRun(ist(2025, 11, 28, 17, 0))


@pytest.mark.parametrize(
    ("text", "after", "expected"),
    [
        ("day 31 09:30", (2024, 2, 1), (2024, 2, 29)),
        ("day 31 09:30", (2025, 2, 1), (2025, 2, 28)),
        ("day 30 09:30", (2024, 2, 1), (2024, 2, 29)),
        ("day 29 09:30", (2025, 2, 1), (2025, 2, 28)),
        ("day 29 09:30", (2024, 2, 1), (2024, 2, 29)),
        ("last day 09:30", (2024, 2, 1), (2024, 2, 29)),
        ("last day 09:30", (2025, 2, 1), (2025, 2, 28)),
        ("last day 09:30", (2100, 2, 1), (2100, 2, 28)),
        ("last day 09:30", (2000, 2, 1), (2000, 2, 29)),
        ("day 31 09:30", (2025, 4, 1), (2025, 4, 30)),
        ("day 31 09:30", (2025, 5, 1), (2025, 5, 31)),
        ("day 5 09:30", (2025, 12, 6), (2026, 1, 5)),
    ],
)
def test_next_run_month_day_and_last_day(
    text: str, after: tuple[int, int, int], expected: tuple[int, int, int]
) -> None:
    result = next_run(parse_rule(text), ist(*after), KOLKATA)
    assert result == NextRun(ist(*expected, 9, 30))


def test_next_run_day_31_sequence() -> None:
    rule = parse_rule("day 31 09:30")
    runs = []
    after = ist(2025, 1, 31, 9, 30)
    for _ in range(4):
        result = next_run(rule, after, KOLKATA)
        assert result is not None
        runs.append(result.at.date())
        after = result.at
    expected = [
        dt.date(2025, 2, 28),
        dt.date(2025, 3, 31),
        dt.date(2025, 4, 30),
        dt.date(2025, 5, 31),
    ]
    assert runs == expected


# --- next_run: last working day ----------------------------------------------------------


def test_last_working_day_month_ends_on_weekend() -> None:
    # 31 August 2025 is a Sunday.
    rule = parse_rule("last working day 17:00")
    assert next_run(rule, ist(2025, 8, 1), KOLKATA) == NextRun(ist(2025, 8, 29, 17, 0))


def test_last_working_day_weekend_and_good_friday(national: HolidayCalendar) -> None:
    # March 2024 ends Saturday 30 and Sunday 31, and Friday 29 is Good Friday.
    rule = parse_rule("last working day 17:00")
    after = ist(2024, 3, 1)
    assert national.name(dt.date(2024, 3, 29)) == "Good Friday"
    assert next_run(rule, after, KOLKATA) == NextRun(ist(2024, 3, 29, 17, 0))
    assert next_run(rule, after, KOLKATA, holidays=national) == NextRun(ist(2024, 3, 28, 17, 0))


def test_last_working_day_last_weekday_is_holiday(national: HolidayCalendar) -> None:
    # Tuesday 31 March 2026 is Mahavira's Birthday, a national holiday.
    rule = parse_rule("last working day 17:00")
    assert national.is_holiday(dt.date(2026, 3, 31))
    result = next_run(rule, ist(2026, 3, 1), KOLKATA, holidays=national, move_off_holidays=True)
    assert result == NextRun(ist(2026, 3, 30, 17, 0), moved_from=None)


def test_last_working_day_strictly_after(national: HolidayCalendar) -> None:
    rule = parse_rule("last working day 17:00")
    result = next_run(rule, ist(2026, 3, 30, 17, 0), KOLKATA, holidays=national)
    assert result == NextRun(ist(2026, 4, 30, 17, 0))


# --- next_run: moving off weekends and holidays -------------------------------------------


def test_move_first_monday_off_gandhi_jayanti(national: HolidayCalendar) -> None:
    # Monday 2 October 2023, the first Monday of the month, is Gandhi Jayanti.
    rule = parse_rule("first Monday 10:00")
    result = next_run(rule, ist(2023, 9, 30), KOLKATA, holidays=national, move_off_holidays=True)
    assert result == NextRun(at=ist(2023, 10, 3, 10, 0), moved_from=ist(2023, 10, 2, 10, 0))


def test_move_keeps_run_after_original_time(national: HolidayCalendar) -> None:
    # The original run time has passed but the moved run has not.
    rule = parse_rule("first Monday 10:00")
    after = ist(2023, 10, 2, 12, 0)
    result = next_run(rule, after, KOLKATA, holidays=national, move_off_holidays=True)
    assert result == NextRun(at=ist(2023, 10, 3, 10, 0), moved_from=ist(2023, 10, 2, 10, 0))

    after_moved = ist(2023, 10, 3, 10, 0)
    result = next_run(rule, after_moved, KOLKATA, holidays=national, move_off_holidays=True)
    assert result == NextRun(ist(2023, 11, 6, 10, 0))


def test_move_disabled_keeps_holiday(national: HolidayCalendar) -> None:
    rule = parse_rule("first Monday 10:00")
    result = next_run(rule, ist(2023, 9, 30), KOLKATA, holidays=national)
    assert result == NextRun(ist(2023, 10, 2, 10, 0))


def test_move_republic_day_on_monday(national: HolidayCalendar) -> None:
    rule = parse_rule("day 26 15:00")
    result = next_run(rule, ist(2026, 1, 1), KOLKATA, holidays=national, move_off_holidays=True)
    assert result == NextRun(at=ist(2026, 1, 27, 15, 0), moved_from=ist(2026, 1, 26, 15, 0))


def test_move_christmas_on_thursday(national: HolidayCalendar) -> None:
    rule = parse_rule("last Thursday 10:00")
    result = next_run(rule, ist(2025, 12, 1), KOLKATA, holidays=national, move_off_holidays=True)
    assert result == NextRun(at=ist(2025, 12, 26, 10, 0), moved_from=ist(2025, 12, 25, 10, 0))


def test_move_past_weekend_holiday(national: HolidayCalendar) -> None:
    # Christmas 2027 is a Saturday, so the run moves past Sunday to Monday 27.
    rule = parse_rule("day 25 10:00")
    result = next_run(rule, ist(2027, 12, 1), KOLKATA, holidays=national, move_off_holidays=True)
    assert result == NextRun(at=ist(2027, 12, 27, 10, 0), moved_from=ist(2027, 12, 25, 10, 0))


def test_move_weekend_without_calendar() -> None:
    rule = parse_rule("every Saturday 10:00")
    result = next_run(rule, ist(2025, 9, 2), KOLKATA, move_off_holidays=True)
    assert result == NextRun(at=ist(2025, 9, 8, 10, 0), moved_from=ist(2025, 9, 6, 10, 0))

    # Saturday 30 August moves to Monday 1 September, which is still ahead at midnight.
    result = next_run(rule, ist(2025, 9, 1), KOLKATA, move_off_holidays=True)
    assert result == NextRun(at=ist(2025, 9, 1, 10, 0), moved_from=ist(2025, 8, 30, 10, 0))


def test_move_state_holiday() -> None:
    # 1 May 2025, the first Thursday, is Maharashtra Day but not a national holiday.
    rule = parse_rule("first Thursday 10:00")
    after = ist(2025, 4, 20)
    maharashtra = HolidayCalendar("Maharashtra")
    moved = next_run(rule, after, KOLKATA, holidays=maharashtra, move_off_holidays=True)
    national = next_run(rule, after, KOLKATA, holidays=HolidayCalendar(), move_off_holidays=True)
    assert moved == NextRun(at=ist(2025, 5, 2, 10, 0), moved_from=ist(2025, 5, 1, 10, 0))
    assert national == NextRun(ist(2025, 5, 1, 10, 0))


# --- next_run: daylight saving time --------------------------------------------------------


def test_dst_gap_moves_forward() -> None:
    # Clocks in London go from 01:00 GMT to 02:00 BST on Sunday 30 March 2025.
    rule = parse_rule("last Sunday 1:30")
    result = next_run(rule, dt.datetime(2025, 3, 1, tzinfo=UK), LONDON)
    assert result is not None
    assert result.at == dt.datetime(2025, 3, 30, 2, 30, tzinfo=UK)
    assert result.at.utcoffset() == dt.timedelta(hours=1)
    assert result.at.astimezone(dt.UTC) == dt.datetime(2025, 3, 30, 1, 30, tzinfo=dt.UTC)
    assert result.moved_from is None


def test_dst_keeps_local_time_across_change() -> None:
    rule = parse_rule("every Sunday 10:00")
    before = next_run(rule, dt.datetime(2025, 3, 22, tzinfo=UK), LONDON)
    after = next_run(rule, dt.datetime(2025, 3, 29, tzinfo=UK), LONDON)
    assert before is not None and after is not None
    assert before.at.astimezone(dt.UTC) == dt.datetime(2025, 3, 23, 10, 0, tzinfo=dt.UTC)
    assert after.at.astimezone(dt.UTC) == dt.datetime(2025, 3, 30, 9, 0, tzinfo=dt.UTC)
    assert after.at.hour == 10


def test_dst_gap_strictly_after() -> None:
    rule = parse_rule("every Sunday 1:30")
    gap_run = dt.datetime(2025, 3, 30, 1, 30, tzinfo=dt.UTC)
    result = next_run(rule, gap_run, LONDON)
    assert result is not None
    assert result.at == dt.datetime(2025, 4, 6, 1, 30, tzinfo=UK)


def test_kolkata_offset_constant() -> None:
    rule = parse_rule("every Monday 9:00")
    after = ist(2025, 1, 1)
    for _ in range(60):
        result = next_run(rule, after, KOLKATA)
        assert result is not None
        assert result.at.utcoffset() == dt.timedelta(hours=5, minutes=30)
        assert result.at.time() == dt.time(9, 0)
        after = result.at


# --- HolidayCalendar ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "name_part"),
    [
        (dt.date(2025, 1, 26), "Republic Day"),
        (dt.date(2025, 8, 15), "Independence Day"),
        (dt.date(2024, 10, 2), "Gandhi"),
        (dt.date(2025, 12, 25), "Christmas"),
    ],
)
def test_calendar_national_holidays(
    national: HolidayCalendar, day: dt.date, name_part: str
) -> None:
    assert national.is_holiday(day)
    holiday_name = national.name(day)
    assert holiday_name is not None
    assert name_part in holiday_name


def test_calendar_ordinary_day(national: HolidayCalendar) -> None:
    day = dt.date(2025, 9, 10)
    assert not national.is_holiday(day)
    assert national.name(day) is None
    assert national.is_working_day(day)
    assert not national.is_working_day(dt.date(2025, 9, 13))


def test_calendar_state_holiday() -> None:
    maharashtra_day = dt.date(2025, 5, 1)
    assert HolidayCalendar("Maharashtra").is_holiday(maharashtra_day)
    assert HolidayCalendar("Maharashtra").name(maharashtra_day) == "Maharashtra Day"
    assert not HolidayCalendar().is_holiday(maharashtra_day)
    assert not HolidayCalendar("Delhi").is_holiday(maharashtra_day)


@pytest.mark.parametrize(
    ("state", "code"),
    [
        ("Maharashtra", "MH"),
        ("  maharashtra ", "MH"),
        ("MH", "MH"),
        ("Tamil Nadu", "TN"),
        ("tamil  nadu", "TN"),
        ("Telangana", "TS"),
        ("Odisha", "OD"),
        ("Orissa", "OD"),
        ("Jammu & Kashmir", "JK"),
        ("Delhi", "DL"),
        ("Atlantis", None),
        ("", None),
        (None, None),
    ],
)
def test_state_subdivision_names(state: str | None, code: str | None) -> None:
    assert state_subdivision(state) == code


def test_calendar_unknown_state_falls_back(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="bot.schedule_rules"):
        unknown = HolidayCalendar("Atlantis")
    assert unknown.subdivision is None
    assert "Atlantis" in caplog.text
    assert unknown.is_holiday(dt.date(2025, 1, 26))


def test_calendar_cache_shared() -> None:
    day = dt.date(2031, 8, 15)
    first = HolidayCalendar("Maharashtra")._holidays_for(day)
    second = HolidayCalendar("mahārāshtra")._holidays_for(day)
    assert first is second
    assert first is _india_holidays((2031,), "MH")
