"""The facilitator's review of progress check-ins: /progress and its buttons.

For a month, /progress lists the BSOs that filed (who, when, amendments) and those that
did not, with the month's outcome totals. Its buttons page through the list, move
between months, open a BSO's month-by-month history with its change log, open a BSO's
full update for one month with every answer, and close or reopen the month for
amendments. Every view is edited into the same message.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import zoneinfo
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from aiogram import Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.forms import Field, FieldError, MonthField
from bot.texts import MESSAGE_LIMIT, LocalTexts, utf16_length
from handlers.callbacks import ProgressReportPage, ProgressView
from handlers.keyboards import button
from handlers.progress_fields import CHECKIN_PROMPTS, outcome_fields
from storage import connections as connection_store
from storage import people
from storage import progress as progress_store
from storage.models import (
    Bso,
    ClosedMonth,
    Community,
    FollowUpAction,
    Person,
    ProgressChange,
    ProgressReport,
)
from storage.normalize import shorten
from storage.progress import (
    EARLIEST_MONTH,
    NUMBER_FIELDS,
    REPORT_FIELDS,
    FilingInfo,
    as_utc,
    month_from_key,
    month_key,
)
from storage.recognition import month_bounds

log = logging.getLogger(__name__)
router = Router(name="progress_views")
router.message.filter(StateFilter(None))

# BSOs per /progress page and months per history page, before shrinking to fit a message.
BSOS_PER_PAGE = 15
MONTHS_PER_PAGE = 4
# Amendments shown per month in the history, the latest ones, and changes per amendment.
AMENDMENTS_SHOWN = 3
CHANGES_SHOWN = 6
# Characters of a BSO's short name on the overview's history and full-update buttons.
BSO_BUTTON_NAME = 30
REPORT_BUTTON_NAME = 20
# A full update's pages are sized with the footer of this many pages, the widest that
# a page number is expected to get.
REPORT_PAGES_MEASURED = 999


# --- Shown values ---------------------------------------------------------------------------


def month_label(month: dt.date, locale: str) -> str:
    """Name a month as the forms show it: "Mar 2025", "मार्च 2025"."""
    return MonthField().display(month, locale)


def local_time(value: dt.datetime, timezone: str) -> dt.datetime:
    return as_utc(value).astimezone(zoneinfo.ZoneInfo(timezone))


def current_month(clock: Clock, community: Community) -> dt.date:
    return progress_store.local_month(clock.now(), community.timezone)


def local_today(clock: Clock, community: Community) -> dt.date:
    return clock.now().astimezone(zoneinfo.ZoneInfo(community.timezone)).date()


def parse_month_argument(
    args: str, clock: Clock, community: Community, t: LocalTexts, command: str
) -> dt.date | Markup:
    """Parse a command's month argument ("Mar 2025", "03/2025") as the forms read a month.

    Returns the month's first day, or the message for an unreadable month or one
    outside EARLIEST_MONTH to the current month, which names `command` in its hint.
    """
    month_field = MonthField(earliest=EARLIEST_MONTH, latest=current_month(clock, community))
    try:
        return month_field.parse(args, today=local_today(clock, community), locale=t.locale)
    except FieldError as error:
        reason = t(error.template, **error.params)
        return t("progress/month_argument", reason=reason, command=command)


@dataclass(frozen=True)
class FilingView:
    """The filer of a report and who amended it last, with times in the community time zone."""

    filed_by: str
    filed_at: dt.datetime
    amendments: int
    amended_by: str | None
    amended_at: dt.datetime | None


def filing_view(info: FilingInfo, timezone: str) -> FilingView:
    last = info.amendments[-1] if info.amendments else None
    return FilingView(
        filed_by=info.filed_by,
        filed_at=local_time(info.filed_at, timezone),
        amendments=len(info.amendments),
        amended_by=last.person_name if last else None,
        amended_at=local_time(last.changed_at, timezone) if last else None,
    )


def outcome_items(t: LocalTexts, values: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Return (label, shown value) of each outcome number that has a value."""
    kinds = outcome_fields(t.texts)
    return [
        (t.label(CHECKIN_PROMPTS, name), kinds[name].display(values[name], t.locale))
        for name in NUMBER_FIELDS
        if values.get(name) is not None
    ]


# --- /progress: the facilitator's overview --------------------------------------------------


