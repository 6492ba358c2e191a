"""Follow-up actions: /action records one for a BSO, /actions lists them and changes their status.

A facilitator records an action with the /action form, and the owning BSO's PoCs get a
private message. /actions shows a PoC their BSO's actions and a facilitator every BSO's
open ones, with buttons that mark an action done, in progress, stuck (a one-question
form takes the reason) or dropped (after a confirmation). The list shows why actions
are stuck, so /actions and its buttons work only in private chats. Every button press
loads the action again and checks that the presser is a facilitator or an approved PoC
of the action's BSO, because callback data can be forged.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiogram import Router
from aiogram.exceptions import TelegramAPIError, TelegramForbiddenError
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from markupsafe import Markup
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.forms import Choice, DateField, Field, FieldError, Form, LongText, Option, ShortText
from bot.forms.engine import Confirmed, FormField
from bot.texts import LocalTexts, Texts
from handlers.asks import form_context, poc_refusal, theme_options
from handlers.callbacks import ActionsPage, ActionStatus
from handlers.forms import (
    FORM_STATE,
    FormContext,
    FormFlow,
    FormRejected,
    register_flow,
    start_form,
)
from handlers.keyboards import button
from handlers.themes import theme_labels
from storage import actions as action_store
from storage import people
from storage.models import Bso, Community, FollowUpAction, Person, Theme

log = logging.getLogger(__name__)
router = Router(name="actions")
router.message.filter(StateFilter(None))

TITLE_MIN = 3
TITLE_MAX = 150
# The latest due date is this many years after today.
# NOTE: the bound is a guess. Follow-up actions are meant for the next few meetings,
# and the limit mainly catches typing mistakes such as 5/12/2099.
DUE_YEARS_MAX = 2
REASON_MIN = 3
REASON_MAX = 500
# With more BSOs than this, the BSO question shows no buttons and expects a typed name.
BSO_BUTTONS_MAX = 20
# Characters of option labels listed in a "not one of the options" reply to a typed BSO.
TYPED_OPTIONS_TEXT_MAX = 2500
# Actions per page of /actions. Five actions with 200-character titles and reasons,
# each under its own BSO heading, stay well under Telegram's 4096-character limit.
PAGE_SIZE = 5
# Done and dropped actions of this many recent days are listed after the open ones.
CLOSED_DAYS = 30
CLOSED_MAX = 5
# Button ops and the status each one sets. "drop" only shows a confirmation question.
TARGET_STATUS = {
    "done": "done",
    "in_progress": "in_progress",
    "stuck": "stuck",
    "drop": "dropped",
    "drop_yes": "dropped",
}
OPS = (*TARGET_STATUS, "drop_keep")
# Part of Telegram's error description for an edit that changes nothing.
NOT_MODIFIED = "message is not modified"


# --- The /action form -----------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class TypedChoice(Field[str]):
    """A choice that accepts typed answers only, for lists too long for a keyboard.

    The form runner shows buttons for `Choice` fields, and this type is not one.
    Answers match as in `choice`: label, synonym, number or a unique prefix. The
    options listed in an error are cut to `TYPED_OPTIONS_TEXT_MAX` characters, so
    the reply fits one message; the numbers of the listed ones stay valid.
    """

    choice: Choice

    def parse(self, text: str, *, today: dt.date, locale: str) -> str:
        try:
            return self.choice.parse(text, today=today, locale=locale)
        except FieldError as error:
            options = error.params.get("options")
            if isinstance(options, list):
                error.params["options"] = _first_fitting(options, TYPED_OPTIONS_TEXT_MAX)
            raise

    def display(self, value: str, locale: str) -> str:
        return self.choice.display(value, locale)

    def to_json(self, value: str) -> str:
        return self.choice.to_json(value)

    def from_json(self, data: Any) -> str:
        return self.choice.from_json(data)


def _first_fitting(labels: list[str], limit: int) -> list[str]:
    listed: list[str] = []
    used = 0
    for label in labels:
        # Each listed option also takes its number and separator, about 6 characters.
        used += len(label) + 6
        if used > limit:
            break
        listed.append(label)
    return listed


@dataclass(frozen=True, kw_only=True)
class DueDate(DateField):
    """A due date that the summary marks when it falls in a later year than `today`.

    A date typed without a year is the next such date, so "4/12" typed on 5 December
    becomes 4 December of next year, and the mark makes that visible before Confirm.
    """

    today: dt.date
    texts: Texts

    def display(self, value: dt.date, locale: str) -> str:
        formatted = super().display(value, locale)
        years = value.year - self.today.year
        if years <= 0:
            return formatted
        mark = self.texts.label(locale, "actions/new", "later_year", years=years)
        return f"{formatted} ({mark})"


def years_later(day: dt.date, years: int) -> dt.date:
    """Return the same day `years` later; 29 February becomes 28 February in a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def bso_option(bso: Bso) -> Option:
    """Return an option for a BSO, labelled with its short name when it has one."""
    synonyms = (bso.name,) if bso.short_name else ()
    return Option(key=f"b{bso.id}", labels={"en": bso.short_name or bso.name}, synonyms=synonyms)


