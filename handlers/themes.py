"""Focus themes: the facilitator sets the community's 3-4 themes with /themes.

/themes lists the themes with two buttons. "Change themes" opens a one-question form,
so the form runner reads the typed names. In a group the question requests a reply
with ForceReply, because privacy mode hides other messages from the bot. A command
sent before the form is confirmed or cancelled gets a note that it cannot run yet.
"Back to the defaults" asks for confirmation before it replaces the themes.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiogram import Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder
from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncSession

from bot.forms import Field, FieldError, Form
from bot.forms.base import clean_line, require_type
from bot.forms.engine import Confirmed, FormField
from bot.texts import LocalTexts
from handlers.callbacks import ThemeAction
from handlers.forms import FormContext, FormFlow, FormRejected, register_flow, start_form
from handlers.keyboards import drop_buttons
from storage import themes
from storage.models import Community, Person, Theme

log = logging.getLogger(__name__)
router = Router(name="themes")

ACTIONS = ("change", "reset", "reset_yes", "reset_keep")
# Part of Telegram's error description for an edit that changes nothing.
NOT_MODIFIED = "message is not modified"


def theme_labels(t: LocalTexts, listed: Sequence[Theme]) -> list[str]:
    """Show default themes in the reader's language and typed ones as typed."""
    return [t.label("themes", theme.key) if theme.key else theme.name for theme in listed]


def theme_keyboard(t: LocalTexts) -> InlineKeyboardMarkup:
    keyboard = InlineKeyboardBuilder()
    keyboard.button(text=t.label("themes", "change"), callback_data=ThemeAction(action="change"))
    keyboard.button(text=t.label("themes", "reset"), callback_data=ThemeAction(action="reset"))
    return keyboard.as_markup()


def reset_keyboard(t: LocalTexts) -> InlineKeyboardMarkup:
    keyboard = InlineKeyboardBuilder()
    keyboard.button(
        text=t.label("themes", "reset_yes"), callback_data=ThemeAction(action="reset_yes")
    )
    keyboard.button(
        text=t.label("themes", "reset_keep"), callback_data=ThemeAction(action="reset_keep")
    )
    return keyboard.as_markup()


# --- The theme names field and form -------------------------------------------------------------


class ThemeNameError(FieldError):
    """An invalid list of theme names, worded by `prompts/<locale>/themes/errors/<code>.html`."""

    @property
    def template(self) -> str:
        return f"themes/errors/{self.code}"


@dataclass(frozen=True, kw_only=True)
class ThemeNames(Field[tuple[str, ...]]):
    """The community's theme names, separated by commas, semicolons or new lines.

    Each name needs a letter, because emoji, numbers and punctuation alone do not
    name a theme, and at most `max_length` characters. Repeats, with case, spaces and
    punctuation ignored, count once. The count without repeats must be `minimum` to
    `maximum`. The name checks come before the count, so "😀, 🙂" is rejected for
    its names rather than counted.
    """

    minimum: int = themes.MIN_THEMES
    maximum: int = themes.MAX_THEMES
    max_length: int = themes.THEME_NAME_MAX

    def parse(self, text: str, *, today: dt.date, locale: str) -> tuple[str, ...]:
        names = [name for part in themes.split_theme_names(text) if (name := clean_line(part))]
        if not names:
            raise FieldError("empty")
        for name in names:
            if not any(char.isalpha() for char in name):
                raise ThemeNameError("no_letters", name=name)
            if len(name) > self.max_length:
                raise ThemeNameError(
                    "too_long", name=name, length=len(name), maximum=self.max_length
                )
        unique = themes.unique_theme_names(names)
        if not self.minimum <= len(unique) <= self.maximum:
            raise ThemeNameError(
                "count",
                count=len(unique),
                repeats=len(names) - len(unique),
                minimum=self.minimum,
                maximum=self.maximum,
            )
        return tuple(unique)

    def display(self, value: tuple[str, ...], locale: str) -> str:
        return ", ".join(value)

    def to_json(self, value: tuple[str, ...]) -> list[str]:
        return list(value)

    def from_json(self, data: Any) -> tuple[str, ...]:
        require_type(data, list, "theme names")
        for name in data:
            require_type(name, str, "theme name")
        return tuple(data)


async def build_theme_form(context: FormContext) -> Form:
    names = FormField(name="names", kind=ThemeNames(), question="themes/change/q_names")
    return Form(name="themes", fields=(names,), summary="themes/change/title", ttl=context.form_ttl)


