"""Run the forms of `bot.forms` in chats: store their state, render questions, save on confirm.

A feature declares a `FormFlow` and registers it here. Its command handler checks who
may use the form and calls `start_form`; from then on this router takes every message,
command, edit and button press of that person in that chat until the form is confirmed,
cancelled or expired.

The state lives in aiogram's FSM storage (the database, or Redis with REDIS_URL), keyed
per bot, chat and user, so two people filling forms in one group never mix and a form
survives a restart. Next to the engine's state it keeps the ids of the messages the form
sent, and a button counts only on one of them, so a button left from an earlier form
never answers the current one.

`PerUserLockMiddleware` runs one person's updates one at a time, every button carries
the state's version, and every write first checks that the stored version is still the
one this update read (`_write`). A double-tapped button is therefore stale on its second
press and never saves twice.

In groups privacy mode hides ordinary messages from the bot, so a typed answer there
must be a reply to one of the form's messages, and text questions ask for one with
ForceReply. Every message of a form in a group replies to the person's latest message
in the form and starts with a mention of them. Both target that ForceReply at them, and
the reply marks whose form the buttons belong to.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import zoneinfo
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from aiogram import BaseMiddleware, Bot, F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import BaseFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.config import LOCALES, Settings
from bot.forms import engine as form_engine
from bot.forms.choices import MultiChoice, Option
from bot.forms.engine import Form, FormEngine, FormState
from bot.forms.fields import Phone
from bot.forms.messages import MessageAnswer
from bot.texts import LocalTexts, Texts
from handlers.callbacks import FormButton
from handlers.form_messages import (
    ask_keyboard,
    ask_question,
    choice_label,
    drop_keyboard,
    field_kind,
    file_info,
    mark_answered,
    message_kind,
    message_ref,
    note_for,
    send,
    show_summary,
)
from storage.models import Community, Person

log = logging.getLogger(__name__)
router = Router(name="forms")

# The aiogram FSM state of anyone filling a form; the form itself is in the FSM data.
FORM_STATE = "form"
# How many ids of the messages a form sent its stored data keeps, newest last.
MESSAGES_KEPT = 50
# The link that mentions a person by id at the start of a form message in a group.
USER_LINK = "tg://user?id="


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


class FormConflict(Exception):
    """The stored form changed after this update read it, so this update's step is dropped."""


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
    # Messages a flow's `save` sends once its changes are committed; see `after_commit`.
    deferred: list[Callable[[], Awaitable[Any]]] = field(default_factory=list)

    def after_commit(self, send: Callable[[], Awaitable[Any]]) -> None:
        """Run `send` after the runner commits the save, and never when the save fails.

        A confirmation sent inside `save` would tell the person of a save that a failed
        commit then undid. A failing `send` is logged and does not undo the save.
        """
        self.deferred.append(send)

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
    in the session; the runner commits after it returns, then runs what `save` passed to
    `FormContext.after_commit`, such as the confirmation message. `locale`, when set,
    returns the language that the answers so far (`Field.to_json` values) chose for the
    form's messages, or None to keep the person's language.

    `summary_note`, when set, is awaited with the answers (`Field.to_json` values) each
    time the summary is about to be sent. The HTML it returns, rendered by the flow and
    not escaped again, goes in the summary above the buttons, and None adds nothing.
    Messages it sends through `context.bot`, such as a preview copy of a message
    answer, arrive before the summary. An exception it raises reaches the caller of
    the runner like any other, and the summary is not sent.
    """

    name: str
    prompts: str
    command: str
    build: Callable[[FormContext], Awaitable[Form]]
    save: Callable[[FormContext, form_engine.Confirmed], Awaitable[None]]
    locale: Callable[[Mapping[str, Any]], str | None] | None = None
    summary_note: (
        Callable[[FormContext, Mapping[str, Any]], Awaitable[Markup | str | None]] | None
    ) = None


FLOWS: dict[str, FormFlow] = {}


def register_flow(flow: FormFlow) -> FormFlow:
    """Add `flow` to FLOWS; raise ValueError when another flow already has its name."""
    if flow.name in FLOWS and FLOWS[flow.name] is not flow:
        raise ValueError(f"a form flow named {flow.name!r} is already registered")
    FLOWS[flow.name] = flow
    return flow


# --- One update's work ----------------------------------------------------------------------


@dataclass
class Run:
    """One update's work on one form: the flow, its built form and where to answer.

    `data` is the FSM data as last read or written. `version` is the form version
    stored there, which the next write expects to find. `anchor` is the person's
    latest message in the form, which the form's messages in a group reply to.
    """

    flow: FormFlow
    form: Form
    context: FormContext
    state: FSMContext
    message: Message | None
    callback: CallbackQuery | None
    data: dict[str, Any] = field(default_factory=dict)
    version: int | None = None
    anchor: int | None = None

    @property
    def engine(self) -> FormEngine:
        return FormEngine(self.form)


# --- Starting a form ----------------------------------------------------------------------


async def start_form(
    flow: FormFlow,
    message: Message,
    state: FSMContext,
    context: FormContext,
    *,
    answers: Mapping[str, Any] | None = None,
) -> bool:
    """Start `flow` for the person in this chat and ask its first question.

    `message` is the person's command, or the bot's message whose button started the
    form. `answers` prefills the form, as when a saved record is edited; with every
    field answered the person sees the summary first. When the first question cannot
    be sent, the earlier FSM state is put back and the TelegramAPIError is raised.

    A form of this person in this chat that is still open is never replaced: a button
    that starts a form mid-form gets a note to finish or /cancel the open one first, and
    False is returned. An expired one is replaced.
    """
    open_flow = await _open_flow(state, context)
    if open_flow is not None:
        title = context.t(f"{open_flow.prompts}/title")
        await context.bot.send_message(
            context.chat_id,
            context.t("forms/finish_first", title=title),
            message_thread_id=message.message_thread_id if message.is_topic_message else None,
        )
        log.info(
            "form %s not started for person %s: form %s is open",
            flow.name,
            context.person.id,
            open_flow.name,
        )
        return False
    context.t = _chosen_texts(flow, answers or {}, context.texts, context.t)
    form = await _build(flow, context)
    step = FormEngine(form).start(now=context.now, locale=context.locale, answers=answers)
    assert step.state is not None
    previous_state = await state.get_state()
    previous_data = await state.get_data()

    anchor = _own_message_id(message, context.person)
    data: dict[str, Any] = {
        "flow": flow.name,
        "form": step.state.to_json(),
        "extra": context.extra,
        "picked": [],
        "messages": [],
        "anchor": anchor,
    }
    await state.set_state(FORM_STATE)
    await state.set_data(data)
    log.info(
        "form %s started by person %s in chat %s", flow.name, context.person.id, context.chat_id
    )
    run = Run(
        flow, form, context, state, message, None, data, version=step.state.version, anchor=anchor
    )
    prompt = _prompt_of(step)
    try:
        await _present(run, step.state, prompt, [], [])
    except TelegramAPIError:
        await state.set_state(previous_state)
        await state.set_data(previous_data)
        raise
    return True


class ExpiredFormCommands(BaseMiddleware):
    """Run a command sent after the person's form in this chat expired as if no form were open.

    Without this the runner would take the command, reply that the form expired, and
    drop it. Register it on the Dispatcher's message observer, so that the cleared
    `raw_state` reaches every router. /cancel, /back and /skip stay with the runner.
    """

    async def __call__(
        self,
        handler: Callable[[Any, dict[str, Any]], Awaitable[Any]],
        event: Any,
        data: dict[str, Any],
    ) -> Any:
        if (
            isinstance(event, Message)
            and data.get("raw_state") == FORM_STATE
            and _command_name(event.text or "") not in ("", "cancel", "back", "skip")
        ):
            await self._drop_expired(event, data)
        return await handler(event, data)

    @staticmethod
    async def _drop_expired(message: Message, data: dict[str, Any]) -> None:
        state: FSMContext = data["state"]
        settings: Settings = data["settings"]
        loaded = _stored_form(await state.get_data())
        if loaded is None:
            return
        flow, stored_form = loaded
        idle = _clock(data).now() - form_engine.parse_time(stored_form.touched_at)
        if idle <= dt.timedelta(hours=settings.form_ttl_hours):
            return
        await state.clear()
        data["raw_state"] = None
        t: LocalTexts = data["t"]
        log.info("form %s expired before command in chat %s", flow.name, message.chat.id)
        await message.answer(
            t("forms/expired", title=t(f"{flow.prompts}/title"), command=flow.command)
        )


def _command_name(text: str) -> str:
    """Return the command of a message without slash and bot name ("/Ask@cop_bot x" → "ask")."""
    if not text.startswith("/"):
        return ""
    return text.split(maxsplit=1)[0].lstrip("/").split("@", 1)[0].lower()


async def _open_flow(state: FSMContext, context: FormContext) -> FormFlow | None:
    """Return the flow of this person's open form in this chat, or None when there is none.

    A form untouched for longer than FORM_TTL_HOURS, or with unreadable stored data,
    counts as closed.
    """
    if await state.get_state() != FORM_STATE:
        return None
    loaded = _stored_form(await state.get_data())
    if loaded is None:
        return None
    flow, stored_form = loaded
    if stored_form.status != "active":
        return None
    touched = form_engine.parse_time(stored_form.touched_at)
    return flow if context.now - touched <= context.form_ttl else None


def _stored_form(stored: Mapping[str, Any]) -> tuple[FormFlow, FormState] | None:
    """Return the registered flow and the state of a form's FSM data, or None if unreadable."""
    name = stored.get("flow")
    flow = FLOWS.get(name) if isinstance(name, str) else None
    if flow is None:
        return None
    try:
        return flow, FormState.from_json(stored.get("form"))
    except (TypeError, ValueError):
        return None