def bso_field(bsos: Sequence[Bso]) -> FormField:
    choice = Choice(options=tuple(bso_option(bso) for bso in bsos))
    if len(bsos) <= BSO_BUTTONS_MAX:
        return FormField(name="bso", kind=choice, question="actions/new/q_bso")
    return FormField(
        name="bso", kind=TypedChoice(choice=choice), question="actions/new/q_bso_typed"
    )


async def build_new_action(context: FormContext) -> Form:
    bsos = await people.list_bsos(context.session, context.community.id)
    themes = await theme_options(context)
    fields = [
        FormField(
            name="title",
            kind=ShortText(min_length=TITLE_MIN, max_length=TITLE_MAX),
            question="actions/new/q_title",
        ),
        bso_field(bsos),
    ]
    if themes:
        fields.append(
            FormField(name="theme", kind=Choice(options=themes), question="actions/new/q_theme")
        )
    fields.append(
        FormField(
            name="due",
            kind=DueDate(
                earliest_days=0,
                latest=years_later(context.today, DUE_YEARS_MAX),
                future=True,
                today=context.today,
                texts=context.texts,
            ),
            question="actions/new/q_due",
            optional=True,
        )
    )
    return Form(
        name="action",
        fields=tuple(fields),
        summary="actions/new/title",
        ttl=context.form_ttl,
    )


async def save_new_action(context: FormContext, confirmed: Confirmed) -> None:
    """Insert the action, commit, tell the BSO's PoCs in private and confirm to the facilitator.

    It commits before sending anything, so no PoC hears of an action that a failed
    commit lost. After the commit nothing may raise, because the runner would then
    offer the summary again and a second Confirm would record the action twice.
    """
    if not context.is_facilitator:
        raise FormRejected("common/facilitators_only")
    session = context.session
    answers = confirmed.answers

    bso = await people.get_bso(session, context.community.id, int(answers["bso"].removeprefix("b")))
    if bso is None:
        raise FormRejected("actions/bso_gone")
    theme = None
    if answers.get("theme") is not None:
        theme = await session.get(Theme, int(answers["theme"].removeprefix("t")))
        if theme is None or theme.community_id != context.community.id:
            raise FormRejected("actions/theme_gone")
    due_on: dt.date | None = answers.get("due")
    if due_on is not None and due_on < context.today:
        # The summary may be confirmed days after the date was typed.
        raise FormRejected("actions/due_past", keep=True, due=due_on)

    action = await action_store.add_action(
        session,
        community_id=context.community.id,
        bso_id=bso.id,
        theme_id=theme.id if theme else None,
        title=answers["title"],
        due_on=due_on,
        created_by=context.person.telegram_id,
    )
    unreachable = await action_store.count_unreachable_pocs(session, action.community_id, bso.id)
    await session.commit()
    log.info(
        "action %s recorded for BSO %s by user %s", action.id, bso.id, context.person.telegram_id
    )

    delivered, failed = await notify_pocs(context, action, theme)
    t = context.t
    text = t(
        "actions/saved",
        action=action,
        bso=bso,
        theme=theme_labels(t, [theme])[0] if theme else None,
        delivered=delivered,
        failed=failed,
        unreachable=unreachable,
    )
    try:
        await context.bot.send_message(context.chat_id, text)
    except TelegramAPIError as error:
        # The action is committed: a retry of the form would record it twice.
        log.warning("confirmation of action %s not sent: %s", action.id, error.message)


