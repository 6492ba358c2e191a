"""DateTimeField: dates and times typed in English and Hindi, time zones, bounds and display."""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.forms import DateTimeField, FieldError

KOLKATA = zoneinfo.ZoneInfo("Asia/Kolkata")
LONDON = zoneinfo.ZoneInfo("Europe/London")
# A Friday, 14:05 in India.
TODAY = dt.date(2026, 12, 4)
NOW = dt.datetime(2026, 12, 4, 14, 5, tzinfo=KOLKATA)
MEETING = DateTimeField(timezone="Asia/Kolkata", earliest=NOW)


def at(day: int, hour: int, minute: int = 0, month: int = 12, year: int = 2026) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=KOLKATA)


def parse(field: DateTimeField, text: str, locale: str = "en") -> dt.datetime:
    return field.parse(text, today=TODAY, locale=locale)


def error(field: DateTimeField, text: str, locale: str = "en") -> FieldError:
    with pytest.raises(FieldError) as caught:
        field.parse(text, today=TODAY, locale=locale)
    return caught.value


# --- Valid answers ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("15 Dec 2026 10:30", at(15, 10, 30)),
        ("15/12/2026 10.30", at(15, 10, 30)),
        ("2026-12-15 17:00", at(15, 17)),
        ("15/12 5:30 pm", at(15, 17, 30)),
        ("15 Dec 10 am", at(15, 10)),
        ("15 Dec 10am", at(15, 10)),
        ("15 Dec 5 p.m.", at(15, 17)),
        ("15 Dec 12 pm", at(15, 12)),
        ("16 Dec 12 am", at(16, 0)),
        ("15 Dec at 10:30", at(15, 10, 30)),
        ("15.12 10.30", at(15, 10, 30)),
        ("10:30 15/12", at(15, 10, 30)),
        ("5 pm tomorrow", at(5, 17)),
        ("tomorrow 5 pm", at(5, 17)),
        ("today 18:00", at(4, 18)),
        ("friday 10 am", at(11, 10)),
        ("next monday 9:15", at(7, 9, 15)),
        ("Tue 15 Dec 2026, 10:30", at(15, 10, 30)),
        ("18:00", at(4, 18)),
        ("10.30 pm", at(4, 22, 30)),
        ("at 6 pm", at(4, 18)),
    ],
)
def test_datetime_accepts(typed, expected):
    assert parse(MEETING, typed) == expected


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("कल शाम 5 बजे", at(5, 17)),
        ("kal shaam 5 baje", at(5, 17)),
        ("शाम 5 बजे", at(4, 17)),
        ("शाम ५:३० बजे", at(4, 17, 30)),
        ("5 बजे शाम", at(4, 17)),
        ("15 दिसंबर को सुबह 10 बजे", at(15, 10)),
        ("१५/१२/२०२६ १०:३०", at(15, 10, 30)),
        ("परसों दोपहर 2 बजे", at(6, 14)),
        ("कल दोपहर 12 बजे", at(5, 12)),
        ("कल रात 9 बजे", at(5, 21)),
        ("कल रात 2 बजे", at(5, 2)),
        ("शुक्रवार सुबह 11 बजे", at(11, 11)),
        ("मंगलवार 15 दिस॰ 2026, 10:30", at(15, 10, 30)),
        ("शाम 17:00", at(4, 17)),
    ],
)
def test_datetime_accepts_hindi(typed, expected):
    assert parse(MEETING, typed, "hi") == expected


def test_datetime_hour_words_without_day_part():
    # "बजे" marks a number as a time; a single-digit hour up to 6 is a meeting hour, so pm.
    assert parse(MEETING, "15 Dec 5 बजे") == at(15, 17)
    assert parse(MEETING, "15 Dec 17 hrs") == at(15, 17)
    assert parse(MEETING, "15 Dec 9 बजे") == at(15, 9)


def test_single_digit_afternoon_hours_read_as_pm():
    assert parse(MEETING, "15 Dec 4:30") == at(15, 16, 30)
    assert parse(MEETING, "15 Dec 6:00") == at(15, 18)
    assert parse(MEETING, "15 Dec 7:00") == at(15, 7)
    assert parse(MEETING, "15 Dec 04:30") == at(15, 4, 30)
    assert parse(MEETING, "15 Dec 4:30 am") == at(15, 4, 30)
    assert parse(MEETING, "15 Dec सुबह 5 बजे") == at(15, 5)


def test_time_alone_later_today():
    assert parse(MEETING, "14:30") == at(4, 14, 30)