async def _build(flow: FormFlow, context: FormContext) -> Form:
    """Build the flow's form and end the session's transaction.

    A build may write (the default themes are created on first use), and the FSM
    storage writes through its own session, which SQLite would block until this commits.
    """
    form = await flow.build(context)
    await context.session.commit()
    return form


def _chosen_texts(
    flow: FormFlow, answers: Mapping[str, Any], texts: Texts, t: LocalTexts
) -> LocalTexts:
    """Return the texts in the language the answers chose for the form, else `t`."""
    chosen = flow.locale(answers) if flow.locale is not None else None
    if chosen not in LOCALES or chosen == t.locale:
        return t
    return texts.bind(chosen)


def _own_message_id(message: Message | None, person: Person) -> int | None:
    """Return the id of `message` when the person sent it, so form messages can reply to it."""
    if message is None or message.from_user is None:
        return None
    if message.from_user.id != person.telegram_id:
        return None
    return message.message_id


# --- Routing --------------------------------------------------------------------------------


class InForm(BaseFilter):
    """Match updates from someone with an open form in this chat."""

    async def __call__(self, *args: Any, state: FSMContext, **kwargs: Any) -> bool:
        return await state.get_state() == FORM_STATE


class AnswerToForm(BaseFilter):
    """Match private messages, and group messages that reply to one of this form's messages.

    A bot that is a group administrator sees every message, and a person chatting in
    the group mid-form, or replying to someone else's form, must not have each line
    taken as an answer.
    """

    async def __call__(self, message: Message, bot: Bot, state: FSMContext) -> bool:
        if message.chat.type == "private":
            return True
        reply = message.reply_to_message
        if reply is None or reply.from_user is None or reply.from_user.id != bot.id:
            return False
        return _sent_by_form(await state.get_data(), reply.message_id)