async def notify_pocs(
    context: FormContext, action: FollowUpAction, theme: Theme | None
) -> tuple[int, int]:
    """Send a private message about a new action to the BSO's approved PoCs, each in their language.

    Only PoCs with a private chat open get one. Returns how many messages were
    delivered and how many failed. A PoC who blocked the bot is
    marked as having no private chat until they write to it again.
    These few messages go out directly rather than through the outbox, so that the
    facilitator's confirmation can say at once who could not be told.
    """
    session = context.session
    delivered = failed = 0
    blocked = False
    for poc in await action_store.pocs_to_notify(session, action.community_id, action.bso_id):
        if poc.telegram_id == context.person.telegram_id:
            continue
        poc_t = context.texts.bind(poc.locale)
        text = poc_t(
            "actions/assigned",
            action=action,
            bso=action.bso,
            theme=theme_labels(poc_t, [theme])[0] if theme else None,
        )
        try:
            await context.bot.send_message(poc.telegram_id, text)
        except TelegramForbiddenError as error:
            failed += 1
            poc.private_chat_open = False
            blocked = True
            log.warning("action %s not sent to person %s: %s", action.id, poc.id, error.message)
        except TelegramAPIError as error:
            failed += 1
            log.warning("action %s not sent to person %s: %s", action.id, poc.id, error.message)
        else:
            delivered += 1
    if blocked:
        try:
            await session.commit()
        except SQLAlchemyError as error:
            # The flag is only a hint, and the action itself is committed already.
            await session.rollback()
            log.warning("blocked PoCs of action %s not marked: %s", action.id, error)
    return delivered, failed


NEW_FLOW = register_flow(
    FormFlow(
        name="action",
        prompts="actions/new",
        command="/action",
        build=build_new_action,
        save=save_new_action,
    )
)


@router.message(Command("action"))
async def new_action(
    message: Message, state: FSMContext, person: Person, t: LocalTexts, **data: Any
) -> None:
    if not data["is_facilitator"]:
        await message.reply(t("common/facilitators_only"))
        return
    community: Community = data["community"]
    if not await people.list_bsos(data["session"], community.id):
        await message.reply(t("actions/no_bsos"))
        return
    await start_form(NEW_FLOW, message, state, form_context(message, person, t, data))


# --- The stuck form ---------------------------------------------------------------------------


async def build_stuck(context: FormContext) -> Form:
    reason = FormField(
        name="reason",
        kind=LongText(min_length=REASON_MIN, max_length=REASON_MAX),
        question="actions/stuck/q_reason",
    )
    return Form(name="stuck", fields=(reason,), summary="actions/stuck/title", ttl=context.form_ttl)


async def save_stuck(context: FormContext, confirmed: Confirmed) -> None:
    """Mark the action of extra["action_id"] stuck with the reason and report it to the facilitator who recorded it."""
    session = context.session
    action_id = context.extra.get("action_id")
    action = None
    if isinstance(action_id, int):
        action = await action_store.get_action(session, context.community.id, action_id)
    if action is None:
        raise FormRejected("actions/not_found")
    refusal = access_refusal(context.person, context.is_facilitator)
    if refusal is not None:
        raise FormRejected(refusal, command="/actions")
    if not may_change(context.person, context.is_facilitator, action):
        raise FormRejected("actions/not_yours")
    if action_store.status_problem(action, "stuck") is not None:
        raise FormRejected("actions/already", **status_context(context.t, action))

    reason = confirmed.answers["reason"]
    changed = await action_store.change_status(
        session, action, "stuck", context.person, now=context.now, reason=reason
    )
    if not changed:
        raise FormRejected("actions/changed")
    await session.commit()
    log.info("action %s marked stuck by person %s", action.id, context.person.id)

    # Each text names the other side that reads the reason: the facilitator or the PoCs.
    template = (
        "actions/stuck_saved_facilitator" if context.is_facilitator else "actions/stuck_saved"
    )
    try:
        await context.bot.send_message(
            context.chat_id, context.t(template, action=action, bso=action.bso)
        )
    except TelegramAPIError as error:
        log.warning("stuck confirmation of action %s not sent: %s", action.id, error.message)
    await report_stuck(context, action)


