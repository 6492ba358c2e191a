"""How the sender records each kind of failed request, on a claimed row in SQLite."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods import SendMessage
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.outbox import OutboxSender, SenderSettings
from storage import outbox
from storage.db import create_engine, create_sessionmaker
from storage.models import Base, Community, GroupChat, OutboxMessage, Person

PRIVATE = 501
GROUP = -400001
SUPERGROUP = -1000000000001
METHOD = SendMessage(chat_id=PRIVATE, text="Mandi prices today")


def network_error(message: str, cause: BaseException) -> TelegramNetworkError:
    """A network error raised from `cause`, as aiogram's aiohttp session raises it."""
    try:
        raise TelegramNetworkError(method=METHOD, message=message) from cause
    except TelegramNetworkError as error:
        return error


@pytest.fixture
async def sessionmaker(tmp_path: Path) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(f"sqlite:///{tmp_path / 'classification.sqlite'}")
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    made = create_sessionmaker(engine)
    async with made.begin() as session:
        session.add(Community(id=1, name="Test CoP", slug="test-cop"))
        await session.flush()
        session.add(Person(community_id=1, telegram_id=PRIVATE, private_chat_open=True))
        session.add(GroupChat(community_id=1, telegram_chat_id=GROUP, chat_type="group"))
    yield made
    await engine.dispose()


class Setup:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.sessionmaker = sessionmaker
        self.clock = Clock()
        self.sender = OutboxSender(sessionmaker, self.clock, SenderSettings())

    async def claimed_row(self, chat_id: int, *, is_group: bool = False, floods: int = 0) -> int:
        """Queue a row, claim it as the sender does before a request, and return its id."""
        now = self.clock.now()
        async with self.sessionmaker.begin() as session:
            outbox.add_rows(
                session,
                community_id=1,
                recipients=[outbox.Recipient(chat_id, is_group=is_group)],
                payload=outbox.text_payload("Mandi prices today"),
                not_before=now,
            )
            await session.flush()
            row_id = await session.scalar(
                select(OutboxMessage.id).order_by(OutboxMessage.id.desc())
            )
            assert row_id is not None
            row = await outbox.claim(session, row_id, now)
            assert row is not None
            row.floods = floods
        return row_id

    async def fail(self, row_id: int, error: Exception) -> OutboxMessage:
        """Record `error` as the outcome of the row's request and return the row afterwards."""
        async with self.sessionmaker() as session:
            async with session.begin():
                row = await session.get(OutboxMessage, row_id)
                assert row is not None
                await self.sender._record_failure(session, row, error)
            return row


@pytest.fixture
def setup(sessionmaker: async_sessionmaker[AsyncSession]) -> Setup:
    return Setup(sessionmaker)


async def test_retry_after_requeues_without_using_try(setup: Setup) -> None:
    row_id = await setup.claimed_row(PRIVATE)
    before = setup.clock.now()
    row = await setup.fail(row_id, TelegramRetryAfter(METHOD, "Too Many Requests", 7))
    assert row.status == "pending"
    assert row.floods == 1
    assert row.attempts == 0
    assert row.not_before >= before + dt.timedelta(seconds=7)
    assert setup.sender.gate.chat_ready_at(PRIVATE, False) >= time.monotonic() + 6


async def test_too_many_retry_after_fails_flood(setup: Setup) -> None:
    row_id = await setup.claimed_row(PRIVATE, floods=setup.sender.settings.max_floods)
    row = await setup.fail(row_id, TelegramRetryAfter(METHOD, "Too Many Requests", 1))
    assert row.status == "failed"
    assert row.error == "flood"


async def test_burst_of_retry_after_holds_all(setup: Setup) -> None:
    for _ in range(setup.sender.settings.flood_burst):
        row_id = await setup.claimed_row(PRIVATE)
        await setup.fail(row_id, TelegramRetryAfter(METHOD, "Too Many Requests", 4))
    assert setup.sender.gate.global_ready_at() >= time.monotonic() + 3


