"""Monthly progress reports of BSOs: filing, amendments and their change log, closed months.

A BSO has at most one report per month (a unique constraint). Every value a PoC sets,
at the first filing or in an amendment, gets a `ProgressChange` row with the person
and the old and new value. The rows of one save share one `changed_at`, so grouping
them by that time gives the filing and each amendment. Callers commit.
"""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.actions import CLOSED_STATUSES, set_status
from storage.db import as_utc
from storage.models import (
    ClosedMonth,
    Contribution,
    FollowUpAction,
    Person,
    ProgressChange,
    ProgressReport,
)

log = logging.getLogger(__name__)

TEXT_FIELDS = ("actions_taken", "challenges", "support_needed")
NUMBER_FIELDS = ("fpos_supported", "buyer_linkages", "volume_tonnes", "value_lakh", "women_reached")
REPORT_FIELDS = TEXT_FIELDS + NUMBER_FIELDS
# A change row of a follow-up action's status has the field "action:<action id>", and
# old and new values {"status": ..., "reason": ...}.
ACTION_FIELD_PREFIX = "action:"
# The range of months that /progress and the month buttons accept; `month_from_key`,
# `add_months` and the /progress month argument all use it. Every month in it has a
# six-digit yyyymm key (see `month_key`).
EARLIEST_MONTH = dt.date(2000, 1, 1)
LATEST_MONTH = dt.date(9999, 12, 1)


class MonthClosed(Exception):
    """Raised when a report of a closed month would change."""

    def __init__(self, month: dt.date) -> None:
        super().__init__(f"progress reports of {month:%Y-%m} are closed")
        self.month = month


# --- Months ---------------------------------------------------------------------------------


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def add_months(month: dt.date, count: int) -> dt.date | None:
    """Return the first day of the month `count` months after `month` (before, if negative).

    Returns None when that month is outside EARLIEST_MONTH to LATEST_MONTH.
    """
    index = month.year * 12 + month.month - 1 + count
    year, month_index = divmod(index, 12)
    if not EARLIEST_MONTH.year <= year <= LATEST_MONTH.year:
        return None
    result = dt.date(year, month_index + 1, 1)
    return result if EARLIEST_MONTH <= result <= LATEST_MONTH else None


def month_key(month: dt.date) -> int:
    """Encode a month as yyyymm (202503 for March 2025), the form buttons carry."""
    return month.year * 100 + month.month


def month_from_key(key: int) -> dt.date | None:
    """Decode a yyyymm number; None when it names no month from EARLIEST_MONTH to LATEST_MONTH."""
    year, month = divmod(key, 100)
    if not EARLIEST_MONTH.year <= year <= LATEST_MONTH.year or not 1 <= month <= 12:
        return None
    result = dt.date(year, month, 1)
    return result if EARLIEST_MONTH <= result <= LATEST_MONTH else None


def local_month(now: dt.datetime, timezone: str) -> dt.date:
    """Return the month of the aware time `now` in `timezone`, as its first day.

    31 Dec 23:00 UTC is already 1 Jan 04:30 in Asia/Kolkata, so January.
    """
    return month_start(now.astimezone(zoneinfo.ZoneInfo(timezone)).date())


# --- Queries --------------------------------------------------------------------------------


async def find_report(
    session: AsyncSession, community_id: int, bso_id: int, month: dt.date
) -> ProgressReport | None:
    return await session.scalar(
        select(ProgressReport).where(
            ProgressReport.community_id == community_id,
            ProgressReport.bso_id == bso_id,
            ProgressReport.month == month,
        )
    )


async def month_reports(
    session: AsyncSession, community_id: int, month: dt.date
) -> Sequence[ProgressReport]:
    return (
        await session.scalars(
            select(ProgressReport).where(
                ProgressReport.community_id == community_id, ProgressReport.month == month
            )
        )
    ).all()