def test_time_alone_at_earliest_minute():
    field = DateTimeField(timezone="Asia/Kolkata", earliest=at(4, 14, 0))
    assert parse(field, "14:00") == at(4, 14)


def test_time_alone_already_past():
    problem = error(MEETING, "10:30")
    assert problem.code == "datetime_past"
    assert problem.params["time_only"] is True
    assert problem.params["time"] == "10:30"
    assert problem.params["earliest"] == "Fri 4 Dec 2026, 14:05"
    assert problem.params["earliest_is_now"] is True


def test_past_with_later_earliest_not_now():
    field = DateTimeField(timezone="Asia/Kolkata", earliest=at(4, 18), earliest_is_now=False)
    problem = error(field, "16:00")
    assert problem.code == "datetime_past"
    assert problem.params["earliest_is_now"] is False
    assert problem.params["earliest"] == "Fri 4 Dec 2026, 18:00"


def test_past_message_names_earliest_in_hindi():
    problem = error(MEETING, "10:30", "hi")
    assert problem.params["earliest"] == "शुक्रवार 4 दिस॰ 2026, 14:05"


def test_date_in_past():
    problem = error(MEETING, "1/1/2026 10:00")
    assert problem.code == "datetime_past"
    assert problem.params["time_only"] is False
    assert problem.params["example"] == "05/12/2026 10:00"


def test_earlier_today_is_past():
    assert error(MEETING, "today 9 am").code == "datetime_past"


def test_without_earliest_counts_from_today():
    field = DateTimeField(timezone="Asia/Kolkata")
    assert parse(field, "10:30") == at(4, 10, 30)
    assert parse(field, "tomorrow 9:00") == at(5, 9)


def test_too_far_ahead():
    problem = error(MEETING, "15/12/2028 10:00")
    assert problem.code == "datetime_too_far"
    assert problem.params["latest"] == dt.date(2027, 12, 5)


def test_latest_days_open():
    field = DateTimeField(timezone="Asia/Kolkata", earliest=NOW, latest_days=None)
    assert parse(field, "15/12/2030 10:00") == at(15, 10, year=2030)


def test_latest_days_zero_means_today_only():
    field = DateTimeField(timezone="Asia/Kolkata", earliest=NOW, latest_days=0)
    assert parse(field, "18:00") == at(4, 18)
    assert error(field, "tomorrow 10:00").code == "datetime_too_far"


# --- Errors -----------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["15 Dec", "tomorrow", "friday", "कल", "15/12/2026"])
def test_date_without_time(typed):
    problem = error(MEETING, typed)
    assert problem.code == "time_missing"
    assert problem.params == {"typed": typed, "dotted": False}


@pytest.mark.parametrize("typed", ["15.12", "10.10"])
def test_dotted_date_alone_needs_time(typed):
    problem = error(MEETING, typed)
    assert problem.code == "time_missing"
    assert problem.params["dotted"] is True


def test_dotted_time_alone_that_is_no_date():
    # "18.30" cannot be a date, because no month 30 exists.
    assert parse(MEETING, "18.30") == at(4, 18, 30)


@pytest.mark.parametrize(
    "typed", ["25:00", "15 Dec 10:75", "13 pm", "0 am", "morning 17:00", "15 Dec 24:00"]
)
def test_time_invalid(typed):
    problem = error(MEETING, typed)
    assert problem.code == "time_invalid"
    assert problem.params["typed"] == typed


@pytest.mark.parametrize("typed", ["soon", "next week 10", "tomorrow 10", ",", "at"])
def test_datetime_invalid(typed):
    problem = error(MEETING, typed)
    assert problem.code == "datetime_invalid"
    assert problem.params["typed"] == typed


def test_blank_answer_is_empty():
    assert error(MEETING, "   ").code == "empty"


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("31/02 10:00", "date_impossible"),
        ("15/13/2026 10:00", "date_no_such_month"),
        ("Dec 2026 10:30", "date_day_missing"),
    ],
)
def test_date_part_errors_quote_whole_answer(typed, code):
    problem = error(MEETING, typed)
    assert problem.code == code
    assert problem.params["typed"] == typed


def test_weekday_must_match_date():
    problem = error(MEETING, "Mon 15 Dec 2026 10:30")
    assert problem.code == "date_weekday_mismatch"
    assert problem.params["date"] == dt.date(2026, 12, 15)
    assert problem.params["weekday"] == 0


# --- Time zones -------------------------------------------------------------------------