@router.message(Command("progress"))
async def progress_command(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    community: Community,
    is_facilitator: bool,
    t: LocalTexts,
    clock: Clock,
) -> None:
    if not is_facilitator:
        await message.answer(t("common/facilitators_only"))
        return
    if message.chat.type != "private":
        # A BSO's figures are shared with the facilitator, not with the whole group.
        await message.reply(t("progress/private_only", command="/progress"))
        return
    current = current_month(clock, community)
    month = current
    if command.args:
        parsed = parse_month_argument(command.args, clock, community, t, "/progress")
        if isinstance(parsed, Markup):
            await message.answer(parsed)
            return
        month = parsed
    text, keyboard = await overview_page(session, community, t, month, current, page=0)
    await session.commit()
    await message.answer(text, reply_markup=keyboard)


@router.callback_query(ProgressView.filter())
async def progress_button(
    callback: CallbackQuery,
    callback_data: ProgressView,
    session: AsyncSession,
    community: Community,
    is_facilitator: bool,
    t: LocalTexts,
    clock: Clock,
) -> None:
    message = await facilitator_message(callback, is_facilitator, t)
    if message is None:
        return
    current = current_month(clock, community)
    month = month_from_key(callback_data.month)
    if month is None or month > current:
        log.info("progress button with invalid month %s", callback_data.month)
        await callback.answer(t.alert("progress/month_invalid"), show_alert=True)
        return

    action = callback_data.action
    page = callback_data.page
    view: tuple[Markup, InlineKeyboardMarkup] | None = None
    if action == "month":
        view = await overview_page(session, community, t, month, current, page=page)
    elif action == "bso":
        bso = await people.get_bso(session, community.id, callback_data.bso_id)
        if bso is None:
            log.info("progress button with unknown BSO %s", callback_data.bso_id)
            await callback.answer(t.alert("progress/bso_unknown"), show_alert=True)
            return
        view = await history_page(session, community, t, bso, month, page=page)
    elif action == "close":
        view = await close_question(session, community, t, month)
    elif action == "close_yes":
        closed = await progress_store.close_month(
            session, community.id, month, callback.from_user.id, clock.now()
        )
        await session.commit()
        log.info(
            "month %s of community %s closed by user %s: %s",
            month,
            community.id,
            callback.from_user.id,
            closed,
        )
        note = "closed" if closed else "already_closed"
        view = await overview_page(session, community, t, month, current, page=0, note=note)
    elif action == "reopen":
        reopened = await progress_store.reopen_month(session, community.id, month)
        await session.commit()
        log.info(
            "month %s of community %s reopened by user %s: %s",
            month,
            community.id,
            callback.from_user.id,
            reopened,
        )
        note = "reopened" if reopened else "not_closed"
        view = await overview_page(session, community, t, month, current, page=0, note=note)
    if view is None:
        await callback.answer(t.alert("common/button_unknown"), show_alert=True)
        return
    await session.commit()
    await callback.answer()
    await show(message, *view)


async def facilitator_message(
    callback: CallbackQuery, is_facilitator: bool, t: LocalTexts
) -> Message | None:
    """Return the private-chat message of a facilitator's button press.

    Returns None, after an alert that says why, when the presser is no facilitator or
    the chat is not private.
    """
    if not is_facilitator:
        log.info(
            "progress button %s pressed by user %s, not a facilitator",
            callback.data,
            callback.from_user.id,
        )
        await callback.answer(t.alert("common/facilitators_only"), show_alert=True)
        return None
    message = callback.message
    if not isinstance(message, Message) or message.chat.type != "private":
        await callback.answer(
            t.alert("progress/private_only", command="/progress"), show_alert=True
        )
        return None
    return message


async def show(message: Message, text: Markup, keyboard: InlineKeyboardMarkup) -> None:
    """Replace the view on `message`; a press that changes nothing leaves it as it is."""
    try:
        await message.edit_text(text, reply_markup=keyboard)
    except TelegramAPIError as error:
        log.debug("progress view %s not edited: %s", message.message_id, error.message)


def page_size(fits: Callable[[int], bool], preferred: int) -> int:
    """Return the largest items-per-page from `preferred`, halving, at which every page fits.

    Checking every page, not only the requested one, keeps a page number meaning the
    same items on every press. Returns 1 when even single items do not fit.
    """
    size = preferred
    while size > 1 and not fits(size):
        size //= 2
    return max(size, 1)


def fits_message(text: str) -> bool:
    return utf16_length(text) <= MESSAGE_LIMIT