async def bso_reports(
    session: AsyncSession, community_id: int, bso_id: int
) -> Sequence[ProgressReport]:
    """Return the BSO's reports, the latest month first."""
    return (
        await session.scalars(
            select(ProgressReport)
            .where(ProgressReport.community_id == community_id, ProgressReport.bso_id == bso_id)
            .order_by(ProgressReport.month.desc())
        )
    ).all()


async def report_changes(
    session: AsyncSession, report_ids: Iterable[int]
) -> dict[int, list[ProgressChange]]:
    """Return the change rows of each report, oldest first."""
    ids = list(report_ids)
    changes: dict[int, list[ProgressChange]] = {report_id: [] for report_id in ids}
    if not ids:
        return changes
    rows = await session.scalars(
        select(ProgressChange)
        .where(ProgressChange.report_id.in_(ids))
        .order_by(ProgressChange.changed_at, ProgressChange.id)
    )
    for row in rows:
        changes[row.report_id].append(row)
    return changes


async def closed_month(
    session: AsyncSession, community_id: int, month: dt.date
) -> ClosedMonth | None:
    return await session.scalar(
        select(ClosedMonth).where(
            ClosedMonth.community_id == community_id, ClosedMonth.month == month
        )
    )


async def close_month(
    session: AsyncSession,
    community_id: int,
    month: dt.date,
    closed_by: int | None,
    now: dt.datetime,
) -> bool:
    """Close the month for amendments; False when it was closed already."""
    if await closed_month(session, community_id, month) is not None:
        return False
    session.add(
        ClosedMonth(community_id=community_id, month=month, closed_by=closed_by, closed_at=now)
    )
    try:
        await session.flush()
    except IntegrityError:
        # Another facilitator closed it at the same moment.
        await session.rollback()
        return False
    return True


async def reopen_month(session: AsyncSession, community_id: int, month: dt.date) -> bool:
    """Open a closed month for amendments again; False when it was not closed."""
    result = await session.execute(
        delete(ClosedMonth).where(
            ClosedMonth.community_id == community_id, ClosedMonth.month == month
        )
    )
    return bool(getattr(result, "rowcount", 0))


async def approved_poc_counts(session: AsyncSession, community_id: int) -> dict[int, int]:
    """Return the number of approved PoCs per BSO id; BSOs without one are left out."""
    rows = await session.execute(
        select(Person.bso_id, func.count(Person.id))
        .where(
            Person.community_id == community_id,
            Person.status == "approved",
            Person.bso_id.is_not(None),
        )
        .group_by(Person.bso_id)
    )
    return {bso_id: count for bso_id, count in rows.all() if bso_id is not None}


async def linked_ask(session: AsyncSession, report_id: int) -> Contribution | None:
    """Return the ask filed from this report's "support needed" answer, if any is still open."""
    return await session.scalar(
        select(Contribution)
        .where(
            Contribution.progress_report_id == report_id,
            Contribution.kind == "ask",
            Contribution.status != "withdrawn",
        )
        .order_by(Contribution.id)
        .limit(1)
    )


# --- Who filed and amended -----------------------------------------------------------------


@dataclass(frozen=True)
class Batch:
    """The change rows of one save: a filing or one amendment."""

    person_name: str
    changed_at: dt.datetime
    changes: tuple[ProgressChange, ...]


@dataclass(frozen=True)
class FilingInfo:
    """The filer and filing time of a report, and its amendments with the latest last."""

    filed_by: str
    filed_at: dt.datetime
    amendments: tuple[Batch, ...]

    @property
    def amended(self) -> bool:
        return bool(self.amendments)


def batches(changes: Sequence[ProgressChange]) -> list[Batch]:
    """Group a report's change rows (oldest first) into saves by their shared time."""
    grouped: list[Batch] = []
    for change in changes:
        changed_at = as_utc(change.changed_at)
        if grouped and grouped[-1].changed_at == changed_at:
            last = grouped[-1]
            grouped[-1] = Batch(last.person_name, changed_at, (*last.changes, change))
        else:
            grouped.append(Batch(change.person_name, changed_at, (change,)))
    return grouped


