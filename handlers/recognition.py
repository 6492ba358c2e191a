"""Recognition: the facilitators' buttons on the monthly post's preview, and /recognize.

The preview job (`bot.jobs.recognition.preview`) sends each facilitator the draft with
three buttons. "Post as is" queues the post for every active CoP-wide group at once and
marks it posted, so the timed post job sends nothing more. "Edit text" takes the
facilitator's next message as the new text and shows it back with the same buttons.
"Skip" marks the month skipped. Every press loads the post again and checks the
presser and the post's status, because callback data can be forged and another
facilitator may have decided first.

/recognize template shows the community's heading and closing line of the monthly post,
which facilitators can change or restore to the wording of post.html. A new heading or
closing is the facilitator's next message, plain text that post.html escapes.

/recognize is a facilitator's shout-out to a BSO, or a person of it, at any time: a form
asks for the BSO, an optional name and the reason, and Confirm posts it to the CoP-wide
groups through the outbox.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

from aiogram import F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.config import Settings
from bot.forms import FieldError, Form, LongText, Option, ShortText
from bot.forms.engine import Confirmed, FormField
from bot.outbox import OutboxSender, wake_senders
from bot.texts import MESSAGE_LIMIT, LocalTexts, Texts, utf16_length
from handlers.actions import BSO_BUTTONS_MAX, TypedChoice
from handlers.asks import form_context
from handlers.callbacks import RecognitionReview, RecognitionTemplate
from handlers.forms import FormContext, FormFlow, FormRejected, register_flow, start_form
from handlers.keyboards import button, drop_buttons, facilitator_press
from handlers.progress_views import current_month, month_label
from handlers.registration import BsoChoice
from storage import outbox as outbox_store
from storage import people
from storage import recognition as store
from storage.models import Bso, Community, Person, RecognitionPost

log = logging.getLogger(__name__)
router = Router(name="recognition")

SHOUTOUT_PROMPTS = "recognition/shoutout"
PERSON_MAX = 100
REASON_MIN = 3
REASON_MAX = 1000
# The buttons of a preview, in their order.
REVIEW_ACTIONS = ("post", "edit", "skip")
# The buttons of /recognize template, in their order.
TEMPLATE_ACTIONS = ("heading", "closing", "restore")
# Maximum characters of the community's own heading and closing line, after stripping.
TEMPLATE_LIMITS = {"heading": 200, "closing": 500}
# The one placeholder of a heading, which post.html replaces with the month's name.
MONTH_PLACEHOLDER = "{month}"
PLACEHOLDER = re.compile(r"\{[^{}]*\}")


class RecognitionEdit(StatesGroup):
    # Waiting for the new text of the post in FSM data "post_id".
    text = State()


class TemplateInput(StatesGroup):
    # Waiting for the new heading or closing, named in FSM data "part", of the
    # community's recognition post. FSM data "asked_at" is when the question was asked.
    text = State()


# --- The preview and its buttons ------------------------------------------------------------


def review_markup(t: LocalTexts, post_id: int) -> dict[str, Any]:
    """Return Bot API JSON of the preview's buttons, for a payload that the outbox stores."""
    return {
        "inline_keyboard": [
            [
                {
                    "text": t.label("recognition", action),
                    "callback_data": RecognitionReview(action=action, post_id=post_id).pack(),
                }
                for action in REVIEW_ACTIONS
            ]
        ]
    }


def review_messages(
    t: LocalTexts, post: RecognitionPost, note: Markup
) -> list[tuple[str, dict[str, Any] | None]]:
    """Return the preview as (text, reply markup) pairs: the note, then the post with the buttons.

    Note and post share one message when together they fit Telegram's limit. Otherwise
    the note goes first on its own, so the post is shown whole and exactly as it will
    be posted.
    """
    markup = review_markup(t, post.id)
    together = f"{note}\n\n{post.text}"
    if utf16_length(together) <= MESSAGE_LIMIT:
        return [(together, markup)]
    return [(str(note), None), (post.text, markup)]


async def facilitator_locale(session: AsyncSession, community_id: int, user_id: int) -> str | None:
    person = await people.get_person(session, community_id, user_id)
    return person.locale if person is not None else None


