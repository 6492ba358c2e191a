"""Run the forms of `bot.forms` in chats: store their state, render questions, save on confirm.

A feature declares a `FormFlow` and registers it here. Its command handler checks who
may use the form and calls `start_form`; from then on this router takes every message,
command, edit and button press of that person in that chat until the form is confirmed,
cancelled or expired.

The state lives in aiogram's FSM storage (the database, or Redis with REDIS_URL), keyed
per bot, chat and user, so two people filling forms in one group never mix and a form
survives a restart. `PerUserLockMiddleware` runs one person's updates one at a time,
and every button carries the state's version, so a double-tapped button is `Stale` on
its second press and never saves twice.

In groups privacy mode hides ordinary messages from the bot, so a typed answer there
must be a reply to one of the bot's messages. Text questions ask for such a reply.
"""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import BaseFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import (
    CallbackQuery,
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)
from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.config import LOCALES, Settings
from bot.forms import engine as form_engine
from bot.forms.choices import MultiChoice, Option
from bot.forms.engine import Form, FormEngine, FormState
from bot.forms.fields import FileInfo, YesNo
from bot.texts import LocalTexts, Texts
from handlers.callbacks import FormButton
from storage.models import Community, Person

log = logging.getLogger(__name__)
router = Router(name="forms")

# The aiogram FSM state of anyone filling a form; the form itself is in the FSM data.
FORM_STATE = "form"
# Options shown two to a row when every label is at most this many characters.
SHORT_LABEL = 18


class FormRejected(Exception):
    """Raised by a flow's `save` when the answers cannot be saved; nothing is committed.

    `template` is the message to show, rendered with `context`. With `keep` true the
    person stays at the summary to change an answer; otherwise the form ends.
    """

    def __init__(self, template: str, *, keep: bool = False, **context: Any) -> None:
        super().__init__(template)
        self.template = template
        self.keep = keep
        self.context = context


@dataclass
class FormContext:
    """What a flow's `build` and `save` get: the person, where they are, and the form's extras.

    `extra` is JSON data the command handler passed to `start_form`, such as the
    record being edited; it is stored with the form and survives a restart.
    """

    session: AsyncSession
    bot: Bot
    settings: Settings
    texts: Texts
    t: LocalTexts
    community: Community
    person: Person
    is_facilitator: bool
    chat_id: int
    chat_type: str
    now: dt.datetime
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def today(self) -> dt.date:
        """The date in the community's time zone, which the date fields count from."""
        return self.now.astimezone(zoneinfo.ZoneInfo(self.community.timezone)).date()

    @property
    def locale(self) -> str:
        return self.t.locale

    @property
    def form_ttl(self) -> dt.timedelta:
        """How long the form may stay untouched before it expires (FORM_TTL_HOURS)."""
        return dt.timedelta(hours=self.settings.form_ttl_hours)

    def options(self, feature: str, keys: tuple[str, ...]) -> tuple[Option, ...]:
        """Build choice options whose labels are the `keys` blocks of `<feature>/buttons.txt`.

        Labels in every locale are kept, so a typed answer in English or Hindi matches.
        """
        return tuple(
            Option(
                key=key,
                labels={locale: self.texts.label(locale, feature, key) for locale in LOCALES},
            )
            for key in keys
        )


@dataclass(frozen=True, kw_only=True)
class FormFlow:
    """A form as the bot runs it.

    `name` is short, because every button's callback data carries it within 64 bytes.
    `prompts` is the template folder: its `buttons.txt` has a block per field name,
    used in the summary and on its edit buttons, and `title.html` names the form.
    `command` restarts the form after it expired. `build` returns the form for this
    person, with choices loaded from the database. `save` stores the confirmed answers
    in the session and sends the confirmation; the runner commits after it returns.
    """

    name: str
    prompts: str
    command: str
    build: Callable[[FormContext], Awaitable[Form]]
    save: Callable[[FormContext, form_engine.Confirmed], Awaitable[None]]


FLOWS: dict[str, FormFlow] = {}


def register_flow(flow: FormFlow) -> FormFlow:
    if flow.name in FLOWS and FLOWS[flow.name] is not flow:
        raise ValueError(f"a form flow named {flow.name!r} is already registered")
    FLOWS[flow.name] = flow
    return flow


