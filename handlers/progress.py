"""Monthly progress check-ins: /checkin files or amends a BSO's update, /progress reviews them.

A PoC files the BSO's update for the month of the check-in round still open, else for
the current month in the community's time zone, or for a month named after /checkin. The
BSO has one report per month, and any of its PoCs amends it by running /checkin again,
until a facilitator closes the month. The facilitator's /progress views are in
`handlers.progress_views`, whose router this module's router includes.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aiogram import F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandObject, CommandStart, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from markupsafe import Markup
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.config import LOCALES
from bot.forms import FieldError, Form, FormField, LongText, Option, ShortText
from bot.forms.engine import Confirmed
from bot.schedule_plan import latest_round, load_plan, round_month
from bot.texts import LocalTexts, Texts, indian_date
from handlers import progress_views, supply
from handlers.asks import ASK_FLOW, DESCRIPTION_MAX, TITLE_MAX, form_context, poc_refusal
from handlers.callbacks import CheckinAsk, CheckinStart
from handlers.forms import FormContext, FormFlow, FormRejected, register_flow, start_form
from handlers.keyboards import button, drop_buttons
from handlers.progress_fields import CHECKIN_PROMPTS, ActionStatus, outcome_fields
from handlers.progress_views import (
    current_month,
    filing_view,
    local_today,
    month_label,
    parse_month_argument,
)
from storage import people
from storage import progress as progress_store
from storage.actions import open_actions
from storage.models import Community, FollowUpAction, Person, ProgressReport
from storage.normalize import shorten
from storage.progress import (
    NUMBER_FIELDS,
    REPORT_FIELDS,
    ActionUpdate,
    MonthClosed,
    add_months,
    month_from_key,
)

log = logging.getLogger(__name__)
router = Router(name="progress")
router.message.filter(StateFilter(None))
# /progress and its buttons, routed after the check-in's handlers.
router.include_router(progress_views.router)

# The form asks about at most this many open follow-up actions, the earliest due first,
# so that the form and its summary stay short on a phone. The intro says how many more.
MAX_ACTIONS = 6
# "no_change" leaves the action as it is; the others are FollowUpAction statuses.
ACTION_CHOICES = ("no_change", "in_progress", "done", "stuck", "dropped")
ACTIONS_TAKEN_MAX = 1500
CHALLENGES_MAX = 1000
# The "support needed" answer may become an ask's description, so it has the same limit.
SUPPORT_MAX = DESCRIPTION_MAX
# Short, so that six stuck actions with reasons keep the summary within one message.
REASON_MAX = 150
# Characters of an action title shown in the summary.
ACTION_TITLE_SHOWN = 50
# The /start payload of the t.me link that opens the check-in (bot.jobs.checkins sends it).
START_PAYLOAD = "checkin"


# --- The check-in form ----------------------------------------------------------------------


def status_options(texts: Texts) -> tuple[Option, ...]:
    return tuple(
        Option(
            key=key,
            labels={
                locale: texts.label(locale, CHECKIN_PROMPTS, f"status_{key}") for locale in LOCALES
            },
            synonyms=(key.replace("_", " "),),
        )
        for key in ACTION_CHOICES
    )


def action_field(texts: Texts, action: Mapping[str, Any]) -> ActionStatus:
    """Build the status question of one listed action; the summary shows its title."""
    options = status_options(texts)
    title = shorten(str(action.get("title", "")), ACTION_TITLE_SHOWN)
    answers = {
        locale: {
            option.key: texts.label(
                locale, CHECKIN_PROMPTS, "action_answer", status=option.label(locale), title=title
            )
            for option in options
        }
        for locale in LOCALES
    }
    return ActionStatus(options=options, answers=answers)


def is_stuck(name: str) -> Callable[[Mapping[str, Any]], bool]:
    return lambda answers: answers.get(name) == "stuck"


def checkin_fields(texts: Texts, actions: Sequence[Mapping[str, Any]]) -> tuple[FormField, ...]:
    fields: list[FormField] = []
    for slot, action in enumerate(actions[:MAX_ACTIONS], 1):
        name = f"action{slot}"
        fields.append(
            FormField(
                name=name,
                kind=action_field(texts, action),
                question=f"{CHECKIN_PROMPTS}/q_{name}",
            )
        )
        fields.append(
            FormField(
                name=f"{name}_reason",
                kind=LongText(max_length=REASON_MAX, min_length=3),
                question=f"{CHECKIN_PROMPTS}/q_reason",
                optional=True,
                condition=is_stuck(name),
            )
        )
    fields += [
        FormField(
            name="actions_taken",
            kind=LongText(max_length=ACTIONS_TAKEN_MAX, min_length=3),
            question=f"{CHECKIN_PROMPTS}/q_actions_taken",
        ),
        FormField(
            name="challenges",
            kind=LongText(max_length=CHALLENGES_MAX, min_length=3),
            question=f"{CHECKIN_PROMPTS}/q_challenges",
            optional=True,
        ),
        FormField(
            name="support_needed",
            kind=LongText(max_length=SUPPORT_MAX, min_length=3),
            question=f"{CHECKIN_PROMPTS}/q_support_needed",
            optional=True,
        ),
    ]
    numbers = outcome_fields(texts)
    fields += [
        FormField(name=name, kind=numbers[name], question=f"{CHECKIN_PROMPTS}/q_{name}")
        for name in NUMBER_FIELDS
    ]
    return tuple(fields)


async def build_checkin(context: FormContext) -> Form:
    """Build the form from the actions listed when it started, kept in `extra`.

    The list is fixed at the start, so that an action closed by someone else mid-form
    does not shift the other answers to the wrong actions.
    """
    actions = context.extra.get("actions") or []
    return Form(
        name="checkin",
        fields=checkin_fields(context.texts, actions),
        summary=f"{CHECKIN_PROMPTS}/title",
        ttl=context.form_ttl,
    )


def action_updates(
    actions: Sequence[Mapping[str, Any]], answers: Mapping[str, Any]
) -> list[ActionUpdate]:
    updates = []
    for slot, action in enumerate(actions[:MAX_ACTIONS], 1):
        status = answers.get(f"action{slot}")
        if status is None or status == "no_change":
            continue
        updates.append(
            ActionUpdate(
                action_id=int(action["id"]),
                status=str(status),
                reason=answers.get(f"action{slot}_reason"),
            )
        )
    return updates


async def save_checkin(context: FormContext, confirmed: Confirmed) -> None:
    """File or amend the report and update the listed actions.

    After the commit it sends the confirmation and reports each action newly marked
    stuck to the facilitator who recorded it.
    """
    session = context.session
    extra = context.extra
    month = dt.date.fromisoformat(str(extra["month"]))
    bso_id = int(extra["bso_id"])
    community_id = context.community.id
    timezone = context.community.timezone
    t = context.t

    person = await session.get(Person, context.person.id)
    if person is None or poc_refusal(person) is not None or person.bso_id != bso_id:
        raise FormRejected("progress/not_poc_anymore", month=month_label(month, t.locale))
    try:
        filing = await progress_store.save_report(
            session,
            community_id=community_id,
            bso_id=bso_id,
            month=month,
            values={name: confirmed.answers.get(name) for name in REPORT_FIELDS},
            base=extra.get("base"),
            person=person,
            now=context.now,
            action_updates=action_updates(extra.get("actions") or [], confirmed.answers),
        )
    except MonthClosed:
        raise FormRejected(
            "progress/closed_on_save", keep=True, month=month_label(month, t.locale)
        ) from None
    if filing.rolled_back:
        # The retry expired every object the session had loaded, the community included.
        await session.refresh(context.community)

    report = filing.report
    changes = (await progress_store.report_changes(session, [report.id]))[report.id]
    info = progress_store.filing_info(report, changes)
    log.info(
        "progress report %s of BSO %s for %s %s by person %s: %d fields, %d actions",
        report.id,
        bso_id,
        month,
        "filed" if filing.created else "amended",
        person.id,
        len(filing.changed),
        len(filing.actions),
    )
    rows = []
    offer_ask = await support_needs_ask(session, report)
    if offer_ask:
        rows.append([button(t.label("progress", "file_ask"), CheckinAsk(report_id=report.id))])
    # A PoC filing the month's update reviews the BSO anyway, so the first filing offers
    # the supply profiles too; amendments do not repeat the offer.
    supply_note = None
    if filing.created:
        supply_note, supply_button = await supply.checkin_offer(session, community_id, bso_id, t)
        rows.append([supply_button])
    keyboard = InlineKeyboardMarkup(inline_keyboard=rows) if rows else None
    text = t(
        "progress/saved",
        month=month_label(month, t.locale),
        bso=report.bso.name,
        created=filing.created,
        merged=filing.merged,
        changed=[t.label(CHECKIN_PROMPTS, name) for name in filing.changed],
        actions=[action_line(t, action) for action in filing.actions],
        skipped=[action.title for action in filing.skipped],
        filing=filing_view(info, timezone),
        offer_ask=offer_ask,
    )
    if supply_note is not None:
        text = Markup("\n\n").join([text, supply_note])
    bot, chat_id = context.bot, context.chat_id
    context.after_commit(lambda: bot.send_message(chat_id, text, reply_markup=keyboard))

    stuck = [
        StuckReport(
            action_id=action.id,
            community_id=community_id,
            recorder=action.created_by,
            title=action.title,
            reason=action.stuck_reason,
            bso=report.bso.name,
            month=month,
        )
        for action in filing.actions
        if action.status == "stuck"
        and action.created_by is not None
        and action.created_by != person.telegram_id
    ]
    if stuck:
        person_name = person.name or person.telegram_name
        context.after_commit(lambda: report_stuck(context, stuck, person_name))


@dataclass(frozen=True)
class StuckReport:
    """A follow-up action the check-in marked stuck, for the facilitator who recorded it.

    `recorder` is that facilitator's Telegram id (FollowUpAction.created_by).
    """

    action_id: int
    community_id: int
    recorder: int
    title: str
    reason: str | None
    bso: str
    month: dt.date


async def report_stuck(
    context: FormContext, reports: Sequence[StuckReport], person_name: str
) -> None:
    """Tell each recorder that their action is stuck, in their language, after the commit.

    /actions does the same when a PoC marks an action stuck (`handlers.actions.report_stuck`).
    A failed lookup or message is logged, and the others are still sent.
    """
    for stuck in reports:
        try:
            recorder = await people.get_person(context.session, stuck.community_id, stuck.recorder)
        except SQLAlchemyError as error:
            # The status is committed, so the report goes out in the default language instead.
            log.warning("locale of user %s not loaded: %s", stuck.recorder, error)
            recorder = None
        recorder_t = context.texts.bind(recorder.locale if recorder else None)
        text = recorder_t(
            "progress/stuck_report",
            bso=stuck.bso,
            title=stuck.title,
            reason=stuck.reason,
            person=person_name,
            month=month_label(stuck.month, recorder_t.locale),
        )
        try:
            await context.bot.send_message(stuck.recorder, text)
        except TelegramAPIError as error:
            log.warning(
                "stuck action %s not reported to user %s: %s",
                stuck.action_id,
                stuck.recorder,
                error.message,
            )


CHECKIN_FLOW = register_flow(
    FormFlow(
        name="checkin",
        prompts=CHECKIN_PROMPTS,
        command="/checkin",
        build=build_checkin,
        save=save_checkin,
    )
)


def action_line(t: LocalTexts, action: FollowUpAction) -> str:
    return t.label(
        CHECKIN_PROMPTS,
        "action_answer",
        status=t.label(CHECKIN_PROMPTS, f"status_{action.status}"),
        title=shorten(action.title, ACTION_TITLE_SHOWN),
    )


# --- Starting the check-in ------------------------------------------------------------------


@router.message(Command("checkin"))
async def checkin_command(
    message: Message,
    command: CommandObject,
    state: FSMContext,
    person: Person,
    t: LocalTexts,
    clock: Clock,
    **data: Any,
) -> None:
    """Open the check-in for the month named after /checkin, else for the open round's month.

    Without a month, the month is that of the check-in round still open. Between rounds
    it is the last round's month while the BSO has not filed it, the month is still open
    and it is no older than last month; otherwise the current month. So a PoC who types
    /checkin during a round, or late after it, files the month its prompts named.
    """
    refusal = poc_refusal(person)
    if refusal is not None:
        await message.reply(t(refusal, command="/checkin"))
        return
    if message.chat.type != "private":
        await message.reply(t("progress/private_only", command="/checkin"))
        return
    community: Community = data["community"]
    if command.args:
        parsed = parse_month_argument(command.args, clock, community, t, "/checkin")
        if isinstance(parsed, Markup):
            await message.answer(parsed)
            return
        month = parsed
    else:
        month = await default_checkin_month(data["session"], community, person, clock.now())
    await start_checkin(message, state, person, t, {**data, "clock": clock}, month)


async def default_checkin_month(
    session: AsyncSession, community: Community, person: Person, now: dt.datetime
) -> dt.date:
    """Return the month /checkin opens without an argument (see `checkin_command`)."""
    _rows, plan = await load_plan(session, community, now)
    month = round_month(plan, now)
    latest = latest_round(plan, now)
    if latest is None or latest.month == month or person.bso_id is None:
        return month
    if latest.month < (add_months(month, -1) or month):
        return month
    filed = await progress_store.find_report(session, community.id, person.bso_id, latest.month)
    closed = await progress_store.closed_month(session, community.id, latest.month)
    return latest.month if filed is None and closed is None else month


async def start_checkin(
    message: Message,
    state: FSMContext,
    person: Person,
    t: LocalTexts,
    data: dict[str, Any],
    month: dt.date,
) -> None:
    """Open the check-in form of the person's BSO for `month` in the chat of `message`.

    `message` is the person's /checkin, or the bot's message whose button opened the
    form. `data` is the handler data (session, bot, settings, texts, community,
    is_facilitator, clock). The caller checks that the person is an approved PoC and
    that `month` is not in the future. A filed report opens at its summary to amend;
    a closed month gets a message instead of the form.
    """
    session: AsyncSession = data["session"]
    community: Community = data["community"]
    assert person.bso_id is not None
    report = await progress_store.find_report(session, community.id, person.bso_id, month)
    filing = None
    if report is not None:
        changes = (await progress_store.report_changes(session, [report.id]))[report.id]
        filing = filing_view(progress_store.filing_info(report, changes), community.timezone)

    closed = await progress_store.closed_month(session, community.id, month)
    if closed is not None:
        await message.answer(
            t(
                "progress/closed",
                month=month_label(month, t.locale),
                bso=person.bso.name if person.bso else "",
                filing=filing,
            )
        )
        return

    today = local_today(data["clock"], community)
    listed = await open_actions(session, community.id, person.bso_id)
    actions = [action_extra(action, today) for action in listed[:MAX_ACTIONS]]
    base = progress_store.report_values(report) if report is not None else None
    answers = None
    if base is not None:
        answers = {**base, **{f"action{slot}": "no_change" for slot in range(1, len(actions) + 1)}}
    context = form_context(
        message,
        person,
        t,
        data,
        month=month.isoformat(),
        month_labels={locale: month_label(month, locale) for locale in LOCALES},
        bso_id=person.bso_id,
        actions=actions,
        base=base,
    )
    await message.answer(
        t(
            "progress/checkin_intro",
            month=month_label(month, t.locale),
            bso=person.bso.name if person.bso else "",
            filing=filing,
            actions_listed=len(actions),
            actions_open=len(listed),
        )
    )
    await start_form(CHECKIN_FLOW, message, state, context, answers=answers)


def action_extra(action: FollowUpAction, today: dt.date) -> dict[str, Any]:
    """Describe an action for the form's `extra`: JSON that its questions show."""
    return {
        "id": action.id,
        "title": action.title,
        "status": action.status,
        "due": (
            {locale: indian_date(action.due_on, locale) for locale in LOCALES}
            if action.due_on is not None
            else None
        ),
        "overdue": action.due_on is not None and action.due_on < today,
    }


