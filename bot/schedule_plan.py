"""When each scheduled job of a community runs, for which period, and until when it is useful.

Plain functions over the stored rules: the scheduler asks for the latest run that came
due, /schedule for the next one. A run is an `Occurrence` with a period key; the
`job_runs` table keeps one run per (job, community, period).

Periods:
- the check-in, its reminders and its close share the month they ask about, "2026-11".
  A check-in in the first half of a month asks about the month before, one in the
  second half about its own month, so "first Monday" collects the month that ended;
- the recognition post and its preview: the month the post runs in;
- the digest and the action reminders: the local date of the run, "2026-12-04".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.schedule_rules import HolidayCalendar, next_run
from storage.db import as_utc
from storage.models import Community, Schedule
from storage.schedules import JOBS, RuleShape, calendar_rule, ensure_schedules, parse_stored

# The preview of the recognition post reaches the facilitators this long before the post.
PREVIEW_LEAD = dt.timedelta(hours=3)
# A run found due later than this after its time is logged as a catch-up.
CATCH_UP_AFTER = dt.timedelta(minutes=5)
# How long after its time a run is still worth making, where nothing later supersedes it.
CHECKIN_USEFUL = dt.timedelta(days=20)
REMINDER_USEFUL = dt.timedelta(days=3)
CLOSE_USEFUL = dt.timedelta(days=7)
RECOGNITION_USEFUL = dt.timedelta(days=3)
DIGEST_USEFUL = dt.timedelta(days=2)
# A report month asked about by a check-in on or before this day is the month before.
LAST_DAY_FOR_PREVIOUS_MONTH = 15
# How far back the scheduler looks for a due run: two months cover a monthly check-in and
# a close up to 27 days after it.
LOOKBACK = dt.timedelta(days=70)
LOOKAHEAD = dt.timedelta(days=100)

RECOGNITION_PREVIEW = "recognition_preview"
AFTER_CHECKIN_JOBS = ("reminder_1", "reminder_2", "close")
# Every job the scheduler runs: the schedules' jobs and the preview derived from one.
PLANNED_JOBS = (*JOBS, RECOGNITION_PREVIEW)


@dataclass(frozen=True)
class ScheduleState:
    """What the plan needs of a `Schedule` row."""

    rule: str
    paused: bool
    # Runs due before this moment are not made: the rule did not say so then.
    since: dt.datetime


@dataclass(frozen=True)
class Occurrence:
    job: str
    period: str
    # When it runs, after any move off a holiday (aware).
    at: dt.datetime
    # Its time before a move off a weekend or holiday, or None.
    moved_from: dt.datetime | None
    # The month it is about: the report month, or the recognised month; None otherwise.
    month: dt.date | None
    # From this moment on the run is skipped as stale.
    stale_at: dt.datetime

    def is_stale(self, now: dt.datetime) -> bool:
        return now >= self.stale_at

    def is_catch_up(self, now: dt.datetime) -> bool:
        return now - self.at > CATCH_UP_AFTER


def report_month(local_day: dt.date) -> dt.date:
    """The month a check-in on `local_day` asks about (see the module docstring)."""
    first = local_day.replace(day=1)
    if local_day.day <= LAST_DAY_FOR_PREVIOUS_MONTH:
        return (first - dt.timedelta(days=1)).replace(day=1)
    return first


def month_period(month: dt.date) -> str:
    return f"{month:%Y-%m}"


class Plan:
    """The run times of one community's jobs, from its schedules, time zone and holidays."""

    def __init__(
        self,
        schedules: Mapping[str, ScheduleState],
        timezone: str,
        holidays: HolidayCalendar,
    ) -> None:
        self.schedules = schedules
        self.timezone = timezone
        self.zone = ZoneInfo(timezone)
        self.holidays = holidays

    # -- queries ---------------------------------------------------------------------------

    def latest_due(self, job: str, now: dt.datetime) -> Occurrence | None:
        """The last run of `job` at or before `now` that its schedule allowed, or None."""
        latest = None
        for occurrence in self.occurrences(job, now - LOOKBACK, now):
            if occurrence.at > now:
                break
            if occurrence.at >= self._since(job):
                latest = occurrence
        return latest

    def next_due(
        self, job: str, now: dt.datetime, *, ignore_pause: bool = False
    ) -> Occurrence | None:
        """The first run of `job` after `now`, or None when it is off (or paused)."""
        for occurrence in self.occurrences(job, now - LOOKBACK, now + LOOKAHEAD, ignore_pause):
            if occurrence.at > now:
                return occurrence
        return None

    def earliest_next(self, now: dt.datetime) -> dt.datetime | None:
        """The first moment after `now` at which any job comes due."""
        times = [o.at for job in PLANNED_JOBS if (o := self.next_due(job, now)) is not None]
        return min(times, default=None)

    # -- occurrences -----------------------------------------------------------------------

    def occurrences(
        self, job: str, start: dt.datetime, end: dt.datetime, ignore_pause: bool = False
    ) -> Iterator[Occurrence]:
        """Runs of `job` whose time is after `start` and up to `end`, in time order."""
        if job == RECOGNITION_PREVIEW:
            for post in self.occurrences("recognition", start, end + PREVIEW_LEAD, ignore_pause):
                at = post.at - PREVIEW_LEAD
                if start < at <= end:
                    yield Occurrence(job, post.period, at, None, post.month, post.at)
            return
        if self._paused(job) and not ignore_pause:
            return
        spec = JOBS[job]
        if spec.shape is RuleShape.AFTER_CHECKIN:
            yield from self._after_checkin(job, start, end, ignore_pause)
            return
        if spec.shape is RuleShape.DAILY:
            yield from self._daily(job, start, end)
            return
        yield from self._calendar(job, start, end)

    def _calendar(self, job: str, start: dt.datetime, end: dt.datetime) -> Iterator[Occurrence]:
        spec = JOBS[job]
        rule = calendar_rule(parse_stored(job, self.schedules[job].rule))
        cursor = start
        while True:
            run = next_run(
                rule,
                cursor,
                self.timezone,
                holidays=self.holidays,
                move_off_holidays=spec.moves_off_holidays,
            )
            if run is None or run.at > end:
                return
            cursor = run.at
            nominal = (run.moved_from or run.at).astimezone(self.zone)
            yield self._calendar_occurrence(job, run.at, run.moved_from, nominal)

    def _calendar_occurrence(
        self,
        job: str,
        at: dt.datetime,
        moved_from: dt.datetime | None,
        nominal: dt.datetime,
    ) -> Occurrence:
        day = nominal.date()
        if job == "checkin":
            month = report_month(day)
            close = None if self._paused("close") else self._relative("close", at)
            stale_at = close.at if close is not None else at + CHECKIN_USEFUL
            return Occurrence(job, month_period(month), at, moved_from, month, stale_at)
        if job == "recognition":
            month = day.replace(day=1)
            stale_at = at + RECOGNITION_USEFUL
            return Occurrence(job, month_period(month), at, moved_from, month, stale_at)
        return Occurrence(job, day.isoformat(), at, moved_from, None, at + DIGEST_USEFUL)

    def _after_checkin(
        self, job: str, start: dt.datetime, end: dt.datetime, ignore_pause: bool
    ) -> Iterator[Occurrence]:
        # Check-ins up to 28 days before `start` may have runs after it.
        for checkin in self.occurrences(
            "checkin", start - dt.timedelta(days=28), end, ignore_pause
        ):
            occurrence = self._relative(job, checkin.at)
            if occurrence is None:
                continue
            occurrence = Occurrence(
                job,
                checkin.period,
                occurrence.at,
                occurrence.moved_from,
                checkin.month,
                occurrence.stale_at,
            )
            if start < occurrence.at <= end:
                yield occurrence

    def _relative(self, job: str, checkin_at: dt.datetime) -> Occurrence | None:
        """The run of an after-check-in job for the check-in at `checkin_at`; period unset."""
        parsed = parse_stored(job, self.schedules[job].rule)
        if parsed.days is None:
            return None
        local = checkin_at.astimezone(self.zone)
        day = local.date() + dt.timedelta(days=parsed.days)
        moved_from = None
        if JOBS[job].moves_off_holidays and not self.holidays.is_working_day(day):
            moved_from = _local(day, local.time(), self.zone)
            while not self.holidays.is_working_day(day):
                day += dt.timedelta(days=1)
        at = _local(day, local.time(), self.zone)
        if job == "close":
            stale_at = at + CLOSE_USEFUL
        else:
            # A reminder is useless once the close has run, or once a later reminder is due.
            stale_at = at + REMINDER_USEFUL
            for later in ("reminder_2", "close") if job == "reminder_1" else ("close",):
                if self._paused(later):
                    continue
                run = self._relative(later, checkin_at)
                if run is not None and run.at > at:
                    stale_at = min(stale_at, run.at)
        return Occurrence(job, "", at, moved_from, None, stale_at)

    def _daily(self, job: str, start: dt.datetime, end: dt.datetime) -> Iterator[Occurrence]:
        parsed = parse_stored(job, self.schedules[job].rule)
        if parsed.time is None:
            return
        day = start.astimezone(self.zone).date()
        while True:
            at = _local(day, parsed.time, self.zone)
            if at > end:
                return
            if at > start:
                next_midnight = _local(day + dt.timedelta(days=1), dt.time(0), self.zone)
                yield Occurrence(job, day.isoformat(), at, None, None, next_midnight)
            day += dt.timedelta(days=1)

    # -- schedule state --------------------------------------------------------------------

    def _paused(self, job: str) -> bool:
        state = self.schedules[job]
        if job in AFTER_CHECKIN_JOBS:
            return state.paused or self.schedules["checkin"].paused
        return state.paused

    def _since(self, job: str) -> dt.datetime:
        if job == RECOGNITION_PREVIEW:
            return self.schedules["recognition"].since
        since = self.schedules[job].since
        if job in AFTER_CHECKIN_JOBS:
            since = max(since, self.schedules["checkin"].since)
        return since