# --- Starting a form ----------------------------------------------------------------------


async def start_form(
    flow: FormFlow,
    message: Message,
    state: FSMContext,
    context: FormContext,
    *,
    answers: Mapping[str, Any] | None = None,
) -> None:
    """Start `flow` for the person in this chat and ask its first question.

    `answers` prefills it, as when a saved record is edited; with every field answered
    the person sees the summary first. An unfinished form of this person in this chat
    is replaced.
    """
    form = await _build(flow, context)
    step = FormEngine(form).start(now=context.now, locale=context.locale, answers=answers)
    assert step.state is not None
    await state.set_state(FORM_STATE)
    await state.set_data(
        {"flow": flow.name, "form": step.state.to_json(), "extra": context.extra, "picked": []}
    )
    log.info(
        "form %s started by person %s in chat %s", flow.name, context.person.id, context.chat_id
    )
    await _render(Run(flow, form, context, state, message, None), step)


async def _build(flow: FormFlow, context: FormContext) -> Form:
    """Build the flow's form and end the session's transaction.

    A build may write (the default themes are created on first use), and the FSM
    storage writes through its own session, which SQLite would block until this commits.
    """
    form = await flow.build(context)
    await context.session.commit()
    return form


# --- Routing --------------------------------------------------------------------------------


class InForm(BaseFilter):
    """Match updates from someone with an open form in this chat."""

    async def __call__(self, *args: Any, state: FSMContext, **kwargs: Any) -> bool:
        return await state.get_state() == FORM_STATE


class ReplyToBotInGroups(BaseFilter):
    """Match private messages, and group messages that reply to one of the bot's messages.

    A bot that is a group administrator sees every message, and a person chatting in
    the group mid-form must not have each line taken as an answer.
    """

    async def __call__(self, message: Message, bot: Bot) -> bool:
        if message.chat.type == "private":
            return True
        reply = message.reply_to_message
        return reply is not None and reply.from_user is not None and reply.from_user.id == bot.id


@dataclass
class Run:
    """One update's work on one form: the flow, its built form and where to answer."""

    flow: FormFlow
    form: Form
    context: FormContext
    state: FSMContext
    message: Message | None
    callback: CallbackQuery | None
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def engine(self) -> FormEngine:
        return FormEngine(self.form)


async def _open_run(
    event: Message | CallbackQuery,
    state: FSMContext,
    data: dict[str, Any],
) -> tuple[Run, FormState] | None:
    """Load the stored form of this person in this chat; None (and the state cleared) if unusable."""
    stored = await state.get_data()
    flow = FLOWS.get(stored.get("flow", ""))
    try:
        form_state = FormState.from_json(stored.get("form"))
    except (TypeError, ValueError) as error:
        form_state = None
        log.warning("stored form state dropped: %s", error)
    t: LocalTexts = data["t"]
    if flow is None or form_state is None or form_state.form != flow.name:
        await state.clear()
        if isinstance(event, CallbackQuery):
            await event.answer(t.alert("forms/ended"), show_alert=True)
        else:
            await event.answer(t("forms/ended"))
        return None

    message = event if isinstance(event, Message) else None
    callback = event if isinstance(event, CallbackQuery) else None
    chat = (event.chat.id, event.chat.type) if isinstance(event, Message) else _callback_chat(event)
    context = FormContext(
        session=data["session"],
        bot=data["bot"],
        settings=data["settings"],
        texts=data["texts"],
        t=t,
        community=data["community"],
        person=data["person"],
        is_facilitator=data["is_facilitator"],
        chat_id=chat[0],
        chat_type=chat[1],
        now=_clock(data).now(),
        extra=dict(stored.get("extra") or {}),
    )
    form = await _build(flow, context)
    run = Run(flow, form, context, state, message, callback, dict(stored))
    return run, form_state


def _callback_chat(callback: CallbackQuery) -> tuple[int, str]:
    if callback.message is not None:
        return callback.message.chat.id, callback.message.chat.type
    return callback.from_user.id, "private"


def _clock(data: dict[str, Any]) -> Clock:
    clock = data.get("clock")
    return clock if isinstance(clock, Clock) else Clock()


def _today(run: Run) -> dt.date:
    return run.context.today


