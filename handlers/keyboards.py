"""Small helpers for inline keyboards shared by the handlers."""

from __future__ import annotations

import logging

from aiogram.exceptions import TelegramAPIError
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardButton, Message

from bot.texts import LocalTexts

log = logging.getLogger(__name__)


def button(text: str, data: CallbackData) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=data.pack())


async def drop_buttons(callback: CallbackQuery) -> None:
    """Remove the buttons of an answered question, so an old one cannot be pressed again."""
    if isinstance(callback.message, Message) and callback.message.reply_markup:
        try:
            await callback.message.edit_reply_markup(reply_markup=None)
        except TelegramAPIError as error:
            log.debug(
                "buttons not removed from message %s: %s",
                callback.message.message_id,
                error.message,
            )


async def facilitator_press(
    callback: CallbackQuery,
    *,
    known: bool,
    is_facilitator: bool,
    t: LocalTexts,
    private_alert: str,
    subject: str,
) -> Message | None:
    """Check a press on a facilitator's button: known data, a facilitator, a private chat.

    Returns the message the button is on, or None after answering the press with an
    alert. `known` says whether the callback data names a valid operation, and
    `private_alert` is the template of the alert for a press outside private chat.
    `subject` names what the button acts on, for the log line of a refused press.
    """
    if not known:
        log.info("unknown %s button %r from user %s", subject, callback.data, callback.from_user.id)
        await callback.answer(t.alert("common/button_unknown"), show_alert=True)
        return None
    if not is_facilitator:
        log.warning(
            "%s button %r rejected: user %s is not a facilitator",
            subject,
            callback.data,
            callback.from_user.id,
        )
        await callback.answer(t.alert("common/facilitators_only"), show_alert=True)
        return None
    message = callback.message
    if not isinstance(message, Message) or message.chat.type != "private":
        await callback.answer(t.alert(private_alert), show_alert=True)
        return None
    return message