def _sent_by_form(stored: Mapping[str, Any], message_id: int | None) -> bool:
    """Tell whether the stored form sent the message with this id.

    Data stored without the list of message ids accepts every message.
    """
    sent = stored.get("messages")
    if not isinstance(sent, list):
        return True
    return message_id is not None and message_id in sent


async def _open_run(
    event: Message | CallbackQuery,
    state: FSMContext,
    data: dict[str, Any],
) -> tuple[Run, FormState] | None:
    """Load the stored form of this person in this chat; None (and the state cleared) if unusable."""
    stored = await state.get_data()
    flow_name = stored.get("flow")
    flow = FLOWS.get(flow_name) if isinstance(flow_name, str) else None
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
    person: Person = data["person"]
    context = FormContext(
        session=data["session"],
        bot=data["bot"],
        settings=data["settings"],
        texts=data["texts"],
        t=_chosen_texts(flow, form_state.answers, data["texts"], t),
        community=data["community"],
        person=person,
        is_facilitator=data["is_facilitator"],
        chat_id=chat[0],
        chat_type=chat[1],
        now=_clock(data).now(),
        extra=dict(stored.get("extra") or {}),
    )
    stored_anchor = stored.get("anchor")
    anchor = _own_message_id(message, person)
    if anchor is None and isinstance(stored_anchor, int):
        anchor = stored_anchor
    form = await _build(flow, context)
    run = Run(
        flow,
        form,
        context,
        state,
        message,
        callback,
        dict(stored),
        version=form_state.version,
        anchor=anchor,
    )
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
    # The engine takes the command alone: "/skip please" skips, "/buyers onion" is /buyers.
    words = (message.text or "").split(maxsplit=1)
    step = run.engine.command(
        form_state,
        words[0] if words else "",
        now=run.context.now,
        today=_today(run),
        locale=run.context.locale,
    )
    await _render(run, step, before=form_state)


