"""When each scheduled job of a community runs, for which period, and until when it is useful.

Plain functions over the stored rules: the scheduler asks for the latest run that came
due, /schedule for the next one. A run is an `Occurrence` with a period key; the
`job_runs` table keeps one run per (job, community, period).

Periods:
- the check-in, its reminders and its close share the month they ask about, "2026-11".
  A rule that can fall before the 22nd of a month (the first Monday, day 5) asks about
  the month before, and one that always falls late (the last working day, day 25)
  about its own month; see `asks_about_own_month`. The recognition post picks the
  month it recognises the same way;
- the digest and the action reminders: the local date of the run, "2026-12-04".

The reminders and the close of a round count from the check-in that ran, as recorded in
`job_runs`, so changing the check-in's rule mid-round keeps the round going, and no
reminder goes out for a check-in that never ran. Rounds still to come count from the
check-ins the rule predicts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.schedule_rules import LAST, HolidayCalendar, RuleKind, ScheduleRule, next_run
from storage import jobs as job_store
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
# A monthly rule whose runs never fall before this day of the month is about its own month.
OWN_MONTH_FROM_DAY = 22
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
    """The fields of a `Schedule` row that the plan reads."""

    rule: str
    paused: bool
    # Runs due before this moment are not made: the rule did not say so then.
    since: dt.datetime


@dataclass(frozen=True)
class CheckinRun:
    """A check-in that ran: its round's reminders and close count from it."""

    period: str
    month: dt.date
    # When it was due, and when it actually ran (later for a catch-up).
    due_at: dt.datetime
    started_at: dt.datetime
    # When its round closes, as the check-in announced; None to follow the close's rule.
    closes_at: dt.datetime | None = None


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


def asks_about_own_month(rule: ScheduleRule) -> bool:
    """Return whether a monthly run by `rule` is about its own month, not the month before.

    Only rules whose runs always fall on or after OWN_MONTH_FROM_DAY are: the fourth or
    last weekday, day 22 to 31, and the last (working) day. Deciding by the rule rather
    than by each run's date keeps every month asked about once: "third Monday" falls on
    the 15th to 21st, and would otherwise ask about August on 18 August and again on
    15 September.
    """
    if rule.kind in (RuleKind.LAST_DAY, RuleKind.LAST_WORKING_DAY):
        return True
    if rule.kind is RuleKind.NTH_WEEKDAY:
        return rule.ordinal in (4, LAST)
    if rule.kind is RuleKind.MONTH_DAY:
        return rule.day is not None and rule.day >= OWN_MONTH_FROM_DAY
    return False


def report_month(rule: ScheduleRule, local_day: dt.date) -> dt.date:
    """Return the month that a monthly run by `rule` on `local_day` is about."""
    first = local_day.replace(day=1)
    if asks_about_own_month(rule):
        return first
    return (first - dt.timedelta(days=1)).replace(day=1)


def month_period(month: dt.date) -> str:
    return f"{month:%Y-%m}"