@router.callback_query(CheckinStart.filter())
async def checkin_button(
    callback: CallbackQuery,
    callback_data: CheckinStart,
    state: FSMContext,
    person: Person,
    t: LocalTexts,
    clock: Clock,
    **data: Any,
) -> None:
    """Open the check-in for the month on the button, as a scheduled prompt offers it."""
    session: AsyncSession = data["session"]
    community: Community = data["community"]
    month = month_from_key(callback_data.month)
    if month is None or month > current_month(clock, community):
        log.info(
            "check-in button with invalid month %s from user %s",
            callback_data.month,
            callback.from_user.id,
        )
        await callback.answer(t.alert("progress/month_invalid"), show_alert=True)
        return

    message = callback.message
    if not isinstance(message, Message):
        await callback.answer(t.alert("common/button_unknown"), show_alert=True)
        return
    refusal = poc_refusal(person)
    if refusal is not None:
        await callback.answer()
        await message.answer(t(refusal, command="/checkin"))
        return
    if message.chat.type != "private":
        await callback.answer(t.alert("progress/private_only_alert"), show_alert=True)
        return

    if await progress_store.closed_month(session, community.id, month) is not None:
        log.info("check-in button for closed month %s from person %s", month, person.id)
        await callback.answer(
            t.alert("progress/closed_alert", month=month_label(month, t.locale)), show_alert=True
        )
        return
    await callback.answer()
    await start_checkin(message, state, person, t, {**data, "clock": clock}, month)


