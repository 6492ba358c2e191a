"""The messages of a running form: questions, summaries, their buttons, and answered marks.

`handlers.forms` decides what a step of a form shows; these functions build and send it.
In a group every message starts with a mention of the person, replies to their latest
message in the form, and a text question asks for a reply with ForceReply.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from aiogram.exceptions import TelegramAPIError
from aiogram.types import (
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReplyParameters,
)
from markupsafe import Markup

from bot.forms import engine as form_engine
from bot.forms.choices import Choice, MultiChoice
from bot.forms.engine import FormField, FormState
from bot.forms.fields import FileInfo, YesNo
from bot.forms.messages import MessageRef, build_message_ref
from handlers.callbacks import FormButton

if TYPE_CHECKING:
    from handlers.forms import Run

log = logging.getLogger(__name__)

# Options shown two to a row when every label is at most this many characters.
SHORT_LABEL = 18


def find_field(run: Run, name: str | None) -> FormField | None:
    for form_field in run.form.fields:
        if form_field.name == name:
            return form_field
    return None


def field_kind(run: Run, name: str | None) -> Any:
    form_field = find_field(run, name)
    return form_field.kind if form_field is not None else None


def note_for(run: Run, output: form_engine.Output) -> Markup | None:
    """Render an output that goes on top of the next question, or None for other outputs."""
    t = run.context.t
    if isinstance(output, form_engine.NotExpected):
        return t("forms/not_expected", kind=output.kind)
    if isinstance(output, form_engine.UnexpectedCommand):
        return t(
            "forms/unexpected_command", command=output.name, title=t(f"{run.flow.prompts}/title")
        )
    if isinstance(output, form_engine.NotOptional):
        return t("forms/not_optional")
    if isinstance(output, form_engine.NoPrevious):
        return t("forms/no_previous")
    return None


def addressee(run: Run) -> dict[str, Any]:
    """Template values that name the person at the start of form messages in groups."""
    person = run.context.person
    return {
        "in_group": run.context.chat_type != "private",
        "person_name": person.name or person.telegram_name,
        "user_id": person.telegram_id,
    }


async def ask_question(
    run: Run,
    form_state: FormState,
    ask: form_engine.Ask,
    notes: list[Markup],
    picked: list[str],
) -> Message:
    """Send the question with the notes on top and its buttons.

    In a group a text question gets a ForceReply instead, because only replies reach
    the bot there.
    """
    t = run.context.t
    reason = t(ask.reason.template, **ask.reason.params) if ask.reason is not None else None
    text = t(
        "forms/ask",
        notes=notes,
        reason=reason,
        question=question_text(run, ask.question_key),
        current_answer=ask.current_answer,
        optional=ask.optional,
        editing=ask.editing,
        multi=bool(ask.choices) and is_multi(run, ask.field),
        can_go_back=can_go_back(run, form_state, ask),
        **addressee(run),
    )
    keyboard: InlineKeyboardMarkup | ForceReply = ask_keyboard(run, form_state, ask, picked)
    if not ask.choices and not is_yes_no(run, ask.field) and run.context.chat_type != "private":
        # The navigation commands (/back, /skip, /cancel) still work typed.
        keyboard = ForceReply(selective=True)
    return await send(run, text, keyboard)


def question_text(run: Run, question_key: str) -> Markup:
    return run.context.t(question_key, extra=run.context.extra, today=run.context.today)


def is_multi(run: Run, name: str) -> bool:
    return isinstance(field_kind(run, name), MultiChoice)


def is_yes_no(run: Run, name: str) -> bool:
    return isinstance(field_kind(run, name), YesNo)


def ask_keyboard(
    run: Run, form_state: FormState, ask: form_engine.Ask, picked: list[str]
) -> InlineKeyboardMarkup:
    t = run.context.t
    locale = run.context.locale
    flow = run.flow.name
    rows: list[list[InlineKeyboardButton]] = []
    multi = is_multi(run, ask.field)

    def data(action: str, value: str = "") -> str:
        return FormButton(flow=flow, action=action, value=value, version=ask.version).pack()

    if is_yes_no(run, ask.field):
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
    if can_go_back(run, form_state, ask):
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


def can_go_back(run: Run, form_state: FormState, ask: form_engine.Ask) -> bool:
    """Tell whether /back has a question to return to, as the engine's `_back` decides."""
    if ask.editing:
        return True
    order = [form_field.name for form_field in run.form.fields]
    if ask.field not in order:
        return False
    earlier = set(order[: order.index(ask.field)])
    return any(name in earlier for name in form_state.history)


