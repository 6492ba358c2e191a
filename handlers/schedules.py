"""/schedule: facilitators see and change when the community's scheduled jobs run.

/schedule lists every job (check-in, reminders, close, recognition post, digest, action
reminders) with its rule in plain words and whether it is paused or off. It also shows
each job's next run in the community's time zone, with any move off a weekend or public
holiday. A button
per job opens it with "Change time", "Pause" or "Resume" and "Back"; "Holiday state"
sets the state whose public holidays count besides the national ones.

"Change time" and "Holiday state" wait for the facilitator's next message in this chat
(an FSM state of this module), which /cancel leaves like any other input. Invalid input
is answered with the reason and examples, and the saved schedule stays as it was. Every
press and every typed answer checks again that the sender is a facilitator, because
callback data can be forged and a facilitator list can change.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import holidays as holidays_lib
from aiogram import F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder
from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.config import Settings
from bot.schedule_plan import (
    AFTER_CHECKIN_JOBS,
    PREVIEW_LEAD,
    Occurrence,
    Plan,
    load_plan,
)
from bot.schedule_rules import HolidayCalendar, ScheduleParseError, describe_rule, state_subdivision
from bot.texts import LocalTexts
from handlers.broadcasts import local_time
from handlers.callbacks import ScheduleButton
from handlers.keyboards import facilitator_press
from handlers.progress_views import month_label
from storage import schedules as schedule_store
from storage.models import Community, Schedule
from storage.normalize import parse_state
from storage.schedules import (
    JOB_NAMES,
    JOB_SPECS,
    JOBS,
    MAX_DAYS_AFTER,
    ParsedRule,
    parse_for_job,
    parse_stored,
)

if TYPE_CHECKING:
    from bot.app import Application

log = logging.getLogger(__name__)
router = Router(name="schedules")

# Ops that act on one job, and those that take no job.
JOB_OPS = ("open", "change", "pause", "resume")
PLAIN_OPS = ("back", "state")
# Typed answers to the holiday state question that mean national holidays only.
NATIONAL_ONLY = frozenset(
    {"none", "no", "national", "national only", "नहीं", "कोई नहीं", "राष्ट्रीय", "केवल राष्ट्रीय"}
)
# Part of Telegram's error description for an edit that changes nothing.
NOT_MODIFIED = "message is not modified"


class ScheduleInput(StatesGroup):
    # A new rule for the job named in the state data.
    rule = State()
    # The name of the state whose public holidays count.
    holiday_state = State()


# --- Rules that are not about Telegram -------------------------------------------------


def order_conflict(
    job: str, parsed: ParsedRule, rules: Mapping[str, str]
) -> tuple[str, str, int] | None:
    """Check that reminder 1, reminder 2 and the close keep their order, with `parsed` for `job`.

    `rules` are the stored rules by job, and a job that is off does not count. Returns
    None when the order is kept, else (error code, the other job, its days). The codes
    name what `job` would do: reminder_after_close, reminder_after_reminder (reminder 1
    on or after reminder 2), reminder_before_reminder (reminder 2 on or before reminder
    1), close_before_reminder.
    """
    if parsed.days is None or job not in AFTER_CHECKIN_JOBS:
        return None
    index = AFTER_CHECKIN_JOBS.index(job)
    for other_index, other in enumerate(AFTER_CHECKIN_JOBS):
        other_days = parse_stored(other, rules[other]).days if other != job else None
        if other_days is None:
            continue
        if other_index < index and other_days >= parsed.days:
            code = "close_before_reminder" if job == "close" else "reminder_before_reminder"
            return code, other, other_days
        if other_index > index and other_days <= parsed.days:
            code = "reminder_after_close" if other == "close" else "reminder_after_reminder"
            return code, other, other_days
    return None


def holiday_state(text: str) -> tuple[str | None, bool]:
    """Read a typed holiday state: (the name to store or None for national only, valid).

    A state or union territory name, Hindi name or abbreviation is stored by its canonical
    English name when the `holidays` package has a calendar for it.
    """
    cleaned = " ".join(text.split())
    if cleaned.casefold() in NATIONAL_ONLY:
        return None, True
    canonical = parse_state(cleaned)
    if canonical is not None and state_subdivision(canonical) is not None:
        return canonical, True
    if state_subdivision(cleaned) is not None:
        return cleaned, True
    return None, False


@functools.lru_cache(maxsize=64)
def _localized_holidays(year: int, subdivision: str | None, language: str) -> dict[dt.date, str]:
    return dict(holidays_lib.India(years=year, subdiv=subdivision, language=language))


def holiday_name(calendar: HolidayCalendar, day: dt.date, locale: str) -> str | None:
    """Return the day's holiday name in the reader's language when the package has it."""
    if locale == "hi":
        name = _localized_holidays(day.year, calendar.subdivision, "hi").get(day)
        if name:
            return name
    return calendar.name(day)


# --- Building the views -----------------------------------------------------------------


@dataclass(frozen=True)
class JobView:
    job: str
    parsed: ParsedRule
    paused: bool
    # A reminder or the close waits while the check-in is paused or off.
    checkin_paused: bool
    checkin_off: bool
    # The next run, or the one a paused job would have.
    next_run: Occurrence | None


def job_views(rows: Mapping[str, Schedule], plan: Plan, now: dt.datetime) -> list[JobView]:
    checkin = rows["checkin"]
    checkin_off = parse_stored("checkin", checkin.rule).off
    views = []
    for job in JOB_NAMES:
        row = rows[job]
        waits = job in AFTER_CHECKIN_JOBS and checkin.paused
        views.append(
            JobView(
                job=job,
                parsed=parse_stored(job, row.rule),
                paused=row.paused,
                checkin_paused=waits,
                checkin_off=job in AFTER_CHECKIN_JOBS and checkin_off,
                next_run=plan.next_due(job, now, ignore_pause=row.paused or waits),
            )
        )
    return views


def rule_text(t: LocalTexts, job: str, parsed: ParsedRule) -> Markup:
    """Render a rule in plain words: "first Monday of the month at 10:00"."""
    return t(
        "schedule/rule",
        job=job,
        off=parsed.off,
        rule=None if parsed.rule is None else describe_rule(parsed.rule),
        days=parsed.days,
        time=None if parsed.time is None else parsed.time.strftime("%H:%M"),
        preview_hours=int(PREVIEW_LEAD.total_seconds() // 3600),
    )


def job_text(t: LocalTexts, community: Community, plan: Plan, view: JobView) -> Markup:
    """Render a job's name, rule, state and next run."""
    next_at = zone = about = None
    moved_from = holiday = None
    if view.next_run is not None:
        next_at, zone = local_time(community, view.next_run.at, t.locale)
        if view.next_run.month is not None:
            about = month_label(view.next_run.month, t.locale)
        if view.next_run.moved_from is not None:
            moved_from = view.next_run.moved_from.astimezone(plan.zone).date()
            holiday = holiday_name(plan.holidays, moved_from, t.locale)
    return t(
        "schedule/job",
        name=t.label("schedule", view.job),
        rule=rule_text(t, view.job, view.parsed),
        off=view.parsed.off,
        paused=view.paused,
        checkin_paused=view.checkin_paused,
        checkin_off=view.checkin_off,
        next_at=next_at,
        zone=zone,
        moved_from=moved_from,
        holiday=holiday,
        about=about,
        recognises=view.job == "recognition",
    )