@router.message(InForm(), AnswerToForm(), F.text)
async def text_in_form(message: Message, state: FSMContext, **data: Any) -> None:
    opened = await _open_run(message, state, data)
    if opened is None:
        return
    run, form_state = opened
    current_kind = _current_kind(run, form_state)
    ref = message_ref(message) if isinstance(current_kind, MessageAnswer) else None
    if message.forward_origin is not None:
        step = run.engine.other_input(
            form_state,
            "forwarded",
            now=run.context.now,
            today=_today(run),
            locale=run.context.locale,
        )
    elif ref is not None:
        # Typed text answers a message question as a message, formatting and links included.
        step = run.engine.answer_message(
            form_state, ref, now=run.context.now, locale=run.context.locale
        )
    else:
        step = run.engine.answer_text(
            form_state,
            message.text or "",
            now=run.context.now,
            today=_today(run),
            locale=run.context.locale,
        )
    await _render(run, step, before=form_state)


@router.message(InForm(), AnswerToForm())
async def other_in_form(message: Message, state: FSMContext, **data: Any) -> None:
    opened = await _open_run(message, state, data)
    if opened is None:
        return
    run, form_state = opened
    info = file_info(message)
    now, today, locale = run.context.now, _today(run), run.context.locale
    forwarded = message.forward_origin is not None
    current_kind = _current_kind(run, form_state)
    takes_message = isinstance(current_kind, MessageAnswer) and not forwarded
    ref = message_ref(message) if takes_message else None
    if message.contact is not None and not forwarded and isinstance(current_kind, Phone):
        # A shared contact card answers a phone question with its number.
        number = message.contact.phone_number
        step = run.engine.answer_text(form_state, number, now=now, today=today, locale=locale)
    elif ref is not None and message.media_group_id is not None:
        # Each item of an album arrives as a message of its own, and copying one of
        # them would send on only part of what the person meant.
        step = run.engine.other_input(form_state, "album", now=now, today=today, locale=locale)
    elif ref is not None:
        step = run.engine.answer_message(form_state, ref, now=now, locale=locale)
    elif info is not None and not forwarded:
        step = run.engine.answer_file(form_state, info, now=now, today=today, locale=locale)
    else:
        kind = "forwarded" if forwarded else message_kind(message)
        step = run.engine.other_input(form_state, kind, now=now, today=today, locale=locale)
    await _render(run, step, before=form_state)


def _current_kind(run: Run, form_state: FormState) -> Any:
    """Return the field type (a `Field`) of the open question, as the engine opens the form.

    Return None when the form is at its summary, has expired or has ended.
    """
    opened = run.engine.prompt(form_state, now=run.context.now, locale=run.context.locale).state
    return field_kind(run, opened.current) if opened is not None else None


@router.edited_message(InForm(), AnswerToForm())
async def edited_in_form(message: Message, state: FSMContext, **data: Any) -> None:
    opened = await _open_run(message, state, data)
    if opened is None:
        return
    run, form_state = opened
    # The edit is not a new answer, so the form's messages keep replying to the latest one.
    run.anchor = run.data.get("anchor") if isinstance(run.data.get("anchor"), int) else None
    step = run.engine.other_input(
        form_state, "edited", now=run.context.now, today=_today(run), locale=run.context.locale
    )
    await _render(run, step, before=form_state)