def is_approved_poc(message: Message, person: Person) -> bool:
    return poc_refusal(person) is None


# Anyone else who follows the link falls through to registration's /start.
@router.message(
    CommandStart(deep_link=True, magic=F.args == START_PAYLOAD),
    F.chat.type == "private",
    is_approved_poc,
)
async def checkin_from_link(
    message: Message,
    state: FSMContext,
    person: Person,
    t: LocalTexts,
    clock: Clock,
    **data: Any,
) -> None:
    """Open the check-in from the t.me link that facilitators pass to PoCs the bot could not reach.

    The month is that of the check-in round still open, or between rounds the month a
    check-in today would ask about.
    """
    _rows, plan = await load_plan(data["session"], data["community"], clock.now())
    month = round_month(plan, clock.now())
    log.info("check-in for %s opened from the start link by person %s", month, person.id)
    await start_checkin(message, state, person, t, {**data, "clock": clock}, month)


# --- Filing "support needed" as an ask ------------------------------------------------------


async def support_needs_ask(session: AsyncSession, report: ProgressReport) -> bool:
    """Return whether the report's "support needed" text has no ask filed from it yet."""
    if not report.support_needed:
        return False
    existing = await progress_store.linked_ask(session, report.id)
    return existing is None or existing.description != report.support_needed