@dataclass(frozen=True)
class BsoRow:
    """One BSO in the month's overview: its filing, or how many PoCs could file."""

    bso_id: int
    name: str
    short_name: str
    filing: FilingView | None
    pocs: int


async def overview_page(
    session: AsyncSession,
    community: Community,
    t: LocalTexts,
    month: dt.date,
    current: dt.date,
    *,
    page: int,
    note: str | None = None,
) -> tuple[Markup, InlineKeyboardMarkup]:
    """Render the month's overview: filed and missing BSOs, totals, the month's connections
    and buyer matches, and its buttons."""
    bsos = await people.list_bsos(session, community.id)
    reports = await progress_store.month_reports(session, community.id, month)
    changes = await progress_store.report_changes(session, [report.id for report in reports])
    pocs = await progress_store.approved_poc_counts(session, community.id)
    closed = await progress_store.closed_month(session, community.id, month)
    by_bso = {report.bso_id: report for report in reports}

    filer_names = await _filer_names(session, reports)
    rows = []
    for bso in bsos:
        report = by_bso.get(bso.id)
        filing = None
        if report is not None:
            info = progress_store.filing_info(
                report, changes[report.id], filer_names.get(report.id, "")
            )
            filing = filing_view(info, community.timezone)
        rows.append(
            BsoRow(bso.id, bso.name, bso.short_name or bso.name, filing, pocs.get(bso.id, 0))
        )
    # Filed BSOs first, each group in name order.
    rows.sort(key=lambda row: row.filing is None)

    totals = progress_store.totals(reports)
    start, end = month_bounds(month, community.timezone)
    links = await connection_store.count_links(session, community.id, start, end)
    context = {
        "month": month_label(month, t.locale),
        "closed": (
            local_time(closed.closed_at, community.timezone) if closed is not None else None
        ),
        "note": note,
        "filed_count": len(reports),
        "bso_count": len(bsos),
        "totals": outcome_items(t, totals) if reports else [],
        "links": links,
    }

    def render(size: int, index: int) -> Markup:
        shown = rows[index * size : (index + 1) * size]
        return t(
            "progress/overview",
            filed=[row for row in shown if row.filing is not None],
            missing=[row for row in shown if row.filing is None],
            page=index,
            pages=max(1, math.ceil(len(rows) / size)),
            **context,
        )

    def fits(size: int) -> bool:
        pages = max(1, math.ceil(len(rows) / size))
        return all(fits_message(render(size, index)) for index in range(pages))

    size = page_size(fits, BSOS_PER_PAGE)
    pages = max(1, math.ceil(len(rows) / size))
    page = min(page, pages - 1)
    text = render(size, page)

    shown = rows[page * size : (page + 1) * size]
    keyboard = overview_keyboard(t, shown, month, current, page, pages, closed=closed is not None)
    return text, keyboard


def overview_keyboard(
    t: LocalTexts,
    shown: Sequence[BsoRow],
    month: dt.date,
    current: dt.date,
    page: int,
    pages: int,
    *,
    closed: bool,
) -> InlineKeyboardMarkup:
    """Build the overview's buttons.

    They open the history of each shown BSO and the full update of each shown BSO that
    filed, page through the list, move between months, and close or reopen the month.
    """
    key = month_key(month)
    bso_buttons = [
        button(
            shorten(row.short_name, BSO_BUTTON_NAME),
            ProgressView(action="bso", month=key, bso_id=row.bso_id),
        )
        for row in shown
    ]
    report_buttons = [
        button(
            t.label("progress", "bso_report", bso=shorten(row.short_name, REPORT_BUTTON_NAME)),
            ProgressReportPage(
                month=key, bso_id=row.bso_id, back="month", back_month=key, back_page=page
            ),
        )
        for row in shown
        if row.filing is not None
    ]
    rows = [bso_buttons[index : index + 2] for index in range(0, len(bso_buttons), 2)]
    rows += [report_buttons[index : index + 2] for index in range(0, len(report_buttons), 2)]

    paging = []
    if page > 0:
        paging.append(
            button(
                t.label("progress", "previous_page"),
                ProgressView(action="month", month=key, page=page - 1),
            )
        )
    if page + 1 < pages:
        paging.append(
            button(
                t.label("progress", "next_page"),
                ProgressView(action="month", month=key, page=page + 1),
            )
        )
    rows.append(paging)

    months = []
    earlier = progress_store.add_months(month, -1)
    if earlier is not None:
        months.append(
            button(
                t.label("progress", "previous_month", month=month_label(earlier, t.locale)),
                ProgressView(action="month", month=month_key(earlier)),
            )
        )
    later = progress_store.add_months(month, 1)
    if later is not None and later <= current:
        months.append(
            button(
                t.label("progress", "next_month", month=month_label(later, t.locale)),
                ProgressView(action="month", month=month_key(later)),
            )
        )
    rows.append(months)

    label = month_label(month, t.locale)
    if closed:
        rows.append(
            [
                button(
                    t.label("progress", "reopen", month=label),
                    ProgressView(action="reopen", month=key),
                )
            ]
        )
    else:
        rows.append(
            [
                button(
                    t.label("progress", "close", month=label),
                    ProgressView(action="close", month=key),
                )
            ]
        )
    return InlineKeyboardMarkup(inline_keyboard=[row for row in rows if row])