async def save_themes(context: FormContext, confirmed: Confirmed) -> None:
    """Make the confirmed names the community's themes and confirm after the commit."""
    if not context.is_facilitator:
        raise FormRejected("common/facilitators_only")
    names = list(confirmed.answers["names"])
    listed = await themes.replace_themes(context.session, context.community.id, names)
    log.info(
        "themes of community %s set by user %s in chat %s",
        context.community.id,
        context.person.telegram_id,
        context.chat_id,
    )
    text = context.t("themes/saved", names=theme_labels(context.t, listed))
    bot, chat_id = context.bot, context.chat_id
    context.after_commit(lambda: bot.send_message(chat_id, text))


THEMES_FLOW = register_flow(
    FormFlow(
        name="themes",
        prompts="themes/change",
        command="/themes",
        build=build_theme_form,
        save=save_themes,
    )
)


# --- /themes and its buttons --------------------------------------------------------------------


@router.message(Command("themes"), StateFilter(None))
async def show_themes(
    message: Message,
    session: AsyncSession,
    community: Community,
    is_facilitator: bool,
    t: LocalTexts,
) -> None:
    if not is_facilitator:
        await message.answer(t("common/facilitators_only"))
        return
    listed = await themes.active_themes(session, community.id)
    await session.commit()
    text = t("themes/list", names=theme_labels(t, listed), community=community)
    if message.chat.type == "private":
        await message.answer(text, reply_markup=theme_keyboard(t))
    else:
        # "Change themes" replies to this command, so its ForceReply targets the facilitator.
        await message.reply(text, reply_markup=theme_keyboard(t))


@router.callback_query(ThemeAction.filter())
async def theme_action(
    callback: CallbackQuery,
    callback_data: ThemeAction,
    state: FSMContext,
    t: LocalTexts,
    **data: Any,
) -> None:
    if not data["is_facilitator"]:
        await callback.answer(t.alert("common/facilitators_only"), show_alert=True)
        return
    message = callback.message
    action = callback_data.action
    if action not in ACTIONS or not isinstance(message, Message):
        await callback.answer(t.alert("common/button_unknown"), show_alert=True)
        return
    await callback.answer()
    session: AsyncSession = data["session"]
    community: Community = data["community"]

    if action == "change":
        await start_change(callback, message, state, t, data)
        return
    if action == "reset_yes":
        listed = await themes.reset_themes(session, community.id)
        await session.commit()
        log.info("themes of community %s reset by user %s", community.id, callback.from_user.id)
        await show(message, t("themes/saved", names=theme_labels(t, listed)), None)
        return

    listed = await themes.active_themes(session, community.id)
    await session.commit()
    names = theme_labels(t, listed)
    if action == "reset":
        defaults = [t.label("themes", key) for key, _name in themes.DEFAULT_THEMES]
        question = t("themes/reset_confirm", names=names, defaults=defaults)
        await show(message, question, reset_keyboard(t))
    else:
        await show(message, t("themes/list", names=names, community=community), theme_keyboard(t))


async def start_change(
    callback: CallbackQuery,
    message: Message,
    state: FSMContext,
    t: LocalTexts,
    data: dict[str, Any],
) -> None:
    """Open the theme names form, replying to the presser's /themes command when it is theirs.

    In a group the question's ForceReply(selective=True) then targets the sender of
    that command, and the question also mentions the presser. The list's buttons stay
    when another form of the presser is still open.
    """
    person: Person = data["person"]
    origin = message.reply_to_message
    if origin is None or origin.from_user is None or origin.from_user.id != callback.from_user.id:
        origin = message
    context = FormContext(
        session=data["session"],
        bot=data["bot"],
        settings=data["settings"],
        texts=data["texts"],
        t=t,
        community=data["community"],
        person=person,
        is_facilitator=data["is_facilitator"],
        chat_id=message.chat.id,
        chat_type=message.chat.type,
        now=data["clock"].now(),
    )
    if await start_form(THEMES_FLOW, origin, state, context):
        await drop_buttons(callback)


async def show(message: Message, text: Markup, keyboard: InlineKeyboardMarkup | None) -> None:
    """Replace the pressed message's text and buttons, or send the text anew if it cannot be edited."""
    try:
        await message.edit_text(text, reply_markup=keyboard)
    except TelegramBadRequest as error:
        if NOT_MODIFIED in error.message:
            # A double tap requests the text already shown, and Telegram rejects an identical edit.
            log.debug("themes message %s not changed: %s", message.message_id, error.message)
            return
        log.warning("themes message %s not edited: %s", message.message_id, error.message)
        await message.answer(text, reply_markup=keyboard)