def holidays_text(t: LocalTexts, community: Community) -> Markup:
    known = state_subdivision(community.state) is not None
    return t("schedule/holidays", state=community.state, known=known)


def overview_keyboard(t: LocalTexts) -> InlineKeyboardMarkup:
    keyboard = InlineKeyboardBuilder()
    for job in JOB_NAMES:
        keyboard.button(
            text=t.label("schedule", job), callback_data=ScheduleButton(op="open", job=job)
        )
    keyboard.button(
        text=t.label("schedule", "holiday_state"), callback_data=ScheduleButton(op="state")
    )
    keyboard.adjust(2)
    return keyboard.as_markup()


def job_keyboard(t: LocalTexts, job: str, paused: bool) -> InlineKeyboardMarkup:
    keyboard = InlineKeyboardBuilder()
    keyboard.button(
        text=t.label("schedule", "change"), callback_data=ScheduleButton(op="change", job=job)
    )
    if paused:
        keyboard.button(
            text=t.label("schedule", "resume"), callback_data=ScheduleButton(op="resume", job=job)
        )
    else:
        keyboard.button(
            text=t.label("schedule", "pause"), callback_data=ScheduleButton(op="pause", job=job)
        )
    keyboard.button(text=t.label("schedule", "back"), callback_data=ScheduleButton(op="back"))
    keyboard.adjust(2)
    return keyboard.as_markup()