async def report_stuck(context: FormContext, action: FollowUpAction) -> None:
    """Tell the facilitator who recorded the action that it is stuck, unless they marked it."""
    recorder = action.created_by
    if recorder is None or recorder == context.person.telegram_id:
        return
    try:
        facilitator = await people.get_person(context.session, action.community_id, recorder)
    except SQLAlchemyError as error:
        # The status is committed; the report goes out in the default language instead.
        log.warning("locale of user %s not loaded: %s", recorder, error)
        facilitator = None
    facilitator_t = context.texts.bind(facilitator.locale if facilitator else None)
    text = facilitator_t(
        "actions/stuck_report", action=action, bso=action.bso, person=context.person
    )
    try:
        await context.bot.send_message(recorder, text)
    except TelegramAPIError as error:
        log.warning(
            "stuck action %s not reported to user %s: %s", action.id, recorder, error.message
        )


STUCK_FLOW = register_flow(
    FormFlow(
        name="stuck",
        prompts="actions/stuck",
        command="/actions",
        build=build_stuck,
        save=save_stuck,
    )
)


# --- Who may see and change what --------------------------------------------------------------


def access_refusal(person: Person | None, is_facilitator: bool) -> str | None:
    """Return the template explaining why the person may not use /actions, or None if they may."""
    if is_facilitator:
        return None
    return poc_refusal(person) if person is not None else "asks/pocs_only"


def may_change(person: Person | None, is_facilitator: bool, action: FollowUpAction) -> bool:
    """Return whether the person may change the action: a facilitator, or an approved PoC of its BSO."""
    if is_facilitator:
        return True
    return (
        person is not None
        and poc_refusal(person) is None
        and person.community_id == action.community_id
        and person.bso_id == action.bso_id
    )


def may_view(person: Person | None, is_facilitator: bool, scope: int) -> bool:
    """Return whether the person may see the list of `scope`: a BSO's id, or 0 for every BSO."""
    if is_facilitator:
        return True
    return person is not None and poc_refusal(person) is None and scope == person.bso_id


def status_context(t: LocalTexts, action: FollowUpAction) -> dict[str, Any]:
    return {"title": action.title, "status": t.label("actions", f"status_{action.status}")}


# --- The /actions list ---------------------------------------------------------------------


@dataclass
class ListedAction:
    """One open action as the list template shows it."""

    number: int
    id: int
    title: str
    status: str
    status_label: str
    stuck_reason: str | None
    theme: str | None
    due_on: dt.date | None
    overdue: bool
    bso_name: str
    # Whether a BSO heading goes above this action in the every-BSO list.
    new_bso: bool


def community_today(community: Community, now: dt.datetime) -> dt.date:
    return now.astimezone(zoneinfo.ZoneInfo(community.timezone)).date()


async def render_list(
    session: AsyncSession,
    community: Community,
    t: LocalTexts,
    now: dt.datetime,
    scope: int,
    page: int,
) -> tuple[Markup, InlineKeyboardMarkup | None]:
    """Render a page of the open actions of the BSO `scope` (0: every BSO) and its buttons.

    A BSO's last page also lists the actions it closed in the last `CLOSED_DAYS` days.
    A page past the end shows the last page.
    """
    today = community_today(community, now)
    bso = None
    if scope:
        bso = await people.get_bso(session, community.id, scope)
        if bso is None:
            return t("actions/not_found"), None
        listed = await action_store.open_actions(session, community.id, bso.id)
    else:
        listed = await action_store.all_open_actions(session, community.id)

    pages = max(1, math.ceil(len(listed) / PAGE_SIZE))
    page = min(page, pages - 1)
    start = page * PAGE_SIZE
    items: list[ListedAction] = []
    for index, action in enumerate(listed[start : start + PAGE_SIZE]):
        bso_name = action.bso.short_name or action.bso.name
        previous = items[-1].bso_name if items else None
        items.append(
            ListedAction(
                number=start + index + 1,
                id=action.id,
                title=action.title,
                status=action.status,
                status_label=t.label("actions", f"status_{action.status}"),
                stuck_reason=action.stuck_reason,
                theme=theme_labels(t, [action.theme])[0] if action.theme else None,
                due_on=action.due_on,
                overdue=action_store.is_overdue(action, today),
                bso_name=bso_name,
                new_bso=bso_name != previous,
            )
        )

    closed: list[dict[str, Any]] = []
    if bso is not None and page == pages - 1:
        since = now - dt.timedelta(days=CLOSED_DAYS)
        for action in await action_store.recently_closed(
            session, community.id, bso.id, since=since, limit=CLOSED_MAX
        ):
            closed.append(
                {
                    "title": action.title,
                    "status": action.status,
                    "closed_on": community_today(community, action_store.closed_at(action)),
                }
            )

    text = t(
        "actions/list",
        bso=bso,
        items=items,
        closed=closed,
        open_count=len(listed),
        overdue_count=sum(action_store.is_overdue(action, today) for action in listed),
        page=page + 1,
        pages=pages,
        closed_days=CLOSED_DAYS,
    )
    return text, list_keyboard(t, items, scope, page, pages)