def test_value_is_in_field_zone():
    field = DateTimeField(timezone="Europe/London", earliest=NOW)
    value = parse(field, "15 Dec 10:30")
    assert value == dt.datetime(2026, 12, 15, 10, 30, tzinfo=LONDON)
    assert value.utcoffset() == dt.timedelta(0)
    assert field.to_json(value) == "2026-12-15T10:30:00+00:00"


def test_today_is_in_field_zone():
    # At 02:00 on 5 December in India it is still 4 December in London.
    now = dt.datetime(2026, 12, 5, 2, 0, tzinfo=KOLKATA)
    field = DateTimeField(timezone="Europe/London", earliest=now)
    assert parse(field, "21:00") == dt.datetime(2026, 12, 4, 21, 0, tzinfo=LONDON)
    assert parse(field, "tomorrow 9:00") == dt.datetime(2026, 12, 5, 9, 0, tzinfo=LONDON)


def test_time_already_past_in_field_zone():
    # 20:00 in London is 01:30 the next day in India, so London 20:00 has already passed.
    now = dt.datetime(2026, 12, 5, 2, 0, tzinfo=KOLKATA)
    field = DateTimeField(timezone="Europe/London", earliest=now)
    problem = error(field, "20:00")
    assert problem.code == "datetime_past"
    assert problem.params["earliest"] == "Fri 4 Dec 2026, 20:30"


def test_daylight_saving_gap_moves_forward():
    # London moves its clocks from 01:00 to 02:00 on 28 March 2027.
    field = DateTimeField(timezone="Europe/London", earliest=NOW, latest_days=None)
    value = parse(field, "29/03/2027 01:30")
    assert value.utcoffset() == dt.timedelta(hours=1)
    skipped = parse(field, "28/03/2027 01:30")
    assert (skipped.hour, skipped.minute) == (2, 30)


def test_rejects_unknown_zone():
    with pytest.raises(ValueError, match="IANA"):
        DateTimeField(timezone="India/Delhi")


def test_rejects_naive_earliest():
    with pytest.raises(ValueError, match="UTC offset"):
        DateTimeField(timezone="Asia/Kolkata", earliest=dt.datetime(2026, 12, 4, 14, 5))


# --- Display and JSON -------------------------------------------------------------------


def test_display_in_english_and_hindi():
    value = at(15, 10, 30)
    assert MEETING.display(value, "en") == "Tue 15 Dec 2026, 10:30"
    assert MEETING.display(value, "hi") == "मंगलवार 15 दिस॰ 2026, 10:30"


def test_display_converts_to_field_zone():
    value = dt.datetime(2026, 12, 15, 5, 0, tzinfo=dt.UTC)
    assert MEETING.display(value, "en") == "Tue 15 Dec 2026, 10:30"


def test_json_round_trip():
    value = at(15, 10, 30)
    data = MEETING.to_json(value)
    assert data == "2026-12-15T10:30:00+05:30"
    restored = MEETING.from_json(json.loads(json.dumps(data)))
    assert restored == value
    assert restored.tzinfo == KOLKATA


def test_from_json_converts_other_offset():
    restored = MEETING.from_json("2026-12-15T05:00:00+00:00")
    assert restored == at(15, 10, 30)
    assert restored.hour == 10


@pytest.mark.parametrize("data", ["2026-12-15T10:30:00", 1765775400, "15 Dec"])
def test_from_json_rejects_bad_data(data):
    with pytest.raises((TypeError, ValueError)):
        MEETING.from_json(data)


@settings(max_examples=200, deadline=None)
@given(
    value=st.datetimes(
        min_value=dt.datetime(2026, 12, 5), max_value=dt.datetime(2027, 12, 4, 23, 59)
    ),
    locale=st.sampled_from(["en", "hi"]),
)
def test_display_parses_back(value, locale):
    aware = value.replace(second=0, microsecond=0, tzinfo=KOLKATA)
    assert parse(MEETING, MEETING.display(aware, locale), locale) == aware


def test_date_without_year_just_passed_is_past():
    problem = error(MEETING, "1 Dec 11:00")
    assert problem.code == "datetime_past"


def test_date_without_year_long_past_is_next_year():
    assert parse(MEETING, "15 Jan 11:00") == dt.datetime(2027, 1, 15, 11, 0, tzinfo=KOLKATA)


def test_weekday_alone_stays_next_one():
    # 4 Dec 2026 is a Friday, so Monday is 7 Dec.
    assert parse(MEETING, "monday 11:00") == at(7, 11)