def back_keyboard(t: LocalTexts) -> InlineKeyboardMarkup:
    keyboard = InlineKeyboardBuilder()
    keyboard.button(text=t.label("schedule", "all"), callback_data=ScheduleButton(op="back"))
    return keyboard.as_markup()


@dataclass
class Screen:
    """A handler's session, community, texts and current time, for reading and rendering schedules."""

    session: AsyncSession
    community: Community
    t: LocalTexts
    now: dt.datetime

    async def overview(self) -> Markup:
        rows, plan = await load_plan(self.session, self.community, self.now)
        await self.session.commit()
        jobs = [
            job_text(self.t, self.community, plan, view) for view in job_views(rows, plan, self.now)
        ]
        moving = [
            self.t.label("schedule", spec.job) for spec in JOB_SPECS if spec.moves_off_holidays
        ]
        return self.t(
            "schedule/overview",
            jobs=jobs,
            holidays=holidays_text(self.t, self.community),
            moving=moving,
        )

    async def job(self, job: str) -> tuple[Markup, bool]:
        """Render one job's screen; return it and whether the job is paused."""
        rows, plan = await load_plan(self.session, self.community, self.now)
        await self.session.commit()
        view = next(view for view in job_views(rows, plan, self.now) if view.job == job)
        text = self.t(
            "schedule/detail", job=job, status=job_text(self.t, self.community, plan, view)
        )
        return text, view.paused

    async def next_of(self, job: str) -> Markup:
        """Render a job's line after a change, with its new next run."""
        rows, plan = await load_plan(self.session, self.community, self.now)
        view = next(view for view in job_views(rows, plan, self.now) if view.job == job)
        return job_text(self.t, self.community, plan, view)


def screen(data: Mapping[str, Any]) -> Screen:
    clock: Clock = data["clock"]
    return Screen(data["session"], data["community"], data["t"], clock.now())


def examples(t: LocalTexts, job: str) -> Markup:
    return t("schedule/examples", shape=JOBS[job].shape.value)


# --- /schedule ----------------------------------------------------------------------------


@router.message(Command("schedule"), StateFilter(None, ScheduleInput))
async def show_schedules(
    message: Message, state: FSMContext, is_facilitator: bool, t: LocalTexts, **data: Any
) -> None:
    if not is_facilitator:
        await message.answer(t("common/facilitators_only"))
        return
    if message.chat.type != "private":
        await message.reply(t("schedule/private_only"))
        return
    # A second /schedule drops an unanswered "Change time" question.
    await state.clear()
    text = await screen({**data, "t": t}).overview()
    await message.answer(text, reply_markup=overview_keyboard(t))