@router.callback_query(FormButton.filter())
async def button_in_form(
    callback: CallbackQuery, callback_data: FormButton, state: FSMContext, **data: Any
) -> None:
    t: LocalTexts = data["t"]
    owner = _question_owner(callback)
    if owner is not None and owner != callback.from_user.id:
        flow = FLOWS.get(callback_data.flow)
        # Suggest the command only when the presser could start that form now: they have
        # no form open here, and the flow is started by its command (an edit is not).
        suggest = flow is not None and await state.get_state() != FORM_STATE
        await callback.answer(
            t.alert("forms/not_yours", command=flow.command if suggest and flow else None),
            show_alert=True,
        )
        return
    if await state.get_state() != FORM_STATE:
        # The form was confirmed, cancelled or expired, or the button is someone else's
        # on a message that shows neither a reply to them nor a mention of them.
        ended = FLOWS.get(callback_data.flow)
        await callback.answer(
            t.alert("forms/ended", command=ended.command if ended else None), show_alert=True
        )
        return
    stored = await state.get_data()
    message_id = callback.message.message_id if callback.message is not None else None
    if stored.get("flow") != callback_data.flow or not _sent_by_form(stored, message_id):
        # A button of another form of this person, or of an earlier one of the same flow.
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
    await _render(run, step, before=form_state, pressed=callback_data)


def _question_owner(callback: CallbackQuery) -> int | None:
    """Return the Telegram id of the person a group form message was sent to, if it shows.

    In groups every form message replies to its person's latest message, when there is
    one, and starts with a mention of them. A button pressed by anyone else is
    therefore on someone else's form.
    """
    message = callback.message
    if not isinstance(message, Message) or message.chat.type == "private":
        return None
    reply = message.reply_to_message
    if reply is not None and reply.from_user is not None and not reply.from_user.is_bot:
        return reply.from_user.id
    for entity in message.entities or []:
        # Telegram reports a tg://user link mention as a text_mention entity (MTProto's
        # messageEntityMentionName), and the sandbox as a text_link, so both are read.
        if entity.type == "text_mention" and entity.user is not None:
            return entity.user.id
        url = entity.url or ""
        if entity.type == "text_link" and url.startswith(USER_LINK):
            user_id = url.removeprefix(USER_LINK)
            return int(user_id) if user_id.isdigit() else None
    return None


async def _multi_choice(run: Run, form_state: FormState, pressed: FormButton) -> None:
    """Tick or untick an option of a multiple choice, or send the ticked ones as the answer."""
    assert run.callback is not None
    t = run.context.t
    step = run.engine.prompt(form_state, now=run.context.now, locale=run.context.locale)
    prompt = _prompt_of(step)
    opened = step.state
    if opened is None or prompt is None:
        # The form expired or ended: handled like any other press.
        await _render(run, step, before=form_state, pressed=pressed)
        return
    kind = field_kind(run, opened.current)
    if (
        pressed.version != opened.version
        or not isinstance(prompt, form_engine.Ask)
        or not isinstance(kind, MultiChoice)
    ):
        await run.callback.answer(t.alert("forms/stale"), show_alert=True)
        return

    picked = _picked(run, kind)
    if pressed.action == "done":
        if not picked:
            await run.callback.answer(t.alert("forms/pick_one"), show_alert=True)
            return
        step = run.engine.answer_picked(
            form_state, picked, now=run.context.now, locale=run.context.locale
        )
        labels = [choice_label(run, kind, key) or key for key in picked]
        await _render(run, step, before=form_state, pressed=pressed, chosen=", ".join(labels))
        return

    if pressed.value not in {option.key for option in kind.options}:
        await run.callback.answer(t.alert("forms/stale"), show_alert=True)
        return
    if pressed.value in picked:
        picked.remove(pressed.value)
    else:
        picked.append(pressed.value)
    await run.callback.answer()
    try:
        await _write(run, opened, picked=picked)
    except FormConflict as conflict:
        log.warning("tick dropped: %s", conflict)
        return
    if isinstance(run.callback.message, Message):
        try:
            await run.callback.message.edit_reply_markup(
                reply_markup=ask_keyboard(run, opened, prompt, picked)
            )
        except TelegramAPIError as error:
            log.debug("ticks not shown on message: %s", error.message)


