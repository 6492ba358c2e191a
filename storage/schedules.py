"""The scheduled jobs of a community, their defaults, and the rows that say when they run.

Each job has one `Schedule` row per community, created with its default the first time
the scheduler or /schedule looks. A rule is stored as canonical text, which the
functions here parse back; three shapes exist:

- a calendar rule of `bot.schedule_rules`: monthly ("first monday 10:00") for the
  check-in and the recognition post, weekly ("every friday 16:00") for the digest, or
  "off";
- a number of days after the check-in ("3"), for the reminders and the close, which run
  at the check-in's time of day and belong to the check-in's period;
- a time of day ("09:00"), for the daily action reminders, or "off".

Callers commit.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
import unicodedata
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bot.schedule_rules import (
    OFF_RULE,
    ORDINAL_NAMES,
    WEEKDAY_NAMES,
    RuleKind,
    ScheduleParseError,
    ScheduleRule,
    parse_rule,
    parse_time,
)
from storage.models import Community, Schedule


class RuleShape(enum.StrEnum):
    # A monthly calendar rule: nth weekday, day of month, last (working) day.
    MONTHLY = "monthly"
    # "every <weekday> <time>": the digest covers the 7 days before each run.
    WEEKLY = "weekly"
    # Whole days after the check-in of the same period.
    AFTER_CHECKIN = "after_checkin"
    # A time of day, every day.
    DAILY = "daily"


@dataclass(frozen=True)
class JobSpec:
    job: str
    default: str
    shape: RuleShape
    # Whether a run on a weekend or public holiday moves to the next working day.
    moves_off_holidays: bool


# In the order /schedule lists them.
JOB_SPECS = (
    JobSpec("checkin", "first monday 10:00", RuleShape.MONTHLY, True),
    JobSpec("reminder_1", "3", RuleShape.AFTER_CHECKIN, True),
    JobSpec("reminder_2", "7", RuleShape.AFTER_CHECKIN, True),
    JobSpec("close", "10", RuleShape.AFTER_CHECKIN, False),
    JobSpec("recognition", "last working day 17:00", RuleShape.MONTHLY, False),
    JobSpec("digest", "every friday 16:00", RuleShape.WEEKLY, True),
    JobSpec("action_due", "09:00", RuleShape.DAILY, False),
)
JOBS = {spec.job: spec for spec in JOB_SPECS}
JOB_NAMES = tuple(JOBS)

# Reminders and the close run 1 to MAX_DAYS_AFTER days after the check-in, so that the
# whole cycle ends before the next month's check-in.
MAX_DAYS_AFTER = 27

_DAYS = re.compile(r"(?P<days>\d{1,3})(?: ?(?:days?|din|दिन))?(?: after)?")
# "Every day" at the start of a rule, in English or Hindi, matched on NFC text so that
# "रोज़" typed with a separate nukta matches too.
_EVERY_DAY = re.compile(
    unicodedata.normalize(
        "NFC",
        r"(?:every ?day|each day|daily|हर (?:दिन|रोज़?)|रोज़?|रोजाना|रोज़ाना|प्रतिदिन)(?= |$)",
    )
)
# A time of day with minutes or am/pm, in or out of range: "10:75", "24:00", "13 pm".
_TIME_SHAPED = re.compile(r"\d{1,2}(?::\d{2})? ?(?:am|pm|a\.m\.|p\.m\.)|\d{1,2}:\d{2}")


@dataclass(frozen=True)
class ParsedRule:
    """A schedule's rule, parsed. Exactly one of `rule`, `days` and `time` is set, or none for off."""

    text: str
    rule: ScheduleRule | None = None
    days: int | None = None
    time: dt.time | None = None

    @property
    def off(self) -> bool:
        return self.rule is None and self.days is None and self.time is None


def format_rule(rule: ScheduleRule) -> str:
    """Return the canonical text of a calendar rule; `parse_rule` reads it back."""
    if rule.kind is RuleKind.OFF:
        return "off"
    assert rule.time is not None
    time = rule.time.strftime("%H:%M")
    if rule.kind is RuleKind.NTH_WEEKDAY:
        assert rule.ordinal is not None and rule.weekday is not None
        return f"{ORDINAL_NAMES[rule.ordinal]} {WEEKDAY_NAMES[rule.weekday]} {time}"
    if rule.kind is RuleKind.WEEKLY:
        assert rule.weekday is not None
        return f"every {WEEKDAY_NAMES[rule.weekday]} {time}"
    if rule.kind is RuleKind.MONTH_DAY:
        return f"day {rule.day} {time}"
    if rule.kind is RuleKind.LAST_DAY:
        return f"last day {time}"
    return f"last working day {time}"