def ask_answers(support: str, today: dt.date, locale: str) -> dict[str, str]:
    """Prefill an ask from a "support needed" text: the title is its first line, shortened.

    A title or description the ask form would reject is left out, so the form asks it.
    """
    answers: dict[str, str] = {}
    first_line = support.strip().splitlines()[0] if support.strip() else ""
    try:
        title_field = ShortText(max_length=TITLE_MAX, min_length=3)
        answers["title"] = title_field.parse(
            shorten(" ".join(first_line.split()), TITLE_MAX), today=today, locale=locale
        )
    except FieldError:
        pass
    try:
        description_field = LongText(max_length=DESCRIPTION_MAX, min_length=3)
        answers["description"] = description_field.parse(support, today=today, locale=locale)
    except FieldError:
        pass
    return answers


@router.callback_query(CheckinAsk.filter())
async def file_support_as_ask(
    callback: CallbackQuery,
    callback_data: CheckinAsk,
    state: FSMContext,
    person: Person,
    t: LocalTexts,
    **data: Any,
) -> None:
    """Start the ask form prefilled from a report's "support needed" answer."""
    session: AsyncSession = data["session"]
    community: Community = data["community"]
    report = await session.get(ProgressReport, callback_data.report_id)
    if report is None or report.community_id != community.id:
        log.info("ask button for unknown report %s", callback_data.report_id)
        await callback.answer(t.alert("progress/report_gone"), show_alert=True)
        return
    message = callback.message
    if not isinstance(message, Message):
        await callback.answer(t.alert("common/button_unknown"), show_alert=True)
        return
    refusal = poc_refusal(person)
    if refusal is not None:
        await callback.answer()
        await message.answer(t(refusal, command="/ask"))
        return
    if person.bso_id != report.bso_id:
        log.info(
            "ask button of report %s pressed by person %s of another BSO", report.id, person.id
        )
        await callback.answer(t.alert("progress/not_your_bso"), show_alert=True)
        return
    if not report.support_needed:
        await callback.answer(t.alert("progress/no_support"), show_alert=True)
        return
    existing = await progress_store.linked_ask(session, report.id)
    if existing is not None and existing.description == report.support_needed:
        await callback.answer(t.alert("progress/ask_exists", title=existing.title), show_alert=True)
        return

    await callback.answer()
    await drop_buttons(callback)
    context = form_context(message, person, t, data, progress_report_id=report.id)
    answers = ask_answers(report.support_needed, context.today, t.locale)
    await start_form(ASK_FLOW, message, state, context, answers=answers)