def _answered_ticks(run: Run, form_state: FormState, prompt: Any) -> list[str]:
    """Tick the options of a multiple choice answered before, when it is asked again to edit."""
    if not isinstance(prompt, form_engine.Ask):
        return []
    kind = field_kind(run, prompt.field)
    answered = form_state.answers.get(prompt.field)
    if not isinstance(kind, MultiChoice) or not isinstance(answered, list):
        return []
    keys = {option.key for option in kind.options}
    return [key for key in answered if isinstance(key, str) and key in keys]


def _picked(run: Run, kind: Any = None) -> list[str]:
    """Return the ticked option keys, without any that `kind` (a MultiChoice) lacks."""
    stored = run.data.get("picked")
    picked = [key for key in stored if isinstance(key, str)] if isinstance(stored, list) else []
    if isinstance(kind, MultiChoice):
        keys = {option.key for option in kind.options}
        picked = [key for key in picked if key in keys]
    return picked


# --- Storing ---------------------------------------------------------------------------------


def _stored_version(stored: Mapping[str, Any], flow: str) -> int | None:
    form = stored.get("form")
    if stored.get("flow") != flow or not isinstance(form, dict):
        return None
    version = form.get("version")
    return version if isinstance(version, int) and not isinstance(version, bool) else None


async def _write(
    run: Run, form_state: FormState, *, picked: list[str], message_id: int | None = None
) -> None:
    """Store `form_state`, the ticks and the anchor; add `message_id` to the form's messages.

    This is the engine's compare and set: it raises FormConflict, writing nothing, when
    the stored version is no longer the one this update read or last wrote.
    NOTE: the check and the write are two storage calls, not one atomic operation. The
    per-user lock makes them exact within one process, but two processes sharing Redis
    can both pass the check, and then the later write wins.
    """
    stored = await run.state.get_data()
    found = _stored_version(stored, run.flow.name)
    if found != run.version:
        raise FormConflict(
            f"form {run.flow.name} of person {run.context.person.id} in chat "
            f"{run.context.chat_id} is at version {found} in storage, not {run.version}"
        )
    data = {**stored, "form": form_state.to_json(), "picked": list(picked)}
    if run.anchor is not None:
        data["anchor"] = run.anchor
    if message_id is not None:
        sent = stored.get("messages")
        kept = [item for item in sent if isinstance(item, int)] if isinstance(sent, list) else []
        data["messages"] = [*kept, message_id][-MESSAGES_KEPT:]
    await run.state.set_data(data)
    run.data = data
    run.version = form_state.version


async def _restore(run: Run, data: dict[str, Any]) -> None:
    """Put back the FSM data this update started from, unless another update wrote since."""
    stored = await run.state.get_data()
    if _stored_version(stored, run.flow.name) != run.version:
        return
    await run.state.set_data(data)
    run.data = dict(data)
    run.version = _stored_version(data, run.flow.name)


# --- Rendering -----------------------------------------------------------------------------


def _prompt_of(step: form_engine.Step) -> form_engine.Ask | form_engine.Summary | None:
    for output in step.outputs:
        if isinstance(output, form_engine.Ask | form_engine.Summary):
            return output
    return None


async def _render(
    run: Run,
    step: form_engine.Step,
    *,
    before: FormState | None = None,
    pressed: FormButton | None = None,
    chosen: str | None = None,
) -> None:
    """Answer the button, store the step's state, and send the step's outputs.

    `before` is the stored state the step started from. Notes (a sticker, a command
    that cannot run now) go on top of the question or summary that follows them, so
    each input gets one message.
    """
    try:
        await _render_step(run, step, before, pressed, chosen)
    except FormConflict as conflict:
        # Only another process writing the same form gets here, and that process replies.
        log.warning("form update dropped: %s", conflict)