@router.callback_query(RecognitionReview.filter())
async def review_pressed(
    callback: CallbackQuery,
    callback_data: RecognitionReview,
    session: AsyncSession,
    community: Community,
    is_facilitator: bool,
    state: FSMContext,
    t: LocalTexts,
    clock: Clock,
    outbox: OutboxSender,
) -> None:
    action = callback_data.action
    user_id = callback.from_user.id
    message = await facilitator_press(
        callback,
        known=action in REVIEW_ACTIONS,
        is_facilitator=is_facilitator,
        t=t,
        private_alert="recognition/private_only",
        subject="recognition post",
    )
    if message is None:
        return
    post = await store.get_post(session, community.id, callback_data.post_id)
    if post is None:
        log.warning(
            "user %s pressed %s on recognition post %s, not in community %s",
            user_id,
            action,
            callback_data.post_id,
            community.id,
        )
        await callback.answer(t.alert("recognition/gone"), show_alert=True)
        return
    if post.status not in store.OPEN_STATUSES:
        await answer_decided(callback, t, post.status)
        return

    now = clock.now()
    if action == "post":
        await post_now(callback, message, session, t, post, now, outbox)
    elif action == "skip":
        await skip(callback, message, session, t, post, now)
    else:
        await callback.answer()
        await state.set_state(RecognitionEdit.text)
        await state.set_data({"post_id": post.id})
        await message.answer(t("recognition/edit_ask", limit=MESSAGE_LIMIT))


async def answer_decided(callback: CallbackQuery, t: LocalTexts, status: str) -> None:
    """Tell the presser that the post was posted or skipped already, and drop the old buttons."""
    label = t.label("recognition", f"status_{status}")
    await callback.answer(t.alert("recognition/already", status=label), show_alert=True)
    await drop_buttons(callback)


async def post_now(
    callback: CallbackQuery,
    message: Message,
    session: AsyncSession,
    t: LocalTexts,
    post: RecognitionPost,
    now: dt.datetime,
    outbox: OutboxSender,
) -> None:
    recipients = await store.cop_group_recipients(session, post.community_id)
    if not recipients:
        await callback.answer(t.alert("recognition/no_groups"), show_alert=True)
        return
    queued = await store.post_to_groups(
        session, post, recipients, by=callback.from_user.id, now=now
    )
    if not queued:
        # Another facilitator, or the timed post, decided between the read and this update.
        status = post.status
        await session.rollback()
        await answer_decided(callback, t, status)
        return
    await session.commit()
    outbox.wake()
    log.info(
        "recognition post %s posted by user %s to %s groups", post.id, callback.from_user.id, queued
    )
    await callback.answer()
    await drop_buttons(callback)
    await message.answer(
        t("recognition/posted", month=month_label(post.month, t.locale), groups=queued)
    )


async def skip(
    callback: CallbackQuery,
    message: Message,
    session: AsyncSession,
    t: LocalTexts,
    post: RecognitionPost,
    now: dt.datetime,
) -> None:
    if not await store.decide(session, post, "skipped", by=callback.from_user.id, now=now):
        status = post.status
        await session.rollback()
        await answer_decided(callback, t, status)
        return
    await session.commit()
    log.info("recognition post %s skipped by user %s", post.id, callback.from_user.id)
    await callback.answer()
    await drop_buttons(callback)
    await message.answer(t("recognition/skipped", month=month_label(post.month, t.locale)))


# --- /recognize -----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, kw_only=True)
class RecognizedBso(BsoChoice):
    """A listed BSO, picked by button or by typed name with typos tolerated as in registration.

    Registration's "not found" message offers a "BSO not listed" button that this
    question does not have, so an unknown name lists the BSOs instead.
    """

    def parse(self, text: str, *, today: dt.date, locale: str) -> str:
        try:
            return super().parse(text, today=today, locale=locale)
        except FieldError as error:
            if error.code != "bso_not_found":
                raise
            # With more BSOs than buttons, `TypedChoice` cuts this list to fit a message.
            labels = [option.label(locale) for option in self.every_option.options]
            raise FieldError(
                "choice_unknown", typed=error.params.get("typed", ""), options=labels
            ) from None