class Plan:
    """The run times of one community's jobs, from its schedules, time zone and holidays."""

    def __init__(
        self,
        schedules: Mapping[str, ScheduleState],
        timezone: str,
        holidays: HolidayCalendar,
        *,
        checkin_runs: Sequence[CheckinRun] | None = None,
        runs_read_at: dt.datetime | None = None,
    ) -> None:
        """Plan from `schedules`; with `checkin_runs`, rounds count from the check-ins that ran.

        `checkin_runs` are the check-ins done as read at `runs_read_at`; check-ins after
        that moment are predicted from the rule. Without them, every round counts from
        the check-in the rule predicts.
        """
        self.schedules = schedules
        self.timezone = timezone
        self.zone = ZoneInfo(timezone)
        self.holidays = holidays
        self.checkin_runs = list(checkin_runs) if checkin_runs is not None else None
        self.runs_read_at = runs_read_at

    def add_checkin_run(self, run: CheckinRun) -> None:
        """Count a check-in that has just run, so its round's runs follow it."""
        if self.checkin_runs is not None:
            self.checkin_runs.append(run)

    def remove_checkin_run(self, run: CheckinRun) -> None:
        """Forget a check-in added with add_checkin_run whose run failed."""
        if self.checkin_runs is not None and run in self.checkin_runs:
            self.checkin_runs.remove(run)

    # -- queries ---------------------------------------------------------------------------

    def latest_due(self, job: str, now: dt.datetime) -> Occurrence | None:
        """Return the last run of `job` at or before `now` that its schedule allowed, or None."""
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
        """Return the first run of `job` after `now`, or None when it is off (or paused).

        A check-in for a month that was asked about already sends nothing, so it is
        passed over.
        """
        asked = {run.period for run in self.checkin_runs or ()} if job == "checkin" else set()
        for occurrence in self.occurrences(job, now - LOOKBACK, now + LOOKAHEAD, ignore_pause):
            if occurrence.at > now and occurrence.period not in asked:
                return occurrence
        return None

    def earliest_next(self, now: dt.datetime) -> dt.datetime | None:
        """Return the first moment after `now` at which any job comes due."""
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
            month = report_month(self._rule(job), day)
            close = None if self._paused("close") else self._relative("close", at)
            stale_at = close.at if close is not None else at + CHECKIN_USEFUL
            return Occurrence(job, month_period(month), at, moved_from, month, stale_at)
        if job == "recognition":
            month = report_month(self._rule(job), day)
            stale_at = at + RECOGNITION_USEFUL
            return Occurrence(job, month_period(month), at, moved_from, month, stale_at)
        return Occurrence(job, day.isoformat(), at, moved_from, None, at + DIGEST_USEFUL)

    def _after_checkin(
        self, job: str, start: dt.datetime, end: dt.datetime, ignore_pause: bool
    ) -> Iterator[Occurrence]:
        for checkin in self.round_starts(start, end, ignore_pause):
            relative = self._relative(job, checkin.due_at, checkin.closes_at)
            if relative is None or not start < relative.at <= end:
                continue
            stale_at = relative.stale_at
            if job != "close" and checkin.started_at >= relative.at:
                # The check-in itself went out late, after this reminder's time: a
                # reminder now would only repeat it.
                stale_at = relative.at
            yield Occurrence(
                job, checkin.period, relative.at, relative.moved_from, checkin.month, stale_at
            )

    def round_starts(
        self, start: dt.datetime, end: dt.datetime, ignore_pause: bool
    ) -> list[CheckinRun]:
        """Return the check-ins whose rounds may have runs from `start` to `end`, in time order."""
        # A round's last run comes at most MAX_DAYS_AFTER days (plus holiday moves) after
        # its check-in.
        earliest = start - dt.timedelta(days=35)
        predicted = [
            CheckinRun(c.period, c.month, c.at, c.at)
            for c in self.occurrences("checkin", earliest, end, ignore_pause)
            if c.month is not None
        ]
        if self.checkin_runs is None or self.runs_read_at is None:
            return predicted
        ran = [run for run in self.checkin_runs if earliest < run.due_at <= end]
        periods = {run.period for run in ran}
        upcoming = [
            run for run in predicted if run.due_at > self.runs_read_at and run.period not in periods
        ]
        return sorted(ran + upcoming, key=lambda run: run.due_at)

    def _relative(
        self, job: str, checkin_at: dt.datetime, closes_at: dt.datetime | None = None
    ) -> Occurrence | None:
        """Return the run of an after-check-in job for the check-in at `checkin_at`, period unset.

        `closes_at` is the close the check-in announced, which the close keeps while its
        rule is on.
        """
        parsed = parse_stored(job, self.schedules[job].rule)
        if parsed.days is None:
            return None
        if job == "close" and closes_at is not None:
            return Occurrence(job, "", closes_at, None, None, closes_at + CLOSE_USEFUL)
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
                run = self._relative(later, checkin_at, closes_at)
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

    def _rule(self, job: str) -> ScheduleRule:
        return calendar_rule(parse_stored(job, self.schedules[job].rule))

    def _paused(self, job: str) -> bool:
        state = self.schedules[job]
        if job in AFTER_CHECKIN_JOBS:
            return state.paused or self.schedules["checkin"].paused
        return state.paused

    def round_end(self, checkin: CheckinRun) -> dt.datetime:
        """When the round of `checkin` ends: at its close, or CHECKIN_USEFUL after it."""
        close = self.round_close(checkin)
        return close if close is not None else checkin.due_at + CHECKIN_USEFUL

    def round_close(self, checkin: CheckinRun) -> dt.datetime | None:
        """When the round of `checkin` closes; None while the close is off or paused."""
        if self._paused("close"):
            return None
        close = self._relative("close", checkin.due_at, checkin.closes_at)
        return close.at if close is not None else None

    def _since(self, job: str) -> dt.datetime:
        if job == RECOGNITION_PREVIEW:
            return self.schedules["recognition"].since
        since = self.schedules[job].since
        if job in AFTER_CHECKIN_JOBS and self.checkin_runs is None:
            # Predicted rounds start with the check-in's rule. Recorded rounds go on
            # whatever happened to that rule since their check-in ran.
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
    runs = await job_store.done_runs(
        session, job="checkin", community_id=community.id, since=now - LOOKBACK - LOOKBACK
    )
    checkin_runs = []
    for run in runs:
        month = period_month(run.period)
        if month is None:
            continue
        started_at = as_utc(run.started_at)
        due_at = as_utc(run.due_at) if run.due_at is not None else started_at
        closes_at = as_utc(run.closes_at) if run.closes_at is not None else None
        checkin_runs.append(CheckinRun(run.period, month, due_at, started_at, closes_at))
    plan = Plan(
        states,
        community.timezone,
        HolidayCalendar(community.state),
        checkin_runs=checkin_runs,
        runs_read_at=now,
    )
    return rows, plan


def period_month(period: str) -> dt.date | None:
    """Read a month period, "2026-11"; None for any other text."""
    try:
        return dt.datetime.strptime(period, "%Y-%m").date()
    except ValueError:
        return None


def round_month(plan: Plan, now: dt.datetime) -> dt.date:
    """Return the month the check-in round open at `now` asks about.

    That is the month of the latest check-in until the round closes (its close, or
    CHECKIN_USEFUL when the close is off). Between rounds it is the current month.
    """
    latest = latest_round(plan, now)
    if latest is not None and now < plan.round_end(latest):
        return latest.month
    return now.astimezone(plan.zone).date().replace(day=1)


def latest_round(plan: Plan, now: dt.datetime) -> CheckinRun | None:
    """Return the latest check-in round begun by `now`, open or closed, or None."""
    started = [run for run in plan.round_starts(now - LOOKBACK, now, False) if run.due_at <= now]
    return started[-1] if started else None


def _local(day: dt.date, time: dt.time, zone: ZoneInfo) -> dt.datetime:
    # fold=0 picks the earlier of two repeated local times; a time skipped by a clock
    # change normalises forward through UTC.
    return dt.datetime.combine(day, time, tzinfo=zone).astimezone(dt.UTC).astimezone(zone)
