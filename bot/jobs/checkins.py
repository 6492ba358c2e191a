"""The monthly check-in round: the prompt to each PoC, two reminders, and the close.

The check-in, its reminders and its close share one period, the report month
(`Occurrence.month`). The check-in and the reminders go only to PoCs whose BSO has not
filed for that month when the job runs. The close ends the collection round: it sends
the facilitators the list of who filed and thanks the filers in the CoP-wide groups. It
does not close the month for amendments, which only a facilitator does, with /progress.

Every message has a dedup key of (community, period, job, recipient), so a rerun of a
job sends nothing twice, even if the scheduler's own run key were lost.
"""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncSession

from bot.schedule_plan import Occurrence
from bot.scheduler import JobContext
from bot.texts import LocalTexts
from handlers.asks import cop_groups
from handlers.callbacks import CheckinStart, ProgressView
from handlers.progress import START_PAYLOAD
from handlers.progress_views import fits_message, month_label, outcome_items
from storage import people
from storage import progress as progress_store
from storage.audience import approved_pocs
from storage.models import Person, ProgressReport
from storage.outbox import Recipient, add_unique, text_payload

log = logging.getLogger(__name__)


# --- The jobs -------------------------------------------------------------------------------


async def checkin(context: JobContext) -> int:
    """Queue the check-in prompt to every reachable PoC of each BSO that has not filed."""
    month = report_month(context.occurrence)
    community_id = context.community.id
    if await month_is_closed(context, month):
        return 0

    pending = await pending_pocs(context.session, community_id, month)
    queued = await prompt_pending(context, pending, month, "checkins/checkin")
    log.info(
        "community %s: check-in for %s queued for %s of %s PoCs whose BSO has not filed",
        community_id,
        month,
        queued,
        len(pending),
    )
    return queued


async def reminder(context: JobContext) -> int:
    """Remind the PoCs of BSOs that have not filed, and list the unreachable ones to facilitators.

    Runs as reminder_1 and reminder_2. A BSO is unreachable when none of its approved
    PoCs has a private chat open with the bot: they never started it, or blocked it.
    """
    month = report_month(context.occurrence)
    community_id = context.community.id
    if await month_is_closed(context, month):
        return 0

    close = round_close(context)
    pending = await pending_pocs(context.session, community_id, month)
    queued = await prompt_pending(
        context,
        pending,
        month,
        "checkins/reminder",
        days_left=days_until(context, close.at) if close is not None else None,
        final=is_final_reminder(context, close),
    )
    unreachable = unreachable_bsos(pending)
    if unreachable:
        queued += await tell_unreachable(context, month, unreachable)
    log.info(
        "community %s: %s for %s queued %s messages; %s BSOs unreachable",
        community_id,
        context.occurrence.job,
        month,
        queued,
        len(unreachable),
    )
    return queued


async def month_is_closed(context: JobContext, month: dt.date) -> bool:
    """Return whether a facilitator closed `month`, logging that the run sends nothing."""
    closed = await progress_store.closed_month(context.session, context.community.id, month)
    if closed is None:
        return False
    log.info(
        "community %s: %s for %s skipped, the month is closed",
        context.community.id,
        context.occurrence.job,
        month,
    )
    return True


async def prompt_pending(
    context: JobContext,
    pending: Sequence[Person],
    month: dt.date,
    template: str,
    **extra: Any,
) -> int:
    """Queue `template` with the check-in button to each pending PoC with a private chat."""
    close = round_close(context)
    queued = 0
    for person in pending:
        if not person.private_chat_open:
            continue
        t = person_texts(context, person)
        text = t(
            template,
            name=display_name(person),
            bso=person.bso.name if person.bso else "",
            month=month_label(month, t.locale),
            deadline=local_time(context, close.at) if close is not None else None,
            **extra,
        )
        queued += await queue_private(context, person, text, checkin_markup(t, month))
    return queued


async def close(context: JobContext) -> int:
    """Send the facilitators who filed and the totals, and thank the filers in CoP-wide groups."""
    month = report_month(context.occurrence)
    community_id = context.community.id
    round_result = await collect_round(context.session, community_id, month)
    # A facilitator may have closed the month in /progress before the round ended.
    closed = await progress_store.closed_month(context.session, community_id, month) is not None

    queued = 0
    for facilitator_id in context.settings.facilitator_ids:
        person = await people.get_person(context.session, community_id, facilitator_id)
        t = context.texts.bind(locale_of(context, person))
        text = summary_text(t, month, round_result, month_closed=closed)
        recipient = Recipient(facilitator_id, person_id=person.id if person else None)
        key = dedup_key(context, "facilitator", facilitator_id)
        queued += await queue(context, recipient, text, overview_markup(t, month), key)

    if round_result.filed:
        queued += await thank_filers(context, month, round_result)
    else:
        log.info("community %s: no BSO filed for %s; no post in the groups", community_id, month)
    log.info(
        "community %s: close of %s: %s of %s BSOs filed; %s messages queued",
        community_id,
        month,
        len(round_result.filed),
        round_result.bso_count,
        queued,
    )
    return queued


