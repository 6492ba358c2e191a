"""The run plan: periods, holiday moves, catch-up, staleness, pauses, relative jobs."""

from __future__ import annotations

import dataclasses
import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from bot.schedule_plan import (
    PLANNED_JOBS,
    PREVIEW_LEAD,
    CheckinRun,
    Plan,
    ScheduleState,
    asks_about_own_month,
    report_month,
    round_month,
)
from bot.schedule_rules import HolidayCalendar, parse_rule
from storage.schedules import JOB_SPECS

INDIA = ZoneInfo("Asia/Kolkata")
SINCE = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)


def india(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=INDIA)


def plan(state: str | None = None, since: dt.datetime = SINCE, **rules: str) -> Plan:
    """A plan with the default rules, `rules` replacing some; a "paused:" prefix pauses one."""
    schedules = {}
    for spec in JOB_SPECS:
        rule = rules.get(spec.job, spec.default)
        paused = rule.startswith("paused:")
        schedules[spec.job] = ScheduleState(rule.removeprefix("paused:"), paused, since)
    return Plan(schedules, "Asia/Kolkata", HolidayCalendar(state))


@pytest.mark.parametrize(
    ("rule", "own_month"),
    [
        ("first monday 10:00", False),
        ("third monday 10:00", False),
        ("fourth monday 10:00", True),
        ("last friday 10:00", True),
        ("day 21 10:00", False),
        ("day 22 10:00", True),
        ("last day 10:00", True),
        ("last working day 17:00", True),
    ],
)
def test_report_month_by_rule(rule: str, own_month: bool) -> None:
    parsed = parse_rule(rule)
    assert asks_about_own_month(parsed) is own_month
    expected = dt.date(2031, 3, 1) if own_month else dt.date(2031, 2, 1)
    assert report_month(parsed, dt.date(2031, 3, 28)) == expected


def test_third_monday_asks_each_month_once() -> None:
    # The third Monday falls on the 15th to the 21st: every month is still asked once.
    runs = plan(checkin="third monday 10:00")
    checkins = list(runs.occurrences("checkin", india(2031, 7, 1), india(2031, 10, 31)))
    assert [o.period for o in checkins] == ["2031-06", "2031-07", "2031-08", "2031-09"]


def test_default_cycle_of_a_month_with_five_mondays() -> None:
    # March 2031 has Mondays on 3, 10, 17, 24 and 31: only the first is the check-in.
    runs = plan()
    start = india(2031, 3, 1)
    checkins = list(runs.occurrences("checkin", start, india(2031, 3, 31, 23)))
    assert [o.at for o in checkins] == [india(2031, 3, 3, 10)]
    checkin = checkins[0]
    assert checkin.period == "2031-02"
    assert checkin.month == dt.date(2031, 2, 1)

    after = {job: runs.next_due(job, start) for job in ("reminder_1", "reminder_2", "close")}
    assert {job: o.at for job, o in after.items() if o} == {
        "reminder_1": india(2031, 3, 6, 10),
        "reminder_2": india(2031, 3, 10, 10),
        "close": india(2031, 3, 13, 10),
    }
    assert {o.period for o in after.values() if o} == {"2031-02"}
    # The check-in stops being useful when its close runs.
    assert checkin.stale_at == india(2031, 3, 13, 10)


def test_february_and_the_thirty_first() -> None:
    runs = plan(checkin="day 31 09:30")
    checkins = list(runs.occurrences("checkin", india(2031, 1, 1), india(2031, 5, 1)))
    # One run per month, February included, never two in one month.
    months = [(o.at.astimezone(INDIA).year, o.at.astimezone(INDIA).month) for o in checkins]
    assert months == [(2031, 1), (2031, 2), (2031, 3), (2031, 4)]
    assert len({o.period for o in checkins}) == len(checkins)
    for occurrence in checkins:
        assert occurrence.at.astimezone(INDIA).time() == dt.time(9, 30)
        # Late in the month, so each asks about its own month.
        local = occurrence.at.astimezone(INDIA).date()
        assert occurrence.month == local.replace(day=1)


