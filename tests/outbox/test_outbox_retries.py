"""Retries after 5xx replies and refused connections, and no resend after a request that
may have reached Telegram."""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from outbox_helpers import add_pocs, copies_by_chat, person_recipients, queue_notices, send_requests
from sqlalchemy import select

from bot.outbox import OutboxSender, SenderSettings
from bot.ratelimit import SendLimits
from bot.sandbox.harness import SANDBOX_TOKEN, SandboxHarness
from storage import outbox
from storage.models import OutboxMessage

# A short chat interval, so that retries to the one chat wait for the backoff only.
FAST = SenderSettings(limits=SendLimits(chat_interval_s=0.05))
# Longer than any backoff these tests meet: 8 s before a fifth try, at most 10 s with jitter.
BACKOFF_STEP = dt.timedelta(seconds=20)


def bot_at(base_url: str) -> Bot:
    return Bot(
        token=SANDBOX_TOKEN,
        session=AiohttpSession(api=TelegramAPIServer.from_base(base_url)),
        default=DefaultBotProperties(parse_mode=ParseMode.HTML),
    )


def closed_port() -> int:
    """A loopback port with nothing listening: connecting to it is refused at once."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def only_row(harness: SandboxHarness) -> OutboxMessage:
    assert harness.app is not None
    async with harness.app.sessionmaker() as session:
        rows = (await session.scalars(select(OutboxMessage))).all()
    assert len(rows) == 1
    return rows[0]


async def run_until_final(
    harness: SandboxHarness, sender: OutboxSender, *, rounds: int = 10
) -> OutboxMessage:
    """Skip backoff waits by moving the clock until the only row ends, then return it."""
    for _ in range(rounds):
        await sender.idle(timeout=30, horizon=0)
        row = await only_row(harness)
        if row.status not in outbox.OPEN_STATUSES:
            return row
        harness.clock.advance(BACKOFF_STEP)
        sender.wake()
    raise AssertionError(f"row {row.id} still {row.status} after {rounds} clock steps")


async def test_bad_gateway_retried_then_sent(harness: SandboxHarness, start_sender: Any) -> None:
    sender = await start_sender(FAST)
    [user] = await add_pocs(harness, 1)
    harness.server.faults.fail("sendMessage", 502, "Bad Gateway", times=2)
    await queue_notices(harness, person_recipients([user]), ["Mandi prices today"])

    row = await run_until_final(harness, sender)

    assert row.status == "sent"
    assert row.attempts == 3
    statuses = [r.status for r in send_requests(harness) if int(r.params["chat_id"]) == user.id]
    assert statuses == [502, 502, 200]
    assert copies_by_chat(harness, "Mandi prices today") == {user.id: 1}


async def test_server_error_fails_after_max_attempts(
    harness: SandboxHarness, start_sender: Any
) -> None:
    sender = await start_sender(FAST)
    max_attempts = FAST.max_attempts
    [user] = await add_pocs(harness, 1)
    harness.server.faults.fail("sendMessage", 500, "Internal Server Error", times=max_attempts)
    await queue_notices(harness, person_recipients([user]), ["Mandi prices today"])

    row = await run_until_final(harness, sender)

    assert row.status == "failed"
    assert row.error == "server"
    assert row.attempts == max_attempts
    statuses = [r.status for r in send_requests(harness) if int(r.params["chat_id"]) == user.id]
    assert statuses == [500] * max_attempts
    assert copies_by_chat(harness, "Mandi prices today") == {}


async def test_refused_connection_retried(harness: SandboxHarness, start_sender: Any) -> None:
    [user] = await add_pocs(harness, 1)
    unreachable = await start_sender(FAST, bot=bot_at(f"http://127.0.0.1:{closed_port()}"))
    await queue_notices(harness, person_recipients([user]), ["Mandi prices today"])
    await unreachable.idle(timeout=30, horizon=0)

    refused = await only_row(harness)
    assert refused.status == "pending"
    assert refused.attempts == 1
    assert send_requests(harness) == []

    # The same database, now with a sender that reaches the sandbox.
    reachable = await start_sender(FAST)
    harness.clock.advance(BACKOFF_STEP)
    reachable.wake()
    row = await run_until_final(harness, reachable)

    assert row.status == "sent"
    assert row.attempts == 2
    assert copies_by_chat(harness, "Mandi prices today") == {user.id: 1}


async def test_refused_connection_fails_after_max_attempts(
    harness: SandboxHarness, start_sender: Any
) -> None:
    settings = SenderSettings(limits=FAST.limits, max_attempts=3)
    [user] = await add_pocs(harness, 1)
    sender = await start_sender(settings, bot=bot_at(f"http://127.0.0.1:{closed_port()}"))
    await queue_notices(harness, person_recipients([user]), ["Mandi prices today"])

    row = await run_until_final(harness, sender)

    assert row.status == "failed"
    assert row.error == "network"
    assert row.attempts == 3


@pytest.fixture
async def broken_api() -> AsyncIterator[dict[str, str]]:
    """Two loopback servers that read a request and never reply: one closes the
    connection, the other keeps it open until the client gives up."""
    open_writers: list[asyncio.StreamWriter] = []

    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.close()

    async def stay_silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        open_writers.append(writer)

    servers = [
        await asyncio.start_server(hang_up, "127.0.0.1", 0),
        await asyncio.start_server(stay_silent, "127.0.0.1", 0),
    ]
    ports = [server.sockets[0].getsockname()[1] for server in servers]
    yield {"disconnect": f"http://127.0.0.1:{ports[0]}", "timeout": f"http://127.0.0.1:{ports[1]}"}
    for writer in open_writers:
        writer.close()
    for server in servers:
        server.close()
        await server.wait_closed()


@pytest.mark.parametrize("failure", ["disconnect", "timeout"])
async def test_request_without_reply_not_resent(
    harness: SandboxHarness, start_sender: Any, broken_api: dict[str, str], failure: str
) -> None:
    # aiogram takes the timeout in whole seconds.
    settings = SenderSettings(limits=FAST.limits, request_timeout=1)
    [user] = await add_pocs(harness, 1)
    sender = await start_sender(settings, bot=bot_at(broken_api[failure]))
    await queue_notices(harness, person_recipients([user]), ["Mandi prices today"])

    row = await run_until_final(harness, sender)

    assert row.status == "unconfirmed"
    assert row.error == "unconfirmed"
    assert row.attempts == 1