@router.callback_query(ScheduleButton.filter())
async def schedule_button(
    callback: CallbackQuery,
    callback_data: ScheduleButton,
    state: FSMContext,
    is_facilitator: bool,
    t: LocalTexts,
    **data: Any,
) -> None:
    op, job = callback_data.op, callback_data.job
    # The buttons are only ever sent in private chat, so one pressed elsewhere is forged.
    message = await facilitator_press(
        callback,
        known=(op in JOB_OPS and job in JOBS) or (op in PLAIN_OPS and not job),
        is_facilitator=is_facilitator,
        t=t,
        private_alert="common/button_unknown",
        subject="schedule",
    )
    if message is None:
        return
    await callback.answer()
    view = screen({**data, "t": t})
    # Any other press ends an open "Change time" or "Holiday state" question, so that the
    # next message cannot change a job the facilitator has moved away from. Other forms'
    # states are left alone.
    if await state.get_state() in (ScheduleInput.rule.state, ScheduleInput.holiday_state.state):
        await state.clear()

    if op == "back":
        await show(message, await view.overview(), overview_keyboard(t))
        return
    if op == "state":
        await ask_input(state, ScheduleInput.holiday_state, "", view.now)
        await message.answer(t("schedule/ask_state", holidays=holidays_text(t, view.community)))
        return
    if op == "change":
        await ask_input(state, ScheduleInput.rule, job, view.now)
        rows, _plan = await load_plan(view.session, view.community, view.now)
        await view.session.commit()
        current = rule_text(t, job, parse_stored(job, rows[job].rule))
        question = t(
            "schedule/ask_rule",
            name=t.label("schedule", job),
            current=current,
            examples=examples(t, job),
        )
        await message.answer(question)
        return
    if op in ("pause", "resume"):
        rows, _plan = await load_plan(view.session, view.community, view.now)
        paused = op == "pause"
        if rows[job].paused != paused:
            schedule_store.set_paused(rows[job], paused, callback.from_user.id, view.now)
            await view.session.commit()
            invalidate(data)
            log.info(
                "schedule %s of community %s %s by user %s",
                job,
                view.community.id,
                "paused" if paused else "resumed",
                callback.from_user.id,
            )
    text, paused_now = await view.job(job)
    await show(message, text, job_keyboard(t, job, paused_now))


async def ask_input(state: FSMContext, step: State, job: str, now: dt.datetime) -> None:
    await state.set_state(step)
    await state.set_data({"job": job, "asked_at": now.isoformat()})


def invalidate(data: Mapping[str, Any]) -> None:
    app: Application = data["app"]
    app.scheduler.invalidate()


async def show(message: Message, text: Markup, keyboard: InlineKeyboardMarkup | None) -> None:
    """Replace the pressed message's text and buttons, or send the text anew if it cannot be edited."""
    try:
        await message.edit_text(text, reply_markup=keyboard)
    except TelegramBadRequest as error:
        if NOT_MODIFIED in error.message:
            # A double tap requests the text already shown, and Telegram rejects an identical edit.
            log.debug("schedule message %s not changed: %s", message.message_id, error.message)
            return
        log.warning("schedule message %s not edited: %s", message.message_id, error.message)
        await message.answer(text, reply_markup=keyboard)


# --- Typed input --------------------------------------------------------------------------


async def pending_input(
    message: Message,
    state: FSMContext,
    is_facilitator: bool,
    t: LocalTexts,
    settings: Settings,
    now: dt.datetime,
) -> str | None:
    """Return the job the facilitator's message answers ("" for the holiday state), or None.

    Returns None after replying when the sender is no longer a facilitator or the
    question is older than a form may stay open; both leave the input state.
    """
    stored = await state.get_data()
    asked_at = stored.get("asked_at")
    job = stored.get("job")
    expired = (
        not isinstance(asked_at, str)
        or not isinstance(job, str)
        or now - dt.datetime.fromisoformat(asked_at) > dt.timedelta(hours=settings.form_ttl_hours)
    )
    if not is_facilitator:
        await state.clear()
        await message.answer(t("common/facilitators_only"))
        return None
    if expired:
        await state.clear()
        await message.answer(t("schedule/expired"))
        return None
    assert isinstance(job, str)
    return job