@router.message(InForm(), F.text.startswith("/"))
async def command_in_form(message: Message, state: FSMContext, **data: Any) -> None:
    opened = await _open_run(message, state, data)
    if opened is None:
        return
    run, form_state = opened
    step = run.engine.command(
        form_state,
        message.text or "",
        now=run.context.now,
        today=_today(run),
        locale=run.context.locale,
    )
    await _render(run, step)


@router.message(InForm(), ReplyToBotInGroups(), F.text)
async def text_in_form(message: Message, state: FSMContext, **data: Any) -> None:
    opened = await _open_run(message, state, data)
    if opened is None:
        return
    run, form_state = opened
    if message.forward_origin is not None:
        step = run.engine.other_input(
            form_state,
            "forwarded",
            now=run.context.now,
            today=_today(run),
            locale=run.context.locale,
        )
    else:
        step = run.engine.answer_text(
            form_state,
            message.text or "",
            now=run.context.now,
            today=_today(run),
            locale=run.context.locale,
        )
    await _render(run, step)


@router.message(InForm(), ReplyToBotInGroups())
async def other_in_form(message: Message, state: FSMContext, **data: Any) -> None:
    opened = await _open_run(message, state, data)
    if opened is None:
        return
    run, form_state = opened
    info = file_info(message)
    now, today, locale = run.context.now, _today(run), run.context.locale
    if info is not None and message.forward_origin is None:
        step = run.engine.answer_file(form_state, info, now=now, today=today, locale=locale)
    else:
        kind = "forwarded" if message.forward_origin is not None else message_kind(message)
        step = run.engine.other_input(form_state, kind, now=now, today=today, locale=locale)
    await _render(run, step)


@router.edited_message(InForm())
async def edited_in_form(message: Message, state: FSMContext, **data: Any) -> None:
    opened = await _open_run(message, state, data)
    if opened is None:
        return
    run, form_state = opened
    step = run.engine.other_input(
        form_state, "edited", now=run.context.now, today=_today(run), locale=run.context.locale
    )
    await _render(run, step)


@router.callback_query(FormButton.filter())
async def button_in_form(
    callback: CallbackQuery, callback_data: FormButton, state: FSMContext, **data: Any
) -> None:
    t: LocalTexts = data["t"]
    if await state.get_state() != FORM_STATE:
        # The form was confirmed, cancelled or expired, or the button is someone else's.
        await callback.answer(t.alert("forms/ended"), show_alert=True)
        return
    stored = await state.get_data()
    if stored.get("flow") != callback_data.flow:
        await callback.answer(t.alert("forms/stale"), show_alert=True)
        return
    opened = await _open_run(callback, state, data)
    if opened is None:
        return
    run, form_state = opened
    now, today, locale = run.context.now, _today(run), run.context.locale

    if callback_data.action in ("toggle", "done"):
        await _multi_choice(run, form_state, callback_data)
        return
    step = run.engine.press(
        form_state,
        callback_data.action,
        callback_data.value,
        callback_data.version,
        now=now,
        today=today,
        locale=locale,
    )
    await _render(run, step, pressed=callback_data)


async def _multi_choice(run: Run, form_state: FormState, pressed: FormButton) -> None:
    """Tick or untick an option of a multiple choice, or send the ticked ones as the answer."""
    assert run.callback is not None
    t = run.context.t
    kind = _current_kind(run, form_state)
    if (
        pressed.version != form_state.version
        or form_state.current is None
        or not isinstance(kind, MultiChoice)
    ):
        await run.callback.answer(t.alert("forms/stale"), show_alert=True)
        return

    picked: list[str] = [key for key in run.data.get("picked", []) if isinstance(key, str)]
    if pressed.action == "done":
        if not picked:
            await run.callback.answer(t.alert("forms/pick_one"), show_alert=True)
            return
        step = run.engine.answer_text(
            form_state,
            ", ".join(picked),
            now=run.context.now,
            today=_today(run),
            locale=run.context.locale,
        )
        labels = [
            option.label(run.context.locale) for option in kind.options if option.key in picked
        ]
        await _render(run, step, pressed=pressed, chosen=", ".join(labels))
        return

    if pressed.value not in {option.key for option in kind.options}:
        await run.callback.answer(t.alert("forms/stale"), show_alert=True)
        return
    if pressed.value in picked:
        picked.remove(pressed.value)
    else:
        picked.append(pressed.value)
    await run.state.update_data(picked=picked, form=form_state.to_json())
    await run.callback.answer()
    ask = run.engine._ask(form_state, run.engine._fields[form_state.current], run.context.locale)
    if isinstance(run.callback.message, Message):
        try:
            await run.callback.message.edit_reply_markup(
                reply_markup=_ask_keyboard(run, ask, picked)
            )
        except TelegramAPIError as error:
            log.debug("ticks not shown on message: %s", error.message)