async def _filer_names(session: AsyncSession, reports: Sequence[ProgressReport]) -> dict[int, str]:
    """Return the filer's name per report id, for reports that have no change rows."""
    ids = {report.filed_by for report in reports if report.filed_by is not None}
    if not ids:
        return {}
    found = await session.scalars(select(Person).where(Person.id.in_(ids)))
    names = {person.id: person.name or person.telegram_name for person in found}
    return {
        report.id: names.get(report.filed_by, "")
        for report in reports
        if report.filed_by is not None
    }


async def close_question(
    session: AsyncSession, community: Community, t: LocalTexts, month: dt.date
) -> tuple[Markup, InlineKeyboardMarkup]:
    bsos = await people.list_bsos(session, community.id)
    reports = await progress_store.month_reports(session, community.id, month)
    label = month_label(month, t.locale)
    key = month_key(month)
    text = t("progress/close_confirm", month=label, filed_count=len(reports), bso_count=len(bsos))
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                button(
                    t.label("progress", "close_yes", month=label),
                    ProgressView(action="close_yes", month=key),
                ),
                button(t.label("progress", "close_no"), ProgressView(action="month", month=key)),
            ]
        ]
    )
    return text, keyboard


# --- A BSO's history ------------------------------------------------------------------------


@dataclass(frozen=True)
class ChangeView:
    """One changed value in the history, as shown: its label and old and new values."""

    label: str
    old: str | None
    new: str | None


@dataclass(frozen=True)
class AmendmentView:
    person: str
    at: dt.datetime
    changes: list[ChangeView]
    more: int


@dataclass(frozen=True)
class MonthView:
    month: str
    # The month as yyyymm, for its full-update button.
    key: int
    closed: bool
    outcomes: list[tuple[str, str]]
    actions_taken: str | None
    challenges: str | None
    support_needed: str | None
    filing: FilingView
    action_changes: list[ChangeView]
    amendments: list[AmendmentView]
    more_amendments: int


