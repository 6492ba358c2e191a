"""Outer middlewares: a database session per update, and who is speaking, where, in which language."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, User
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.texts import Texts
from storage import people

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class PerUserLockMiddleware(BaseMiddleware):
    """Handle one person's updates one at a time, so a double-tapped button or a burst of
    messages cannot race through a form. Other people's updates still run concurrently.

    NOTE: the lock works within one process, so replicas behind a webhook need a shared lock.
    """

    def __init__(self) -> None:
        self._locks: dict[int, asyncio.Lock] = {}
        self._waiting: dict[int, int] = {}

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: User | None = data.get("event_from_user")
        if user is None:
            return await handler(event, data)
        lock = self._locks.setdefault(user.id, asyncio.Lock())
        self._waiting[user.id] = self._waiting.get(user.id, 0) + 1
        try:
            async with lock:
                return await handler(event, data)
        finally:
            self._waiting[user.id] -= 1
            if not self._waiting[user.id]:
                del self._waiting[user.id]
                del self._locks[user.id]


class DbSessionMiddleware(BaseMiddleware):
    """Open one session per update; handlers commit what they change."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.sessionmaker = sessionmaker

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        async with self.sessionmaker() as session:
            data["session"] = session
            return await handler(event, data)


class PersonMiddleware(BaseMiddleware):
    """Resolve the community, the person and their locale, and whether they facilitate.

    Handlers receive `community`, `person` (None for updates without a user),
    `is_facilitator` and `t`, the texts bound to the person's locale.
    """

    def __init__(self, settings: Settings, texts: Texts) -> None:
        self.settings = settings
        self.texts = texts

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        session: AsyncSession = data["session"]
        user: User | None = data.get("event_from_user")
        chat = data.get("event_chat")

        community = None
        if chat is not None and chat.type in ("group", "supergroup"):
            group = await people.get_group(session, chat.id)
            if group is not None:
                community = await people.get_community(session, group.community_id)
        elif user is not None:
            # In private chat a registered person belongs to the community they joined.
            home = await people.home_community_id(session, user.id)
            if home is not None:
                community = await people.get_community(session, home)
        if community is None:
            community = await people.ensure_community(
                session, name=self.settings.community_name, timezone=self.settings.timezone
            )

        person = None
        if user is not None and not user.is_bot:
            person = await people.touch_person(
                session,
                community_id=community.id,
                telegram_id=user.id,
                telegram_name=user.full_name,
                username=user.username,
                in_private_chat=chat is not None and chat.type == "private",
            )
            await session.commit()

        locale = person.locale if person and person.locale else None
        if locale is None and user is not None and (user.language_code or "").startswith("hi"):
            locale = "hi"

        data["community"] = community
        data["person"] = person
        data["is_facilitator"] = user is not None and user.id in self.settings.facilitator_ids
        data["t"] = self.texts.bind(locale)
        return await handler(event, data)