def _current_kind(run: Run, form_state: FormState) -> Any:
    if form_state.current is None:
        return None
    for form_field in run.form.fields:
        if form_field.name == form_state.current:
            return form_field.kind
    return None


# --- Rendering -----------------------------------------------------------------------------


async def _render(
    run: Run,
    step: form_engine.Step,
    *,
    pressed: FormButton | None = None,
    chosen: str | None = None,
) -> None:
    """Store the step's state and send its outputs; notes go on top of the next question."""
    t = run.context.t
    notes: list[Markup] = []
    answered = False

    for output in step.outputs:
        if isinstance(output, form_engine.Stale):
            log.info("stale form input (%s) in form %s", output.reason, run.flow.name)
            if run.callback is not None:
                await run.callback.answer(t.alert("forms/stale"), show_alert=True)
                answered = True
                if output.reason == "version":
                    return
            else:
                notes.append(t("forms/stale"))
        elif isinstance(output, form_engine.Expired):
            await run.state.clear()
            log.info("form %s expired for person %s", run.flow.name, run.context.person.id)
            text = t(
                "forms/expired", title=t(f"{run.flow.prompts}/title"), command=run.flow.command
            )
            if run.callback is not None:
                await run.callback.answer(t.alert("forms/expired_alert"), show_alert=True)
                await _drop_keyboard(run)
            await _send(run, text)
            return
        elif isinstance(output, form_engine.Cancelled):
            await run.state.clear()
            if run.callback is not None:
                await run.callback.answer()
                await _drop_keyboard(run)
            await _send(run, t("forms/cancelled", title=t(f"{run.flow.prompts}/title")))
            return
        elif isinstance(output, form_engine.Confirmed):
            if run.callback is not None:
                await run.callback.answer()
                await _drop_keyboard(run)
            await _confirm(run, step, output)
            return
        elif isinstance(output, form_engine.NotExpected):
            notes.append(t("forms/not_expected", kind=output.kind))
        elif isinstance(output, form_engine.UnexpectedCommand):
            notes.append(
                t(
                    "forms/unexpected_command",
                    command=output.name,
                    title=t(f"{run.flow.prompts}/title"),
                )
            )
        elif isinstance(output, form_engine.NotOptional):
            notes.append(t("forms/not_optional"))
        elif isinstance(output, form_engine.NoPrevious):
            notes.append(t("forms/no_previous"))
        elif isinstance(output, form_engine.Ask | form_engine.Summary):
            await _store(run, step.state, keep_picked=False)
            if run.callback is not None and not answered:
                await run.callback.answer()
                answered = True
                await _mark_answered(run, pressed, chosen)
            if isinstance(output, form_engine.Ask):
                await _ask(run, output, notes)
            else:
                await _summary(run, output, notes)
            notes = []

    if step.state is not None:
        await _store(run, step.state, keep_picked=True)
    if notes:
        await _send(run, Markup("\n\n").join(notes))
    if run.callback is not None and not answered:
        await run.callback.answer()


async def _store(run: Run, form_state: FormState | None, *, keep_picked: bool) -> None:
    if form_state is None:
        return
    picked = run.data.get("picked", []) if keep_picked else []
    run.data.update(form=form_state.to_json(), picked=picked)
    await run.state.update_data(form=form_state.to_json(), picked=picked)


async def _confirm(run: Run, step: form_engine.Step, confirmed: form_engine.Confirmed) -> None:
    """Save in one transaction; on failure keep the answers and show the summary again."""
    session = run.context.session
    t = run.context.t
    try:
        await run.flow.save(run.context, confirmed)
        await session.commit()
    except FormRejected as rejected:
        await session.rollback()
        await _send(run, t(rejected.template, **rejected.context))
        if not rejected.keep:
            await run.state.clear()
        return
    except Exception:
        await session.rollback()
        log.exception(
            "form %s could not be saved for person %s", run.flow.name, run.context.person.id
        )
        await _send(run, t("forms/save_failed"))
        return
    await run.state.clear()
    log.info("form %s confirmed by person %s", run.flow.name, run.context.person.id)