# --- Who is asked -----------------------------------------------------------------------------


def report_month(occurrence: Occurrence) -> dt.date:
    if occurrence.month is None:
        raise ValueError(f"{occurrence.job} for {occurrence.period} has no report month")
    return occurrence.month


async def pending_pocs(session: AsyncSession, community_id: int, month: dt.date) -> list[Person]:
    """Return the approved PoCs, in id order, whose BSO has no report for `month`."""
    reports = await progress_store.month_reports(session, community_id, month)
    filed = {report.bso_id for report in reports}
    return [
        person
        for person in await approved_pocs(session, community_id)
        if person.bso_id not in filed
    ]


@dataclass(frozen=True)
class UnreachableBso:
    """A BSO that has not filed and whose approved PoCs have no private chat with the bot."""

    name: str
    pocs: list[str]


def unreachable_bsos(pending: Sequence[Person]) -> list[UnreachableBso]:
    """Return the BSOs among `pending` PoCs none of whom can be messaged, in name order."""
    by_bso: dict[int, list[Person]] = {}
    for person in pending:
        if person.bso_id is not None:
            by_bso.setdefault(person.bso_id, []).append(person)
    found = [
        UnreachableBso(
            name=pocs[0].bso.name if pocs[0].bso else "",
            pocs=[display_name(person) for person in pocs],
        )
        for pocs in by_bso.values()
        if not any(person.private_chat_open for person in pocs)
    ]
    return sorted(found, key=lambda bso: bso.name.casefold())


# --- When the round ends ----------------------------------------------------------------------


def round_close(context: JobContext) -> Occurrence | None:
    """Return the close of this round if it is still ahead; None when the close is off or past."""
    upcoming = context.plan.next_due("close", context.now)
    if upcoming is None or upcoming.period != context.occurrence.period:
        return None
    return upcoming


def is_final_reminder(context: JobContext, close: Occurrence | None) -> bool:
    """Return whether no other reminder of this round comes before its close."""
    if context.occurrence.job == "reminder_2":
        return True
    later = context.plan.next_due("reminder_2", context.now)
    if later is None or later.period != context.occurrence.period:
        return True
    return close is not None and later.at >= close.at