def test_last_working_day_recognition_with_its_preview() -> None:
    runs = plan()
    post = runs.next_due("recognition", india(2031, 5, 1))
    preview = runs.next_due("recognition_preview", india(2031, 5, 1))
    assert post is not None and preview is not None
    # 31 May 2031 is a Saturday, so the last working day is Friday the 30th.
    assert post.at == india(2031, 5, 30, 17)
    assert post.period == preview.period == "2031-05"
    assert preview.at == post.at - PREVIEW_LEAD
    # The preview is useless once the post went out.
    assert preview.stale_at == post.at


def test_checkin_on_a_national_holiday_moves_to_the_next_working_day() -> None:
    # The first Monday of October 2033 is Dussehra.
    runs = plan(state="Maharashtra")
    checkin = runs.next_due("checkin", india(2033, 10, 1))
    assert checkin is not None
    assert checkin.moved_from == india(2033, 10, 3, 10)
    assert checkin.at == india(2033, 10, 4, 10)
    # The period stays the month asked about.
    assert checkin.period == "2033-09"
    reminder = runs.next_due("reminder_1", india(2033, 10, 1))
    assert reminder is not None
    # Reminders count from the day the check-in actually went out.
    assert reminder.at == india(2033, 10, 7, 10)


def test_state_holidays_move_reminders_but_not_the_close() -> None:
    # Check-in on Friday 21 March 2031; 3 days later is Gudi Padwa, a Maharashtra holiday.
    rules = {"checkin": "day 21 10:00", "close": "3"}
    with_state = plan(state="Maharashtra", **rules | {"close": "10"})
    reminder = with_state.next_due("reminder_1", india(2031, 3, 22))
    assert reminder is not None
    assert reminder.moved_from == india(2031, 3, 24, 10)
    assert reminder.at == india(2031, 3, 25, 10)

    national_only = plan(**rules | {"close": "10"})
    reminder = national_only.next_due("reminder_1", india(2031, 3, 22))
    assert reminder is not None and reminder.moved_from is None
    assert reminder.at == india(2031, 3, 24, 10)

    close_on_holiday = plan(state="Maharashtra", **rules | {"reminder_1": "1", "reminder_2": "2"})
    close = close_on_holiday.next_due("close", india(2031, 3, 22))
    assert close is not None and close.moved_from is None
    assert close.at == india(2031, 3, 24, 10)


def test_digest_on_diwali_moves_to_monday() -> None:
    runs = plan()
    digest = runs.next_due("digest", india(2031, 11, 10))
    assert digest is not None
    assert digest.moved_from == india(2031, 11, 14, 16)
    assert digest.at == india(2031, 11, 17, 16)
    # The period is the scheduled day, so the move cannot make a second run.
    assert digest.period == "2031-11-14"


def test_latest_due_after_two_days_down_is_one_catch_up() -> None:
    runs = plan()
    # The bot was down from Sunday to Wednesday across Monday's check-in.
    now = india(2031, 3, 5, 11)
    due = runs.latest_due("checkin", now)
    assert due is not None
    assert due.at == india(2031, 3, 3, 10)
    assert due.is_catch_up(now)
    assert not due.is_stale(now)
    # The latest reminder due is the last cycle's, useless by now.
    reminder = runs.latest_due("reminder_1", now)
    assert reminder is not None
    assert reminder.period == "2031-01"
    assert reminder.is_stale(now)
    # On time it is no catch-up.
    assert not due.is_catch_up(india(2031, 3, 3, 10, 1))