def list_keyboard(
    t: LocalTexts, items: list[ListedAction], scope: int, page: int, pages: int
) -> InlineKeyboardMarkup | None:
    """Two rows of status buttons per action, without the button of its current status."""
    rows: list[list[InlineKeyboardButton]] = []
    for item in items:
        buttons = [
            button(
                t.label("actions", op, number=item.number),
                ActionStatus(op=op, action_id=item.id, scope=scope, page=page),
            )
            for op in ("done", "in_progress", "stuck", "drop")
            if op != item.status
        ]
        rows.extend(buttons[index : index + 2] for index in range(0, len(buttons), 2))
    navigation = []
    if page > 0:
        navigation.append(
            button(t.label("actions", "previous"), ActionsPage(scope=scope, page=page - 1))
        )
    if page < pages - 1:
        navigation.append(
            button(t.label("actions", "next"), ActionsPage(scope=scope, page=page + 1))
        )
    if navigation:
        rows.append(navigation)
    return InlineKeyboardMarkup(inline_keyboard=rows) if rows else None


@router.message(Command("actions"))
async def list_actions(
    message: Message,
    session: AsyncSession,
    community: Community,
    person: Person,
    is_facilitator: bool,
    t: LocalTexts,
    clock: Clock,
) -> None:
    if message.chat.type != "private":
        # The list shows why actions are stuck, which is for the BSO and the facilitators.
        await message.reply(t("actions/private_only"))
        return
    if is_facilitator:
        scope = 0
    else:
        refusal = poc_refusal(person)
        if refusal is not None:
            await message.reply(t(refusal, command="/actions"))
            return
        assert person.bso_id is not None
        scope = person.bso_id
    text, keyboard = await render_list(session, community, t, clock.now(), scope, 0)
    await message.answer(text, reply_markup=keyboard)


async def show_list(
    callback: CallbackQuery,
    session: AsyncSession,
    community: Community,
    t: LocalTexts,
    now: dt.datetime,
    scope: int,
    page: int,
) -> None:
    """Replace the pressed message with a fresh page of the list."""
    if not isinstance(callback.message, Message):
        return
    text, keyboard = await render_list(session, community, t, now, scope, page)
    try:
        await callback.message.edit_text(text, reply_markup=keyboard)
    except TelegramAPIError as error:
        # Most often "message is not modified", when nothing changed since it was sent.
        log.debug("action list %s not updated: %s", callback.message.message_id, error.message)


async def may_press(
    callback: CallbackQuery, person: Person | None, is_facilitator: bool, t: LocalTexts
) -> bool:
    """Check who pressed a list button and where, and return whether the press may go on.

    A rejected press is answered with the reason. Someone who is not an approved PoC
    learns why before any check of the action's BSO. Buttons on a list in a group,
    sent before /actions became private-only, are rejected too.
    """
    refusal = access_refusal(person, is_facilitator)
    if refusal is not None:
        log.info("/actions button of user %s rejected: %s", callback.from_user.id, refusal)
        await callback.answer(t.alert(refusal, command="/actions"), show_alert=True)
        return False
    message = callback.message
    if not isinstance(message, Message):
        await callback.answer(t.alert("actions/list_expired"), show_alert=True)
        return False
    if message.chat.type != "private":
        await callback.answer(t.alert("actions/private_only"), show_alert=True)
        return False
    return True


@router.callback_query(ActionsPage.filter())
async def page_pressed(
    callback: CallbackQuery,
    callback_data: ActionsPage,
    session: AsyncSession,
    community: Community,
    person: Person | None,
    is_facilitator: bool,
    t: LocalTexts,
    clock: Clock,
) -> None:
    if not await may_press(callback, person, is_facilitator, t):
        return
    if not may_view(person, is_facilitator, callback_data.scope):
        log.warning(
            "user %s pressed a page of the action list of BSO %s without access",
            callback.from_user.id,
            callback_data.scope,
        )
        await callback.answer(t.alert("actions/not_yours"), show_alert=True)
        return
    await callback.answer()
    await show_list(
        callback, session, community, t, clock.now(), callback_data.scope, callback_data.page
    )