def local_time(context: JobContext, moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(zoneinfo.ZoneInfo(context.community.timezone))


def days_until(context: JobContext, moment: dt.datetime) -> int:
    """Count calendar days in the community's time zone from now to `moment`; 0 on its day."""
    return (local_time(context, moment).date() - local_time(context, context.now).date()).days


# --- The close's figures ----------------------------------------------------------------------


@dataclass(frozen=True)
class FiledRow:
    bso: str
    filed_by: str


@dataclass(frozen=True)
class MissingRow:
    bso: str
    pocs: list[str]


@dataclass(frozen=True)
class RoundResult:
    """The outcome of a month's round: the filed and missing BSOs and the outcome totals.

    The BSOs counted are those with an approved PoC or a report for the month. A BSO
    with neither was never asked, so the round does not count it as missing.
    """

    filed: list[FiledRow]
    missing: list[MissingRow]
    totals: dict[str, int | float]

    @property
    def bso_count(self) -> int:
        return len(self.filed) + len(self.missing)


async def collect_round(session: AsyncSession, community_id: int, month: dt.date) -> RoundResult:
    reports = await progress_store.month_reports(session, community_id, month)
    by_bso = {report.bso_id: report for report in reports}
    pocs: dict[int, list[str]] = {}
    for person in await approved_pocs(session, community_id):
        if person.bso_id is not None:
            pocs.setdefault(person.bso_id, []).append(display_name(person))
    changes = await progress_store.report_changes(session, [report.id for report in reports])

    filed, missing = [], []
    for bso in await people.list_bsos(session, community_id):
        report = by_bso.get(bso.id)
        if report is not None:
            filer = await filer_name(session, report, changes[report.id])
            filed.append(FiledRow(bso.name, filer))
        elif bso.id in pocs:
            missing.append(MissingRow(bso.name, pocs[bso.id]))
    return RoundResult(filed, missing, progress_store.totals(reports))


async def filer_name(session: AsyncSession, report: ProgressReport, changes: Sequence[Any]) -> str:
    """Return who filed the report: the first save's person, else the report's `filed_by`."""
    fallback = ""
    if not changes and report.filed_by is not None:
        person = await session.get(Person, report.filed_by)
        fallback = display_name(person) if person is not None else ""
    return progress_store.filing_info(report, changes, fallback).filed_by


# --- Messages ---------------------------------------------------------------------------------


async def tell_unreachable(
    context: JobContext, month: dt.date, unreachable: list[UnreachableBso]
) -> int:
    """Send each facilitator the BSOs the bot cannot reach, with the link that opens the bot."""
    link = (
        f"https://t.me/{context.bot_username}?start={START_PAYLOAD}"
        if context.bot_username
        else None
    )
    queued = 0
    for facilitator_id in context.settings.facilitator_ids:
        person = await people.get_person(context.session, context.community.id, facilitator_id)
        t = context.texts.bind(locale_of(context, person))
        text = unreachable_text(t, month, unreachable, link)
        recipient = Recipient(facilitator_id, person_id=person.id if person else None)
        key = dedup_key(context, "unreachable", facilitator_id)
        queued += await queue(context, recipient, text, None, key)
    return queued


async def thank_filers(context: JobContext, month: dt.date, round_result: RoundResult) -> int:
    """Post the count and thanks to every active CoP-wide group, in the default language."""
    t = context.texts.bind(context.settings.default_locale)
    text = fit_rows(
        lambda shown: t(
            "checkins/close_post",
            month=month_label(month, t.locale),
            filed=round_result.filed[:shown],
            more=len(round_result.filed) - shown,
            filed_count=len(round_result.filed),
            bso_count=round_result.bso_count,
        ),
        len(round_result.filed),
    )
    queued = 0
    for group in await cop_groups(context.session, context.community.id):
        recipient = Recipient(group.telegram_chat_id, is_group=True)
        key = dedup_key(context, "group", group.telegram_chat_id)
        queued += await queue(context, recipient, text, None, key)
    return queued


def summary_text(
    t: LocalTexts, month: dt.date, round_result: RoundResult, *, month_closed: bool
) -> Markup:
    """Render the facilitators' close summary.

    `month_closed` is whether a facilitator closed the month in /progress.
    """
    filed, missing = round_result.filed, round_result.missing

    def render(shown: int) -> Markup:
        return t(
            "checkins/close_summary",
            month=month_label(month, t.locale),
            filed=filed[:shown],
            missing=missing[:shown],
            more=max(0, len(filed) - shown) + max(0, len(missing) - shown),
            filed_count=len(filed),
            bso_count=round_result.bso_count,
            totals=outcome_items(t, round_result.totals) if filed else [],
            month_closed=month_closed,
        )

    return fit_rows(render, max(len(filed), len(missing)))


def unreachable_text(
    t: LocalTexts, month: dt.date, unreachable: list[UnreachableBso], link: str | None
) -> Markup:
    def render(shown: int) -> Markup:
        return t(
            "checkins/unreachable",
            month=month_label(month, t.locale),
            bsos=unreachable[:shown],
            more=len(unreachable) - shown,
            link=link,
        )

    return fit_rows(render, len(unreachable))


def fit_rows(render: Callable[[int], Markup], total: int) -> Markup:
    """Render with the most rows, up to `total`, that keep the message within Telegram's limit.

    `render(shown)` lists the first `shown` rows and the number of rows left out.
    """
    low, high = 0, total
    if fits_message(render(high)):
        return render(high)
    while low < high - 1:
        middle = (low + high) // 2
        if fits_message(render(middle)):
            low = middle
        else:
            high = middle
    return render(low)


def checkin_markup(t: LocalTexts, month: dt.date) -> dict[str, Any]:
    """Return Bot API JSON of the button that opens the check-in form for `month`."""
    data = CheckinStart(month=progress_store.month_key(month)).pack()
    text = t.label("checkins", "open_form", month=month_label(month, t.locale))
    return {"inline_keyboard": [[{"text": text, "callback_data": data}]]}


def overview_markup(t: LocalTexts, month: dt.date) -> dict[str, Any]:
    """Return Bot API JSON of the button that opens /progress for `month`."""
    data = ProgressView(action="month", month=progress_store.month_key(month)).pack()
    text = t.label("checkins", "open_overview", month=month_label(month, t.locale))
    return {"inline_keyboard": [[{"text": text, "callback_data": data}]]}


async def queue_private(
    context: JobContext, person: Person, text: Markup, markup: dict[str, Any]
) -> int:
    recipient = Recipient(person.telegram_id, person_id=person.id)
    return await queue(context, recipient, text, markup, dedup_key(context, "poc", person.id))


async def queue(
    context: JobContext,
    recipient: Recipient,
    text: Markup,
    markup: dict[str, Any] | None,
    key: str,
) -> int:
    """Add one outbox row unless its key exists; return 1 if added, else 0."""
    added = await add_unique(
        context.session,
        community_id=context.community.id,
        recipient=recipient,
        payload=text_payload(str(text), reply_markup=markup),
        not_before=context.now,
        dedup_key=key,
    )
    return int(added)


def dedup_key(context: JobContext, kind: str, recipient_id: int) -> str:
    """Return "checkin:<community>:<period>:<job>:<kind>:<id>", under the column's 128 characters."""
    occurrence = context.occurrence
    return (
        f"checkin:{context.community.id}:{occurrence.period}:{occurrence.job}:{kind}:{recipient_id}"
    )


def person_texts(context: JobContext, person: Person) -> LocalTexts:
    return context.texts.bind(locale_of(context, person))


def locale_of(context: JobContext, person: Person | None) -> str:
    if person is not None and person.locale:
        return person.locale
    return context.settings.default_locale


def display_name(person: Person) -> str:
    return person.name or person.telegram_name