async def history_page(
    session: AsyncSession,
    community: Community,
    t: LocalTexts,
    bso: Bso,
    month: dt.date,
    *,
    page: int,
) -> tuple[Markup, InlineKeyboardMarkup]:
    """Render the BSO's reports month by month, the latest first, with their amendments.

    `month` is the overview month the Back button returns to.
    """
    reports = await progress_store.bso_reports(session, community.id, bso.id)
    changes = await progress_store.report_changes(session, [report.id for report in reports])
    titles = await _action_titles(session, changes.values())
    closed_months = await _closed_months(session, community.id)
    filer_names = await _filer_names(session, reports)
    describe = ChangeDescriber(t, titles)

    entries = []
    for report in reports:
        info = progress_store.filing_info(
            report, changes[report.id], filer_names.get(report.id, "")
        )
        grouped = progress_store.batches(changes[report.id])
        filing_changes = grouped[0].changes if grouped else ()
        amendments = [
            AmendmentView(
                person=batch.person_name,
                at=local_time(batch.changed_at, community.timezone),
                changes=[describe(change) for change in batch.changes[:CHANGES_SHOWN]],
                more=max(0, len(batch.changes) - CHANGES_SHOWN),
            )
            for batch in info.amendments[-AMENDMENTS_SHOWN:]
        ]
        entries.append(
            MonthView(
                month=month_label(report.month, t.locale),
                key=month_key(report.month),
                closed=report.month in closed_months,
                outcomes=outcome_items(t, progress_store.report_values(report)),
                actions_taken=report.actions_taken,
                challenges=report.challenges,
                support_needed=report.support_needed,
                filing=filing_view(info, community.timezone),
                action_changes=[
                    describe(change)
                    for change in filing_changes
                    if progress_store.action_id_of(change.field) is not None
                ][:CHANGES_SHOWN],
                amendments=amendments,
                more_amendments=max(0, len(info.amendments) - AMENDMENTS_SHOWN),
            )
        )

    def render(size: int, index: int, compact: bool = False) -> Markup:
        return t(
            "progress/history",
            bso=bso.name,
            months=entries[index * size : (index + 1) * size],
            page=index,
            pages=max(1, math.ceil(len(entries) / size)),
            compact=compact,
        )

    def fits(size: int) -> bool:
        pages = max(1, math.ceil(len(entries) / size))
        return all(fits_message(render(size, index)) for index in range(pages))

    size = page_size(fits, MONTHS_PER_PAGE)
    pages = max(1, math.ceil(len(entries) / size))
    page = min(page, pages - 1)
    text = render(size, page)
    if not fits_message(text):
        # One month with many long amendments: show it without the change details.
        text = render(size, page, compact=True)

    key = month_key(month)
    report_buttons = [
        button(
            t.label("progress", "month_report", month=entry.month),
            ProgressReportPage(
                month=entry.key, bso_id=bso.id, back="bso", back_month=key, back_page=page
            ),
        )
        for entry in entries[page * size : (page + 1) * size]
    ]
    rows = [report_buttons[index : index + 2] for index in range(0, len(report_buttons), 2)]
    paging = []
    if page + 1 < pages:
        paging.append(
            button(
                t.label("progress", "older"),
                ProgressView(action="bso", month=key, bso_id=bso.id, page=page + 1),
            )
        )
    if page > 0:
        paging.append(
            button(
                t.label("progress", "newer"),
                ProgressView(action="bso", month=key, bso_id=bso.id, page=page - 1),
            )
        )
    if paging:
        rows.append(paging)
    rows.append(
        [
            button(
                t.label("progress", "back", month=month_label(month, t.locale)),
                ProgressView(action="month", month=key),
            )
        ]
    )
    return text, InlineKeyboardMarkup(inline_keyboard=rows)


async def _action_titles(
    session: AsyncSession, change_lists: Iterable[Sequence[ProgressChange]]
) -> dict[int, str]:
    ids = {
        action_id
        for changes in change_lists
        for change in changes
        if (action_id := progress_store.action_id_of(change.field)) is not None
    }
    if not ids:
        return {}
    found = await session.scalars(select(FollowUpAction).where(FollowUpAction.id.in_(ids)))
    return {action.id: action.title for action in found}


async def _closed_months(session: AsyncSession, community_id: int) -> set[dt.date]:
    rows = await session.scalars(
        select(ClosedMonth.month).where(ClosedMonth.community_id == community_id)
    )
    return set(rows)


class ChangeDescriber:
    """Turn change rows into labelled old and new values in the reader's language."""

    def __init__(self, t: LocalTexts, action_titles: Mapping[int, str]) -> None:
        self.t = t
        self.action_titles = action_titles
        self.kinds: dict[str, Field[Any]] = outcome_fields(t.texts)

    def __call__(self, change: ProgressChange) -> ChangeView:
        t = self.t
        action_id = progress_store.action_id_of(change.field)
        if action_id is not None:
            title = self.action_titles.get(action_id)
            return ChangeView(
                label=t.label(
                    "progress", "action_change", title=shorten(title or "", 40), number=action_id
                ),
                old=self._status(change.old_value),
                new=self._status(change.new_value),
            )
        label = (
            t.label(CHECKIN_PROMPTS, change.field)
            if change.field in REPORT_FIELDS
            else change.field
        )
        return ChangeView(
            label=label,
            old=self._value(change.field, change.old_value),
            new=self._value(change.field, change.new_value),
        )

    def _status(self, value: Any) -> str | None:
        if not isinstance(value, dict) or not value.get("status"):
            return None
        status = self.t.label(CHECKIN_PROMPTS, f"status_{value['status']}")
        reason = value.get("reason")
        if not reason:
            return status
        return self.t.label("progress", "status_with_reason", status=status, reason=reason)

    def _value(self, name: str, value: Any) -> str | None:
        if value is None:
            return None
        kind = self.kinds.get(name)
        if kind is not None and isinstance(value, int | float):
            return kind.display(value, self.t.locale)
        return str(value)