async def show_summary(
    run: Run,
    summary: form_engine.Summary,
    notes: list[Markup],
    summary_note: Markup | None = None,
) -> Message:
    """Send the summary with its edit and confirm buttons.

    `summary_note` is HTML from the flow's `summary_note` hook, shown above the buttons.
    """
    t = run.context.t
    prompts = run.flow.prompts
    items = [(t.label(prompts, item.field), item.answer) for item in summary.items]
    text = t(
        "forms/summary",
        notes=notes,
        title=t(f"{prompts}/title"),
        items=items,
        summary_note=summary_note,
        **addressee(run),
    )

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
    return await send(run, text, InlineKeyboardMarkup(inline_keyboard=rows))


async def send(
    run: Run, text: Markup | str, keyboard: InlineKeyboardMarkup | ForceReply | None = None
) -> Message:
    """Send to the form's chat; in a group, as a reply to the person's latest message."""
    bot = run.context.bot
    origin = run.message
    if origin is None and run.callback is not None and isinstance(run.callback.message, Message):
        origin = run.callback.message
    thread_id = None
    if origin is not None and origin.is_topic_message:
        thread_id = origin.message_thread_id
    reply = None
    if run.context.chat_type != "private" and run.anchor is not None:
        # The person may have deleted that message; the form goes on without the reply.
        reply = ReplyParameters(message_id=run.anchor, allow_sending_without_reply=True)
    return await bot.send_message(
        run.context.chat_id,
        text,
        reply_markup=keyboard,
        message_thread_id=thread_id,
        reply_parameters=reply,
    )


async def mark_answered(
    run: Run,
    before: FormState,
    after: FormState,
    pressed: FormButton | None,
    chosen: str | None,
) -> None:
    """Show the answer a button gave under its question, and remove that question's buttons.

    The question is rendered again from its template rather than taken back from the
    message, whose HTML Telegram returns only as text and entities. Buttons that did
    not answer the question (back, edit, Done on options the field rejects) only
    remove its keyboard.
    """
    assert run.callback is not None
    message = run.callback.message
    if not isinstance(message, Message):
        return
    form_field = find_field(run, before.current)
    answered = (
        pressed is not None
        and pressed.action in ("choose", "done", "skip")
        and form_field is not None
        and after.version != before.version
    )
    try:
        if answered:
            assert pressed is not None and form_field is not None
            if pressed.action == "choose":
                chosen = choice_label(run, form_field.kind, pressed.value)
            text = run.context.t(
                "forms/answered",
                question=question_text(run, form_field.question),
                answer=chosen,
                skipped=pressed.action == "skip",
                **addressee(run),
            )
            await message.edit_text(text)
        elif message.reply_markup is not None:
            await message.edit_reply_markup(reply_markup=None)
    except TelegramAPIError as error:
        log.debug("answered question %s not updated: %s", message.message_id, error.message)


def choice_label(run: Run, kind: Any, key: str) -> str | None:
    """Return the label of option `key` of a field of this `kind`, in the person's language."""
    if isinstance(kind, YesNo) and key in ("yes", "no"):
        return run.context.t.label("forms", key)
    if isinstance(kind, Choice | MultiChoice):
        for option in kind.options:
            if option.key == key:
                return option.label(run.context.locale)
    return None


async def drop_keyboard(run: Run) -> None:
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


# Media kinds a message answer takes, in the order they are checked. Telegram also sets
# `document` on an animation (a GIF), so animation comes before document.
_MEDIA_KINDS = ("photo", "animation", "video", "audio", "voice", "document")


def message_ref(message: Message) -> MessageRef | None:
    """Describe a text or media message as a message answer; None for stickers and the rest."""
    if message.text is not None:
        kind, text, entities = "text", message.text, message.entities
    else:
        found = [name for name in _MEDIA_KINDS if getattr(message, name)]
        if not found:
            return None
        kind, text, entities = found[0], message.caption or "", message.caption_entities
    media = getattr(message, kind, None) if kind != "text" else None
    file_name = getattr(media, "file_name", None)
    entity_urls = []
    for entity in entities or []:
        if entity.type == "text_link" and entity.url:
            entity_urls.append(entity.url)
        elif entity.type == "url":
            # Offsets count UTF-16 code units, which `extract_from` converts.
            entity_urls.append(entity.extract_from(text))
    return build_message_ref(
        message.chat.id,
        message.message_id,
        kind,
        text,
        file_name=file_name if isinstance(file_name, str) else None,
        entity_urls=entity_urls,
    )


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