async def _render_step(
    run: Run,
    step: form_engine.Step,
    before: FormState | None,
    pressed: FormButton | None,
    chosen: str | None,
) -> None:
    t = run.context.t
    outputs = step.outputs
    if any(isinstance(output, form_engine.Expired) for output in outputs):
        await _finish(run, expired=True)
        return
    stale = next((output for output in outputs if isinstance(output, form_engine.Stale)), None)
    if stale is not None and stale.reason == "ended":
        await _finish(run, expired=False)
        return
    # The stored form was at its summary, and the engine reopened a question.
    reopened = (
        stale is not None
        and stale.reason == "not_at_summary"
        and before is not None
        and before.current is None
    )
    if reopened and step.state is not None:
        await _ask_reopened(run, step.state)
        return

    # Answer the button first: Telegram shows a spinner on it until then.
    if run.callback is not None:
        if stale is not None:
            await run.callback.answer(t.alert("forms/stale"), show_alert=True)
        else:
            await run.callback.answer()
    if stale is not None:
        log.info("stale form input (%s) in form %s", stale.reason, run.flow.name)
        if stale.reason != "version" and step.state is not None:
            await _write(run, step.state, picked=_picked(run))
        if run.callback is None:
            await send(run, t("forms/stale"))
        return

    if any(isinstance(output, form_engine.Cancelled) for output in outputs):
        await run.state.clear()
        log.info("form %s cancelled by person %s", run.flow.name, run.context.person.id)
        if run.callback is not None:
            await drop_keyboard(run)
        await send(run, t("forms/cancelled", title=t(f"{run.flow.prompts}/title")))
        return
    confirmed = next((out for out in outputs if isinstance(out, form_engine.Confirmed)), None)
    if confirmed is not None:
        assert step.state is not None and before is not None
        await _confirm(run, step.state, before, confirmed)
        return

    step = _in_chosen_language(run, step)
    assert step.state is not None
    outputs = step.outputs
    prompt = _prompt_of(step)
    notes = [note for output in outputs if (note := note_for(run, output)) is not None]
    # Ticks of a multiple choice survive a repeat of the same question, as after a sticker.
    same_question = (
        isinstance(prompt, form_engine.Ask)
        and before is not None
        and before.current == prompt.field
        and before.version == step.state.version
    )
    picked = _picked(run) if same_question else _answered_ticks(run, step.state, prompt)
    snapshot = dict(run.data)
    await _write(run, step.state, picked=picked)
    try:
        await _present(run, step.state, prompt, notes, picked)
    except TelegramAPIError:
        # The person never saw the new question, so their next answer is for the old one.
        await _restore(run, snapshot)
        raise
    if run.callback is not None and before is not None:
        await mark_answered(run, before, step.state, pressed, chosen)


async def _ask_reopened(run: Run, form_state: FormState) -> None:
    """Ask the question that the engine reopened at the summary, with the reason.

    The form is built again for every update, and the engine drops a stored answer the
    new build rejects, such as a choice whose option was removed, and asks that field
    again without a new version. Confirm and the edit buttons on the summary then meet
    an open question.
    """
    assert run.callback is not None
    log.info(
        "form %s of person %s asks %s again: its answer no longer fits",
        run.flow.name,
        run.context.person.id,
        form_state.current,
    )
    await run.callback.answer()
    await drop_keyboard(run)
    step = run.engine.prompt(form_state, now=run.context.now, locale=run.context.locale)
    await _present(run, form_state, _prompt_of(step), [run.context.t("forms/answer_dropped")], [])


def _in_chosen_language(run: Run, step: form_engine.Step) -> form_engine.Step:
    """Switch the texts when this step's answer chose another language, and redo its prompt.

    The engine words displayed answers, such as a choice's label, in the language it
    is given, so the question or summary that follows is built again in the new one.
    """
    if step.state is None:
        return step
    t = _chosen_texts(run.flow, step.state.answers, run.context.texts, run.context.t)
    if t is run.context.t:
        return step
    run.context.t = t
    again = _prompt_of(run.engine.prompt(step.state, now=run.context.now, locale=t.locale))
    outputs = tuple(
        again
        if again is not None and isinstance(output, form_engine.Ask | form_engine.Summary)
        else output
        for output in step.outputs
    )
    return form_engine.Step(step.state, outputs)