# --- One BSO's full update for a month ------------------------------------------------------


@dataclass(frozen=True)
class ActionLine:
    """A follow-up action that the update changed, with the status it set last."""

    label: str
    status: str
    reason: str | None


@dataclass(frozen=True)
class AmendmentLine:
    """One amendment of the update: who, when, and the labels of the changed answers."""

    person: str
    at: dt.datetime
    fields: list[str]


@dataclass(frozen=True)
class ReportSection:
    """One part of a full update: a text answer, the outcomes, actions or amendments.

    `kind` is text, outcomes, actions or amendments. A text section has `title` and
    `text` (None when not answered), the others have `items`. `continued` marks the
    rest of a section that did not fit on the page before.
    """

    kind: str
    title: str = ""
    text: str | None = None
    items: tuple[Any, ...] = ()
    continued: bool = False

    def split(
        self, fits: Callable[[ReportSection], bool]
    ) -> tuple[ReportSection, ReportSection | None]:
        """Split off the longest head that `fits`, and return it with the rest (None if none).

        A text is cut at a line break or space near the end of the head where there is
        one. Items are never cut, so a head has at least one item even if it does not fit.
        """
        if self.kind == "text":
            text = self.text or ""
            cut = _longest(len(text), lambda size: fits(replace(self, text=text[:size])))
            cut = _break_before(text, cut)
            head, rest = text[:cut].rstrip(), text[cut:].strip()
            return replace(self, text=head), (
                replace(self, text=rest, continued=True) if rest else None
            )
        count = _longest(len(self.items), lambda size: fits(replace(self, items=self.items[:size])))
        rest_items = self.items[count:]
        return replace(self, items=self.items[:count]), (
            replace(self, items=rest_items, continued=True) if rest_items else None
        )


def _longest(total: int, fits: Callable[[int], bool]) -> int:
    """Return the largest size from 1 to `total` that `fits`, or 1 when none does."""
    low, high = 1, total
    while low < high:
        middle = (low + high + 1) // 2
        if fits(middle):
            low = middle
        else:
            high = middle - 1
    return low