def test_runs_after_the_close_are_stale() -> None:
    runs = plan()
    now = india(2031, 3, 14)
    checkin = runs.latest_due("checkin", now)
    reminder_1 = runs.latest_due("reminder_1", now)
    reminder_2 = runs.latest_due("reminder_2", now)
    close = runs.latest_due("close", now)
    assert checkin is not None and checkin.is_stale(now)
    assert reminder_1 is not None and reminder_1.is_stale(now)
    assert reminder_2 is not None and reminder_2.is_stale(now)
    assert close is not None and not close.is_stale(now)


def test_first_reminder_is_stale_once_the_second_is_due() -> None:
    runs = plan()
    reminder_1 = runs.latest_due("reminder_1", india(2031, 3, 10, 10, 30))
    assert reminder_1 is not None
    # Three days of use, as the second reminder is four days later.
    assert reminder_1.stale_at == india(2031, 3, 9, 10)
    runs = plan(reminder_2="4")
    reminder_1 = runs.latest_due("reminder_1", india(2031, 3, 6, 10, 30))
    assert reminder_1 is not None
    assert reminder_1.stale_at == india(2031, 3, 7, 10)


def test_nothing_due_before_the_schedule_existed() -> None:
    runs = plan(since=india(2031, 3, 4))
    now = india(2031, 3, 5)
    assert runs.latest_due("checkin", now) is None
    # The reminders belong to that check-in's cycle, which started before.
    assert runs.latest_due("reminder_1", india(2031, 3, 7)) is not None
    assert runs.next_due("checkin", now) is not None


def test_reminders_of_a_paused_checkin_do_not_run() -> None:
    runs = plan(checkin="paused:first monday 10:00")
    start = india(2031, 3, 1)
    for job in ("checkin", "reminder_1", "reminder_2", "close"):
        assert runs.next_due(job, start) is None
        assert runs.latest_due(job, india(2031, 3, 20)) is None
    # Paused keeps the rule: the run it would have is still known.
    would = runs.next_due("checkin", start, ignore_pause=True)
    assert would is not None and would.at == india(2031, 3, 3, 10)


def test_off_rules_never_run() -> None:
    runs = plan(checkin="off", digest="off", action_due="off", recognition="off")
    start = india(2031, 3, 1)
    for job in PLANNED_JOBS:
        assert runs.next_due(job, start) is None, job


def test_action_reminders_run_daily_and_expire_at_midnight() -> None:
    runs = plan(action_due="08:15")
    due = runs.latest_due("action_due", india(2031, 3, 5, 20))
    assert due is not None
    assert due.at == india(2031, 3, 5, 8, 15)
    assert due.period == "2031-03-05"
    assert due.stale_at == india(2031, 3, 6)
    assert runs.latest_due("action_due", india(2031, 3, 5, 8)) is not None
    assert runs.latest_due("action_due", india(2031, 3, 5, 8)).period == "2031-03-04"  # type: ignore[union-attr]


def test_earliest_next_is_the_first_job_due() -> None:
    runs = plan()
    now = india(2031, 3, 2, 12)
    assert runs.earliest_next(now) == india(2031, 3, 3, 9)


@pytest.mark.parametrize("job", PLANNED_JOBS)
def test_latest_due_never_in_the_future(job: str) -> None:
    runs = plan()
    for day in range(1, 29, 3):
        now = india(2031, 2, day, 12)
        due = runs.latest_due(job, now)
        if due is not None:
            assert due.at <= now
            assert due.period


def test_round_month_stays_until_the_close() -> None:
    # A check-in on the 14th asks about the month before; its round runs to the 24th.
    runs = plan(checkin="day 14 10:00")
    assert round_month(runs, india(2031, 3, 17, 12)) == dt.date(2031, 2, 1)
    # Between rounds it is the current month.
    assert round_month(runs, india(2031, 3, 13)) == dt.date(2031, 3, 1)
    assert round_month(runs, india(2031, 3, 25)) == dt.date(2031, 3, 1)