def bso_field(bsos: Sequence[Bso]) -> FormField:
    """Build the BSO question: buttons for a short list, typed names for a long one."""
    listed = tuple(
        Option(
            key=f"b{bso.id}",
            labels={"en": bso.short_name or bso.name},
            synonyms=(bso.name,) if bso.short_name else (),
        )
        for bso in bsos
    )
    choice = RecognizedBso(options=listed, names={f"b{bso.id}": bso.name for bso in bsos})
    if len(bsos) <= BSO_BUTTONS_MAX:
        return FormField(name="bso", kind=choice, question=f"{SHOUTOUT_PROMPTS}/q_bso")
    return FormField(
        name="bso", kind=TypedChoice(choice=choice), question=f"{SHOUTOUT_PROMPTS}/q_bso_typed"
    )


async def build_shoutout(context: FormContext) -> Form:
    bsos = await people.list_bsos(context.session, context.community.id)
    fields = (
        bso_field(bsos),
        FormField(
            name="person",
            kind=ShortText(max_length=PERSON_MAX, letters_required=True),
            question=f"{SHOUTOUT_PROMPTS}/q_person",
            optional=True,
        ),
        FormField(
            name="reason",
            kind=LongText(min_length=REASON_MIN, max_length=REASON_MAX),
            question=f"{SHOUTOUT_PROMPTS}/q_reason",
        ),
    )
    return Form(
        name="shoutout", fields=fields, summary=f"{SHOUTOUT_PROMPTS}/title", ttl=context.form_ttl
    )


async def shoutout_bso(context: FormContext, key: Any) -> Bso | None:
    if not isinstance(key, str) or not key.removeprefix("b").isdigit():
        return None
    return await people.get_bso(context.session, context.community.id, int(key.removeprefix("b")))


def render_shoutout(texts: Texts, bso: Bso, person: str | None, reason: str) -> Markup:
    """Render the shout-out as the groups get it, in the community's default language."""
    return texts.bind(None)("recognition/shoutout_post", bso=bso, person=person, reason=reason)


async def shoutout_note(context: FormContext, answers: Mapping[str, Any]) -> Markup | None:
    """Show the summary the shout-out as it will be posted, and how many groups get it."""
    bso = await shoutout_bso(context, answers.get("bso"))
    reason = answers.get("reason")
    if bso is None or not isinstance(reason, str):
        return None
    post = render_shoutout(context.texts, bso, answers.get("person"), reason)
    groups = len(await store.cop_group_recipients(context.session, context.community.id))
    return context.t(f"{SHOUTOUT_PROMPTS}/summary_note", post=post, groups=groups)


async def save_shoutout(context: FormContext, confirmed: Confirmed) -> None:
    """Queue the shout-out for every active CoP-wide group; the runner commits."""
    if not context.is_facilitator:
        raise FormRejected("common/facilitators_only")
    answers = confirmed.answers
    bso = await shoutout_bso(context, answers["bso"])
    if bso is None:
        raise FormRejected("actions/bso_gone")
    recipients = await store.cop_group_recipients(context.session, context.community.id)
    if not recipients:
        raise FormRejected("recognition/no_groups", keep=True)
    text = render_shoutout(context.texts, bso, answers.get("person"), answers["reason"])
    queued = outbox_store.add_rows(
        context.session,
        community_id=context.community.id,
        recipients=recipients,
        payload=outbox_store.text_payload(text),
        not_before=context.now,
        priority=outbox_store.NOTICE,
    )
    log.info(
        "shout-out to BSO %s by user %s queued for %s groups",
        bso.id,
        context.person.telegram_id,
        queued,
    )
    confirmation = context.t(f"{SHOUTOUT_PROMPTS}/sent", bso=bso, groups=queued)

    async def confirm() -> None:
        try:
            await context.bot.send_message(context.chat_id, confirmation)
        except TelegramAPIError as error:
            log.warning("shout-out confirmation not sent to %s: %s", context.chat_id, error.message)

    context.after_commit(wake_senders)
    context.after_commit(confirm)


SHOUTOUT_FLOW = register_flow(
    FormFlow(
        name="shoutout",
        prompts=SHOUTOUT_PROMPTS,
        command="/recognize",
        build=build_shoutout,
        save=save_shoutout,
        summary_note=shoutout_note,
    )
)