async def load_plan(
    session: AsyncSession, community: Community, now: dt.datetime
) -> tuple[dict[str, Schedule], Plan]:
    """Return the community's schedule rows, adding missing ones, and the plan built from them."""
    rows = await ensure_schedules(session, community.id, now)
    states = {
        job: ScheduleState(row.rule, row.paused, as_utc(row.updated_at))
        for job, row in rows.items()
    }
    return rows, Plan(states, community.timezone, HolidayCalendar(community.state))


def round_month(plan: Plan, now: dt.datetime) -> dt.date:
    """Return the month the check-in round open at `now` asks about.

    That is the month of the latest check-in until the round closes (its close, or
    CHECKIN_USEFUL when the close is off). Between rounds it is the month a check-in
    today would ask about.
    """
    latest = plan.latest_due("checkin", now)
    if latest is not None and latest.month is not None and not latest.is_stale(now):
        return latest.month
    return report_month(now.astimezone(plan.zone).date())


def _local(day: dt.date, time: dt.time, zone: ZoneInfo) -> dt.datetime:
    # fold=0 picks the earlier of two repeated local times; a time skipped by a clock
    # change normalises forward through UTC.
    return dt.datetime.combine(day, time, tzinfo=zone).astimezone(dt.UTC).astimezone(zone)