def parse_for_job(job: str, text: str) -> ParsedRule:
    """Parse `text` as a rule of the job's shape and return it with its canonical text.

    Raises ScheduleParseError with a code of `parse_rule` or one of these:

    - monthly_only: a weekly or daily rule for a monthly job;
    - weekly_only: anything but "every <weekday>" for a weekly job;
    - days_invalid: not a whole number of days from 1 to MAX_DAYS_AFTER;
    - time_only: anything but a time of day or "off" for a daily job. A time with
      minutes or am/pm that is out of range, such as "24:00", is time_invalid instead.

    Raises KeyError for an unknown job.
    """
    spec = JOBS[job]
    stripped = " ".join(text.strip().lower().split())
    if not stripped:
        raise ScheduleParseError("empty", text)
    if stripped in ("off", "बंद"):
        return ParsedRule("off")
    if spec.shape is RuleShape.AFTER_CHECKIN:
        match = _DAYS.fullmatch(stripped)
        if match is None or not 1 <= int(match["days"]) <= MAX_DAYS_AFTER:
            raise ScheduleParseError("days_invalid", text)
        days = int(match["days"])
        return ParsedRule(str(days), days=days)
    if spec.shape is RuleShape.DAILY:
        candidate = stripped.removeprefix("every day").removeprefix("daily").strip()
        candidate = candidate.removeprefix("at ").strip()
        try:
            time = parse_time(candidate)
        except ScheduleParseError as error:
            if _TIME_SHAPED.fullmatch(candidate):
                raise ScheduleParseError("time_invalid", text, candidate) from error
            raise ScheduleParseError("time_only", text) from error
        return ParsedRule(time.strftime("%H:%M"), time=time)

    wrong_shape = "monthly_only" if spec.shape is RuleShape.MONTHLY else "weekly_only"
    # Checked before parse_rule, which reads "every day" as a weekday named "day".
    if _EVERY_DAY.match(unicodedata.normalize("NFC", stripped)):
        raise ScheduleParseError(wrong_shape, text)
    rule = parse_rule(text)
    if rule.kind is RuleKind.OFF:
        return ParsedRule("off")
    if spec.shape is RuleShape.MONTHLY and rule.kind is RuleKind.WEEKLY:
        raise ScheduleParseError(wrong_shape, text)
    if spec.shape is RuleShape.WEEKLY and rule.kind is not RuleKind.WEEKLY:
        raise ScheduleParseError(wrong_shape, text)
    return ParsedRule(format_rule(rule), rule=rule)


def parse_stored(job: str, stored: str) -> ParsedRule:
    """Parse a stored rule; a row that no longer parses counts as off rather than failing runs."""
    try:
        return parse_for_job(job, stored)
    except ScheduleParseError:
        return ParsedRule("off", rule=None)


def calendar_rule(parsed: ParsedRule) -> ScheduleRule:
    return parsed.rule if parsed.rule is not None else OFF_RULE


async def ensure_schedules(
    session: AsyncSession, community_id: int, now: dt.datetime
) -> dict[str, Schedule]:
    """Return the community's schedules by job, adding missing ones with their defaults.

    The insert skips rows that another process added meanwhile, so two processes that
    start together do not fail. `now` is the creation time: the scheduler runs nothing
    that was due before a schedule existed.
    """
    rows = await community_schedules(session, community_id)
    missing = [spec for spec in JOB_SPECS if spec.job not in rows]
    if missing:
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert(Schedule) if dialect == "postgresql" else sqlite.insert(Schedule)
        values = [
            {
                "community_id": community_id,
                "job": spec.job,
                "rule": spec.default,
                "paused": False,
                "created_at": now,
                "updated_at": now,
            }
            for spec in missing
        ]
        await session.execute(
            insert.values(values).on_conflict_do_nothing(index_elements=["community_id", "job"])
        )
        rows = await community_schedules(session, community_id)
    return rows


async def community_schedules(session: AsyncSession, community_id: int) -> dict[str, Schedule]:
    result = await session.scalars(select(Schedule).where(Schedule.community_id == community_id))
    return {row.job: row for row in result if row.job in JOBS}


def set_rule(schedule: Schedule, parsed: ParsedRule, by: int, now: dt.datetime) -> None:
    schedule.rule = parsed.text
    schedule.updated_by = by
    schedule.updated_at = now


def set_paused(schedule: Schedule, paused: bool, by: int, now: dt.datetime) -> None:
    schedule.paused = paused
    schedule.updated_by = by
    schedule.updated_at = now


async def set_state(session: AsyncSession, community: Community, state: str | None) -> None:
    community.state = state
    await session.flush()
