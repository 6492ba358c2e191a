"""/resources: search the community's links and files, such as webinar recordings.

`/resources WORDS` lists the resources that match every word, typo tolerant and in
English or Hindi (see `storage.resources`), and `/resources` alone lists the latest.
Links are shown in the list. A file has a button that copies it into the presser's
private chat. Every press loads the resource again within the presser's community,
because callback data can be forged.
"""

from __future__ import annotations

import logging
import zoneinfo

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError, TelegramForbiddenError
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.texts import LocalTexts
from handlers.asks import poc_refusal
from handlers.callbacks import RowId
from handlers.keyboards import button
from storage import resources as store
from storage.db import as_utc
from storage.models import Community, Person, Resource

log = logging.getLogger(__name__)
router = Router(name="resources")
router.message.filter(StateFilter(None))

# Resources per reply. Each takes at most about 500 characters with three links, so a
# reply stays under Telegram's 4096.
RESULTS_MAX = 8
DESCRIPTION_CLIP = 150


class ResourceFile(CallbackData, prefix="rf1"):
    resource_id: RowId


def refusal_for(person: Person | None, is_facilitator: bool) -> str | None:
    """Return the template saying why the person may not use /resources, or None if they may."""
    if is_facilitator:
        return None
    return poc_refusal(person) if person is not None else "asks/pocs_only"


@router.message(Command("resources"))
async def resources_command(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    community: Community,
    person: Person | None,
    is_facilitator: bool,
    t: LocalTexts,
) -> None:
    refusal = refusal_for(person, is_facilitator)
    if refusal is not None:
        await message.reply(t(refusal, command="/resources"))
        return
    query = " ".join((command.args or "").split())
    if query:
        found = await store.search_resources(session, community.id, query, limit=RESULTS_MAX)
    else:
        found = await store.latest_resources(session, community.id, limit=RESULTS_MAX)
    if not found:
        total = await store.count_resources(session, community.id)
        await message.reply(t("resources/none", query=query, total=total))
        return
    zone = zoneinfo.ZoneInfo(community.timezone)
    items = [
        {
            "number": number,
            "resource": resource,
            "added_on": as_utc(resource.created_at).astimezone(zone).date(),
            "description_clip": DESCRIPTION_CLIP,
        }
        for number, resource in enumerate(found, start=1)
    ]
    keyboard = file_keyboard(t, found)
    await message.reply(t("resources/list", items=items, query=query), reply_markup=keyboard)


def file_keyboard(t: LocalTexts, found: list[Resource]) -> InlineKeyboardMarkup | None:
    rows = [
        [
            button(
                t.label("resources", "file", number=number, title=resource.title),
                ResourceFile(resource_id=resource.id),
            )
        ]
        for number, resource in enumerate(found, start=1)
        if resource.kind == "file"
    ]
    return InlineKeyboardMarkup(inline_keyboard=rows) if rows else None


@router.callback_query(ResourceFile.filter())
async def file_pressed(
    callback: CallbackQuery,
    callback_data: ResourceFile,
    bot: Bot,
    session: AsyncSession,
    community: Community,
    person: Person | None,
    is_facilitator: bool,
    t: LocalTexts,
) -> None:
    """Copy the file into the presser's private chat, if the resource is of their community."""
    user_id = callback.from_user.id
    refusal = refusal_for(person, is_facilitator)
    if refusal is not None:
        await callback.answer(t.alert(refusal, command="/resources"), show_alert=True)
        return
    resource = await store.get_resource(session, community.id, callback_data.resource_id)
    if (
        resource is None
        or resource.kind != "file"
        or resource.source_chat_id is None
        or resource.source_message_id is None
    ):
        log.warning(
            "user %s asked for resource %s, not a file of community %s",
            user_id,
            callback_data.resource_id,
            community.id,
        )
        await callback.answer(t.alert("resources/gone"), show_alert=True)
        return
    try:
        await bot.copy_message(
            chat_id=user_id,
            from_chat_id=resource.source_chat_id,
            message_id=resource.source_message_id,
            caption=str(t("resources/file_caption", resource=resource)),
        )
    except TelegramForbiddenError as error:
        log.info("resource %s not sent to user %s: %s", resource.id, user_id, error.message)
        me = await bot.me()
        await callback.answer(
            t.alert("resources/start_private", bot_username=me.username or ""), show_alert=True
        )
        return
    except TelegramAPIError as error:
        # NOTE: a file is kept as the message that carried it, so it is lost once the
        # facilitator deletes that message or the chat with the bot.
        log.warning("resource %s could not be copied: %s", resource.id, error.message)
        await callback.answer(t.alert("resources/unavailable"), show_alert=True)
        return
    log.info("resource %s sent to user %s", resource.id, user_id)
    in_private = callback.message is not None and callback.message.chat.type == "private"
    await callback.answer(None if in_private else t.alert("resources/sent_private"))