@router.callback_query(ActionStatus.filter())
async def status_pressed(
    callback: CallbackQuery,
    callback_data: ActionStatus,
    state: FSMContext,
    person: Person | None,
    t: LocalTexts,
    **data: Any,
) -> None:
    session: AsyncSession = data["session"]
    community: Community = data["community"]
    is_facilitator: bool = data["is_facilitator"]
    now = data["clock"].now()
    op = callback_data.op
    if op not in OPS:
        await callback.answer(t.alert("common/button_unknown"), show_alert=True)
        return
    if not await may_press(callback, person, is_facilitator, t):
        return
    action = await action_store.get_action(session, community.id, callback_data.action_id)
    if action is None:
        await callback.answer(t.alert("actions/not_found"), show_alert=True)
        return
    if not may_change(person, is_facilitator, action):
        log.warning(
            "user %s pressed %s on action %s of another BSO",
            callback.from_user.id,
            op,
            action.id,
        )
        await callback.answer(t.alert("actions/not_yours"), show_alert=True)
        return
    assert person is not None
    message = callback.message
    assert isinstance(message, Message)
    # Refresh the pressed list only with a view the presser may see.
    scope = callback_data.scope if may_view(person, is_facilitator, callback_data.scope) else None

    async def refresh() -> None:
        if scope is not None:
            await show_list(callback, session, community, t, now, scope, callback_data.page)

    if op == "drop_keep":
        await callback.answer()
        await refresh()
        return
    problem = action_store.status_problem(action, TARGET_STATUS[op])
    if problem is not None:
        # A double tap, or a button on a list older than the last change.
        await callback.answer(
            t.alert("actions/already", **status_context(t, action)), show_alert=True
        )
        await refresh()
        return

    if op == "drop":
        await callback.answer()
        await ask_drop(callback, message, t, action, callback_data)
    elif op == "stuck":
        await ask_stuck_reason(callback, message, state, person, t, action, data)
    else:
        changed = await action_store.change_status(
            session, action, TARGET_STATUS[op], person, now=now
        )
        await session.commit()
        if not changed:
            await callback.answer(t.alert("actions/changed"), show_alert=True)
        else:
            log.info("action %s marked %s by person %s", action.id, action.status, person.id)
            await callback.answer(t.alert("actions/marked", **status_context(t, action)))
        await refresh()


async def ask_drop(
    callback: CallbackQuery,
    message: Message,
    t: LocalTexts,
    action: FollowUpAction,
    pressed: ActionStatus,
) -> None:
    """Turn the list message into a question: drop this action, or keep it."""
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                button(
                    t.label("actions", "drop_yes"),
                    ActionStatus(
                        op="drop_yes", action_id=action.id, scope=pressed.scope, page=pressed.page
                    ),
                ),
                button(
                    t.label("actions", "drop_keep"),
                    ActionStatus(
                        op="drop_keep", action_id=action.id, scope=pressed.scope, page=pressed.page
                    ),
                ),
            ]
        ]
    )
    try:
        await message.edit_text(t("actions/drop_confirm", action=action), reply_markup=keyboard)
    except TelegramAPIError as error:
        if NOT_MODIFIED in error.message:
            # A double tap on Drop requests the question already shown.
            log.debug("drop question for action %s already shown: %s", action.id, error.message)
        else:
            log.warning("drop question for action %s not shown: %s", action.id, error.message)


async def ask_stuck_reason(
    callback: CallbackQuery,
    message: Message,
    state: FSMContext,
    person: Person,
    t: LocalTexts,
    action: FollowUpAction,
    data: dict[str, Any],
) -> None:
    """Start the stuck form, unless the presser is filling a form or another step already."""
    if await state.get_state() is not None:
        stored = await state.get_data()
        extra = stored.get("extra") or {}
        asking = (
            await state.get_state() == FORM_STATE
            and stored.get("flow") == STUCK_FLOW.name
            and extra.get("action_id") == action.id
        )
        template = "actions/stuck_asked" if asking else "actions/finish_first"
        await callback.answer(t.alert(template), show_alert=True)
        return
    await callback.answer()
    context = form_context(message, person, t, data, action_id=action.id, title=action.title)
    await start_form(STUCK_FLOW, message, state, context)