async def _ask(run: Run, ask: form_engine.Ask, notes: list[Markup]) -> None:
    t = run.context.t
    question = t(ask.question_key, **_question_context(run))
    reason = t(ask.reason.template, **ask.reason.params) if ask.reason is not None else None
    text = t(
        "forms/ask",
        notes=notes,
        reason=reason,
        question=question,
        current_answer=ask.current_answer,
        optional=ask.optional,
        editing=ask.editing,
        multi=bool(ask.choices) and _is_multi(run, ask.field),
        can_go_back=_can_go_back(run, ask),
        in_group=run.context.chat_type != "private",
        person_name=run.context.person.name or run.context.person.telegram_name,
    )
    picked = [key for key in run.data.get("picked", []) if isinstance(key, str)]
    keyboard: InlineKeyboardMarkup | ForceReply = _ask_keyboard(run, ask, picked)
    if not ask.choices and not _is_yes_no(run, ask.field) and run.context.chat_type != "private":
        # Only a reply reaches the bot in a group; the navigation words still work typed.
        keyboard = ForceReply(selective=True)
    await _send(run, text, keyboard)


def _question_context(run: Run) -> dict[str, Any]:
    return {"extra": run.context.extra, "today": run.context.today}


def _is_multi(run: Run, name: str) -> bool:
    return any(f.name == name and isinstance(f.kind, MultiChoice) for f in run.form.fields)


def _is_yes_no(run: Run, name: str) -> bool:
    return any(f.name == name and isinstance(f.kind, YesNo) for f in run.form.fields)


def _ask_keyboard(run: Run, ask: form_engine.Ask, picked: list[str]) -> InlineKeyboardMarkup:
    t = run.context.t
    locale = run.context.locale
    flow = run.flow.name
    rows: list[list[InlineKeyboardButton]] = []
    multi = _is_multi(run, ask.field)

    def data(action: str, value: str = "") -> str:
        return FormButton(flow=flow, action=action, value=value, version=ask.version).pack()

    if _is_yes_no(run, ask.field):
        rows.append(
            [
                InlineKeyboardButton(
                    text=t.label("forms", "yes"), callback_data=data("choose", "yes")
                ),
                InlineKeyboardButton(
                    text=t.label("forms", "no"), callback_data=data("choose", "no")
                ),
            ]
        )
    buttons = []
    for option in ask.choices:
        label = option.label(locale)
        if multi:
            label = t.label("forms", "ticked" if option.key in picked else "unticked", label=label)
        action = "toggle" if multi else "choose"
        buttons.append(InlineKeyboardButton(text=label, callback_data=data(action, option.key)))
    per_row = 2 if all(len(option.label(locale)) <= SHORT_LABEL for option in ask.choices) else 1
    rows.extend(buttons[index : index + per_row] for index in range(0, len(buttons), per_row))
    if multi:
        rows.append(
            [InlineKeyboardButton(text=t.label("forms", "done"), callback_data=data("done"))]
        )

    navigation = []
    if _can_go_back(run, ask):
        navigation.append(
            InlineKeyboardButton(text=t.label("forms", "back"), callback_data=data("back"))
        )
    if ask.optional:
        navigation.append(
            InlineKeyboardButton(text=t.label("forms", "skip"), callback_data=data("skip"))
        )
    navigation.append(
        InlineKeyboardButton(text=t.label("forms", "cancel"), callback_data=data("cancel"))
    )
    rows.append(navigation)
    return InlineKeyboardMarkup(inline_keyboard=rows)


def _can_go_back(run: Run, ask: form_engine.Ask) -> bool:
    return ask.editing or any(name != ask.field for name in _history(run))


def _history(run: Run) -> list[str]:
    stored = run.data.get("form") or {}
    history = stored.get("history") if isinstance(stored, dict) else None
    return [name for name in history or [] if isinstance(name, str)]