def filing_info(
    report: ProgressReport, changes: Sequence[ProgressChange], filer_name: str = ""
) -> FilingInfo:
    """Describe who filed `report` and who amended it, from its change rows.

    A report without change rows (none are written outside `save_report`) counts as
    filed by `filer_name` at its creation time.
    """
    grouped = batches(changes)
    if not grouped:
        return FilingInfo(filer_name, as_utc(report.created_at), ())
    first = grouped[0]
    return FilingInfo(first.person_name, first.changed_at, tuple(grouped[1:]))


def totals(reports: Iterable[ProgressReport]) -> dict[str, int | float]:
    """Sum each outcome number over the reports; a value nobody gave adds nothing."""
    sums: dict[str, int | float] = dict.fromkeys(NUMBER_FIELDS, 0)
    for report in reports:
        for name in NUMBER_FIELDS:
            value = getattr(report, name)
            if value is not None:
                sums[name] += value
    # Rounded so that sums of lakh and tonne values do not show float noise (0.30000000000000004).
    return {
        name: round(value, 5) if isinstance(value, float) else value for name, value in sums.items()
    }


def report_values(report: ProgressReport) -> dict[str, Any]:
    """Return the report's fields by name, as `save_report` takes them."""
    return {name: getattr(report, name) for name in REPORT_FIELDS}


# --- Filing and amending --------------------------------------------------------------------


@dataclass(frozen=True)
class ActionUpdate:
    """A follow-up action's new status from a check-in; `reason` is kept for a stuck one."""

    action_id: int
    status: str
    reason: str | None = None


@dataclass
class Filing:
    """What `save_report` did.

    `created` is true when this save created the report. `merged` is true when the
    person filled the form as a first filing, but the report existed by the time they
    confirmed, so their answers were applied as an amendment. `rolled_back` is true
    when a concurrent insert made this save roll the session back and retry: every
    object loaded in the session before the call is expired then.
    """

    report: ProgressReport
    created: bool
    merged: bool = False
    rolled_back: bool = False
    changed: list[str] = field(default_factory=list)
    actions: list[FollowUpAction] = field(default_factory=list)
    # Actions the person meant to change that another person closed (done or dropped) first.
    skipped: list[FollowUpAction] = field(default_factory=list)


async def save_report(
    session: AsyncSession,
    *,
    community_id: int,
    bso_id: int,
    month: dt.date,
    values: Mapping[str, Any],
    base: Mapping[str, Any] | None,
    person: Person,
    now: dt.datetime,
    action_updates: Sequence[ActionUpdate] = (),
) -> Filing:
    """Create the BSO's report for `month` or amend it, and log every value that changed.

    `values` maps report fields to the confirmed answers. `base` holds the report's
    values when the person's form started from a filed report, and None for a first
    filing. In an amendment only the fields the person changed against `base` are
    written, so two PoCs amending different fields at the same time both keep their
    changes. A first filing that finds a report filed meanwhile is merged into it as an
    amendment; its empty answers never clear a value the other PoC gave.

    This must be the session's first write in its transaction, outside a
    `session.begin()` block, because a concurrent first filing makes the insert fail
    and this then rolls the whole session back before it merges. Raises MonthClosed
    when the month is closed.
    """
    person_id, person_name = person.id, person.name or person.telegram_name
    if await closed_month(session, community_id, month) is not None:
        raise MonthClosed(month)

    report = await find_report(session, community_id, bso_id, month)
    filing: Filing
    if report is not None:
        filing = Filing(report, created=False, merged=base is None)
    else:
        inserted = await _insert_report(session, community_id, bso_id, month, person_id, now)
        if inserted is not None:
            filing = Filing(inserted, created=True)
        else:
            # Another PoC's first filing committed between our check and our insert.
            log.info("progress report of BSO %s for %s filed concurrently; merging", bso_id, month)
            reloaded = await session.get(Person, person_id)
            if reloaded is not None:
                person = reloaded
            if await closed_month(session, community_id, month) is not None:
                raise MonthClosed(month)
            existing = await find_report(session, community_id, bso_id, month)
            if existing is None:
                raise RuntimeError(f"progress report of BSO {bso_id} for {month} vanished")
            filing = Filing(existing, created=False, merged=True, rolled_back=True)

    report = filing.report
    for name in REPORT_FIELDS:
        if name not in values:
            continue
        new = values[name]
        old = getattr(report, name)
        if not _is_change(filing.created, base, name, old, new):
            continue
        setattr(report, name, new)
        filing.changed.append(name)
        session.add(_change(report, person_id, person_name, name, old, new, now))

    for update in action_updates:
        await _apply_action(session, filing, update, person, person_name, now)

    if filing.changed or filing.actions:
        report.updated_at = now
    await session.flush()
    return filing