@router.message(Command("recognize"))
async def recognize(
    message: Message,
    command: CommandObject,
    state: FSMContext,
    person: Person,
    t: LocalTexts,
    **data: Any,
) -> None:
    if not data["is_facilitator"]:
        log.info("/recognize of user %s rejected: not a facilitator", person.telegram_id)
        await message.reply(t("common/facilitators_only"))
        return
    if message.chat.type != "private":
        await message.reply(t("recognition/private_only"))
        return
    community: Community = data["community"]
    session: AsyncSession = data["session"]
    if (command.args or "").strip().lower() == "template":
        # A second /recognize template drops an unanswered "Change heading" question.
        await state.clear()
        view = template_view(t, data["texts"], community, data["clock"])
        await message.answer(view, reply_markup=template_keyboard(t))
        return
    if not await people.list_bsos(session, community.id):
        await message.reply(t("recognition/no_bsos"))
        return
    if not await store.cop_group_recipients(session, community.id):
        await message.reply(t("recognition/no_groups"))
        return
    await state.clear()
    await start_form(SHOUTOUT_FLOW, message, state, form_context(message, person, t, data))


# --- Editing the text -----------------------------------------------------------------------


@router.message(RecognitionEdit.text, F.chat.type == "private")
async def edited_text(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    community: Community,
    is_facilitator: bool,
    t: LocalTexts,
    clock: Clock,
) -> None:
    """Store the facilitator's next message as the post's text and show it back with the buttons.

    The text is taken as `message.html_text`, so the facilitator's bold, italics and
    links survive. That HTML is safe to send with parse_mode=HTML, because aiogram
    builds it from Telegram's own entities and escapes every character of the text.
    """
    if not is_facilitator:
        await state.clear()
        await message.answer(t("common/facilitators_only"))
        return
    if message.text is None or message.text.startswith("/"):
        await message.answer(t("recognition/edit_text_only"))
        return
    length = utf16_length(message.text)
    if length > MESSAGE_LIMIT:
        await message.answer(t("recognition/edit_too_long", length=length, limit=MESSAGE_LIMIT))
        return
    data = await state.get_data()
    post_id = data.get("post_id")
    post = None
    if isinstance(post_id, int):
        post = await store.get_post(session, community.id, post_id)
    await state.clear()
    if post is None:
        await message.answer(t("recognition/gone"))
        return
    user_id = message.from_user.id if message.from_user else None
    changed = await store.decide(
        session, post, "edited", by=user_id, now=clock.now(), text=message.html_text
    )
    if not changed:
        status = t.label("recognition", f"status_{post.status}")
        await session.rollback()
        await message.answer(t("recognition/already", status=status))
        return
    await session.commit()
    log.info("recognition post %s edited by user %s", post.id, user_id)
    groups = await store.cop_group_recipients(session, community.id)
    note = t(
        "recognition/preview_note",
        month=month_label(post.month, t.locale),
        edited=True,
        when=None,
        zone=None,
        groups=len(groups),
    )
    for text, markup in review_messages(t, post, note):
        keyboard = InlineKeyboardMarkup.model_validate(markup) if markup else None
        await message.answer(text, reply_markup=keyboard)


# --- The post's template --------------------------------------------------------------------


def template_keyboard(t: LocalTexts) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                button(
                    t.label("recognition", f"template_{action}"), RecognitionTemplate(action=action)
                )
            ]
            for action in TEMPLATE_ACTIONS
        ]
    )


def template_view(t: LocalTexts, texts: Texts, community: Community, clock: Clock) -> Markup:
    """Render the community's heading and closing, and a sample of how they look in a post.

    The sample is post.html rendered for the current month with nothing to recognise,
    which leaves only the heading and the closing line, in the community's default
    language as the post goes out.
    """
    month = current_month(clock, community)
    sample = texts.bind(None)(
        "recognition/post",
        community_name=community.name,
        month=month_label(month, texts.locale_for(None)),
        report_month=month_label(month, texts.locale_for(None)),
        r=store.MonthRecognition(month=month, report_month=month),
        limit=1,
        heading=community.recognition_heading,
        closing=community.recognition_closing,
    )
    return t(
        "recognition/template",
        heading=community.recognition_heading,
        closing=community.recognition_closing,
        sample=sample,
    )