async def test_migrate_moves_row_and_group(setup: Setup) -> None:
    row_id = await setup.claimed_row(GROUP, is_group=True)
    error = TelegramMigrateToChat(METHOD, "group chat was upgraded", SUPERGROUP)
    row = await setup.fail(row_id, error)
    assert row.status == "pending"
    assert row.chat_id == SUPERGROUP
    assert row.attempts == 0
    async with setup.sessionmaker() as session:
        ids = (await session.scalars(select(GroupChat.telegram_chat_id))).all()
    assert ids == [SUPERGROUP]


async def test_forbidden_private_marks_person(setup: Setup) -> None:
    row_id = await setup.claimed_row(PRIVATE)
    # Another chat's row, which stays as it is.
    await setup.claimed_row(PRIVATE + 1)
    # A second row to the blocked chat, still waiting its turn.
    async with setup.sessionmaker.begin() as session:
        outbox.add_rows(
            session,
            community_id=1,
            recipients=[outbox.Recipient(PRIVATE)],
            payload=outbox.text_payload("Second notice"),
            not_before=setup.clock.now(),
        )
    row = await setup.fail(row_id, TelegramForbiddenError(METHOD, "Forbidden: bot was blocked"))
    assert row.status == "failed"
    assert row.error == "blocked"
    async with setup.sessionmaker() as session:
        person = await session.scalar(select(Person).where(Person.telegram_id == PRIVATE))
        rows = (
            await session.execute(
                select(OutboxMessage.chat_id, OutboxMessage.status, OutboxMessage.error)
            )
        ).all()
    assert person is not None
    assert not person.private_chat_open
    assert sorted(rows) == [
        (PRIVATE, "failed", "blocked"),
        (PRIVATE, "failed", "blocked"),
        (PRIVATE + 1, "sending", None),
    ]


async def test_forbidden_group_marks_group_inactive(setup: Setup) -> None:
    row_id = await setup.claimed_row(GROUP, is_group=True)
    error = TelegramForbiddenError(METHOD, "Forbidden: bot is not a member of the group chat")
    row = await setup.fail(row_id, error)
    assert row.status == "failed"
    assert row.error == "removed"
    async with setup.sessionmaker() as session:
        group = await session.scalar(select(GroupChat))
    assert group is not None
    assert not group.active


@pytest.mark.parametrize(
    ("description", "reason"),
    [
        ("Bad Request: chat not found", "chat_not_found"),
        ("Bad Request: message to copy not found", "bad_request"),
    ],
)
async def test_bad_request_fails(setup: Setup, description: str, reason: str) -> None:
    row_id = await setup.claimed_row(PRIVATE)
    row = await setup.fail(row_id, TelegramBadRequest(METHOD, description))
    assert row.status == "failed"
    assert row.error == reason


async def test_server_error_backs_off(setup: Setup) -> None:
    row_id = await setup.claimed_row(PRIVATE)
    before = setup.clock.now()
    row = await setup.fail(row_id, TelegramServerError(METHOD, "Bad Gateway"))
    assert row.status == "pending"
    assert row.attempts == 1
    # The first retry waits 1 s, stretched by up to a quarter for jitter.
    assert before + dt.timedelta(seconds=1) <= row.not_before
    assert row.not_before <= setup.clock.now() + dt.timedelta(seconds=1.25)


async def test_timeout_is_unconfirmed(setup: Setup) -> None:
    row_id = await setup.claimed_row(PRIVATE)
    row = await setup.fail(row_id, network_error("Request timeout error", TimeoutError()))
    assert row.status == "unconfirmed"
    assert row.error == "unconfirmed"


async def test_refused_token_pauses_all(setup: Setup) -> None:
    row_id = await setup.claimed_row(PRIVATE)
    row = await setup.fail(row_id, TelegramUnauthorizedError(METHOD, "Unauthorized"))
    assert row.status == "pending"
    assert row.attempts == 0
    assert setup.sender.gate.global_ready_at() >= time.monotonic() + 59


async def test_unexpected_error_fails(setup: Setup) -> None:
    row_id = await setup.claimed_row(PRIVATE)
    row = await setup.fail(row_id, RuntimeError("unexpected"))
    assert row.status == "failed"
    assert row.error == "error"
    assert row.error_detail == "RuntimeError"
