"""The one error handler: log the traceback with the update id, tell the user, notify listeners."""

from __future__ import annotations

import logging

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.types import ErrorEvent

from bot.texts import Texts

log = logging.getLogger(__name__)
router = Router(name="errors")


@router.errors()
async def on_error(event: ErrorEvent, bot: Bot, texts: Texts, app: object) -> None:
    update = event.update
    log.error("update %s failed", update.update_id, exc_info=event.exception)
    for listener in getattr(app, "error_listeners", []):
        listener(event.exception)

    chat = update.message.chat if update.message else None
    if chat is None and update.callback_query and update.callback_query.message:
        chat = update.callback_query.message.chat
    if chat is None:
        return
    user = update.message.from_user if update.message else None
    locale = "hi" if user and (user.language_code or "").startswith("hi") else None
    try:
        await bot.send_message(chat.id, texts.render(locale, "common/error"))
    except TelegramAPIError as error:
        log.warning(
            "could not report the failure of update %s: %s", update.update_id, error.message
        )
