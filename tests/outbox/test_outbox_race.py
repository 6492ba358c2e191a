"""Two senders with their own database connections race over one broadcast."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiogram import Bot
from outbox_helpers import (
    add_pocs,
    copies_by_chat,
    counts,
    person_recipients,
    queue_broadcast,
    reports,
)
from sqlalchemy import select

from bot.sandbox.harness import SandboxHarness
from storage import outbox
from storage.db import create_engine, create_sessionmaker
from storage.models import OutboxMessage

POCS = 100
TEXT = "Buyer meet in Pune"


def count_sends(bot: Bot) -> list[int]:
    """Wrap the bot's send_message to list the chat of every message it sent."""
    chats: list[int] = []
    send_message: Callable[..., Awaitable[Any]] = bot.send_message

    async def counted(*args: Any, **kwargs: Any) -> Any:
        message = await send_message(*args, **kwargs)
        chats.append(int(kwargs["chat_id"]))
        return message

    bot.send_message = counted  # type: ignore[method-assign]
    return chats


@pytest.mark.parametrize("database_kind", ["sqlite", "postgresql"])
async def test_two_senders_send_each_row_once(harness: SandboxHarness, start_sender: Any) -> None:
    assert harness.app is not None
    users = await add_pocs(harness, POCS)
    first_bot = harness.app.create_bot()
    second_bot = harness.app.create_bot()
    first_chats = count_sends(first_bot)
    second_chats = count_sends(second_bot)
    # The second sender has its own engine, as a second process would.
    second_engine = create_engine(harness.settings.database_url)
    try:
        await start_sender(bot=first_bot)
        second = await start_sender(
            bot=second_bot, replace=False, sessionmaker=create_sessionmaker(second_engine)
        )
        broadcast_id = await queue_broadcast(
            harness, person_recipients(users), outbox.text_payload(TEXT)
        )
        second.wake()
        await harness.server.wait_idle(timeout=60)
        await second.stop()
    finally:
        await second_engine.dispose()

    user_ids = {user.id for user in users}
    first_share = [chat for chat in first_chats if chat in user_ids]
    second_share = [chat for chat in second_chats if chat in user_ids]
    assert first_share, "the first sender sent nothing, so there was no race"
    assert second_share, "the second sender sent nothing, so there was no race"
    assert sorted(first_share + second_share) == sorted(user_ids)

    copies = copies_by_chat(harness, TEXT)
    assert set(copies) == user_ids
    assert {chat_id: n for chat_id, n in copies.items() if n != 1} == {}

    async with harness.app.sessionmaker() as session:
        rows = (
            await session.execute(
                select(OutboxMessage.status, OutboxMessage.attempts).where(
                    OutboxMessage.broadcast_id == broadcast_id
                )
            )
        ).all()
    # A claim lost to the other sender changes nothing, so every row was claimed once.
    assert set(rows) == {("sent", 1)}
    result = await counts(harness, broadcast_id)
    assert (result.total, result.sent) == (POCS, POCS)
    assert len(reports(harness)) == 1
