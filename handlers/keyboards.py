"""Small helpers for inline keyboards shared by the handlers."""

from __future__ import annotations

import logging

from aiogram.exceptions import TelegramAPIError
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardButton, Message

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