async def _insert_report(
    session: AsyncSession,
    community_id: int,
    bso_id: int,
    month: dt.date,
    person_id: int,
    now: dt.datetime,
) -> ProgressReport | None:
    """Insert an empty report; None, with the session rolled back, if one exists already."""
    report = ProgressReport(
        community_id=community_id,
        bso_id=bso_id,
        month=month,
        filed_by=person_id,
        created_at=now,
        updated_at=now,
    )
    session.add(report)
    try:
        await session.flush()
    except IntegrityError:
        await session.rollback()
        return None
    return report


async def _apply_action(
    session: AsyncSession,
    filing: Filing,
    update: ActionUpdate,
    person: Person,
    person_name: str,
    now: dt.datetime,
) -> None:
    """Set a follow-up action's status and log it in the report's change rows.

    An action that is gone, belongs to another BSO, or already has this status and
    reason is left alone. One that another person closed since the form started is
    added to `filing.skipped` instead of being reopened.
    """
    report = filing.report
    action = await session.get(FollowUpAction, update.action_id, populate_existing=True)
    if (
        action is None
        or action.community_id != report.community_id
        or action.bso_id != report.bso_id
    ):
        log.info("follow-up action %s not updated: gone or moved", update.action_id)
        return
    reason = update.reason if update.status == "stuck" else None
    if reason is None and update.status == "stuck" and action.status == "stuck":
        # Marked stuck again without a new reason: the earlier reason still applies.
        reason = action.stuck_reason
    if action.status == update.status and action.stuck_reason == reason:
        return
    if action.status in CLOSED_STATUSES:
        filing.skipped.append(action)
        return
    old = {"status": action.status, "reason": action.stuck_reason}
    set_status(action, update.status, person, reason=reason, now=now)
    action.updated_at = now
    new = {"status": action.status, "reason": action.stuck_reason}
    field_name = f"{ACTION_FIELD_PREFIX}{action.id}"
    session.add(_change(report, person.id, person_name, field_name, old, new, now))
    filing.actions.append(action)


def _change(
    report: ProgressReport,
    person_id: int,
    person_name: str,
    name: str,
    old: Any,
    new: Any,
    now: dt.datetime,
) -> ProgressChange:
    return ProgressChange(
        report_id=report.id,
        person_id=person_id,
        person_name=person_name,
        field=name,
        old_value=old,
        new_value=new,
        changed_at=now,
    )


def _is_change(
    created: bool, base: Mapping[str, Any] | None, name: str, old: Any, new: Any
) -> bool:
    """Return whether the answer `new` replaces the stored `old` (see `save_report`)."""
    if created:
        return new is not None
    if base is None:
        # A first filing merged into a report another PoC filed: skipped answers stay out.
        return new is not None and not _same(old, new)
    if name in base and _same(base[name], new):
        # The person kept the value their form started from.
        return False
    return not _same(old, new)


def _same(first: Any, second: Any) -> bool:
    if isinstance(first, int | float) and isinstance(second, int | float):
        return float(first) == float(second)
    return bool(first == second)


def action_id_of(field_name: str) -> int | None:
    """Return the follow-up action id of a change row's field, or None for a report field."""
    if not field_name.startswith(ACTION_FIELD_PREFIX):
        return None
    number = field_name.removeprefix(ACTION_FIELD_PREFIX)
    return int(number) if number.isdigit() else None
