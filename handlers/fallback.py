"""Last resort for updates no other router took: stale buttons and unknown input."""

from __future__ import annotations

import logging

from aiogram import F, Router
from aiogram.filters import StateFilter
from aiogram.types import CallbackQuery, Message

from bot.texts import LocalTexts

log = logging.getLogger(__name__)
router = Router(name="fallback")


@router.callback_query()
async def unknown_button(callback: CallbackQuery, t: LocalTexts) -> None:
    # Telegram shows a spinner on the button until the query is answered.
    log.info("unhandled callback data from user %s", callback.from_user.id)
    await callback.answer(t.alert("common/button_unknown"), show_alert=True)


@router.message(F.chat.type == "private", StateFilter(None))
async def unknown_message(message: Message, t: LocalTexts) -> None:
    await message.answer(t("common/not_understood"))
