"""Command menus per scope: private chats, groups, and each facilitator's private chat."""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
)

from bot.config import LOCALES
from bot.texts import Texts

log = logging.getLogger(__name__)

PRIVATE_COMMANDS = (
    "start",
    "register",
    "ask",
    "give",
    "mine",
    "checkin",
    "actions",
    "supply",
    "requirement",
    "requirements",
    "buyers",
    "schemes",
    "resources",
    "me",
    "help",
    "cancel",
)
GROUP_COMMANDS = (
    "register",
    "ask",
    "give",
    "requirement",
    "requirements",
    "buyers",
    "schemes",
    "resources",
    "help",
)
FACILITATOR_COMMANDS = PRIVATE_COMMANDS + (
    "matrix",
    "progress",
    "connect",
    "consolidate",
    "action",
    "broadcast",
    "broadcasts",
    "webinar",
    "recording",
    "recognize",
    "schedule",
    "pending",
    "themes",
    "groupkind",
    "community",
    "import",
)
FACILITATOR_GROUP_COMMANDS = GROUP_COMMANDS + ("groupkind", "community")
# Commands each role may use, in the order /help lists them.
MEMBER_HELP = PRIVATE_COMMANDS
FACILITATOR_HELP = FACILITATOR_COMMANDS


def menu(texts: Texts, locale: str, names: tuple[str, ...]) -> list[BotCommand]:
    return [
        BotCommand(command=name, description=texts.label(locale, "commands", name))
        for name in names
    ]


async def set_command_menus(bot: Bot, texts: Texts, facilitator_ids: list[int]) -> None:
    for locale in LOCALES:
        language = None if locale == texts.default_locale else locale
        await bot.set_my_commands(
            menu(texts, locale, PRIVATE_COMMANDS),
            scope=BotCommandScopeAllPrivateChats(),
            language_code=language,
        )
        await bot.set_my_commands(
            menu(texts, locale, GROUP_COMMANDS),
            scope=BotCommandScopeAllGroupChats(),
            language_code=language,
        )
    for user_id in facilitator_ids:
        for locale in LOCALES:
            language = None if locale == texts.default_locale else locale
            try:
                await bot.set_my_commands(
                    menu(texts, locale, FACILITATOR_COMMANDS),
                    scope=BotCommandScopeChat(chat_id=user_id),
                    language_code=language,
                )
            except TelegramAPIError as error:
                # A facilitator who never opened the bot has no private chat yet.
                log.info("facilitator menu not set for user %s: %s", user_id, error.message)
                break
