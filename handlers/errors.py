"""The one error handler: log the traceback with the update id, tell the user, notify listeners."""

from __future__ import annotations

import logging

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.types import ErrorEvent

from bot.config import Settings
from bot.texts import Texts

log = logging.getLogger(__name__)
router = Router(name="errors")


@router.errors()
async def on_error(
    event: ErrorEvent, bot: Bot, texts: Texts, settings: Settings, app: object
) -> None:
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
    if user is None and update.callback_query:
        user = update.callback_query.from_user
    locale = "hi" if user and (user.language_code or "").startswith("hi") else None
    # PersonMiddleware's is_facilitator is in the handler data only when the failure came
    # after it ran, so this repeats its check. The message for everyone else sends them
    # to a facilitator, so a facilitator's own message leaves that line out.
    facilitator = user is not None and user.id in settings.facilitator_ids
    template = "common/error_facilitator" if facilitator else "common/error"
    try:
        await bot.send_message(chat.id, texts.render(locale, template))
    except TelegramAPIError as error:
        log.warning(
            "could not report the failure of update %s: %s", update.update_id, error.message
        )