async def _finish(run: Run, *, expired: bool) -> None:
    """End a form that expired, or whose stored state is already confirmed, and tell the person."""
    await run.state.clear()
    t = run.context.t
    if expired:
        log.info("form %s expired for person %s", run.flow.name, run.context.person.id)
        text = t("forms/expired", title=t(f"{run.flow.prompts}/title"), command=run.flow.command)
        alert = t.alert("forms/expired_alert", command=run.flow.command)
    else:
        text = t("forms/ended")
        alert = t.alert("forms/ended")
    if run.callback is not None:
        await run.callback.answer(alert, show_alert=True)
        await drop_keyboard(run)
        if not expired:
            return
    await send(run, text)


async def _confirm(
    run: Run, confirmed_state: FormState, before: FormState, confirmed: form_engine.Confirmed
) -> None:
    """Save in one transaction; on failure keep the answers and show the summary again.

    The confirmed state is stored before saving, so a second Confirm finds the form
    ended even when this process stops between the commit and clearing the state.
    """
    session = run.context.session
    t = run.context.t
    await _write(run, confirmed_state, picked=[])
    try:
        await run.flow.save(run.context, confirmed)
        await session.commit()
    except FormRejected as rejected:
        run.context.deferred.clear()
        await session.rollback()
        await session.refresh(run.context.person)  # the rollback expired every loaded row
        log.info(
            "form %s of person %s rejected: %s",
            run.flow.name,
            run.context.person.id,
            rejected.template,
        )
        if rejected.keep:
            await _reopen(run, confirmed_state, before)
        else:
            await run.state.clear()
            if run.callback is not None:
                await drop_keyboard(run)
        await send(run, t(rejected.template, **rejected.context))
        return
    except Exception:
        run.context.deferred.clear()
        await session.rollback()
        await session.refresh(run.context.person)  # the rollback expired every loaded row
        log.exception(
            "form %s could not be saved for person %s", run.flow.name, run.context.person.id
        )
        reopened = await _reopen(run, confirmed_state, before)
        if run.callback is not None:
            await drop_keyboard(run)
        summary = _prompt_of(
            run.engine.prompt(reopened, now=run.context.now, locale=run.context.locale)
        )
        await _present(run, reopened, summary, [t("forms/save_failed")], [])
        return
    await run.state.clear()
    if run.callback is not None:
        await drop_keyboard(run)
    log.info("form %s confirmed by person %s", run.flow.name, run.context.person.id)
    for send_after in run.context.deferred:
        try:
            await send_after()
        except TelegramAPIError as error:
            log.warning(
                "message after form %s of person %s not sent: %s",
                run.flow.name,
                run.context.person.id,
                error.message,
            )


async def _reopen(run: Run, confirmed_state: FormState, before: FormState) -> FormState:
    """Store the form at its summary again, with the version its buttons carry."""
    reopened = dataclasses.replace(confirmed_state, status="active", version=before.version)
    await _write(run, reopened, picked=[])
    return reopened


async def _present(
    run: Run,
    form_state: FormState,
    prompt: form_engine.Ask | form_engine.Summary | None,
    notes: list[Markup],
    picked: list[str],
) -> None:
    """Send the question or summary with the notes on top, and keep the message's id."""
    if isinstance(prompt, form_engine.Ask):
        sent = await ask_question(run, form_state, prompt, notes, picked)
    elif isinstance(prompt, form_engine.Summary):
        # Awaited first, so that messages the hook sends come before the summary.
        summary_note = await _summary_note(run, form_state)
        sent = await show_summary(run, prompt, notes, summary_note)
    elif notes:
        sent = await send(run, Markup("\n\n").join(notes))
    else:
        return
    await _write(run, form_state, picked=picked, message_id=sent.message_id)


async def _summary_note(run: Run, form_state: FormState) -> Markup | None:
    """Return the flow's HTML note for the summary, or None when it has no hook or no note."""
    hook = run.flow.summary_note
    if hook is None:
        return None
    note = await hook(run.context, MappingProxyType(dict(form_state.answers)))
    return None if note is None else Markup(note)


__all__ = [
    "FLOWS",
    "FORM_STATE",
    "FormConflict",
    "FormContext",
    "FormFlow",
    "FormRejected",
    "InForm",
    "file_info",
    "register_flow",
    "router",
    "start_form",
]