def _break_before(text: str, cut: int) -> int:
    """Move a cut in `text` back to just after a line break, else a space, in its last half."""
    if cut >= len(text):
        return cut
    for separator in ("\n", " "):
        position = text.rfind(separator, cut // 2, cut)
        if position > 0:
            return position + 1
    return cut


def pack_pages(
    sections: Sequence[ReportSection], fits: Callable[[list[ReportSection]], bool]
) -> list[list[ReportSection]]:
    """Lay out `sections` in order on pages that each `fits`.

    A section that does not fit after the sections of a page starts the next page, and
    one that does not fit alone on a page is split across pages.
    """
    pages: list[list[ReportSection]] = [[]]
    for section in sections:
        part: ReportSection | None = section
        while part is not None:
            page = pages[-1]
            if fits([*page, part]):
                page.append(part)
                break
            if page:
                pages.append([])
                continue
            head, part = part.split(lambda piece: fits([piece]))
            page.append(head)
            pages.append([])
    return [page for page in pages if page] or [[]]


def report_sections(
    t: LocalTexts,
    report: ProgressReport,
    changes: Sequence[ProgressChange],
    info: FilingInfo,
    action_titles: Mapping[int, str],
    timezone: str,
) -> list[ReportSection]:
    """Describe every answer of `report` in full, the actions it changed and its amendments."""
    sections = [
        ReportSection("text", title=t.label(CHECKIN_PROMPTS, name), text=getattr(report, name))
        for name in progress_store.TEXT_FIELDS
    ]
    kinds = outcome_fields(t.texts)
    outcomes = []
    for name in NUMBER_FIELDS:
        value = getattr(report, name)
        shown = kinds[name].display(value, t.locale) if value is not None else None
        outcomes.append((t.label(CHECKIN_PROMPTS, name), shown))
    sections.append(ReportSection("outcomes", items=tuple(outcomes)))

    describe = ChangeDescriber(t, action_titles)
    latest: dict[int, ProgressChange] = {}
    for change in changes:
        action_id = progress_store.action_id_of(change.field)
        if action_id is not None:
            latest[action_id] = change
    actions = []
    for action_id, change in latest.items():
        value = change.new_value if isinstance(change.new_value, dict) else {}
        title = action_titles.get(action_id, "")
        actions.append(
            ActionLine(
                label=t.label("progress", "action_change", title=title, number=action_id),
                status=t.label(CHECKIN_PROMPTS, f"status_{value.get('status', 'open')}"),
                reason=value.get("reason"),
            )
        )
    if actions:
        sections.append(ReportSection("actions", items=tuple(actions)))

    amendments = tuple(
        AmendmentLine(
            person=batch.person_name,
            at=local_time(batch.changed_at, timezone),
            fields=[describe(change).label for change in batch.changes],
        )
        for batch in info.amendments
    )
    if amendments:
        sections.append(ReportSection("amendments", items=amendments))
    return sections


async def report_page(
    session: AsyncSession,
    community: Community,
    t: LocalTexts,
    bso: Bso,
    report: ProgressReport,
    request: ProgressReportPage,
) -> tuple[Markup, InlineKeyboardMarkup]:
    """Render page `request.page` of the BSO's full update, with its page and Back buttons."""
    changes = (await progress_store.report_changes(session, [report.id]))[report.id]
    filer_names = await _filer_names(session, [report])
    info = progress_store.filing_info(report, changes, filer_names.get(report.id, ""))
    titles = await _action_titles(session, [changes])
    closed = await progress_store.closed_month(session, community.id, report.month)
    sections = report_sections(t, report, changes, info, titles, community.timezone)
    context = {
        "bso": bso.name,
        "month": month_label(report.month, t.locale),
        "closed": closed is not None,
        "filing": filing_view(info, community.timezone),
    }

    def render(parts: Sequence[ReportSection], index: int, pages: int) -> Markup:
        return t("progress/report", sections=list(parts), page=index, pages=pages, **context)

    def fits(parts: list[ReportSection]) -> bool:
        return fits_message(render(parts, REPORT_PAGES_MEASURED - 1, REPORT_PAGES_MEASURED))

    pages = pack_pages(sections, fits)
    page = min(request.page, len(pages) - 1)
    text = render(pages[page], page, len(pages))

    paging = []
    if page > 0:
        previous = request.model_copy(update={"page": page - 1})
        paging.append(button(t.label("progress", "previous_page"), previous))
    if page + 1 < len(pages):
        following = request.model_copy(update={"page": page + 1})
        paging.append(button(t.label("progress", "next_page"), following))
    rows = [paging] if paging else []
    back_month = month_from_key(request.back_month) or report.month
    if request.back == "bso":
        back = button(
            t.label("progress", "back_history", bso=shorten(bso.short_name or bso.name, 30)),
            ProgressView(
                action="bso", month=request.back_month, bso_id=bso.id, page=request.back_page
            ),
        )
    else:
        back = button(
            t.label("progress", "back", month=month_label(back_month, t.locale)),
            ProgressView(action="month", month=request.back_month, page=request.back_page),
        )
    rows.append([back])
    return text, InlineKeyboardMarkup(inline_keyboard=rows)


@router.callback_query(ProgressReportPage.filter())
async def report_button(
    callback: CallbackQuery,
    callback_data: ProgressReportPage,
    session: AsyncSession,
    community: Community,
    is_facilitator: bool,
    t: LocalTexts,
    clock: Clock,
) -> None:
    """Show a page of a BSO's full update, opened from the month's overview or its history."""
    message = await facilitator_message(callback, is_facilitator, t)
    if message is None:
        return

    current = current_month(clock, community)
    month = month_from_key(callback_data.month)
    back_month = month_from_key(callback_data.back_month)
    if (
        month is None
        or month > current
        or back_month is None
        or back_month > current
        or callback_data.back not in ("month", "bso")
    ):
        log.info("full-update button with invalid data %s", callback.data)
        await callback.answer(t.alert("progress/month_invalid"), show_alert=True)
        return

    bso = await people.get_bso(session, community.id, callback_data.bso_id)
    if bso is None:
        log.info("full-update button with unknown BSO %s", callback_data.bso_id)
        await callback.answer(t.alert("progress/bso_unknown"), show_alert=True)
        return
    report = await progress_store.find_report(session, community.id, bso.id, month)
    if report is None:
        log.info("full-update button for BSO %s without a report for %s", bso.id, month)
        await callback.answer(t.alert("progress/report_gone"), show_alert=True)
        return

    view = await report_page(session, community, t, bso, report, callback_data)
    await session.commit()
    await callback.answer()
    await show(message, *view)