def template_error(part: str, text: str) -> tuple[str, dict[str, Any]] | None:
    """Return the error code and parameters of a typed heading or closing, or None when it is valid.

    `text` is already stripped. Any `{...}` other than MONTH_PLACEHOLDER in a heading,
    and any at all in a closing, is rejected, so a typo such as `{Month}` is not posted
    as it is.
    """
    limit = TEMPLATE_LIMITS[part]
    if not text:
        return "empty", {"limit": limit}
    if len(text) > limit:
        return "too_long", {"limit": limit, "length": len(text)}
    for found in PLACEHOLDER.findall(text):
        if part != "heading" or found != MONTH_PLACEHOLDER:
            return "placeholder", {"found": found}
    # "{{month}}" contains a valid "{month}" but would show its outer braces around the month.
    for doubled in ("{{", "}}"):
        if doubled in text:
            return "placeholder", {"found": doubled}
    return None


@router.callback_query(RecognitionTemplate.filter())
async def template_pressed(
    callback: CallbackQuery,
    callback_data: RecognitionTemplate,
    session: AsyncSession,
    community: Community,
    is_facilitator: bool,
    state: FSMContext,
    t: LocalTexts,
    texts: Texts,
    clock: Clock,
) -> None:
    action = callback_data.action
    message = await facilitator_press(
        callback,
        known=action in TEMPLATE_ACTIONS,
        is_facilitator=is_facilitator,
        t=t,
        private_alert="recognition/private_only",
        subject="recognition template",
    )
    if message is None:
        return
    await callback.answer()
    if action == "restore":
        if await state.get_state() == TemplateInput.text.state:
            await state.clear()
        community.recognition_heading = None
        community.recognition_closing = None
        await session.commit()
        log.info(
            "recognition template of community %s restored by user %s",
            community.id,
            callback.from_user.id,
        )
        view = template_view(t, texts, community, clock)
        await message.answer(
            t("recognition/template_restored", view=view), reply_markup=template_keyboard(t)
        )
        return

    await state.set_state(TemplateInput.text)
    await state.set_data({"part": action, "asked_at": clock.now().isoformat()})
    current = getattr(community, f"recognition_{action}")
    await message.answer(
        t(
            "recognition/template_ask",
            part=action,
            current=current,
            limit=TEMPLATE_LIMITS[action],
            placeholder=MONTH_PLACEHOLDER,
        )
    )


@router.message(TemplateInput.text, F.chat.type == "private")
async def template_typed(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    community: Community,
    is_facilitator: bool,
    t: LocalTexts,
    texts: Texts,
    clock: Clock,
    settings: Settings,
) -> None:
    """Store the facilitator's next message as the community's heading or closing.

    The text is stored as typed (`message.text`, without Telegram's formatting), and
    post.html escapes it, so `<b>` in it is shown as typed rather than as markup.
    """
    if message.text is not None and message.text.startswith("/"):
        # Other commands pass on to their handlers; /cancel ends the question.
        raise SkipHandler()
    if not is_facilitator:
        log.info(
            "recognition template input of user %s rejected: not a facilitator", message.chat.id
        )
        await state.clear()
        await message.answer(t("common/facilitators_only"))
        return
    stored = await state.get_data()
    part = stored.get("part")
    asked_at = stored.get("asked_at")
    if (
        part not in ("heading", "closing")
        or not isinstance(asked_at, str)
        or clock.now() - dt.datetime.fromisoformat(asked_at)
        > dt.timedelta(hours=settings.form_ttl_hours)
    ):
        log.info("recognition template question of user %s expired", message.chat.id)
        await state.clear()
        await message.answer(t("recognition/template_expired"))
        return
    if message.text is None:
        await message.answer(t("recognition/template_text_only", part=part))
        return

    text = message.text.strip()
    error = template_error(part, text)
    if error is not None:
        code, params = error
        log.info(
            "recognition %s of community %s rejected (%s) from user %s",
            part,
            community.id,
            code,
            message.chat.id,
        )
        await message.answer(
            t(
                "recognition/template_invalid",
                part=part,
                error=code,
                placeholder=MONTH_PLACEHOLDER,
                **params,
            )
        )
        return

    setattr(community, f"recognition_{part}", text)
    await session.commit()
    await state.clear()
    log.info(
        "recognition %s of community %s changed by user %s", part, community.id, message.chat.id
    )
    view = template_view(t, texts, community, clock)
    await message.answer(
        t("recognition/template_saved", part=part, view=view), reply_markup=template_keyboard(t)
    )
