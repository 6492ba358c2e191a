"""aiogram FSM storage in the project's database, so a form survives a restart."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, StateType, StorageKey
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import FsmRecord


def record_key(key: StorageKey) -> str:
    # One row per bot, chat, forum topic and user: two people in one group never share state.
    return ":".join(
        str(part)
        for part in (key.bot_id, key.chat_id, key.thread_id or 0, key.user_id, key.destiny)
    )


class SqlStorage(BaseStorage):
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.sessionmaker = sessionmaker

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        value = state.state if isinstance(state, State) else state
        async with self.sessionmaker.begin() as session:
            record = await session.get(FsmRecord, record_key(key))
            if record is None:
                if value is None:
                    return
                session.add(FsmRecord(key=record_key(key), state=value, data={}))
            else:
                record.state = value

    async def get_state(self, key: StorageKey) -> str | None:
        async with self.sessionmaker() as session:
            record = await session.get(FsmRecord, record_key(key))
            return record.state if record else None

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        async with self.sessionmaker.begin() as session:
            record = await session.get(FsmRecord, record_key(key))
            if record is None:
                if not data:
                    return
                session.add(FsmRecord(key=record_key(key), state=None, data=dict(data)))
            else:
                record.data = dict(data)

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        async with self.sessionmaker() as session:
            record = await session.get(FsmRecord, record_key(key))
            return dict(record.data) if record else {}

    async def close(self) -> None:
        return None