def anchored(
    runs: list[CheckinRun], read_at: dt.datetime, since: dt.datetime = SINCE, **rules: str
) -> Plan:
    """A plan whose rounds count from the check-ins in `runs`, as read at `read_at`."""
    base = plan(since=since, **rules)
    return Plan(
        base.schedules,
        "Asia/Kolkata",
        HolidayCalendar(),
        checkin_runs=runs,
        runs_read_at=read_at,
    )


FEBRUARY_ROUND = CheckinRun(
    "2031-02", dt.date(2031, 2, 1), india(2031, 3, 3, 10), india(2031, 3, 3, 10)
)


def test_round_goes_on_after_the_checkin_rule_changed() -> None:
    # The check-in moved to the 20th a day after February's round began.
    changed = india(2031, 3, 4, 12)
    schedules = plan().schedules
    states = dict(schedules)
    states["checkin"] = ScheduleState("day 20 10:00", False, changed)
    runs = Plan(
        states,
        "Asia/Kolkata",
        HolidayCalendar(),
        checkin_runs=[FEBRUARY_ROUND],
        runs_read_at=changed,
    )
    reminder = runs.latest_due("reminder_1", india(2031, 3, 6, 10, 1))
    close = runs.next_due("close", india(2031, 3, 6, 10, 1))
    assert reminder is not None
    assert reminder.period == "2031-02"
    assert reminder.at == india(2031, 3, 6, 10)
    assert close is not None
    assert close.at == india(2031, 3, 13, 10)
    assert close.period == "2031-02"


def test_no_reminder_for_a_checkin_that_never_ran() -> None:
    runs = anchored([], india(2031, 2, 3, 9), checkin="day 31 10:00")
    # The rule puts a check-in on 31 January, before the schedule said so; it never ran.
    assert runs.latest_due("reminder_1", india(2031, 2, 3, 10, 1)) is None
    assert runs.latest_due("close", india(2031, 2, 10, 10, 1)) is None
    # The next round, still to come, is predicted from the rule.
    upcoming = runs.next_due("reminder_1", india(2031, 2, 3, 10, 1))
    assert upcoming is not None
    assert upcoming.at == india(2031, 3, 3, 10)


def test_reminders_before_a_late_checkin_are_stale() -> None:
    # The check-in due on 3 March went out on the 13th, half an hour before the close.
    late = CheckinRun(
        "2031-02", dt.date(2031, 2, 1), india(2031, 3, 3, 10), india(2031, 3, 13, 9, 30)
    )
    now = india(2031, 3, 13, 9, 31)
    runs = anchored([late], now)
    reminder = runs.latest_due("reminder_2", now)
    assert reminder is not None
    assert reminder.is_stale(now)
    close = runs.next_due("close", now)
    assert close is not None
    assert close.at == india(2031, 3, 13, 10)


def test_round_keeps_the_close_it_announced() -> None:
    # The close moved from 10 to 8 days after the February round began.
    announced = dataclasses.replace(FEBRUARY_ROUND, closes_at=india(2031, 3, 13, 10))
    runs = anchored([announced], india(2031, 3, 4, 12), close="8")
    close = runs.next_due("close", india(2031, 3, 4, 12))
    assert close is not None
    assert close.period == "2031-02"
    assert close.at == india(2031, 3, 13, 10)
    # The next round follows the new rule.
    later = runs.next_due("close", india(2031, 3, 14))
    assert later is not None
    assert later.at == india(2031, 4, 15, 10)


def test_next_checkin_skips_a_month_already_asked() -> None:
    # Moved to the third Monday after February was asked on 3 March: 17 March would ask
    # about February again, so the next check-in shown is April's.
    runs = anchored([FEBRUARY_ROUND], india(2031, 3, 4, 12), checkin="third monday 11:30")
    upcoming = runs.next_due("checkin", india(2031, 3, 4, 12))
    assert upcoming is not None
    assert upcoming.period == "2031-03"
    assert upcoming.at == india(2031, 4, 21, 11, 30)