async def _summary(run: Run, summary: form_engine.Summary, notes: list[Markup]) -> None:
    t = run.context.t
    prompts = run.flow.prompts
    items = [(t.label(prompts, item.field), item.answer) for item in summary.items]
    text = t("forms/summary", notes=notes, title=t(f"{prompts}/title"), items=items)

    def data(action: str, value: str = "") -> str:
        return FormButton(
            flow=run.flow.name, action=action, value=value, version=summary.version
        ).pack()

    edits = [
        InlineKeyboardButton(
            text=t.label("forms", "edit", field=t.label(prompts, name)),
            callback_data=data("edit", name),
        )
        for name in summary.edit_targets
    ]
    rows = [edits[index : index + 2] for index in range(0, len(edits), 2)]
    rows.append(
        [
            InlineKeyboardButton(text=t.label("forms", "confirm"), callback_data=data("confirm")),
            InlineKeyboardButton(text=t.label("forms", "cancel"), callback_data=data("cancel")),
        ]
    )
    await _send(run, text, InlineKeyboardMarkup(inline_keyboard=rows))


async def _send(
    run: Run, text: Markup | str, keyboard: InlineKeyboardMarkup | ForceReply | None = None
) -> None:
    bot = run.context.bot
    reply_to = None
    thread_id = None
    if run.message is not None:
        thread_id = run.message.message_thread_id if run.message.is_topic_message else None
        if run.context.chat_type != "private":
            reply_to = run.message.message_id
    elif run.callback is not None and isinstance(run.callback.message, Message):
        origin = run.callback.message
        thread_id = origin.message_thread_id if origin.is_topic_message else None
    await bot.send_message(
        run.context.chat_id,
        text,
        reply_markup=keyboard,
        message_thread_id=thread_id,
        reply_to_message_id=reply_to,
    )


async def _mark_answered(run: Run, pressed: FormButton | None, chosen: str | None) -> None:
    """Show the pressed choice under its question and remove the buttons of that question."""
    assert run.callback is not None
    message = run.callback.message
    if not isinstance(message, Message):
        return
    label = chosen
    if label is None and pressed is not None and pressed.action == "choose":
        label = _choice_label(run, pressed.value)
    try:
        if label and message.html_text:
            await message.edit_text(
                run.context.t("forms/answered", question=Markup(message.html_text), answer=label)
            )
        else:
            await message.edit_reply_markup(reply_markup=None)
    except TelegramAPIError as error:
        log.debug("answered question %s not updated: %s", message.message_id, error.message)


def _choice_label(run: Run, key: str) -> str | None:
    locale = run.context.locale
    if key in ("yes", "no"):
        return run.context.t.label("forms", key)
    for form_field in run.form.fields:
        kind = form_field.kind
        for option in getattr(kind, "options", ()):
            if option.key == key:
                return str(option.label(locale))
    return None


async def _drop_keyboard(run: Run) -> None:
    assert run.callback is not None
    message = run.callback.message
    if isinstance(message, Message) and message.reply_markup:
        try:
            await message.edit_reply_markup(reply_markup=None)
        except TelegramAPIError as error:
            log.debug("buttons not removed from message %s: %s", message.message_id, error.message)


# --- Message kinds --------------------------------------------------------------------------


def file_info(message: Message) -> FileInfo | None:
    """Describe a photo or document as a file answer; None for every other kind of message."""
    if message.photo:
        largest = message.photo[-1]
        return FileInfo(
            kind="photo",
            file_id=largest.file_id,
            size=largest.file_size,
        )
    if message.document is not None:
        document = message.document
        return FileInfo(
            kind="document",
            file_id=document.file_id,
            size=document.file_size,
            file_name=document.file_name,
            mime_type=document.mime_type,
        )
    return None


def message_kind(message: Message) -> str:
    """Name the kind of a message that is not text, for the "not expected" reply."""
    for kind in (
        "sticker",
        "photo",
        "voice",
        "video",
        "video_note",
        "audio",
        "animation",
        "document",
        "location",
        "contact",
        "poll",
    ):
        if getattr(message, kind, None):
            return kind
    return "other"


__all__ = [
    "FLOWS",
    "FORM_STATE",
    "FormContext",
    "FormFlow",
    "FormRejected",
    "InForm",
    "file_info",
    "register_flow",
    "router",
    "start_form",
]