@router.message(ScheduleInput.rule, F.text & ~F.text.startswith("/"))
async def rule_typed(
    message: Message,
    state: FSMContext,
    is_facilitator: bool,
    t: LocalTexts,
    settings: Settings,
    **data: Any,
) -> None:
    view = screen({**data, "t": t})
    job = await pending_input(message, state, is_facilitator, t, settings, view.now)
    if job is None:
        return
    if job not in JOBS:
        # State data written by an older version of this module.
        await state.clear()
        await message.answer(t("schedule/expired"))
        return
    text = message.text or ""
    rows, _plan = await load_plan(view.session, view.community, view.now)
    current = rule_text(t, job, parse_stored(job, rows[job].rule))
    name = t.label("schedule", job)
    try:
        parsed = parse_for_job(job, text)
    except ScheduleParseError as error:
        await view.session.commit()
        log.info(
            "schedule %s of community %s: input rejected (%s) from user %s",
            job,
            view.community.id,
            error.code,
            message.chat.id,
        )
        reason = t(
            f"schedule/errors/{error.code}",
            fragment=error.fragment,
            name=name,
            maximum=MAX_DAYS_AFTER,
        )
        await message.answer(
            t("schedule/invalid", reason=reason, current=current, examples=examples(t, job))
        )
        return

    conflict = order_conflict(job, parsed, {key: row.rule for key, row in rows.items()})
    if conflict is not None:
        await view.session.commit()
        code, other, other_days = conflict
        log.info(
            "schedule %s of community %s: %s days rejected (%s) from user %s",
            job,
            view.community.id,
            parsed.days,
            code,
            message.chat.id,
        )
        reason = t(
            f"schedule/errors/{code}",
            days=parsed.days,
            other=t.label("schedule", other),
            other_days=other_days,
        )
        await message.answer(
            t("schedule/invalid", reason=reason, current=current, examples=examples(t, job))
        )
        return

    # Messages in private chats always have a sender.
    assert message.from_user is not None
    schedule_store.set_rule(rows[job], parsed, message.from_user.id, view.now)
    await view.session.commit()
    await state.clear()
    invalidate(data)
    log.info(
        "schedule %s of community %s set to %r by user %s",
        job,
        view.community.id,
        parsed.text,
        message.from_user.id,
    )
    status = await view.next_of(job)
    await view.session.commit()
    await message.answer(t("schedule/saved", status=status), reply_markup=back_keyboard(t))


@router.message(ScheduleInput.holiday_state, F.text & ~F.text.startswith("/"))
async def state_typed(
    message: Message,
    state: FSMContext,
    is_facilitator: bool,
    t: LocalTexts,
    settings: Settings,
    **data: Any,
) -> None:
    view = screen({**data, "t": t})
    if await pending_input(message, state, is_facilitator, t, settings, view.now) is None:
        return
    name, valid = holiday_state(message.text or "")
    if not valid:
        log.info(
            "holiday state of community %s: unknown state %r from user %s",
            view.community.id,
            message.text,
            message.chat.id,
        )
        await message.answer(
            t(
                "schedule/state_invalid",
                text=message.text,
                holidays=holidays_text(t, view.community),
            )
        )
        return
    await schedule_store.set_state(view.session, view.community, name)
    await view.session.commit()
    await state.clear()
    invalidate(data)
    log.info(
        "holiday state of community %s set to %r by user %s",
        view.community.id,
        name,
        message.from_user.id if message.from_user else None,
    )
    await message.answer(
        t("schedule/state_saved", holidays=holidays_text(t, view.community)),
        reply_markup=back_keyboard(t),
    )


@router.message(StateFilter(ScheduleInput))
async def other_input(message: Message, state: FSMContext, t: LocalTexts) -> None:
    """Answer a command or a non-text message sent while a schedule question is open."""
    stored = await state.get_data()
    job = stored.get("job")
    name = t.label("schedule", job) if job in JOBS else t.label("schedule", "holiday_state")
    await message.answer(t("schedule/input_pending", name=name))
